"""The report chart as PNG bytes: questions and votes per day (bars), helpful % on voted days (points)."""

from __future__ import annotations

import importlib.util
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers

from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator  # noqa: E402

from services.processes import run_in_process  # noqa: E402
from services.storage import DailyStat  # noqa: E402

WIDTH_PX, HEIGHT_PX, DPI = 1000, 480, 100
HANGUL_FONT = "NanumGothic"
DAILY_TICKS_UP_TO = 14  # longer periods get one labelled tick per week (Mondays) and unlabelled daily ticks
LABELS_UP_TO = 31  # count labels on bars and points; beyond this they would collide
QUESTION, UP, DOWN, HELPFUL, MUTED = "#a9c4ef", "#3a9e5c", "#d9534f", "#e07b39", "#8a8f98"


@dataclass(frozen=True, slots=True)
class ChartText:
    """The chart's Korean labels (the font has no emoji, so none are used)."""

    questions: str = "질문 수"
    up: str = "도움됨 평가"
    down: str = "아쉬움 평가"
    helpful: str = "도움됨 % (점 크기 = 평가 수)"
    helpful_axis: str = "도움됨 %"
    count_axis: str = "건수"
    votes: str = "{n}표"
    overall: str = "기간 전체 도움됨 {pct:.0f}%"
    no_votes: str = "이 기간에는 아직 도움됨/아쉬움 평가가 없어요"
    weekdays: str = "월화수목금토일"


def _register_hangul_font() -> None:
    """Use the NanumGothic file shipped in koreanize-matplotlib (importing that module itself warns)."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return
    for font in sorted(Path(spec.submodule_search_locations[0], "fonts").glob("NanumGothic*.ttf")):
        font_manager.fontManager.addfont(str(font))
    matplotlib.rcParams["font.family"] = HANGUL_FONT
    matplotlib.rcParams["axes.unicode_minus"] = False  # the Unicode minus is missing from the font


_register_hangul_font()


async def render_daily_chart(days: Sequence[DailyStat], title: str, text: ChartText | None = None) -> bytes | None:
    """`daily_chart` in the chart process (services.processes): drawing and PNG encoding hold the GIL ~400 ms."""
    return await run_in_process(daily_chart, list(days), title, text)


def daily_chart(days: Sequence[DailyStat], title: str, text: ChartText | None = None) -> bytes | None:
    """PNG bytes, or None when the period has no questions (nothing worth a chart)."""
    fig = chart_figure(days, title, text)
    if fig is None:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_figure(days: Sequence[DailyStat], title: str, text: ChartText | None = None) -> Figure | None:
    """The chart as a Figure (not registered with pyplot, so nothing to close and safe across threads)."""
    if not days or not any(d.questions for d in days):
        return None
    text = text or ChartText()
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    counts, helpful = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.4))
    _draw_counts(counts, days, text)
    _draw_helpful(helpful, days, text)
    _format_days(helpful, days, text)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)
    # Outside the axes, so it never hides a bar or a point.
    fig.legend(loc="outside upper right", ncol=5, fontsize=8, frameon=False)
    return fig


def _draw_counts(ax: Axes, days: Sequence[DailyStat], text: ChartText) -> None:
    """Questions as wide pale bars, the day's up/down votes stacked as narrow bars in front of them."""
    x = [d.day.toordinal() for d in days]  # one unit per day; ticks are labelled back as dates
    bars = ax.bar(x, [d.questions for d in days], width=0.8, color=QUESTION, label=text.questions)
    # Each vote series only when the period has such a vote: the legend lists what is drawn, nothing else.
    if any(d.up for d in days):
        ax.bar(x, [d.up for d in days], width=0.4, color=UP, label=text.up)
    if any(d.down for d in days):
        ax.bar(x, [d.down for d in days], width=0.4, bottom=[d.up for d in days], color=DOWN, label=text.down)
    if len(days) <= LABELS_UP_TO:
        ax.bar_label(bars, labels=[str(d.questions) if d.questions else "" for d in days], fontsize=7, padding=2)
    top = max(max(d.questions, d.up + d.down) for d in days)
    ax.set_ylim(0, top * 1.18 + 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_ylabel(text.count_axis)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _draw_helpful(ax: Axes, days: Sequence[DailyStat], text: ChartText) -> None:
    """Helpful % only on days with votes: no line across silent days; marker size and label give the count."""
    voted = [d for d in days if d.up + d.down]
    ax.set_ylim(-15, 120)
    ax.yaxis.set_major_locator(FixedLocator([0, 50, 100]))
    ax.set_ylabel(text.helpful_axis)
    ax.grid(axis="y", alpha=0.3)
    if not voted:
        ax.text(0.5, 0.5, text.no_votes, transform=ax.transAxes, ha="center", va="center", color=MUTED, fontsize=9)
        return
    pct = [100 * d.up / (d.up + d.down) for d in voted]
    sizes = [16 + 14 * math.sqrt(d.up + d.down) for d in voted]
    ax.scatter([d.day.toordinal() for d in voted], pct, s=sizes, color=HELPFUL, zorder=3, label=text.helpful)
    if len(days) <= LABELS_UP_TO:
        for d, p in zip(voted, pct, strict=True):
            below = p > 75  # keep the label inside the axes
            ax.annotate(
                text.votes.format(n=d.up + d.down),
                (d.day.toordinal(), p),
                xytext=(0, -9 if below else 7),
                textcoords="offset points",
                ha="center",
                va="top" if below else "bottom",
                fontsize=7,
                color=MUTED,
            )
    up, down = sum(d.up for d in voted), sum(d.down for d in voted)
    overall = 100 * up / (up + down)
    label = text.overall.format(pct=overall)
    ax.axhline(overall, color=MUTED, linestyle="--", linewidth=0.8, zorder=1, label=label)


def _format_days(ax: Axes, days: Sequence[DailyStat], text: ChartText) -> None:
    """Every day labelled (with its weekday) up to two weeks; beyond that weekly ticks on Mondays."""
    xs = [d.day.toordinal() for d in days]
    ax.set_xlim(xs[0] - 0.6, xs[-1] + 0.6)
    daily = len(days) <= DAILY_TICKS_UP_TO
    ax.xaxis.set_major_locator(FixedLocator(xs if daily else [x for x in xs if date.fromordinal(x).weekday() == 0]))
    if not daily:
        ax.xaxis.set_minor_locator(FixedLocator(xs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _day_label(date.fromordinal(round(v)), text, daily)))
    ax.tick_params(axis="x", labelsize=8)


def _day_label(day: date, text: ChartText, weekday: bool) -> str:
    label = f"{day.month}/{day.day}"
    return f"{label}\n({text.weekdays[day.weekday()]})" if weekday else label
