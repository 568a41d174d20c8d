"""PostgreSQL storage: exchanges and conversations, feedback, roles, and the admin reports."""

from __future__ import annotations

import asyncpg

from services.storage.admin import AdminStore, CategoryVotes, FeedbackRow, GapCandidate, WorstAnswer
from services.storage.exchanges import ExchangeStore
from services.storage.feedback import FeedbackStore
from services.storage.records import (
    TRUNCATED,
    DailyStat,
    Exchange,
    LowConfidence,
    NegativeFeedback,
    Summary,
)
from services.storage.roles import RoleStore

__all__ = [
    "TRUNCATED",
    "CategoryVotes",
    "FeedbackRow",
    "GapCandidate",
    "WorstAnswer",
    "DailyStat",
    "Exchange",
    "LowConfidence",
    "NegativeFeedback",
    "Storage",
    "Summary",
]


class Storage(ExchangeStore, FeedbackStore, RoleStore, AdminStore):
    """Everything Endy keeps in PostgreSQL, behind one object over a shared pool (which it does not own)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
