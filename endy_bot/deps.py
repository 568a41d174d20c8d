"""Composition root for the answer engine: settings → knowledge → retriever → LLM → AnswerService."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from config.settings import Settings
from services.answering import AnswerService
from services.embeddings import DenseIndex
from services.knowledge import KnowledgeBase, load_knowledge_base, sample_kb_dir
from services.llm import LlmClient
from services.logging import log_llm_status
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything a door needs, built once and closed in reverse order."""

    settings: Settings
    kb: KnowledgeBase
    retriever: Retriever
    llm: LlmClient | None
    answers: AnswerService


def knowledge_root(settings: Settings) -> Path:
    """KNOWLEDGE_DIR, or the bundled sample handbook."""
    return settings.knowledge_dir or sample_kb_dir()


def build_retriever(kb: KnowledgeBase, settings: Settings, tokenizer: KoreanTokenizer | None = None) -> Retriever:
    """Build the lexical retriever (token cache under DATA_DIR/cache)."""
    tokenizer = tokenizer or KoreanTokenizer()
    return Retriever(kb, tokenizer, cache_dir=settings.data_dir / "cache")


@asynccontextmanager
async def open_deps(settings: Settings) -> AsyncIterator[Deps]:
    """Open every dependency; refuse a production configuration that is unfit (all problems at once)."""
    settings.check_startup()
    log_llm_status(settings)
    async with AsyncExitStack() as stack:
        kb = await asyncio.to_thread(load_knowledge_base, knowledge_root(settings))
        logger.bind(kb=kb.name, version=kb.version, sections=len(kb.sections), errors=len(kb.errors)).info(
            "knowledge base loaded"
        )
        retriever = await asyncio.to_thread(build_retriever, kb, settings)
        llm: LlmClient | None = None
        if settings.llm_enabled:
            llm = LlmClient(settings)
            stack.push_async_callback(llm.aclose)
            dense = DenseIndex(llm, kb.sections, settings.data_dir / "cache")
            await dense.prepare()
            if dense.ready:
                retriever.dense = dense
        answers = AnswerService(
            kb,
            retriever,
            llm,
            max_question_chars=settings.max_question_chars,
            min_confidence=settings.answer_min_confidence,
        )
        yield Deps(settings, kb, retriever, llm, answers)
