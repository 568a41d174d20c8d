"""Rendering admin data (reports, feedback pages, knowledge-base stats) for Slack and the terminal. Pure functions.

The one place both doors render admin data: `/endy-admin` and `endy report` / `endy kb stats` share these lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from handlers import texts
from handlers.blocks import Block, split_text
from services.admin import Report
from services.knowledge import KnowledgeBase
from services.output_policy import WITHOUT_LINKS
from services.storage import FeedbackRow


@dataclass(frozen=True, slots=True)
class _Style:
    """Slack mrkdwn (foreign text through the output policy, bold markers kept) or the terminal (text as typed)."""

    text: Callable[[str], str]
    markup: Callable[[str], str]


_SLACK = _Style(text=WITHOUT_LINKS.text, markup=lambda template: template)
_TERMINAL = _Style(text=lambda text: text, markup=lambda template: template.replace("*", ""))


def _quote(text: str, limit: int = 80, style: _Style = _SLACK) -> str:
    text = " ".join(text.split())
    return style.text(text if len(text) <= limit else text[:limit] + "…")


def report_lines(report: Report, kb: KnowledgeBase, *, plain: bool = False) -> list[str]:
    """The report as mrkdwn lines; `plain=True` gives the same lines for a terminal (`endy report`)."""
    style = _TERMINAL if plain else _SLACK
    lines = [style.markup(f"*{texts.REPORT_TITLE.format(days=report.days)}*")]
    if report.empty:
        return [*lines, texts.REPORT_EMPTY.format(days=report.days)]
    s = report.summary
    lines.append(
        style.markup(texts.REPORT_HEADLINE).format(
            questions=s.questions, askers=s.unique_askers, answered=s.answered, not_found=s.not_found
        )
    )
    helpful = style.markup(
        texts.REPORT_HELPFUL.format(pct=s.helpful_pct, up=s.up, down=s.down)
        if s.helpful_pct is not None
        else texts.REPORT_NO_VOTES
    )
    if report.helpful_change is not None:
        helpful += texts.REPORT_CHANGE.format(days=report.days, change=report.helpful_change)
    lines += [helpful, "", style.markup(texts.REPORT_BY_CATEGORY)]
    names = {c.id: c.name for c in kb.categories}
    lines += [
        f"• {style.text(names.get(c.category, c.category or texts.UNCATEGORISED))}: 👍 {c.up} · 👎 {c.down}"
        for c in report.by_category
    ] or [texts.REPORT_NONE]
    return [*lines, "", *_worst_lines(report, style), "", *_gap_lines(report, kb, style)]


def _worst_lines(report: Report, style: _Style) -> list[str]:
    lines = [style.markup(texts.REPORT_WORST)]
    for w in report.worst:
        why = ", ".join(texts.FEEDBACK_REASONS.get(r) or style.text(r) for r in w.reasons)
        comment = f" — “{_quote(w.comments[0], style=style)}”" if w.comments else ""
        source = f" ({texts.SECTION_USED}: {style.text(w.top_source)})" if w.top_source else ""
        lines.append(f"• “{_quote(w.question, style=style)}” 👎 {w.down}{' · ' + why if why else ''}{comment}{source}")
    return lines if report.worst else [*lines, texts.REPORT_NONE]


def _gap_lines(report: Report, kb: KnowledgeBase, style: _Style) -> list[str]:
    lines = [style.markup(texts.REPORT_GAPS)]
    for g in report.gaps:
        dep = kb.department(g.department) if g.department else None
        where = f" ({texts.SECTION_USED}: {style.text(g.section)})" if g.section else ""
        owner = f" → {style.text(dep.name)} {style.text(dep.channel)}" if dep else ""
        lines.append(f"• {g.count}회 — “{_quote(g.example, style=style)}”{where}{owner}")
    return lines if report.gaps else [*lines, texts.REPORT_NONE]


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
        why = ", ".join(texts.FEEDBACK_REASONS.get(x) or _SLACK.text(x) for x in r.reasons)
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
