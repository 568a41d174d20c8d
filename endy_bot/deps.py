"""Composition root: settings → resources (PostgreSQL, Redis, HTTP session, LLM, knowledge) → services, closed in
reverse by one exit stack. It only wires: no command, no rendering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from loguru import logger

from config.settings import Settings
from handlers import texts
from handlers.context import SlackServices
from services import processes
from services.admin import AdminService
from services.answering import AnswerService, Protection
from services.cache import AnswerCache
from services.channels import ChannelDirectory
from services.conversation import GREETING_MEMORY_SECONDS, ConversationService
from services.db import open_pool
from services.dedupe import EventDeduper
from services.embeddings import DenseIndex
from services.feedback import FeedbackService
from services.kb_reload import KnowledgeReloader
from services.knowledge import KnowledgeBase, load_knowledge_base, require_folder, sample_kb_dir
from services.learning import LearningService, learning_parts
from services.llm import LlmClient
from services.logging import log_llm_status
from services.metrics import Metrics
from services.migrate import migrate
from services.persist import Recorder
from services.ratelimit import RateLimiter
from services.redis_conn import open_redis
from services.redis_watch import RedisWatch
from services.retrieval import Retriever
from services.signing import Keyring
from services.storage import Storage
from services.tokenizer import KoreanTokenizer
from services.versions import answer_shaping, engine_version

# Slack refuses a request older than 5 minutes (endy_bot/slack_http.py): a replay is remembered a little longer.
REPLAY_MEMORY_SECONDS = 6 * 60
# Deciding on a replay holds up the ack (Slack waits 3 s): a busy Redis is waited for this long at most.
REPLAY_PATIENCE_SECONDS = 1.0
# An escalation button stays in Slack for good; its question counts as sent for this long.
ESCALATION_MEMORY_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Deps:
    """What one process opened (closed in reverse by open_deps) and the services built on it."""

    settings: Settings
    metrics: Metrics
    llm: LlmClient | None
    pool: asyncpg.Pool
    redis: aioredis.Redis
    http: aiohttp.ClientSession  # the Slack Web API client's one long-lived session
    recorder: Recorder  # write-behind queue: shutdown flushes it
    answers: AnswerService
    admin: AdminService
    reloader: KnowledgeReloader
    reload_knowledge: Callable[[], Awaitable[KnowledgeBase]]  # on this replica (the reloader calls it for others)
    keys: Keyring  # SECRET_KEY's signers: cached answers, reload requests, button values
    slack: SlackServices  # what the Slack listeners receive
    learning: LearningService  # knowledge learned in Slack (issue 16); the handlers get it through `slack`
    channels: ChannelDirectory = field(default_factory=ChannelDirectory)  # kb.yaml's team channels, resolved

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served (it changes on `/endy-admin kb reload`)."""
        return self.answers.kb

    @property
    def retriever(self) -> Retriever:
        """The retriever of the knowledge base being served."""
        return self.answers.retriever


class KnowledgeSwap:
    """Re-reads KNOWLEDGE_DIR, merges what was learned in Slack, and swaps it into the answer service (token and
    embedding caches make unchanged parts cheap). Built before the reloader and the learning service that call it:
    no cycle to break."""

    def __init__(
        self,
        settings: Settings,
        llm: LlmClient | None,
        answers: AnswerService,
        learned: Callable[[KnowledgeBase], Awaitable[KnowledgeBase]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._llm = llm
        self._answers = answers
        self._learned = learned
        self._metrics = metrics

    async def __call__(self) -> KnowledgeBase:
        """Reload and swap; the new knowledge base."""
        tokenizer = self._answers.retriever.tokenizer
        kb, retriever = await load_index(self._settings, self._llm, tokenizer, self._learned, self._metrics)
        self._answers.swap(kb, retriever)
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


def log_knowledge_findings(kb: KnowledgeBase) -> None:
    """One line for the admin when the folder has problems or warnings: how many, and where to see them (the file
    log has each at INFO with its file and line; `endy kb stats` lists them in Korean)."""
    if kb.errors or kb.warnings:
        logger.bind(errors=len(kb.errors), warnings=len(kb.warnings)).warning(
            texts.KB_FINDINGS_LINE.format(errors=len(kb.errors), warnings=len(kb.warnings))
        )


async def load_index(
    settings: Settings,
    llm: LlmClient | None,
    tokenizer: KoreanTokenizer | None = None,
    learned: Callable[[KnowledgeBase], Awaitable[KnowledgeBase]] | None = None,
    metrics: Metrics | None = None,
) -> tuple[KnowledgeBase, Retriever]:
    """Load KNOWLEDGE_DIR (plus what was learned in Slack) and build its retriever (and dense embeddings); each
    problem found (a bad link, a broken file: reported with its file and line) is counted as bad input."""
    kb = await asyncio.to_thread(load_knowledge_base, knowledge_root(settings))
    if metrics is not None and kb.errors:
        metrics.errors.labels(type="knowledge_problem").inc(len(kb.errors))
    if learned is not None:
        kb = await learned(kb)
    logger.bind(kb=kb.name, version=kb.version, sections=len(kb.sections), errors=len(kb.errors)).info(
        "knowledge base loaded"
    )
    log_knowledge_findings(kb)
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
    tokenizer: KoreanTokenizer | None,
    learned: Callable[[KnowledgeBase], Awaitable[KnowledgeBase]] | None = None,
) -> tuple[KnowledgeBase, Retriever, LlmClient | None]:
    llm: LlmClient | None = None
    if settings.llm_enabled:
        llm = LlmClient(settings, metrics=metrics)
        stack.push_async_callback(llm.aclose)
    kb, retriever = await load_index(settings, llm, tokenizer, learned, metrics)
    return kb, retriever, llm


class _RedisParts(NamedTuple):
    limiter: RateLimiter
    cache: AnswerCache
    deliveries: EventDeduper
    replays: EventDeduper
    escalations: EventDeduper
    greeted: EventDeduper


def _redis_parts(
    settings: Settings, redis: aioredis.Redis, watch: RedisWatch, metrics: Metrics, keys: Keyring
) -> _RedisParts:
    """Everything built on the one Redis: limiter, signed answer cache, event dedupe, replay, escalation and greeting
    guards."""
    prefix, timeout = settings.redis_key_prefix, settings.redis_timeout_seconds
    common: dict[str, Any] = {"key_prefix": prefix, "metrics": metrics, "timeout": timeout, "watch": watch}
    return _RedisParts(
        RateLimiter(redis, per_minute=settings.rate_limit_per_minute, per_hour=settings.rate_limit_per_hour, **common),
        AnswerCache(
            redis,
            ttl_seconds=settings.cache_ttl_seconds,
            signer=keys.signer("answer-cache"),
            engine=engine_version(answer_shaping(settings)),
            **common,
        ),
        EventDeduper(redis, **common),
        EventDeduper(
            redis,
            namespace="replay",
            ttl_seconds=REPLAY_MEMORY_SECONDS,
            patience=REPLAY_PATIENCE_SECONDS,
            **common,
        ),
        EventDeduper(redis, namespace="escalated", ttl_seconds=ESCALATION_MEMORY_SECONDS, **common),
        EventDeduper(redis, namespace="greeted", ttl_seconds=GREETING_MEMORY_SECONDS, **common),
    )


async def _resources(
    settings: Settings, stack: AsyncExitStack, metrics: Metrics
) -> tuple[asyncpg.Pool, aioredis.Redis, RedisWatch, Recorder]:
    """PostgreSQL (migrated when asked), Redis and its watch, the write-behind recorder: each closed by `stack`."""
    pool = await open_pool(settings, stack)
    if settings.migrate_on_start:
        async with pool.acquire() as conn:
            await migrate(conn)
    redis = await open_redis(settings, stack)
    recorder = Recorder(Storage(pool), metrics=metrics, spill_path=settings.data_dir / "spill" / "writes.jsonl")
    await recorder.start()
    stack.push_async_callback(recorder.aclose)
    watch = RedisWatch(redis)  # one per process: a reply to any of the guards proves Redis alive to all
    stack.push_async_callback(watch.aclose)
    await watch.connect(settings.redis_timeout_seconds)
    return pool, redis, watch, recorder


def _answer_service(
    settings: Settings, kb: KnowledgeBase, retriever: Retriever, llm: LlmClient | None, protection: Protection
) -> AnswerService:
    return AnswerService(
        kb,
        retriever,
        llm,
        max_question_chars=settings.max_question_chars,
        min_confidence=settings.answer_min_confidence,
        hedge_confidence=settings.answer_hedge_confidence,
        protection=protection,
    )


@asynccontextmanager
async def open_deps(settings: Settings, tokenizer: KoreanTokenizer | None = None) -> AsyncIterator[Deps]:
    """Open every dependency; refuse a production configuration that is unfit (all problems at once).

    A KNOWLEDGE_DIR that does not exist raises KnowledgeError before anything is started. `tokenizer`: an already
    loaded Kiwi to share (tests); a new one otherwise.
    """
    settings.check_startup()
    require_folder(knowledge_root(settings))
    log_llm_status(settings)
    metrics = Metrics(process_collectors=True)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.to_thread, processes.stop_processes)  # the chart process, if a report drew
        pool, redis, watch, recorder = await _resources(settings, stack, metrics)
        http = aiohttp.ClientSession()  # opened here (no connection yet) so the stack closes it
        stack.push_async_callback(http.close)
        keys = Keyring(settings.secret_key)
        parts = _redis_parts(settings, redis, watch, metrics, keys)
        learned_store, merge = learning_parts(pool, settings.learned_phrasings_per_section)
        kb, retriever, llm = await _knowledge(settings, stack, metrics, tokenizer, merge)
        protection = Protection(limiter=parts.limiter, cache=parts.cache, recorder=recorder)
        answers = _answer_service(settings, kb, retriever, llm, protection)
        storage = Storage(pool)
        admin = AdminService(storage, settings.admin_user_ids, retriever.tokenizer)
        swap = KnowledgeSwap(settings, llm, answers, merge, metrics)
        reloader = KnowledgeReloader(
            redis, key_prefix=settings.redis_key_prefix, reload=swap, signer=keys.signer("kb-reload"), metrics=metrics
        )
        learning = LearningService(
            learned_store,
            storage,
            answers,
            admin,
            metrics=metrics,
            reloader=reloader,
            rebuild=swap,
            min_upvotes=settings.learn_min_upvotes,
            phrasings_per_section=settings.learned_phrasings_per_section,
        )
        channels = ChannelDirectory()
        slack = SlackServices(
            answers=answers,
            feedback=FeedbackService(recorder, storage, admin, parts.escalations, metrics, learning),
            learning=learning,
            conversation=ConversationService(storage, recorder, parts.greeted),
            admin=admin,
            reload_knowledge=swap,
            reloader=reloader,
            keys=keys,
            channels=channels,
            deliveries=parts.deliveries,
            replays=parts.replays,
            metrics=metrics,
            streams=llm is not None,
        )
        await reloader.start()
        stack.push_async_callback(reloader.aclose)
        yield Deps(
            settings,
            metrics,
            llm,
            pool,
            redis,
            http,
            recorder,
            answers,
            admin,
            reloader,
            swap,
            keys,
            slack,
            learning,
            channels,
        )
