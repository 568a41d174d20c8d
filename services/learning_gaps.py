"""The gap list an admin works through: open gap groups (masked), their questions and the likely sections."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.admin import group_gaps
from services.answering import AnswerService
from services.cache import normalise_question
from services.kb_model import KnowledgeBase
from services.learning_merge import is_learned, target_of
from services.learning_store import LearningStore
from services.learning_types import GapGroup, LearningRefused, Refusal, SectionChoice
from services.metrics import Metrics
from services.privacy import mask_pii
from services.storage import GapCandidate, Storage

GAP_MEMBER_SIMILARITY = 0.4  # the grouping's threshold (services/admin.py): a question joins its nearest group
_CANDIDATES = 5


def question_key(question: str) -> str:
    """The key two askings of one (masked) question share."""
    return normalise_question(mask_pii(question))


def gap_key(example: str) -> str:
    """A gap group's stable id, from its representative question."""
    return "g" + hashlib.sha256(question_key(example).encode()).hexdigest()[:15]


class GapViews:
    """Reading gaps (the part of LearningService that writes nothing but the listing itself)."""

    store: LearningStore
    storage: Storage
    answers: AnswerService
    metrics: Metrics

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served (learned knowledge merged in)."""
        return self.answers.kb

    async def gaps(self, days: int = 7, *, limit: int = 10, now: datetime | None = None) -> list[GapGroup]:
        """Open gap groups of the last `days` days (masked, most frequent first; ignored/closed ones left out)."""
        until = now or datetime.now(UTC)
        candidates = await self.storage.gap_candidates(until - timedelta(days=days), until)
        hidden = await self.store.hidden_questions()
        open_ = [c for c in candidates if question_key(c.question) not in hidden]
        groups = group_gaps(open_, self.answers.retriever.tokenizer, limit=len(open_) or 1)
        self.metrics.gaps_open.set(len(groups))
        members = self._members(open_, [g.example for g in groups[:limit]])
        out = []
        for gap, questions in zip(groups[:limit], members, strict=True):
            key = gap_key(gap.example)
            first = await self.store.save_gap(key, gap.example, questions, gap.count, gap.negative, gap.department)
            candidates_ = await self._candidates(gap.example)
            out.append(
                GapGroup(key, gap.example, questions, gap.count, gap.negative, gap.department, candidates_, first)
            )
        return out

    def _members(self, candidates: Sequence[GapCandidate], examples: Sequence[str]) -> list[tuple[str, ...]]:
        """Each group's distinct questions: every candidate joins the group whose example is nearest."""
        tokenizer = self.answers.retriever.tokenizer
        heads = [set(tokenizer.tokenize(e)) for e in examples]
        found: list[dict[str, str]] = [{question_key(e): e} for e in examples]
        for cand in candidates:
            tokens = set(tokenizer.tokenize(cand.question))
            scores = [len(tokens & h) / len(tokens | h) if tokens | h else 0.0 for h in heads]
            best = max(range(len(heads)), key=scores.__getitem__, default=None)
            if best is not None and scores[best] >= GAP_MEMBER_SIMILARITY:
                found[best].setdefault(question_key(cand.question), cand.question)
        return [tuple(f.values()) for f in found]

    async def _candidates(self, question: str) -> tuple[SectionChoice, ...]:
        """The sections retrieval finds for a question (a learned phrasing counts as its section), best first."""
        result = await self.answers.retriever.search(mask_pii(question), k=_CANDIDATES * 3)
        seen: dict[str, SectionChoice] = {}
        for hit in result.hits:
            section = target_of(hit.section, self.kb)
            if not is_learned(section):
                seen.setdefault(section.id, SectionChoice(section.id, section.title))
        return tuple(seen.values())[:_CANDIDATES]

    async def gap(self, gap_id: str) -> GapGroup:
        """One gap group as last listed (LearningRefused(GAP_GONE) when unknown)."""
        stored = await self.store.gap(gap_id)
        if stored is None:
            raise LearningRefused(Refusal.GAP_GONE)
        candidates = await self._candidates(stored.example)
        return GapGroup(
            stored.gap_key,
            stored.example,
            stored.questions,
            stored.asked,
            stored.negative,
            stored.department,
            candidates,
            stored.first_seen,
        )

    async def search_sections(self, query: str, limit: int = 20) -> list[SectionChoice]:
        """Handbook sections whose title contains the query (for the modal's section search)."""
        needle = " ".join(query.split()).lower()
        found = [s for s in self.kb.sections if not is_learned(s) and needle in s.title.lower()]
        return [SectionChoice(s.id, s.title) for s in found[:limit]]
