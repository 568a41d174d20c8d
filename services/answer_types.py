"""The values the answer pipeline takes and returns (shared by every door, the cache and storage)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from services.knowledge import Department, KnowledgeBase, Section


class AnswerKind(StrEnum):
    """What kind of reply the pipeline produced."""

    ANSWER = "answer"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks, through which door (dm, mention, slash, cli), and where (for threads and storage)."""

    user_id: str
    team_id: str | None = None
    surface: str = "cli"
    channel_id: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange in the same conversation (question, answer)."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Source:
    """A cited knowledge-base section."""

    title: str
    link: str | None
    source: str
    section_id: str

    def to_dict(self) -> dict[str, str | None]:
        """JSON form (cache, database)."""
        return {"title": self.title, "link": self.link, "source": self.source, "section_id": self.section_id}


def _cited(stored: object, sections: Mapping[str, Section]) -> list[Source]:
    """The cached citations that name a section of this knowledge base, as the knowledge base states them."""
    if not isinstance(stored, list):
        return []
    found = [sections.get(str(d.get("section_id"))) for d in stored if isinstance(d, dict)]
    return [Source(s.title, s.link, s.source, s.id) for s in found if s is not None]


@dataclass(slots=True)
class Answer:
    """The pipeline's result, ready for any door to render."""

    kind: AnswerKind
    text: str
    question: str
    sources: list[Source] = field(default_factory=list)
    confidence: float = 0.0
    related_questions: list[str] = field(default_factory=list)
    used_llm: bool = False
    llm_failed: bool = False
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    department: Department | None = None
    suggestions: list[Source] = field(default_factory=list)
    category: str | None = None
    cached: bool = False
    request_id: uuid.UUID = field(default_factory=uuid.uuid4)
    timings: dict[str, float] = field(default_factory=dict)
    # Grey zone: retrieval found something plausible but is not sure; doors say so ("혹시 이 내용을 찾으셨나요?").
    hedged: bool = False
    # The question's language ("ko" or "en"): an English question gets a short English note without an LLM.
    language: str = "ko"

    def to_cache(self) -> dict[str, Any]:
        """The cacheable part (no request id, timings or token counts of this asking)."""
        return {
            "kind": self.kind.value,
            "text": self.text,
            "sources": [s.to_dict() for s in self.sources],
            "confidence": self.confidence,
            "related": self.related_questions,
            "used_llm": self.used_llm,
            "model": self.model,
            "department": self.department.key if self.department else None,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "category": self.category,
            "hedged": self.hedged,
            "language": self.language,
        }

    @classmethod
    def from_cache(cls, payload: dict[str, Any], question: str, kb: KnowledgeBase) -> Answer:
        """Rebuild a cached answer (signed by Endy: services/cache.py) for a new asking of the same question; its
        citations are rebuilt from the knowledge base being served, so only real sections are ever cited."""
        sections = {s.id: s for s in kb.sections}
        return cls(
            AnswerKind(payload["kind"]),
            str(payload["text"]),
            question,
            sources=_cited(payload.get("sources"), sections),
            confidence=float(payload.get("confidence", 0.0)),
            related_questions=[str(q) for q in payload.get("related", [])],
            used_llm=bool(payload.get("used_llm")),
            model=payload.get("model"),
            department=kb.department(payload.get("department")),
            suggestions=_cited(payload.get("suggestions"), sections),
            category=payload.get("category"),
            hedged=bool(payload.get("hedged")),
            language=str(payload.get("language") or "ko"),
            cached=True,
        )
