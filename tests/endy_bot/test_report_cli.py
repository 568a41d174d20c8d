"""`endy report` in a terminal: text as typed (no Slack escaping or mrkdwn), and a one-line error for a bad --days."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers.admin_view import dashboard_lines, report_lines
from services.admin import Gap, Report
from services.knowledge import KnowledgeBase
from services.storage import DailyStat, Summary
from services.storage.admin import CategoryVotes, WorstAnswer
from tests.endy_bot.test_cli import run

pytestmark = pytest.mark.timeout(120)
NOW = datetime(2026, 3, 18, 9, tzinfo=UTC)


def report_with_foreign_text() -> Report:
    """A report whose questions, comments and sources carry &, < and > (and a would-be ping)."""
    summary = Summary(questions=3, unique_askers=2, answered=2, not_found=1, up=1, down=1, helpful_pct=50.0)
    worst = WorstAnswer(
        1, "A&B <팀> 연차?", "…", "근태·휴가 가이드 > 연차 신청 방법", 0, 1, ["wrong"], ["<!channel> 틀렸어요 & 오래됨"]
    )
    gap = Gap("사내 어린이집 & 놀이방", 2, "guide > 근태", "pnc", 0)
    daily = [DailyStat(NOW.date(), 3, 2, 1, 1)]
    return Report(7, NOW, NOW, summary, summary, [CategoryVotes("leave", 1, 1)], [worst], [gap], daily)


def test_plain_lines_are_what_was_typed_and_slack_lines_stay_escaped(sample_kb: KnowledgeBase) -> None:
    report = report_with_foreign_text()
    plain = "\n".join(report_lines(report, sample_kb, plain=True))
    for typed in ("A&B <팀> 연차?", "<!channel> 틀렸어요 & 오래됨", "guide > 근태", "P&C팀 #ask-pnc", "연차 신청 방법"):
        assert typed in plain
    assert "&amp;" not in plain
    assert "&gt;" not in plain
    assert "&lt;" not in plain
    assert "*" not in plain
    assert plain.splitlines()[0] == "엔디 피드백 리포트 — 최근 7일"
    assert "질문 3개 · 질문한 사람 2명" in plain
    slack = "\n".join(report_lines(report, sample_kb))
    assert "A&amp;B &lt;팀&gt;" in slack
    assert "&lt;!channel&gt;" in slack
    assert "guide &gt; 근태" in slack
    assert "P&amp;C팀" in slack
    assert "*질문* 3개" in slack
    assert "<!channel>" not in slack
    assert dashboard_lines(report, sample_kb)[-1].startswith("• 2회")  # the Slack dashboard still finds its gaps


@pytest.mark.parametrize("value", ["0", "366", "-1", "abc", "7d"])
def test_bad_days_is_one_korean_line(value: str, tmp_path: Path) -> None:
    result = run(tmp_path, "report", "--days", value)
    assert result.returncode == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if not line.startswith("usage:")]
    assert errors == [
        f"endy report: error: argument --days: 기간은 1~365 사이의 일수로 적어 주세요 (받은 값: {value}). "
        "예: endy report --days 30"
    ]


@pytest.mark.usefixtures("warm_cache")
def test_report_after_a_question_prints_it_as_asked(tmp_path: Path) -> None:
    asked = run(tmp_path, "ask", "사내 어린이집 & 놀이방 신청은 어떻게 해요?")
    assert asked.returncode == 0, asked.stderr
    assert "찾지 못했어요" in asked.stdout, asked.stderr
    result = run(tmp_path, "report", "--days", "1")
    assert result.returncode == 0, result.stderr
    assert "• 1회 — “사내 어린이집 & 놀이방 신청은 어떻게 해요?” → P&C팀 #ask-pnc" in result.stdout
    assert "찾지 못함 1개" in result.stdout
    assert "&amp;" not in result.stdout
    assert "*" not in result.stdout
    assert "Traceback" not in result.stderr
