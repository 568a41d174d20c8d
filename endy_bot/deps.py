"""Composition root: settings → storage, Redis, knowledge, retriever, LLM → AnswerService (closed in reverse)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import redis.asyncio as aioredis
from loguru import logger

from config.settings import Settings
from services.admin import AdminService
from services.answering import AnswerService, Protection
from services.cache import AnswerCache
from services.channels import ChannelDirectory
from services.db import open_pool
from services.dedupe import EventDeduper
from services.embeddings import DenseIndex
from services.kb_reload import KnowledgeReloader
from services.knowledge import KnowledgeBase, load_knowledge_base, require_folder, sample_kb_dir
from services.learning import LearningService, learning_parts
from services.llm import LlmClient
from services.logging import log_llm_status
from services.metrics import Metrics
from services.migrate import migrate, migration_status
from services.persist import Recorder
from services.ratelimit import RateLimiter
from services.redis_conn import open_redis
from services.redis_watch import RedisWatch
from services.retrieval import Retriever
from services.signing import Keyring
from services.storage import Storage
from services.tokenizer import KoreanTokenizer

# Slack refuses a request older than 5 minutes (endy_bot/slack_http.py): a replay is remembered a little longer.
REPLAY_MEMORY_SECONDS = 6 * 60
# Deciding on a replay holds up the ack (Slack waits 3 s): a busy Redis is waited for this long at most.
REPLAY_PATIENCE_SECONDS = 1.0
# An escalation button stays in Slack for good; its question counts as sent for this long.
ESCALATION_MEMORY_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything a door needs, built once per process and closed in reverse order."""

    settings: Settings
    metrics: Metrics
    llm: LlmClient | None
    pool: asyncpg.Pool
    redis: aioredis.Redis
    storage: Storage
    recorder: Recorder
    limiter: RateLimiter
    cache: AnswerCache
    deduper: EventDeduper
    answers: AnswerService
    admin: AdminService
    reloader: KnowledgeReloader
    keys: Keyring  # SECRET_KEY's signers: cached answers, reload requests, button values
    replays: EventDeduper  # signed slash commands and interactions seen in Slack's 5-minute window
    escalations: EventDeduper  # questions already handed to their team
    channels: ChannelDirectory = field(default_factory=ChannelDirectory)  # kb.yaml's team channels, resolved
    learning: LearningService | None = None  # knowledge learned in Slack (issue 16)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served (it changes on `/endy-admin kb reload`)."""
        return self.answers.kb

    @property
    def retriever(self) -> Retriever:
        """The retriever of the knowledge base being served."""
        return self.answers.retriever

    async def reload_knowledge(self) -> KnowledgeBase:
        """Re-read KNOWLEDGE_DIR and swap it in (token and embedding caches make unchanged parts cheap)."""
        learned = self.learning.merged if self.learning is not None else None
        kb, retriever = await load_index(self.settings, self.llm, self.answers.retriever.tokenizer, learned)
        self.answers.swap(kb, retriever)
        logger.bind(version=kb.version, sections=len(kb.sections), errors=len(kb.errors)).info(
            "knowledge base reloaded"
        )
        return kb


def knowledge_root(settings: Settings) -> Path:
    """KNOWLEDGE_DIR, or the bundled sample handbook."""
    return settings.knowledge_dir or sample_kb_dir()


def build_retriever(kb: KnowledgeBase, settings: Settings, tokenizer: KoreanTokenizer | None = None) -> Retriever:
    """Build the lexical retriever (token cache under DATA_DIR/cache)."""
    tokenizer = tokenizer or KoreanTokenizer()
    return Retriever(kb, tokenizer, cache_dir=settings.data_dir / "cache")


async def run_migrate(settings: Settings, *, status: bool) -> int:
    """`endy migrate [--status]`: apply pending migrations or list them."""
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings, stack)
        async with pool.acquire() as conn:
            if status:
                for state in await migration_status(conn):
                    mark = "✔" if state.applied_at else "·"
                    when = state.applied_at.isoformat(timespec="seconds") if state.applied_at else "pending"
                    warn = "" if state.checksum_ok else "  ⚠️ changed after it was applied"
                    print(f"{mark} {state.name}  {when}{warn}")
                return 0
            applied = await migrate(conn)
    print("\n".join(f"applied {name}" for name in applied) or "nothing to apply: the schema is up to date")
    return 0


async def load_index(
    settings: Settings,
    llm: LlmClient | None,
    tokenizer: KoreanTokenizer | None = None,
    learned: Callable[[KnowledgeBase], Awaitable[KnowledgeBase]] | None = None,
) -> tuple[KnowledgeBase, Retriever]:
    """Load KNOWLEDGE_DIR (plus what was learned in Slack) and build its retriever (and dense embeddings)."""
    kb = await asyncio.to_thread(load_knowledge_base, knowledge_root(settings))
    if learned is not None:
        kb = await learned(kb)
    logger.bind(kb=kb.name, version=kb.version, sections=len(kb.sections), errors=len(kb.errors)).info(
        "knowledge base loaded"
    )
    retriever = await asyncio.to_thread(build_retriever, kb, settings, tokenizer)
    if llm is not None:
        dense = DenseIndex(llm, kb.sections, settings.data_dir / "cache")
        await dense.prepare()
        retriever.dense = dense if dense.ready else None
    return kb, retriever


async def _knowledge(
    settings: Settings,
    stack: AsyncExitStack,
    metrics: Metrics,
    learned: Callable[[KnowledgeBase], Awaitable[KnowledgeBase]] | None = None,
) -> tuple[KnowledgeBase, Retriever, LlmClient | None]:
    llm: LlmClient | None = None
    if settings.llm_enabled:
        llm = LlmClient(settings, metrics=metrics)
        stack.push_async_callback(llm.aclose)
    kb, retriever = await load_index(settings, llm, learned=learned)
    return kb, retriever, llm


class _RedisParts(NamedTuple):
    limiter: RateLimiter
    cache: AnswerCache
    deduper: EventDeduper
    replays: EventDeduper
    escalations: EventDeduper


def _redis_parts(
    settings: Settings, redis: aioredis.Redis, watch: RedisWatch, metrics: Metrics, keys: Keyring
) -> _RedisParts:
    """Everything built on the one Redis: limiter, signed answer cache, event dedupe, replay and escalation guards."""
    prefix, timeout = settings.redis_key_prefix, settings.redis_timeout_seconds
    common: dict[str, Any] = {"key_prefix": prefix, "metrics": metrics, "timeout": timeout, "watch": watch}
    return _RedisParts(
        RateLimiter(redis, per_minute=settings.rate_limit_per_minute, per_hour=settings.rate_limit_per_hour, **common),
        AnswerCache(redis, ttl_seconds=settings.cache_ttl_seconds, signer=keys.signer("answer-cache"), **common),
        EventDeduper(redis, **common),
        EventDeduper(
            redis,
            namespace="replay",
            ttl_seconds=REPLAY_MEMORY_SECONDS,
            patience=REPLAY_PATIENCE_SECONDS,
            **common,
        ),
        EventDeduper(redis, namespace="escalated", ttl_seconds=ESCALATION_MEMORY_SECONDS, **common),
    )


@asynccontextmanager
async def open_deps(settings: Settings) -> AsyncIterator[Deps]:
    """Open every dependency; refuse a production configuration that is unfit (all problems at once).

    A KNOWLEDGE_DIR that does not exist raises KnowledgeError before anything is started.
    """
    settings.check_startup()
    require_folder(knowledge_root(settings))
    log_llm_status(settings)
    metrics = Metrics(process_collectors=True)
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings, stack)
        if settings.migrate_on_start:
            async with pool.acquire() as conn:
                await migrate(conn)
        redis = await open_redis(settings, stack)
        storage = Storage(pool)
        recorder = Recorder(storage, metrics=metrics, spill_path=settings.data_dir / "spill" / "writes.jsonl")
        await recorder.start()
        stack.push_async_callback(recorder.aclose)
        watch = RedisWatch(redis)  # one per process: a reply to any of the three proves Redis alive to all
        stack.push_async_callback(watch.aclose)
        await watch.connect(settings.redis_timeout_seconds)
        keys = Keyring(settings.secret_key)
        parts = _redis_parts(settings, redis, watch, metrics, keys)
        learned_store, merge = learning_parts(pool, settings.learned_phrasings_per_section)
        kb, retriever, llm = await _knowledge(settings, stack, metrics, merge)
        answers = AnswerService(
            kb,
            retriever,
            llm,
            max_question_chars=settings.max_question_chars,
            min_confidence=settings.answer_min_confidence,
            hedge_confidence=settings.answer_hedge_confidence,
            protection=Protection(limiter=parts.limiter, cache=parts.cache, recorder=recorder),
        )
        admin = AdminService(storage, settings.admin_user_ids, retriever.tokenizer)
        holder: list[Deps] = []
        reloader = KnowledgeReloader(
            redis,
            key_prefix=settings.redis_key_prefix,
            reload=lambda: holder[0].reload_knowledge(),
            signer=keys.signer("kb-reload"),
            metrics=metrics,
        )
        deps = Deps(
            settings, metrics, llm, pool, redis, storage, recorder, parts.limiter, parts.cache, parts.deduper,
            answers, admin, reloader, keys, parts.replays, parts.escalations,
            learning=LearningService(
                learned_store, storage, answers, admin, metrics=metrics, reloader=reloader,
                rebuild=lambda: holder[0].reload_knowledge(), min_upvotes=settings.learn_min_upvotes,
                phrasings_per_section=settings.learned_phrasings_per_section,
            ),
        )  # fmt: skip
        holder.append(deps)
        await reloader.start()
        stack.push_async_callback(reloader.aclose)
        yield deps
