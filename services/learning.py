"""Endy learns: knowledge gaps become learned phrasings, curated FAQ entries and synonyms, kept in PostgreSQL.

Every mutating call re-checks the admin role, validates everything first and writes in one transaction (with
its audit row), so a refused or repeated action saves nothing; then the local index is rebuilt and the other
replicas are asked to rebuild through the signed reload message (services/kb_reload.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.admin import AdminService
from services.answer_types import Answer
from services.answering import AnswerService
from services.kb_model import KnowledgeBase
from services.kb_reload import KnowledgeReloader
from services.learning_types import (
    WRONG_SECTION_REASON,
    FaqDraft,
    GapGroup,
    LearnedEntry,
    LearnedKind,
    LearnedSnapshot,
    LearningRefused,
    Notification,
    Origin,
    Refusal,
    SectionChoice,
    SynonymProposal,
    Taught,
    VoteEvent,
)
from services.metrics import Metrics
from services.storage import Storage

__all__ = [
    "WRONG_SECTION_REASON",
    "Actor",
    "FaqDraft",
    "GapGroup",
    "LearnedEntry",
    "LearnedKind",
    "LearningRefused",
    "LearningService",
    "Notification",
    "Origin",
    "Refusal",
    "SectionChoice",
    "SynonymProposal",
    "Taught",
    "VoteEvent",
]


@dataclass(frozen=True, slots=True)
class Actor:
    """The admin doing something (re-checked on every call)."""

    team_id: str
    user_id: str


class LearningService:
    """Gaps → learned knowledge, and learned knowledge → the served index on every replica."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        storage: Storage,
        answers: AnswerService,
        admin: AdminService,
        *,
        metrics: Metrics,
        rebuild: Callable[[], Awaitable[object]] | None = None,
        reloader: KnowledgeReloader | None = None,
        min_upvotes: int = 2,
        phrasings_per_section: int = 20,
    ) -> None:
        raise NotImplementedError

    # --- reading ---

    async def gaps(self, days: int = 7, *, limit: int = 10) -> list[GapGroup]:
        """Open gap groups of the last `days` days (masked, most frequent first; ignored/closed ones left out)."""
        raise NotImplementedError

    async def gap(self, gap_id: str) -> GapGroup:
        """One gap group as last listed (LearningRefused(GAP_GONE) when unknown)."""
        raise NotImplementedError

    async def search_sections(self, query: str, limit: int = 20) -> list[SectionChoice]:
        """Handbook sections whose title contains the query (for the modal's section search)."""
        raise NotImplementedError

    async def learned(self, section_id: str | None = None, *, limit: int = 50) -> list[LearnedEntry]:
        """Learned items for review, newest first; only the phrasings of one section when given."""
        raise NotImplementedError

    async def preview(self, question: str) -> Answer:
        """ "이제 이렇게 답해요": the answer the served index gives now (not recorded, not cached, not rate limited)."""
        raise NotImplementedError

    async def snapshot(self) -> LearnedSnapshot:
        """Everything learned, read in one go (merged into the knowledge base on start and on reload)."""
        raise NotImplementedError

    # --- teaching (admin) ---

    async def teach_section(self, gap_id: str, section_id: str, actor: Actor) -> Taught:
        """이 문서가 답이에요: the gap's questions become learned phrasings of the section; the gap closes."""
        raise NotImplementedError

    async def add_faq(self, draft: FaqDraft, actor: Actor, gap_id: str | None = None) -> Taught:
        """답변 작성: a curated FAQ entry (validated: lengths, link, empty fields); closes the gap when given."""
        raise NotImplementedError

    async def propose_synonyms(self, gap_id: str) -> list[SynonymProposal]:
        """동의어 추가: the gap's question words the knowledge base never uses, with the closest knowledge words."""
        raise NotImplementedError

    async def accept_synonym(self, word: str, knowledge_word: str, actor: Actor, gap_id: str | None = None) -> Taught:
        """Accept (or an edited) pair word → knowledge_word; refused for one syllable, stop words, unknown targets."""
        raise NotImplementedError

    async def ignore_gap(self, gap_id: str, actor: Actor) -> None:
        """무시: the group leaves the list (its questions are kept, with an audit row)."""
        raise NotImplementedError

    async def remove_learned(self, entry_id: int, actor: Actor) -> LearnedEntry:
        """Remove one learned item (audited); LearningRefused(NOT_FOUND) when it is already gone."""
        raise NotImplementedError

    # --- votes teach ---

    async def record_vote(self, vote: VoteEvent) -> Taught | None:
        """A 👍 counts towards learning the question as a phrasing of the cited section (at LEARN_MIN_UPVOTES
        distinct voters); a 👎 with WRONG_SECTION_REASON demotes that section for the question's cluster."""
        raise NotImplementedError

    # --- closing the loop for the asker ---

    async def subscribe(self, question: str, team_id: str, user_id: str) -> bool:
        """답이 생기면 알려 주세요: opt in for one question (masked here); False when already subscribed."""
        raise NotImplementedError

    async def claim_notifications(self, limit: int = 50) -> list[Notification]:
        """Subscriptions whose gap was answered, claimed exactly once across replicas (the caller sends the DMs)."""
        raise NotImplementedError

    # --- files ---

    async def export(self, directory: Path) -> tuple[Path, Path]:
        """Write faq.yaml (curated entries) and kb.yaml (synonym groups) in the formats the loader reads."""
        raise NotImplementedError

    async def import_files(self, directory: Path, actor: Actor) -> int:
        """Import an exported faq.yaml / kb.yaml back; idempotent (returns how many items were new)."""
        raise NotImplementedError

    # --- index ---

    def merge(self, kb: KnowledgeBase, learned: LearnedSnapshot) -> KnowledgeBase:
        """The knowledge base with learned knowledge added (handbook text untouched; phrasings capped)."""
        raise NotImplementedError

    async def changed(self) -> None:
        """Rebuild this replica's index and ask the others to rebuild (signed reload message)."""
        raise NotImplementedError
