"""Parsing `/endy-admin …` text into a command (pure; table-tested)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
GAP_PERIODS = {"7d": 7, "30d": 30}
_DAYS = re.compile(r"^(\d{1,3})d?$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class AdminAction(StrEnum):
    """What an admin asked for."""

    HELP = "help"
    REPORT = "report"
    FEEDBACK = "feedback"
    EXPORT = "export"
    GRANT = "grant"
    REVOKE = "revoke"
    KB_RELOAD = "kb_reload"
    KB_STATS = "kb_stats"
    GAPS = "gaps"
    LEARNED = "learned"


class UsageError(Exception):
    """The command was understood but its argument was not (reason: bad_period, bad_days, bad_user, bad_page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AdminCommand:
    """A parsed `/endy-admin` command."""

    action: AdminAction
    days: int = 7
    negative_only: bool = True
    page: int = 1
    user_id: str | None = None
    section: str | None = None


def _page(word: str) -> int:
    if not word.isdigit() or not 1 <= int(word) <= 1000:
        raise UsageError("bad_page")
    return int(word)


def _export_days(word: str) -> int:
    match = _DAYS.match(word)
    if not match or not 1 <= int(match.group(1)) <= 365:
        raise UsageError("bad_days")
    return int(match.group(1))


def _parse_learning(head: str, rest: list[str]) -> AdminCommand:
    """`gaps [7d|30d]` and `learned [section]` (issue 16)."""
    if head == "learned":
        return AdminCommand(AdminAction.LEARNED, section=" ".join(rest) or None)
    if rest and rest[0].lower() not in GAP_PERIODS:
        raise UsageError("bad_gap_period")
    return AdminCommand(AdminAction.GAPS, days=GAP_PERIODS[rest[0].lower()] if rest else 7)


def parse_admin(text: str) -> AdminCommand:
    """Parse the command text; unknown sub-commands mean help."""
    words = text.strip().split()
    head = words[0].lower() if words else "help"
    rest = words[1:]
    if head == "report":
        if rest and rest[0].lower() not in PERIODS:
            raise UsageError("bad_period")
        return AdminCommand(AdminAction.REPORT, days=PERIODS[rest[0].lower()] if rest else 7)
    if head == "feedback":
        kind = rest[0].lower() if rest and not rest[0].isdigit() else "negative"
        if kind not in ("negative", "all"):
            raise UsageError("bad_feedback_kind")
        pages = [w for w in rest if w.isdigit()] or (rest[1:] if len(rest) > 1 else [])
        return AdminCommand(
            AdminAction.FEEDBACK, negative_only=kind == "negative", page=_page(pages[0]) if pages else 1
        )
    if head == "export":
        return AdminCommand(AdminAction.EXPORT, days=_export_days(rest[0].lower()) if rest else 30)
    if head in ("grant", "revoke"):
        match = _MENTION.match(rest[0]) if rest else None
        if match is None:
            raise UsageError("bad_user")
        return AdminCommand(AdminAction(head), user_id=match.group(1))
    if head in ("gaps", "learned"):
        return _parse_learning(head, rest)
    if head == "kb" and rest and rest[0].lower() in ("reload", "stats"):
        return AdminCommand(AdminAction.KB_RELOAD if rest[0].lower() == "reload" else AdminAction.KB_STATS)
    return AdminCommand(AdminAction.HELP)
