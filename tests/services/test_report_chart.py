"""The report chart: legend off the data, readable day labels, votes with their counts, PNGs of the usual periods."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from services.report_chart import HEIGHT_PX, WIDTH_PX, ChartText, chart_figure, daily_chart
from services.storage import DailyStat
from tests.helpers import png_size

END = date(2026, 3, 18)  # a Wednesday


def period(n: int, *, votes: bool = True) -> list[DailyStat]:
    """n days ending at END: weekdays busy, weekends quiet, a vote on every third question (when votes)."""
    days = []
    for i in range(n):
        day = END - timedelta(days=n - 1 - i)
        questions = 0 if day.weekday() == 6 else (i * 7) % 23 + 1
        voted = questions // 3 if votes else 0
        up = voted - voted // 4
        days.append(DailyStat(day, questions, max(1, questions // 2) if questions else 0, up, voted - up))
    return days


def single_vote() -> list[DailyStat]:
    """One question, one 👎, in an otherwise silent week."""
    return [DailyStat(END - timedelta(days=6 - i), int(i == 3), int(i == 3), 0, int(i == 3)) for i in range(7)]


def drawn(days: list[DailyStat]) -> Figure:
    """The chart laid out and drawn, so extents are the real ones."""
    fig = chart_figure(days, "최근 리포트")
    assert fig is not None
    fig.draw_without_rendering()
    return fig


@pytest.mark.parametrize(
    ("name", "days"),
    [
        ("7d", period(7)),
        ("30d", period(30)),
        ("90d", period(90)),
        ("week-without-votes", period(7, votes=False)),
        ("single-vote", single_vote()),
    ],
)
def test_the_usual_periods_render_as_slack_sized_pngs(name: str, days: list[DailyStat], tmp_path: Path) -> None:
    png = daily_chart(days, f"최근 {len(days)}일 질문 수와 도움됨 비율")
    assert png is not None
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)  # drawn at the size the chart is laid out for
    (tmp_path / f"{name}.png").write_bytes(png)  # kept by pytest's tmp_path for a look when a change needs one


def test_a_period_without_questions_has_no_chart() -> None:
    assert daily_chart([], "t") is None
    assert daily_chart([DailyStat(END - timedelta(days=i), 0, 0, 0, 0) for i in range(7)], "t") is None


@pytest.mark.parametrize("n", [7, 30, 90])
def test_the_legend_sits_outside_every_axes(n: int) -> None:
    fig = drawn(period(n))
    (legend,) = fig.legends
    box = legend.get_window_extent()
    assert all(not box.overlaps(ax.get_window_extent()) for ax in fig.axes)


def test_helpful_is_points_on_voted_days_only_with_no_line_between_them() -> None:
    days = period(30)
    fig = drawn(days)
    helpful = fig.axes[1]
    (points,) = [c for c in helpful.collections if isinstance(c, PathCollection)]
    offsets = np.asarray(points.get_offsets())
    voted = [d for d in days if d.up + d.down]
    assert [round(x) for x in offsets[:, 0]] == [d.day.toordinal() for d in voted]
    assert list(offsets[:, 1]) == pytest.approx([100 * d.up / (d.up + d.down) for d in voted])
    # The only line is the period's overall level (a horizontal reference), never a path through the days.
    lines = [ln for ln in helpful.get_lines() if isinstance(ln, Line2D)]
    assert len(lines) == 1
    assert len(set(lines[0].get_ydata())) == 1  # type: ignore[arg-type]


def test_a_single_vote_shows_its_count_and_the_bars_show_it_too() -> None:
    fig = drawn(single_vote())
    counts, helpful = fig.axes
    labels = [t.get_text() for t in helpful.texts]
    assert labels == ["1표"]
    heights = sorted(round(p.get_height()) for p in counts.patches if p.get_height())  # type: ignore[attr-defined]
    assert heights == [1, 1]  # one question and, in front of it, one 👎


def legend_labels(fig: Figure) -> list[str]:
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()]


@pytest.mark.parametrize(
    ("days", "absent"),
    [
        (single_vote(), {"up"}),  # one 👎 and no 👍: no green entry
        ([DailyStat(END, 2, 1, 1, 0)], {"down"}),
        (period(7, votes=False), {"up", "down", "helpful"}),
    ],
    ids=["only-down", "only-up", "no-votes"],
)
def test_the_legend_lists_only_the_series_that_are_drawn(days: list[DailyStat], absent: set[str]) -> None:
    text = ChartText()
    series = {"questions": text.questions, "up": text.up, "down": text.down, "helpful": text.helpful}
    labels = legend_labels(drawn(days))
    assert {key for key, label in series.items() if label in labels} == set(series) - absent, labels


def test_a_week_without_votes_says_so_instead_of_drawing_zero() -> None:
    fig = drawn(period(7, votes=False))
    helpful = fig.axes[1]
    assert not [c for c in helpful.collections if isinstance(c, PathCollection)]
    assert any("평가가 없어요" in t.get_text() for t in helpful.texts)


def visible_labels(fig: Figure) -> list[Text]:
    return [t for t in fig.axes[1].get_xticklabels() if t.get_text()]


def test_ninety_days_get_weekly_labels_that_do_not_overlap() -> None:
    fig = drawn(period(90))
    labels = visible_labels(fig)
    assert 12 <= len(labels) <= 14  # one per Monday
    assert all(date.fromordinal(round(t.get_position()[0])).weekday() == 0 for t in labels)
    boxes = [t.get_window_extent() for t in labels]
    assert all(not a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))


def test_a_week_labels_every_day_with_its_weekday() -> None:
    fig = drawn(period(7))
    assert [t.get_text() for t in visible_labels(fig)] == [
        "3/12\n(목)", "3/13\n(금)", "3/14\n(토)", "3/15\n(일)", "3/16\n(월)", "3/17\n(화)", "3/18\n(수)",
    ]  # fmt: skip
