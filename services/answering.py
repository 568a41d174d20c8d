"""AnswerService: the one pipeline every door calls.

validate → rate limit → mask → cache → retrieve → generate (LLM) or extract → persist (write-behind).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from loguru import logger

from services.answer_types import Answer, AnswerKind, Asker, Turn
from services.cache import AnswerCache
from services.compose import GROUNDING_SECTIONS, Composer, is_english, is_follow_up, source_of
from services.errors import InvalidQuestion, InvalidReason, LlmUnavailable
from services.knowledge import KnowledgeBase
from services.llm import LlmClient, StreamUsage
from services.markup_links import valid_link, written_hosts
from services.persist import Recorder, RecordExchange
from services.privacy import mask_pii
from services.prompts import NOT_IN_HANDBOOK, build_messages, build_rewrite_messages
from services.ratelimit import RateLimiter
from services.retrieval import Retrieval, Retriever
from services.storage import Exchange
from services.tokenizer import clean_text

FALLBACK_SEPARATOR = "\n\n---\n"
# Part of the answer-cache key with the KB version: bump when retrieval or composition changes, so a
# deploy does not keep serving answers the previous logic produced.
ENGINE_VERSION = "e3"


_TEXT_URL = re.compile(r"https?://[^\s<>|()\[\]\"'`]+")


def knowledge_links(kb: KnowledgeBase) -> frozenset[str]:
    """The links Endy may show: each section's validated `link`, and the http(s) URLs and bare hosts (as
    `https://host`) the handbook's own text writes (validated the same way), so an answer quoting the handbook
    keeps its addresses — a VPN server name included."""
    found = {s.link for s in kb.sections if s.link}
    for section in kb.sections:
        found |= {u for m in _TEXT_URL.finditer(section.text) if valid_link(u := m.group(0).rstrip(".,;:"))}
        found |= written_hosts(section.text)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Protection:
    """The optional Redis/PostgreSQL-backed parts of the pipeline."""

    limiter: RateLimiter | None = None
    cache: AnswerCache | None = None
    recorder: Recorder | None = None


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
        hedge_confidence: float | None = 0.4,
        protection: Protection | None = None,
    ) -> None:
        self.kb = kb
        self.retriever = retriever
        self.llm = llm
        self.composer = Composer(kb, retriever, min_confidence, hedge_confidence)
        self.kb_links = knowledge_links(kb)
        self.max_question_chars = max_question_chars
        self.protection = protection or Protection()

    def swap(self, kb: KnowledgeBase, retriever: Retriever) -> None:
        """Serve a reloaded knowledge base from now on (in-flight answers finish on the old one)."""
        self.kb, self.retriever = kb, retriever
        self.composer = Composer(kb, retriever, self.composer.min_confidence, self.composer.hedge_confidence)
        self.kb_links = knowledge_links(kb)

    def validate(self, question: str) -> str:
        """Clean the question (control characters stripped) or raise InvalidQuestion."""
        cleaned = " ".join(clean_text(question).split())
        if not cleaned:
            raise InvalidQuestion(InvalidReason.EMPTY)
        if len(cleaned) > self.max_question_chars:
            raise InvalidQuestion(InvalidReason.TOO_LONG, self.max_question_chars, len(cleaned))
        return cleaned

    async def stream(self, question: str, asker: Asker, history: Sequence[Turn] = ()) -> AnswerStream:
        """Validate and rate-limit (raising InvalidQuestion / RateLimited), then stream the answer."""
        cleaned = self.validate(question)
        if self.protection.limiter is not None:
            await self.protection.limiter.acquire(asker.team_id, asker.user_id)
        return AnswerStream(self, cleaned, asker, history)

    async def answer(self, question: str, asker: Asker, history: Sequence[Turn] = ()) -> Answer:
        """One complete answer (the LLM's when available, else extractive)."""
        stream = await self.stream(question, asker, history)
        async for _ in stream:
            pass
        return stream.result

    def record(self, answer: Answer, asker: Asker) -> None:
        """Queue the exchange for PostgreSQL (never blocks the reply)."""
        recorder = self.protection.recorder
        if recorder is None:
            return
        recorder.submit(
            RecordExchange(
                Exchange(
                    request_id=answer.request_id,
                    surface=asker.surface,
                    team_id=asker.team_id or "",
                    channel_id=asker.channel_id,
                    thread_ts=asker.thread_ts,
                    user_id=asker.user_id,
                    question=answer.question,
                    answer=answer.text,
                    kind=answer.kind.value,
                    sources=[s.to_dict() for s in answer.sources],
                    confidence=answer.confidence,
                    used_llm=answer.used_llm,
                    llm_failed=answer.llm_failed,
                    model=answer.model,
                    prompt_tokens=answer.prompt_tokens,
                    completion_tokens=answer.completion_tokens,
                    latency_ms=round(answer.timings.get("total", 0.0) * 1000),
                    category=answer.category,
                    department=answer.department.key if answer.department else None,
                    kb_version=self.kb.version,
                    created_at=datetime.now(UTC),
                )
            )
        )


class AnswerStream:
    """Async iterator of answer text chunks; the final Answer is in `.result` once exhausted."""

    def __init__(self, service: AnswerService, question: str, asker: Asker, history: Sequence[Turn]) -> None:
        self._svc = service
        self._question = question
        self._asker = asker
        self._history = history
        self._result: Answer | None = None
        self._declined = False

    @property
    def service(self) -> AnswerService:
        """The service producing this stream."""
        return self._svc

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
        cache = svc.protection.cache if not history else None  # follow-ups depend on the thread
        namespace = f"{svc.kb.version}-{ENGINE_VERSION}"
        payload = await cache.get(masked, namespace) if cache is not None and cache.enabled else None
        if payload is not None:
            answer = Answer.from_cache(payload, masked, svc.kb)
        else:
            standalone = await self._standalone(masked, history)
            result = await svc.composer.retrieve(masked, history, standalone)
            answer = svc.composer.compose(masked, result)
            if answer.kind is AnswerKind.ANSWER and svc.llm is not None:
                async for chunk in self._generate(answer, result, history):
                    yield chunk
                if self._declined:  # the LLM read the sections and found no answer: the honest reply
                    answer = svc.composer.not_found(masked, result)
        if (answer.cached or not answer.used_llm) and answer.text:  # generated text was yielded as it came
            yield answer.text
        answer.timings = {"total": time.perf_counter() - started}
        if cache is not None and cache.enabled and payload is None and not answer.llm_failed:
            await cache.set(masked, namespace, answer.to_cache())
        self._result = answer
        svc.record(answer, self._asker)
        logger.bind(
            kind=answer.kind.value,
            confidence=round(answer.confidence, 3),
            llm=answer.used_llm,
            cached=answer.cached,
            surface=self._asker.surface,
            ms=round(answer.timings["total"] * 1000, 1),
        ).info("answered")

    async def _standalone(self, masked: str, history: list[Turn]) -> str | None:
        """With an LLM, a follow-up or an English question is first rewritten into one Korean search question."""
        llm = self._svc.llm
        if llm is None or not ((history and is_follow_up(masked)) or is_english(masked)):
            return None
        try:
            completion = await llm.complete(build_rewrite_messages(masked, [(t.question, t.answer) for t in history]))
        except LlmUnavailable:
            return None  # retrieval then carries the previous turn's subject by itself
        rewritten = " ".join(mask_pii(completion.text).split())[: self._svc.max_question_chars]
        return rewritten or None

    async def _generate(self, answer: Answer, result: Retrieval, history: list[Turn]) -> AsyncIterator[str]:
        """Stream the LLM's grounded answer; on failure the extractive text follows (answer.llm_failed).

        Text that could still turn out to be NOT_IN_HANDBOOK is held back, so a refusal is never shown.
        """
        llm = self._svc.llm
        assert llm is not None
        sections = [h.section for h in result.hits[:GROUNDING_SECTIONS]]
        messages = build_messages(answer.question, sections, [(t.question, t.answer) for t in history])
        usage, parts, held = StreamUsage(), [], True
        try:
            async for chunk in llm.stream(messages, usage):
                parts.append(chunk)
                if held and NOT_IN_HANDBOOK.startswith("".join(parts).strip()[: len(NOT_IN_HANDBOOK)]):
                    continue
                if held:
                    held, chunk = False, "".join(parts)
                yield chunk
        except LlmUnavailable:
            answer.llm_failed = True
            if parts and not held:  # part of a generated answer is already shown: separate the handbook text
                yield FALLBACK_SEPARATOR
            return
        text = "".join(parts)
        if text.strip().startswith(NOT_IN_HANDBOOK):
            self._declined = True
            return
        if held and text:
            yield text
        answer.text, answer.used_llm, answer.model = text, True, usage.model or llm.model
        answer.hedged = False  # the model read the sections and answered from them
        answer.prompt_tokens, answer.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        answer.sources = [source_of(s) for s in sections]
