"""Admin domain: who is an admin, role changes, the feedback report, knowledge gaps, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from services.errors import EndyError, PermissionDenied
from services.gaps import GAP_SIMILARITY, Gap, TokenMemo, group_gaps
from services.offload import run_cpu
from services.privacy import mask_pii
from services.storage import CategoryVotes, DailyStat, FeedbackRow, Storage, Summary, WorstAnswer
from services.tokenizer import KoreanTokenizer

__all__ = ["GAP_SIMILARITY", "AdminService", "Gap", "ProtectedAdmin", "Report", "group_gaps", "spreadsheet_text"]

EXPORT_BATCH = 500  # rows masked per trip to the CPU pool
GAP_BATCH = 10  # gap questions analysed per trip to the CPU pool (~50 ms of Kiwi on a busy machine)
EXPORT_COLUMNS = (
    "created_at",
    "surface",
    "kind",
    "confidence",
    "used_llm",
    "category",
    "department",
    "question",
    "answer",
    "top_source",
    "up",
    "down",
    "reasons",
    "comments",
)


# Written by Endy from its own numbers (a negative number stays a number a spreadsheet can sum); every other column
# carries text that users, the LLM or the knowledge base wrote, and is neutralised after masking.
NUMERIC_COLUMNS = frozenset({"created_at", "confidence", "used_llm", "up", "down"})
TEXT_COLUMNS = frozenset(EXPORT_COLUMNS) - NUMERIC_COLUMNS
# A spreadsheet evaluates a cell starting with one of these (=HYPERLINK(…), =cmd|' /C calc'!A0, +, -, @, and a tab
# or CR some parsers strip first), and some trim leading spaces before they look: such text cells are prefixed
# with ' so they show as the text they are.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never evaluates (OWASP's CSV-injection advice): also when the
    formula only starts after leading whitespace."""
    return "'" + value if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS) else value


class ProtectedAdmin(EndyError):
    """ADMIN_USER_IDS admins are configured by operators and cannot be revoked from Slack."""


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `/endy-admin report` shows for one period."""

    days: int
    since: datetime
    until: datetime
    summary: Summary
    previous: Summary
    by_category: list[CategoryVotes]
    worst: list[WorstAnswer]
    gaps: list[Gap]
    daily: list[DailyStat]

    @property
    def helpful_change(self) -> float | None:
        """Percentage points against the previous period (None when either has no votes)."""
        now, before = self.summary.helpful_pct, self.previous.helpful_pct
        return None if now is None or before is None else now - before

    @property
    def empty(self) -> bool:
        """True when nobody asked anything in the period."""
        return self.summary.questions == 0


class AdminService:
    """Roles, reports and exports; every query aggregates in PostgreSQL."""

    def __init__(self, storage: Storage, env_admins: Sequence[str], tokenizer: KoreanTokenizer) -> None:
        self.storage = storage
        self.env_admins = frozenset(env_admins)
        self.tokenizer = tokenizer
        self._gap_tokens = TokenMemo()

    async def is_admin(self, team_id: str, user_id: str) -> bool:
        """ADMIN_USER_IDS ∪ role=admin in PostgreSQL."""
        return user_id in self.env_admins or await self.storage.get_role(team_id, user_id) == "admin"

    async def require_admin(self, team_id: str, user_id: str) -> None:
        """Raise PermissionDenied (insufficient_permissions) for anyone else."""
        if not await self.is_admin(team_id, user_id):
            logger.bind(code=PermissionDenied.code).warning("admin command refused")
            raise PermissionDenied

    async def set_role(self, team_id: str, actor: str, target: str, role: str) -> str:
        """Grant or revoke admin (audit-logged); env-configured admins cannot be revoked."""
        await self.require_admin(team_id, actor)
        if role == "user" and target in self.env_admins:
            raise ProtectedAdmin
        old = await self.storage.set_role(team_id, target, role, actor)
        logger.bind(actor=actor, target=target, old=old, new=role).info("role changed")
        return old

    async def report(self, days: int, now: datetime | None = None) -> Report:
        """The report for the last `days` days, compared with the `days` before."""
        until = now or datetime.now(UTC)
        # "the last N days" = today and the N-1 days before it (UTC days, like the roll-ups), so the chart
        # has exactly N bars; the previous period is the N whole days before that.
        today = until.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        since = today - timedelta(days=days - 1)
        before = since - timedelta(days=days)
        candidates = await self.storage.gap_candidates(since, until)
        for start in range(0, len(candidates), GAP_BATCH):  # answers queued for the CPU pool get turns in between
            batch = [c.question for c in candidates[start : start + GAP_BATCH]]
            await run_cpu(self._gap_tokens.prime, batch, self.tokenizer)
        return Report(
            days,
            since,
            until,
            await self.storage.summary(since, until),
            await self.storage.summary(before, since),
            await self.storage.votes_by_category(since, until),
            await self.storage.worst_answers(since, until),
            await run_cpu(group_gaps, candidates, self.tokenizer, memo=self._gap_tokens),
            await self.storage.daily(since, until),
        )

    async def feedback_page(
        self, *, negative_only: bool, page: int, per_page: int = 10, days: int = 90, now: datetime | None = None
    ) -> list[FeedbackRow]:
        """One page of feedback from the last `days` days."""
        until = now or datetime.now(UTC)
        return await self.storage.feedback_page(
            until - timedelta(days=days),
            until,
            negative_only=negative_only,
            limit=per_page,
            offset=(page - 1) * per_page,
        )

    async def export_csv(self, days: int, now: datetime | None = None) -> tuple[bytes, int]:
        """CSV (UTF-8 with BOM, for Excel) of every exchange and its votes; masked again on the way out.

        Rows are masked and written in batches in the CPU pool, so a long export never holds the event loop."""
        until = now or datetime.now(UTC)
        buffer = io.StringIO()
        csv.writer(buffer).writerow(EXPORT_COLUMNS)
        batch: list[Mapping[str, Any]] = []
        rows = 0
        async for r in self.storage.export_rows(until - timedelta(days=days), until):
            batch.append(r)
            if len(batch) >= EXPORT_BATCH:
                rows += await run_cpu(_write_rows, buffer, batch)
                batch = []
        rows += await run_cpu(_write_rows, buffer, batch)
        return await run_cpu(_encode, buffer), rows


def _write_rows(buffer: io.StringIO, records: Sequence[Mapping[str, Any]]) -> int:
    """Mask and neutralise a batch of export rows into the CSV buffer."""
    writer = csv.writer(buffer)
    for r in records:
        row = [
            r["created_at"].isoformat(),
            r["surface"],
            r["kind"],
            f"{r['confidence']:.3f}",
            r["used_llm"],
            r["category"] or "",
            r["department"] or "",
            mask_pii(r["question"]),
            mask_pii(r["answer"]),
            r["top_source"] or "",
            r["up"],
            r["down"],
            ";".join(r["reasons"]),
            mask_pii(r["comments"] or ""),
        ]
        writer.writerow(
            [spreadsheet_text(v) if c in TEXT_COLUMNS else v for c, v in zip(EXPORT_COLUMNS, row, strict=True)]
        )
    return len(records)


def _encode(buffer: io.StringIO) -> bytes:
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
