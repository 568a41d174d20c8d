"""Endy running for real (open_deps + Server) against the fake Slack, real PostgreSQL and Redis.

Booting Endy is dominated by the Kiwi tokenizer: a new one loads its model (~1 s) and then learns the handbook's
compounds as user words (Kiwi rebuilds its model after each: ~10 s on a busy machine); the handbook's token cache
then costs another second or two. Tests share both through `TokenizerPool`, without changing any answer:

- a tokenizer's user words are part of what it answers (they change how questions split): one that first learnt
  bench/data/kb2's compounds ranks the sample handbook differently for 7 of the 182 questions of tests/data
  (devset, heldout, out_of_scope: 5 confidences, 1 question's tokens; measured 2026-12-01). So a tokenizer is only
  lent to an Endy serving the same handbook content (fingerprint of the knowledge folder's files) and only while
  its vocabulary is still the one that handbook gave it: a test that reloads another handbook into its Endy
  leaves a tokenizer with foreign words, which is dropped instead of lent again;
- a tokenizer is lent to one Endy at a time (two replicas in a test get two, as two processes have);
- the handbook's caches under DATA_DIR/cache — its token cache (`tokens-…`, per text, keyed by tokenizer
  version and vocabulary), its compound cache (`compounds-…`, the user words a fresh tokenizer learnt from it,
  keyed by the phrases and the vocabulary before) and the lexicon's term cache (`terms-…`, keyed by the terms and
  the vocabulary) — are copied into the next Endy's DATA_DIR: files Endy would have written itself, byte for byte.
  A fresh tokenizer then registers the handbook's words and reads its analyses without running Kiwi on them.
  Embedding caches are not copied (tests count the fake OpenAI's embedding calls);
- an Endy started as a child process (`endy serve`, `endy ask`) has a fresh Kiwi of its own and nothing of the
  pool's but those caches: `seed_child` copies them into its DATA_DIR (building them once in this process,
  with a tokenizer that then joins the pool, when no Endy of the run has booted on that handbook yet).
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import Settings
from endy_bot.deps import Deps, build_retriever, knowledge_root, open_deps
from endy_bot.runtime import Server
from endy_bot.slack_http import ReadTimeouts
from endy_bot.slack_link import Backoff
from services.knowledge import load_knowledge_base, sample_kb_dir
from services.tokenizer import KoreanTokenizer
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.helpers import free_port

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
READY_BOUND = 15.0  # auth.test and the first Socket Mode connection against the fake Slack
IDLE_TOKENIZERS = 4  # ~300 MB each; two replicas of the sample handbook need two
HANDBOOK_CACHES = ("tokens-*", "compounds-*", "terms-*")  # not embeddings-*: see above


def folder_fingerprint(folder: Path) -> str:
    """A hash of every file's relative path and bytes under a knowledge folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass
class _Pooled:
    tokenizer: KoreanTokenizer
    vocabulary: str  # what the handbook gave it at its first boot


class Lease:
    """One tokenizer lent to one Endy; `booted` tells the pool what the handbook made of it."""

    def __init__(self, pool: TokenizerPool, key: str, pooled: _Pooled | None) -> None:
        self.pool, self.key = pool, key
        self.tokenizer = pooled.tokenizer if pooled else KoreanTokenizer()
        self.vocabulary = pooled.vocabulary if pooled else None

    def booted(self, settings: Settings) -> None:
        """Endy has started on the handbook: remember the vocabulary and keep its token cache for the next."""
        if self.vocabulary is None:
            self.vocabulary = self.tokenizer.vocabulary
        self.pool.keep_cache(self.key, settings.data_dir / "cache")


class TokenizerPool:
    """Tokenizers (and token caches) shared by every Endy a test run boots; see the module's docstring."""

    def __init__(self, cache_store: Path) -> None:
        self._idle: list[tuple[str, _Pooled]] = []  # oldest first
        self._store = cache_store
        self.created = 0  # new tokenizers (the rest were lent again)
        self.lent = 0

    @contextmanager
    def lend(self, settings: Settings) -> Iterator[Lease]:
        """A tokenizer for an Endy on `settings`' handbook; it comes back when the Endy has stopped."""
        key = folder_fingerprint(knowledge_root(settings))
        pooled = next((p for k, p in reversed(self._idle) if k == key), None)
        if pooled is not None:
            self._idle.remove((key, pooled))
        lease = Lease(self, key, pooled)
        self.lent += 1
        self.created += pooled is None
        self._seed_cache(key, settings.data_dir / "cache")
        try:
            yield lease
        finally:
            # A reload that taught it another handbook's words makes it unfit to lend again.
            if lease.vocabulary is not None and lease.tokenizer.vocabulary == lease.vocabulary:
                self._idle.append((key, _Pooled(lease.tokenizer, lease.vocabulary)))
                del self._idle[:-IDLE_TOKENIZERS]

    def keep_cache(self, key: str, cache_dir: Path) -> None:
        """Keep the handbook caches Endy wrote for this handbook (once: at its first boot, by a fresh tokenizer)."""
        kept = self._store / key
        if kept.exists():
            return
        kept.mkdir(parents=True)
        for pattern in HANDBOOK_CACHES:
            for path in cache_dir.glob(pattern):
                shutil.copy2(path, kept / path.name)

    def seed_child(self, data_dir: Path, knowledge_dir: Path | None = None) -> None:
        """Put the handbook's caches into the DATA_DIR of an Endy that runs as a child process (sample handbook
        unless `knowledge_dir`); built here first when no Endy of the run has booted on that handbook yet."""
        key = folder_fingerprint(knowledge_dir or sample_kb_dir())
        if not (self._store / key).exists():
            with tempfile.TemporaryDirectory(prefix="endy-test-cache-") as folder:
                settings = Settings(_env_file=None, data_dir=Path(folder), knowledge_dir=knowledge_dir)
                with self.lend(settings) as lease:  # the tokenizer joins the pool for in-process Endys
                    build_retriever(load_knowledge_base(knowledge_root(settings)), settings, lease.tokenizer)
                    lease.booted(settings)
        self._seed_cache(key, data_dir / "cache")

    def _seed_cache(self, key: str, cache_dir: Path) -> None:
        kept = self._store / key
        if not kept.exists():
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        for path in kept.iterdir():
            if not (cache_dir / path.name).exists():
                shutil.copy2(path, cache_dir / path.name)


@dataclass
class Endy:
    slack: FakeSlack
    server: Server
    deps: Deps
    llm: FakeOpenAI | None = None

    async def rows(self, sql: str, *args: Any) -> list[Any]:
        """Query PostgreSQL after the work in flight finished and every queued write has landed."""
        assert await self.server.tasks.settle(10)
        assert await self.deps.recorder.flush(10)
        return list(await self.deps.pool.fetch(sql, *args))


StartEndy = Callable[..., Any]


async def run_endy(
    stack: AsyncExitStack,
    make_settings: Callable[..., Settings],
    slack: FakeSlack,
    *,
    tokenizers: TokenizerPool,
    database_url: str,
    redis_url: str,
    key_prefix: str,
    llm: bool = False,
    mode: str = "socket",
    timeouts: ReadTimeouts | None = None,
    ready: bool = True,
    backoff: Backoff | None = None,
    **overrides: Any,
) -> Endy:
    """Start a real Endy (open_deps + Server) against the fake Slack (and a fake OpenAI when llm=True); `stack`
    stops it gracefully later. `timeouts`: the listeners' read timeouts (Endy's defaults otherwise). `ready`: wait
    until Slack accepted the token and (Socket Mode) the first connection is open. `backoff`: between attempts to
    reach Slack. The Kiwi tokenizer comes from `tokenizers` (shared by the run)."""
    fake_llm = await stack.enter_async_context(FakeOpenAI()) if llm else None
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test",
        "slack_app_token": "xapp-test",
        "slack_api_url": slack.api_url,
        "slack_mode": mode,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_http_port": free_port(),
        "database_url": database_url,
        "redis_url": redis_url,
        "redis_key_prefix": key_prefix,
        "host": "127.0.0.1",
        "port": free_port(),
    }
    if fake_llm is not None:
        values |= {"openai_api_key": "sk-test", "openai_base_url": fake_llm.base_url}
    settings = make_settings(**(values | overrides))
    lease = stack.enter_context(tokenizers.lend(settings))  # given back once this Endy has stopped
    deps = await stack.enter_async_context(open_deps(settings, tokenizer=lease.tokenizer))
    lease.booted(settings)
    server = Server(deps, grace_seconds=10, timeouts=timeouts, backoff=backoff)
    await server.start()
    stack.push_async_callback(server.stop)
    if ready:
        assert server.link is not None
        await asyncio.wait_for(server.link.until_ready(), READY_BOUND)
        await asyncio.wait_for(server.link.settled.wait(), READY_BOUND)  # start-up logging is over too
    return Endy(slack, server, deps, fake_llm)
