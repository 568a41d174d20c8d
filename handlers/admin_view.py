"""Rendering admin data (reports, feedback pages) as mrkdwn lines and Block Kit. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import texts
from handlers.blocks import Block, split_text
from services.admin import Report
from services.knowledge import KnowledgeBase
from services.slack_safety import escape
from services.storage import FeedbackRow


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[:limit] + "…")


def report_lines(report: Report, kb: KnowledgeBase) -> list[str]:
    """The report as mrkdwn lines (also printed by `endy report`)."""
    lines = [f"*{texts.REPORT_TITLE.format(days=report.days)}*"]
    if report.empty:
        return [*lines, texts.REPORT_EMPTY.format(days=report.days)]
    s = report.summary
    lines.append(
        texts.REPORT_HEADLINE.format(
            questions=s.questions, askers=s.unique_askers, answered=s.answered, not_found=s.not_found
        )
    )
    helpful = (
        texts.REPORT_HELPFUL.format(pct=s.helpful_pct, up=s.up, down=s.down)
        if s.helpful_pct is not None
        else texts.REPORT_NO_VOTES
    )
    if report.helpful_change is not None:
        helpful += texts.REPORT_CHANGE.format(days=report.days, change=report.helpful_change)
    lines += [helpful, "", texts.REPORT_BY_CATEGORY]
    names = {c.id: c.name for c in kb.categories}
    lines += [
        f"• {escape(names.get(c.category, c.category or texts.UNCATEGORISED))}: 👍 {c.up} · 👎 {c.down}"
        for c in report.by_category
    ] or [texts.REPORT_NONE]
    lines += ["", texts.REPORT_WORST]
    for w in report.worst:
        why = ", ".join(texts.FEEDBACK_REASONS.get(r, r) for r in w.reasons)
        comment = f" — “{_quote(w.comments[0])}”" if w.comments else ""
        source = f" ({texts.SECTION_USED}: {escape(w.top_source)})" if w.top_source else ""
        lines.append(f"• “{_quote(w.question)}” 👎 {w.down}{' · ' + why if why else ''}{comment}{source}")
    if not report.worst:
        lines.append(texts.REPORT_NONE)
    lines += ["", texts.REPORT_GAPS]
    for g in report.gaps:
        dep = kb.department(g.department) if g.department else None
        where = f" ({texts.SECTION_USED}: {escape(g.section)})" if g.section else ""
        owner = f" → {escape(dep.name)} {escape(dep.channel)}" if dep else ""
        lines.append(f"• {g.count}회 — “{_quote(g.example)}”{where}{owner}")
    if not report.gaps:
        lines.append(texts.REPORT_NONE)
    return lines


def text_blocks(lines: Sequence[str]) -> list[Block]:
    """Sections (split under Slack's limits) for mrkdwn lines."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in split_text("\n".join(lines))][
        :50
    ]


def feedback_lines(rows: Sequence[FeedbackRow], *, negative_only: bool, page: int) -> list[str]:
    """One page of the feedback list."""
    lines = [texts.FEEDBACK_TITLE.format(kind=texts.FEEDBACK_KIND[negative_only], page=page)]
    for r in rows:
        vote = "👍" if r.rating > 0 else "👎"
        why = ", ".join(texts.FEEDBACK_REASONS.get(x, x) for x in r.reasons)
        comment = f" — “{_quote(r.comment)}”" if r.comment else ""
        lines.append(f"{vote} {r.voted_at:%m/%d %H:%M} “{_quote(r.question)}”{' · ' + why if why else ''}{comment}")
    return lines if rows else [*lines, texts.FEEDBACK_EMPTY]


def dashboard_lines(report: Report, kb: KnowledgeBase) -> list[str]:
    """The compact App Home dashboard: headline numbers and the top three gaps."""
    lines = report_lines(report, kb)
    if report.empty:
        return [f"*{texts.DASHBOARD_TITLE}*", *lines[1:]]
    gaps_at = lines.index(texts.REPORT_GAPS)
    return [f"*{texts.DASHBOARD_TITLE}*", lines[1], lines[2], "", *lines[gaps_at : gaps_at + 4]]
