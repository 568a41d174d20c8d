"""Endy learns: knowledge gaps become learned phrasings, curated FAQ entries and synonyms, kept in PostgreSQL.

Every mutating call re-checks the admin role, validates everything first and writes in one transaction (with
its audit row), so a refused or repeated action saves nothing; then the local index is rebuilt and the other
replicas are asked to rebuild through the signed reload message (services/kb_reload.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loguru import logger

from services.admin import AdminService
from services.answer_types import Answer, AnswerKind, Asker
from services.answering import AnswerService
from services.cache import normalise_question
from services.kb_model import KnowledgeBase, Section
from services.kb_reload import KnowledgeReloader
from services.learning_files import export_files, read_files
from services.learning_gaps import GapViews, gap_key, question_key
from services.learning_merge import learning_parts, merged_knowledge, target_of
from services.learning_store import LearningStore, Who
from services.learning_types import (
    WRONG_SECTION_REASON,
    FaqDraft,
    GapGroup,
    LearnedEntry,
    LearnedKind,
    LearnedSnapshot,
    LearningRefused,
    LearningReport,
    Notification,
    Origin,
    Refusal,
    SectionChoice,
    SynonymProposal,
    Taught,
    VoteEvent,
    checked_faq,
)
from services.learning_words import Vocabulary, check_synonym, proposals
from services.metrics import Metrics
from services.offload import run_cpu
from services.privacy import mask_pii
from services.storage import Storage

__all__ = [
    "gap_key",
    "learning_parts",
    "merged_knowledge",
    "question_key",
    "WRONG_SECTION_REASON",
    "Actor",
    "FaqDraft",
    "GapGroup",
    "LearnedEntry",
    "LearnedKind",
    "LearningRefused",
    "LearningReport",
    "LearningService",
    "Notification",
    "Origin",
    "Refusal",
    "SectionChoice",
    "SynonymProposal",
    "Taught",
    "VoteEvent",
]

_PREVIEW_ASKER = Asker(user_id="learning-preview", surface="cli")


@dataclass(frozen=True, slots=True)
class Actor:
    """The admin doing something (re-checked on every call)."""

    team_id: str
    user_id: str


class LearningService(GapViews):
    """Gaps → learned knowledge, and learned knowledge → the served index on every replica."""

    def __init__(
        self,
        store: LearningStore,
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
        self.store = store
        self.storage = storage
        self.answers = answers
        self.admin = admin
        self.metrics = metrics
        self._rebuild = rebuild
        self.reloader = reloader
        self.min_upvotes = min_upvotes
        self.per_section = phrasings_per_section

    # --- reading ---

    async def learned(self, section_id: str | None = None, *, limit: int = 50) -> list[LearnedEntry]:
        """Learned items for review, newest first; only the phrasings of one section when given."""
        titles = {s.id: s.title for s in self.kb.sections}
        entries = await self.store.entries(section_id, limit)
        return [_titled(e, titles.get(e.section_id or "")) for e in entries]

    async def preview(self, question: str) -> Answer:
        """ "이제 이렇게 답해요": the answer the served index gives now (not recorded, not cached, not rate limited)."""
        a = self.answers
        probe = AnswerService(
            a.kb,
            a.retriever,
            a.llm,
            max_question_chars=a.max_question_chars,
            min_confidence=a.composer.min_confidence,
            hedge_confidence=a.composer.hedge_confidence,
        )
        return await probe.answer(question, _PREVIEW_ASKER)

    async def report(self, days: int, now: datetime | None = None) -> LearningReport:
        """The learning lines of the weekly report: gaps closed and open, answers through learned knowledge."""
        until = now or datetime.now(UTC)
        return await self.store.report(days, until - timedelta(days=days), until)

    async def snapshot(self) -> LearnedSnapshot:
        """Everything learned, read in one go."""
        return await self.store.snapshot()

    async def merged(self, kb: KnowledgeBase) -> KnowledgeBase:
        """The folder's knowledge base with everything learned merged in (on start and on every reload)."""
        return await merged_knowledge(self.store, self.per_section, kb)

    # --- teaching (admin) ---

    async def teach_section(self, gap_id: str, section_id: str, actor: Actor, *, rebuild: bool = True) -> Taught:
        """이 문서가 답이에요: the gap's questions become learned phrasings of the section; the gap closes."""
        await self.admin.require_admin(actor.team_id, actor.user_id)
        stored = await self.store.gap(gap_id)
        if stored is None:
            raise LearningRefused(Refusal.GAP_GONE)
        section = self._section(section_id)
        keys = [question_key(q) for q in stored.questions]
        ids, skipped = await self._teach(
            section, list(stored.questions), Who(actor.team_id, actor.user_id, Origin.ADMIN, gap_id), keys, rebuild
        )
        return Taught(LearnedKind.PHRASING, len(ids), tuple(ids), gap_id, tuple(skipped))

    def _section(self, section_id: str) -> Section:
        found = next((s for s in self.kb.sections if s.id == section_id), None)
        if found is None or found.id.startswith("learned-faq:"):
            raise LearningRefused(Refusal.SECTION_GONE, detail=section_id)
        return target_of(found, self.kb)

    async def _teach(
        self, section: Section, questions: list[str], who: Who, close: list[str], rebuild: bool = True
    ) -> tuple[list[int], list[str]]:
        """Add phrasings within the section's cap (refusing only when nothing new fits); rebuild on a change."""
        own = normalise_question(section.question or section.heading)
        new = {question_key(q): mask_pii(q) for q in questions}
        skipped = [q for k, q in new.items() if k == own]
        existing = await self.store.phrasing_keys(section.id)
        fresh = [(q, k) for k, q in new.items() if k != own and k not in existing]
        room = max(0, self.per_section - len(existing))
        if fresh and room == 0:
            raise LearningRefused(Refusal.CAP_REACHED, limit=self.per_section)
        skipped += [q for q, _ in fresh[room:]]
        vocabulary = Vocabulary(self.answers.retriever)
        near = [vocabulary.near_words(q) for q, _ in fresh[:room]]
        ids = await self.store.add_phrasings(section.id, fresh[:room], who, close, near)
        if ids:
            self.metrics.knowledge_learned.labels(kind=LearnedKind.PHRASING.value).inc(len(ids))
            logger.bind(section=section.id, added=len(ids), origin=who.origin.value).info("phrasings learned")
            if rebuild:
                await self.changed()
        return ids, skipped

    async def add_faq(
        self, draft: FaqDraft, actor: Actor, gap_id: str | None = None, *, rebuild: bool = True
    ) -> Taught:
        """답변 작성: a curated FAQ entry (validated: lengths, link, empty fields); closes the gap when given."""
        await self.admin.require_admin(actor.team_id, actor.user_id)
        faq = checked_faq(draft)
        close: list[str] = []
        if gap_id is not None:
            stored = await self.store.gap(gap_id)
            if stored is None:
                raise LearningRefused(Refusal.GAP_GONE)
            close = [question_key(q) for q in stored.questions]
        key = normalise_question(faq.question)
        new = await self.store.add_faq(faq, key, Who(actor.team_id, actor.user_id, Origin.ADMIN, gap_id), close)
        if new is None:
            if normalise_question(await self.store.faq_answer(key) or "") != normalise_question(faq.answer):
                raise LearningRefused(Refusal.DUPLICATE, detail=faq.question)
            return Taught(LearnedKind.FAQ, 0, (), gap_id)
        self.metrics.knowledge_learned.labels(kind=LearnedKind.FAQ.value).inc()
        if rebuild:
            await self.changed()
        return Taught(LearnedKind.FAQ, 1, (new,), gap_id)

    async def propose_synonyms(self, gap_id: str) -> list[SynonymProposal]:
        """동의어 추가: the gap's question words the knowledge base never uses, with the closest knowledge words."""
        stored = await self.store.gap(gap_id)
        if stored is None:
            raise LearningRefused(Refusal.GAP_GONE)
        # Scoring the handbook's words by word vector is CPU work (Kiwi): off the event loop.
        return await run_cpu(proposals, Vocabulary(self.answers.retriever), stored.questions)

    async def accept_synonym(
        self, word: str, knowledge_word: str, actor: Actor, gap_id: str | None = None, *, rebuild: bool = True
    ) -> Taught:
        """Accept one (possibly edited) pair word → knowledge_word (see accept_synonyms)."""
        return await self.accept_synonyms([(word, knowledge_word)], actor, gap_id, rebuild=rebuild)

    async def accept_synonyms(
        self, pairs: Sequence[tuple[str, str]], actor: Actor, gap_id: str | None = None, *, rebuild: bool = True
    ) -> Taught:
        """Accept pairs all or nothing: every pair is checked first (one syllable, stop word, a knowledge word the
        knowledge base lacks → LearningRefused with the offending word as detail), then all are saved together."""
        await self.admin.require_admin(actor.team_id, actor.user_id)
        vocabulary = Vocabulary(self.answers.retriever)
        checked = [check_synonym(vocabulary, word, target) for word, target in pairs]
        ids = await self.store.add_synonyms(checked, Who(actor.team_id, actor.user_id, Origin.ADMIN, gap_id))
        if ids:
            self.metrics.knowledge_learned.labels(kind=LearnedKind.SYNONYM.value).inc(len(ids))
            if rebuild:
                await self.changed()
        return Taught(LearnedKind.SYNONYM, len(ids), tuple(ids), gap_id)

    async def ignore_gap(self, gap_id: str, actor: Actor) -> None:
        """무시: the group leaves the list (its questions are kept, with an audit row)."""
        await self.admin.require_admin(actor.team_id, actor.user_id)
        stored = await self.store.gap(gap_id)
        if stored is None:
            raise LearningRefused(Refusal.GAP_GONE)
        who = Who(actor.team_id, actor.user_id, Origin.ADMIN, gap_id)
        await self.store.ignore(who, [question_key(q) for q in stored.questions])

    async def remove_learned(self, kind: LearnedKind, entry_id: int, actor: Actor) -> LearnedEntry:
        """Remove one learned item (audited); LearningRefused(NOT_FOUND) when it is already gone."""
        await self.admin.require_admin(actor.team_id, actor.user_id)
        removed = await self.store.remove(entry_id, kind, Who(actor.team_id, actor.user_id))
        if removed is None:
            raise LearningRefused(Refusal.NOT_FOUND)
        await self.changed()
        return removed

    # --- votes teach ---

    async def record_vote(self, vote: VoteEvent) -> Taught | None:
        """A 👍 counts towards learning the question as a phrasing of the cited section (at LEARN_MIN_UPVOTES
        distinct voters); a 👎 with WRONG_SECTION_REASON demotes that section for the question's cluster."""
        found = next((s for s in self.kb.sections if s.id == vote.section_id), None)
        if found is None or found.id.startswith("learned-faq:") or vote.rating not in (1, -1):
            return None
        section, masked = target_of(found, self.kb), mask_pii(vote.question)
        demote = vote.rating == -1 and WRONG_SECTION_REASON in vote.reasons
        key = question_key(masked)
        up, changed = await self.store.vote(
            key, masked, section.id, vote.team_id, vote.user_id, vote.rating, vote.reasons, demote
        )
        if demote:
            if changed:  # the section now ranks lower for this question's cluster, on every replica
                logger.bind(section=section.id).info("section demoted for a question")
                await self.changed()
            return None
        if vote.rating != 1 or up < self.min_upvotes:
            return None
        try:
            # The question is answered now: it leaves the gap list, and whoever opted in on it is owed the DM.
            ids, skipped = await self._teach(section, [masked], Who(vote.team_id, "votes", Origin.VOTES), [key])
        except LearningRefused:  # the section is full: votes never push out what admins taught
            return None
        return Taught(LearnedKind.PHRASING, len(ids), tuple(ids), None, tuple(skipped)) if ids else None

    async def record_vote_for(
        self, request_id: str, team_id: str, user_id: str, rating: int, reasons: Sequence[str] = ()
    ) -> Taught | None:
        """record_vote for a vote on the answer with this request id (the question and cited section are looked up;
        None when the answer is not stored yet or cited nothing)."""
        found = await self.store.asked(request_id)
        if found is None or found[1] is None:
            return None
        return await self.record_vote(VoteEvent(found[0], found[1], team_id, user_id, rating, tuple(reasons)))

    async def record_vote_on_reply(
        self, channel_id: str, reply_ts: str, team_id: str, user_id: str, rating: int
    ) -> Taught | None:
        """record_vote for a 👍/👎 reaction on Endy's answer message (found by channel and ts, as a button vote finds
        it by request id; None when that message is not a stored answer or cited nothing)."""
        found = await self.store.asked_in_reply(channel_id, reply_ts)
        if found is None or found[1] is None:
            return None
        return await self.record_vote(VoteEvent(found[0], found[1], team_id, user_id, rating))

    # --- closing the loop for the asker ---

    async def subscribe(self, question: str, team_id: str, user_id: str) -> bool:
        """답이 생기면 알려 주세요: opt in for one question (masked here); False when already subscribed."""
        masked = mask_pii(question)
        return await self.store.subscribe(team_id, user_id, masked, question_key(masked))

    async def claim_notifications(self, limit: int = 50) -> list[Notification]:
        """Subscriptions whose gap was answered, claimed exactly once across replicas (the caller sends the DMs)."""
        return await self.store.claim(limit)

    async def answered_notifications(self, limit: int = 20) -> list[Notification]:
        """Opt-ins whose question the served index answers now, however that came about (a near question taught
        by votes, a synonym, a reload), each claimed exactly once across replicas (the caller sends the DMs)."""
        out = []
        for n in await self.store.pending(limit):
            answered = (await self.preview(n.question)).kind is not AnswerKind.NOT_FOUND
            if answered and await self.store.claim_one(n.id):
                out.append(n)
        return out

    # --- files ---

    async def export(self, directory: Path) -> tuple[Path, Path]:
        """Write faq.yaml (curated entries and phrasings) and kb.yaml (synonym groups) in the loader's formats."""
        return export_files(await self.store.snapshot(), self.kb, directory)

    async def import_files(self, directory: Path, actor: Actor) -> int:
        """Import exported faq.yaml / kb.yaml; idempotent (returns how many items were new; refused ones skipped)."""
        await self.admin.require_admin(actor.team_id, actor.user_id)
        curated, phrasings, synonyms = read_files(directory, self.kb)
        who, vocabulary, added = Who(actor.team_id, actor.user_id, Origin.IMPORT), Vocabulary(self.answers.retriever), 0
        for entry in curated:
            draft = FaqDraft(
                entry.question or entry.heading,
                entry.text,
                entry.category,
                entry.department,
                entry.link,
                entry.keywords,
            )
            faq = checked_faq(draft)
            added += await self.store.add_faq(faq, normalise_question(faq.question), who, []) is not None
        for text, section in phrasings:
            added += len(await self.store.add_phrasings(section.id, [(text, question_key(text))], who, []))
        for word, target in synonyms:
            try:
                pair = check_synonym(vocabulary, word, target)
            except LearningRefused:
                continue
            added += len(await self.store.add_synonyms([pair], who))
        if added:
            await self.changed()
        return added

    # --- index ---

    async def changed(self) -> None:
        """Rebuild this replica's index and ask the others to rebuild (signed reload message)."""
        if self._rebuild is not None:
            await self._rebuild()
        if self.reloader is not None:
            await self.reloader.publish()


def _titled(entry: LearnedEntry, title: str | None) -> LearnedEntry:
    return replace(entry, section_title=title)
