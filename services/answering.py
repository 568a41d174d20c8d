"""AnswerService: the one pipeline every door calls (validate → mask → retrieve → generate/extract)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from loguru import logger

from services.errors import InvalidQuestion, InvalidReason, LlmUnavailable
from services.extract import extract_answer
from services.knowledge import Department, KnowledgeBase, Section, SectionKind
from services.llm import LlmClient, StreamUsage
from services.privacy import PLACEHOLDERS, mask_pii
from services.prompts import build_messages
from services.retrieval import Retrieval, Retriever
from services.tokenizer import clean_text

_GROUNDING_SECTIONS = 3
_RELATED = 3
_SUGGEST_COVERAGE = 0.25
_CLOSE_SCORE = 0.8


class AnswerKind(StrEnum):
    """What kind of reply the pipeline produced."""

    ANSWER = "answer"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks, and through which door (dm, mention, slash, cli)."""

    user_id: str
    team_id: str | None = None
    surface: str = "cli"


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange in the same conversation (masked question, answer)."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Source:
    """A cited knowledge-base section."""

    title: str
    link: str | None
    source: str
    section_id: str


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
    timings: dict[str, float] = field(default_factory=dict)


class AnswerService:
    """Answers Korean questions from the knowledge base, with the LLM when one is configured."""

    def __init__(
        self,
        kb: KnowledgeBase,
        retriever: Retriever,
        llm: LlmClient | None,
        *,
        max_question_chars: int = 500,
        min_confidence: float = 0.5,
    ) -> None:
        self.kb = kb
        self.retriever = retriever
        self.llm = llm
        self.max_question_chars = max_question_chars
        self.min_confidence = min_confidence

    def validate(self, question: str) -> str:
        """Clean the question (control characters stripped) or raise InvalidQuestion."""
        cleaned = " ".join(clean_text(question).split())
        if not cleaned:
            raise InvalidQuestion(InvalidReason.EMPTY)
        if len(cleaned) > self.max_question_chars:
            raise InvalidQuestion(InvalidReason.TOO_LONG, self.max_question_chars, len(cleaned))
        return cleaned

    async def answer(self, question: str, asker: Asker, history: Sequence[Turn] = ()) -> Answer:
        """One complete answer (the LLM's when available, else extractive)."""
        stream = self.stream(question, asker, history)
        async for _ in stream:
            pass
        return stream.result

    def stream(self, question: str, asker: Asker, history: Sequence[Turn] = ()) -> AnswerStream:
        """Stream the answer's text in chunks; `.result` holds the full Answer afterwards."""
        return AnswerStream(self, self.validate(question), asker, history)

    async def retrieve(self, masked: str, history: Sequence[Turn]) -> Retrieval:
        """Retrieve for the question; a follow-up also searches with the previous question."""
        query = _without_placeholders(masked)
        result = await self.retriever.search(query, k=5)
        if history and result.confidence < self.min_confidence:
            combined = await self.retriever.search(f"{_without_placeholders(history[-1].question)} {query}", k=5)
            if combined.confidence > result.confidence:
                return combined
        return result

    def not_found(self, masked: str, result: Retrieval) -> Answer:
        """The honest "not in the handbook" answer, naming the team to ask."""
        best = result.best
        dep_key = best.section.department if best and best.coverage >= _SUGGEST_COVERAGE else None
        # Partial matches are offered as "maybe this helps" links, never presented as the answer.
        near = [
            h.section
            for h in result.hits[:_RELATED]
            if h.coverage >= _SUGGEST_COVERAGE and best and h.score >= _CLOSE_SCORE * best.score
        ]
        return Answer(
            AnswerKind.NOT_FOUND,
            "",
            masked,
            confidence=result.confidence,
            department=self.kb.department(dep_key),
            suggestions=[Source(s.title, s.link, s.source, s.id) for s in near],
        )

    def grounded(self, masked: str, result: Retrieval) -> Answer:
        """An extractive answer from the best section, with sources and related questions."""
        best = result.hits[0].section
        text = extract_answer(best, set(result.query_tokens), self.retriever.tokenizer)
        return Answer(
            AnswerKind.ANSWER,
            text,
            masked,
            sources=self.sources(result),
            confidence=result.confidence,
            related_questions=self.related(result),
            department=self.kb.department(best.department),
        )

    def sources(self, result: Retrieval) -> list[Source]:
        """The sections an answer is grounded on (the best, plus close runners-up)."""
        top = result.hits[0]
        chosen = [
            h.section
            for h in result.hits[:_GROUNDING_SECTIONS]
            if h is top
            or h.section.heading == top.section.related_heading
            or (h.score >= _CLOSE_SCORE * top.score and h.coverage >= self.min_confidence)
        ]
        return [Source(s.title, s.link, s.source, s.id) for s in chosen]

    def related(self, result: Retrieval) -> list[str]:
        """FAQ questions near this one (not the one already answered)."""
        best = result.hits[0].section
        out: list[str] = []
        for hit in result.hits[1:]:
            q = hit.section.question
            if hit.section.kind is SectionKind.FAQ and q and q != best.question and q not in out:
                out.append(q)
        return out[:_RELATED]


def _without_placeholders(text: str) -> str:
    """Masked PII says nothing about the topic; keep it out of retrieval."""
    for placeholder in PLACEHOLDERS.values():
        text = text.replace(placeholder, " ")
    return text


class AnswerStream:
    """Async iterator of answer text chunks; the final Answer is in `.result` once exhausted."""

    def __init__(self, service: AnswerService, question: str, asker: Asker, history: Sequence[Turn]) -> None:
        self._svc = service
        self._question = question
        self._asker = asker
        self._history = history
        self._result: Answer | None = None

    @property
    def result(self) -> Answer:
        """The full Answer (only after the stream has been consumed)."""
        if self._result is None:
            raise RuntimeError("AnswerStream.result read before the stream finished")
        return self._result

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        svc, started = self._svc, time.perf_counter()
        masked = mask_pii(self._question)
        history = [Turn(mask_pii(t.question), mask_pii(t.answer)) for t in self._history]
        result = await svc.retrieve(masked, history)
        retrieved = time.perf_counter()
        if result.best is None or result.confidence < svc.min_confidence:
            answer = svc.not_found(masked, result)
        else:
            answer = svc.grounded(masked, result)
            if svc.llm is not None:
                async for chunk in self._generate(answer, result, history):
                    yield chunk
        if not answer.used_llm and answer.text:
            yield answer.text
        answer.timings = {"retrieve": retrieved - started, "total": time.perf_counter() - started}
        logger.bind(
            kind=answer.kind.value,
            confidence=round(answer.confidence, 3),
            llm=answer.used_llm,
            surface=self._asker.surface,
            ms=round(answer.timings["total"] * 1000, 1),
        ).info("answered")
        self._result = answer

    async def _generate(self, answer: Answer, result: Retrieval, history: list[Turn]) -> AsyncIterator[str]:
        """Stream the LLM's grounded answer; on failure before any text, fall back silently."""
        llm = self._svc.llm
        assert llm is not None
        sections: list[Section] = [h.section for h in result.hits[:_GROUNDING_SECTIONS]]
        messages = build_messages(answer.question, sections, [(t.question, t.answer) for t in history])
        usage, parts = StreamUsage(), []
        try:
            async for chunk in llm.stream(messages, usage):
                parts.append(chunk)
                yield chunk
        except LlmUnavailable:
            answer.llm_failed = True
            if parts:  # part of a generated answer is already shown: separate the handbook text after it
                yield "\n\n---\n"
            return
        answer.text, answer.used_llm, answer.model = "".join(parts), True, usage.model or llm.model
        answer.prompt_tokens, answer.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        answer.sources = [Source(s.title, s.link, s.source, s.id) for s in sections]
