"""Learned knowledge's values and errors: what the learning service takes, returns and refuses (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.errors import EndyError
from services.markup_links import valid_link

# The 👎 reason (feedback modal key) that says "this answer cited the wrong document" (다른 문서가 필요해요).
WRONG_SECTION_REASON = "wrong_section"
MAX_FAQ_QUESTION_CHARS = 300
MAX_FAQ_ANSWER_CHARS = 3000
MAX_SYNONYM_CHARS = 30


class LearnedKind(StrEnum):
    """What kind of learned knowledge (the `kind` label of knowledge_learned_total)."""

    PHRASING = "phrasing"  # a question taught to a handbook section (by an admin or by 👍 votes)
    FAQ = "faq"  # a curated FAQ entry written by an admin
    SYNONYM = "synonym"  # a question word accepted as a synonym of a knowledge word


class Origin(StrEnum):
    """Who taught it."""

    ADMIN = "admin"
    VOTES = "votes"
    IMPORT = "import"


class Refusal(StrEnum):
    """Why a learning action was refused; the Slack side maps each to a Korean message (handlers/texts.py)."""

    SECTION_GONE = "section_gone"  # the chosen section is no longer in the knowledge base
    GAP_GONE = "gap_gone"  # the gap id is unknown (never listed, or forged)
    NOT_FOUND = "not_found"  # the learned entry to remove does not exist (already removed)
    SYNONYM_TOO_SHORT = "synonym_too_short"  # a single syllable would match almost everything
    SYNONYM_STOP_WORD = "synonym_stop_word"  # a stop word / generic workplace word (신청, 방법, 회사 …)
    SYNONYM_SAME = "synonym_same"  # the word and the knowledge word are the same
    SYNONYM_TOO_LONG = "synonym_too_long"  # over MAX_SYNONYM_CHARS
    SYNONYM_UNKNOWN_TARGET = "synonym_unknown_target"  # the knowledge word occurs nowhere in the knowledge base
    EMPTY = "empty"  # a required field (question, answer) is empty
    TOO_LONG = "too_long"  # question > MAX_FAQ_QUESTION_CHARS or answer > MAX_FAQ_ANSWER_CHARS (limit, length)
    BAD_LINK = "bad_link"  # the link is not an absolute http(s) address Endy may show
    CAP_REACHED = "cap_reached"  # the section already has LEARNED_PHRASINGS_PER_SECTION phrasings
    DUPLICATE = "duplicate"  # a curated FAQ entry with this question exists with another answer


class LearningRefused(EndyError):
    """A learning action that was refused as a whole (nothing was saved); `reason` says why."""

    def __init__(self, reason: Refusal, *, limit: int = 0, length: int = 0, detail: str = "") -> None:
        super().__init__(f"learning refused: {reason}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.limit = limit
        self.length = length
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SectionChoice:
    """A handbook section an admin may pick (id is stable across reloads: file#heading-path)."""

    section_id: str
    title: str


@dataclass(frozen=True, slots=True)
class GapGroup:
    """Similar questions the knowledge base did not serve (masked), with the sections most likely to answer them."""

    gap_id: str  # stable key of the group (put it in the signed button value)
    example: str  # the group's representative question (masked)
    questions: tuple[str, ...]  # every distinct masked question of the group, most recent first
    count: int  # how often they were asked (and 👎'd) in the window
    negative: int  # how many of those were 👎
    department: str | None
    candidates: tuple[SectionChoice, ...]  # top retrieval candidates for the example, best first
    first_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class FaqDraft:
    """A curated FAQ entry as the admin wrote it in the 답변 작성 modal."""

    question: str
    answer: str
    category: str | None = None
    department: str | None = None
    link: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SynonymProposal:
    """A question word the knowledge base never uses, next to the closest knowledge words (best first)."""

    word: str
    candidates: tuple[str, ...]  # knowledge words, best first (lexicon first, then Kiwi word vectors)
    evidence: str  # "lexicon" or "vectors"


@dataclass(frozen=True, slots=True)
class LearnedEntry:
    """One learned item for review (`/endy-admin learned [section]`)."""

    id: int
    kind: LearnedKind
    origin: Origin
    section_id: str | None  # the section a phrasing points to (None for FAQ and synonyms)
    section_title: str | None
    text: str  # the phrasing, the FAQ question, or "word → knowledge word"
    created_by: str
    created_at: datetime
    gap_id: str | None = None


@dataclass(frozen=True, slots=True)
class Taught:
    """What a teaching action did: how many items were new (0 on a repeated click) and the affected gap."""

    kind: LearnedKind
    added: int
    ids: tuple[int, ...] = ()
    gap_id: str | None = None
    skipped: tuple[str, ...] = ()  # phrasings left out (cap reached, or already the handbook's own heading)


@dataclass(frozen=True, slots=True)
class VoteEvent:
    """One 👍/👎 on an answer: the masked question, the section the answer cited first, and who voted."""

    question: str
    section_id: str | None
    team_id: str
    user_id: str
    rating: int  # 1 or -1
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LearningReport:
    """The learning lines of `/endy-admin report` for one period."""

    days: int
    gaps_closed: int
    gaps_open: int
    answered_by_learned: int  # answers whose first source is learned knowledge
    median_hours_to_close: float | None  # from a gap's first listing to its closing; None when none closed


@dataclass(frozen=True, slots=True)
class Notification:
    """A DM owed to someone who asked to be told when their question got an answer (claimed exactly once)."""

    id: int
    team_id: str
    user_id: str
    question: str  # masked
    gap_id: str


@dataclass(slots=True)
class LearnedSnapshot:
    """Everything learned, as read from PostgreSQL once per (re)load, ready to merge into a KnowledgeBase."""

    faq: list[LearnedFaq] = field(default_factory=list)
    phrasings: list[LearnedPhrasing] = field(default_factory=list)
    synonyms: list[tuple[str, str]] = field(default_factory=list)  # (question word, knowledge word)
    demoted: set[tuple[str, str]] = field(default_factory=set)  # (question key, section id)

    @property
    def version(self) -> str:
        """A short digest of the learned content (part of the served knowledge-base version)."""
        import hashlib

        digest = hashlib.sha256()
        for f in self.faq:
            digest.update(f"f\0{f.id}\0{f.question}\0{f.answer}\0{f.link}\0".encode())
        for p in self.phrasings:
            digest.update(f"p\0{p.id}\0{p.section_id}\0{p.text}\0".encode())
        for w, k in self.synonyms:
            digest.update(f"s\0{w}\0{k}\0".encode())
        for q, section in sorted(self.demoted):
            digest.update(f"d\0{q}\0{section}\0".encode())
        return digest.hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class LearnedFaq:
    """A curated FAQ entry as stored."""

    id: int
    question: str
    answer: str
    category: str | None
    department: str | None
    link: str | None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LearnedPhrasing:
    """A question taught to a handbook section."""

    id: int
    section_id: str
    text: str
    keywords: tuple[str, ...] = ()  # near words fixed at teaching time


def checked_faq(draft: FaqDraft) -> LearnedFaq:
    """The draft cleaned, or LearningRefused for an empty or oversized field or a link Endy may not show."""
    question, answer = " ".join(draft.question.split()), draft.answer.strip()
    if not question or not answer:
        raise LearningRefused(Refusal.EMPTY)
    for text, limit in ((question, MAX_FAQ_QUESTION_CHARS), (answer, MAX_FAQ_ANSWER_CHARS)):
        if len(text) > limit:
            raise LearningRefused(Refusal.TOO_LONG, limit=limit, length=len(text))
    link = (draft.link or "").strip() or None
    if link is not None and not valid_link(link):
        raise LearningRefused(Refusal.BAD_LINK)
    keywords = tuple(dict.fromkeys(k for k in (" ".join(w.split()) for w in draft.keywords) if k))
    return LearnedFaq(0, question, answer, _opt(draft.category), _opt(draft.department), link, keywords)


def _opt(value: str | None) -> str | None:
    return " ".join(value.split())[:100] or None if value else None
