"""AnswerService: the one pipeline every door calls.

validate → rate limit → mask → cache → retrieve → generate (LLM) or extract → persist (write-behind).
The answer itself is produced by services/answer_stream.py; retrieval and composition run off the event loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.answer_stream import FALLBACK_SEPARATOR, AnswerStream, Engine, exchange_of
from services.answer_types import Answer, Asker, Turn
from services.cache import AnswerCache
from services.compose import Composer
from services.errors import InvalidQuestion, InvalidReason
from services.knowledge import KnowledgeBase
from services.llm import LlmClient
from services.markup_links import valid_link, written_hosts
from services.offload import AppLoopDense
from services.persist import Recorder, RecordExchange
from services.ratelimit import RateLimiter
from services.retrieval import Retriever
from services.tokenizer import clean_text

__all__ = [
    "FALLBACK_SEPARATOR",
    "AnswerService",
    "AnswerStream",
    "Protection",
    "knowledge_links",
]

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


def _loop_safe(retriever: Retriever) -> Retriever:
    """Retrieval runs in a worker thread; its dense scorer's HTTP call must still be made on the app's loop."""
    if retriever.dense is not None and not isinstance(retriever.dense, AppLoopDense):
        retriever.dense = AppLoopDense(retriever.dense)
    return retriever


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
        hedge_confidence: float | None = 0.5,
        protection: Protection | None = None,
    ) -> None:
        self.llm = llm
        self.max_question_chars = max_question_chars
        self.protection = protection or Protection()
        self._running: set[asyncio.Task[None]] = set()  # answers being produced (whether or not still read)
        self._engine = self._build(kb, retriever, Composer(kb, retriever, min_confidence, hedge_confidence))

    def _build(self, kb: KnowledgeBase, retriever: Retriever, composer: Composer) -> Engine:
        _loop_safe(retriever)
        cache, recorder = self.protection.cache, self.protection.recorder
        return Engine(kb, composer, self.llm, knowledge_links(kb), self.max_question_chars, cache, recorder)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served."""
        return self._engine.kb

    @property
    def retriever(self) -> Retriever:
        """The retriever of the knowledge base being served."""
        return self._engine.composer.retriever

    @property
    def composer(self) -> Composer:
        """Retrieval plus the answer rules, for the knowledge base being served."""
        return self._engine.composer

    @property
    def kb_links(self) -> frozenset[str]:
        """The links answers from the knowledge base being served may show."""
        return self._engine.kb_links

    def swap(self, kb: KnowledgeBase, retriever: Retriever) -> None:
        """Serve a reloaded knowledge base from now on (in-flight answers finish on the old one)."""
        old = self._engine.composer
        self._engine = self._build(kb, retriever, Composer(kb, retriever, old.min_confidence, old.hedge_confidence))

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
        return AnswerStream(self._engine, cleaned, asker, history, running=self._running, service=self)

    async def answer(self, question: str, asker: Asker, history: Sequence[Turn] = ()) -> Answer:
        """One complete answer (the LLM's when available, else extractive)."""
        stream = await self.stream(question, asker, history)
        async for _ in stream:
            pass
        return stream.result

    async def settle(self, within: float) -> bool:
        """Wait (bounded) for answers still being produced after their readers left; True when none is left."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=within)
        return not self._running

    def record(self, answer: Answer, asker: Asker) -> None:
        """Queue the exchange for PostgreSQL (never blocks the reply)."""
        recorder = self.protection.recorder
        if recorder is not None:
            recorder.submit(RecordExchange(exchange_of(answer, asker, self.kb.version)))
