"""No embedded server outlives Endy: a real `endy serve` (embedded PostgreSQL and Redis, DATA_DIR in a temporary
folder) is stopped by SIGTERM or SIGINT in each phase — start-up, Socket Mode connection retries, serving, shutdown —
and afterwards no postgres or redis-server process naming that DATA_DIR may be left (tests/leaks.py reads /proc).
A run killed with SIGKILL leaves its servers behind: the next start must adopt them and stop them when it exits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from handlers import texts
from tests.conftest import HOST_ENV
from tests.endy import TokenizerPool
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually, free_port
from tests.leaks import kill_leftovers, leftovers

pytestmark = pytest.mark.timeout(180)
START_BOUND = 90.0  # initdb, migrations, Kiwi and the knowledge base on a busy two-core machine
EXIT_BOUND = 40.0
QUESTION = "연차는 어떻게 신청하나요?"
BOTH = pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
WARM = pytest.mark.usefixtures("warm_root")


@dataclass
class Run:
    """One `endy` child process and its folder."""

    proc: asyncio.subprocess.Process
    root: Path
    sidecar: str

    @property
    def data_dir(self) -> Path:
        """The run's DATA_DIR."""
        return self.root / "data"

    def output(self) -> str:
        """What the process printed (for failure messages)."""
        return (self.root / "out.txt").read_text(encoding="utf-8", errors="replace")

    def log(self) -> str:
        """Endy's JSON log file."""
        path = self.root / "logs" / "endy.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def servers(self, name: str) -> list[str]:
        """The live embedded servers of this run whose command line names `name`."""
        return [line for line in leftovers(self.data_dir) if name in line]

    async def exits(self) -> int:
        """The exit code, within EXIT_BOUND; then nothing of this DATA_DIR may still run."""
        try:
            code = await asyncio.wait_for(self.proc.wait(), EXIT_BOUND)
        except TimeoutError:
            raise AssertionError(f"endy did not exit within {EXIT_BOUND}s:\n{self.output()[-3000:]}") from None
        assert leftovers(self.data_dir) == [], self.output()[-3000:]
        return code


@pytest.fixture
def root() -> Iterator[Path]:
    """The run's folder (DATA_DIR, LOG_DIR, output), outside pytest's tmp tree (see tests/resilience/conftest.py)."""
    path = Path(tempfile.mkdtemp(prefix="endy-leaks-"))
    try:
        yield path
    finally:
        kill_leftovers(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def warm_root(root: Path, tokenizers: TokenizerPool) -> None:
    """The sample handbook's caches in the run's DATA_DIR (tests/endy.py): the child registers its words and reads its
    tokens instead of analysing them, which nothing here is about. Left out where a signal is timed by start-up's
    phases after initdb (loading the knowledge base)."""
    tokenizers.seed_child(root / "data")


def endy_env(root: Path, slack_api_url: str | None = None, **extra: str) -> dict[str, str]:
    """The machine's environment without any Endy variable (so: embedded servers), plus the run's own."""
    env = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
    env |= {"DATA_DIR": str(root / "data"), "LOG_DIR": str(root / "logs"), "HOST": "127.0.0.1"}
    env |= {"PORT": str(free_port())}
    if slack_api_url is not None:
        env |= {"SLACK_MODE": "socket", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"}
        env |= {"SLACK_API_URL": slack_api_url}
    return env | extra


@asynccontextmanager
async def endy(
    root: Path, env: dict[str, str], *args: str, stdin: int = asyncio.subprocess.DEVNULL
) -> AsyncIterator[Run]:
    """`python -m endy_bot ARGS` as a child process; killed if still running at the end (its servers: by `root`)."""
    with (root / "out.txt").open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "endy_bot", *args, cwd=root, env=env, stdin=stdin,
            stdout=out, stderr=out, start_new_session=True,  # its own process group, as in a terminal
        )  # fmt: skip
    run = Run(proc, root, f"http://127.0.0.1:{env['PORT']}")
    try:
        yield run
    finally:  # its servers are killed by the `root` fixture (a SIGKILLed run's must outlive it here)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def until(
    run: Run, check: Callable[[], object], what: str, bound: float = START_BOUND, *, exit_ok: bool = False
) -> None:
    """Poll `check()` (sync or async) until truthy, at most `bound` seconds, while the process is running
    (or until it exits, with `exit_ok`)."""

    async def done() -> bool:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result or (exit_ok and run.proc.returncode is not None):
            return True
        if run.proc.returncode is not None:
            raise AssertionError(f"endy exited ({run.proc.returncode}) before {what}:\n{run.output()[-3000:]}")
        return False

    try:
        await eventually(done, what, bound)
    except TimeoutError:
        raise AssertionError(f"no {what} within {bound}s:\n{run.output()[-3000:]}") from None


async def alive(url: str) -> bool:
    """True once the sidecar answers /liveness."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/liveness") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


@pytest.mark.parametrize(
    ("sig", "moment", "group"),
    [
        (signal.SIGTERM, "postgres", False),
        (signal.SIGINT, "postgres", False),
        (signal.SIGINT, "postgres", True),
        (signal.SIGTERM, "redis-server", False),
    ],
    ids=["SIGTERM-in-initdb", "SIGINT-in-initdb", "ctrl-c-to-the-group-in-initdb", "SIGTERM-loading-knowledge"],
)
async def test_a_signal_during_start_up_stops_what_was_started(
    root: Path, sig: signal.Signals, moment: str, group: bool
) -> None:
    async with FakeSlack() as slack, endy(root, endy_env(root, slack.api_url), "serve") as run:
        await until(run, lambda: run.servers(moment), f"a {moment} process")  # initdb is the first to show
        if group:  # a Ctrl-C in the terminal: initdb and pg_ctl get it too
            os.killpg(run.proc.pid, sig)
        else:
            run.proc.send_signal(sig)
        assert await run.exits() == 0
        assert slack.connects == 0, "stopped during start-up, before Slack"
    assert "Traceback" not in run.output()


@WARM
@BOTH
async def test_a_signal_during_socket_mode_connection_retries_stops_the_servers(
    root: Path, sig: signal.Signals
) -> None:
    async with FakeSlack() as slack, endy(root, endy_env(root, slack.api_url), "serve") as run:
        slack.fail_next("apps.connections.open", status=500, times=1000)  # Slack is down: Endy keeps retrying
        await slack.wait_for("apps.connections.open", 1, timeout=START_BOUND)
        run.proc.send_signal(sig)
        assert await run.exits() == 0


@WARM
async def test_an_unreachable_slack_never_leaves_servers_behind(root: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    async with endy(root, endy_env(root, closed), "serve") as run:
        await until(run, lambda: alive(run.sidecar), "a sidecar", exit_ok=True)
        if run.proc.returncode is None:  # retrying (or refusing to start: then it has exited on its own)
            run.proc.send_signal(signal.SIGTERM)
        await run.exits()


@WARM
@BOTH
async def test_a_signal_while_serving_stops_gracefully_and_stops_the_servers(root: Path, sig: signal.Signals) -> None:
    async with FakeSlack() as slack, endy(root, endy_env(root, slack.api_url), "serve") as run:
        await slack.wait_for_connections(1, timeout=START_BOUND)
        assert run.servers("postgres")
        assert run.servers("redis-server")
        run.proc.send_signal(sig)
        assert await run.exits() == 0
    assert "in-flight answers drained" in run.log()
    assert "Traceback" not in run.output()


@WARM
@pytest.mark.parametrize(
    ("first", "second"),
    [(signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)],
    ids=["TERM-INT", "INT-TERM"],
)
async def test_a_second_signal_during_the_graceful_shutdown_still_stops_the_servers(
    root: Path, first: signal.Signals, second: signal.Signals
) -> None:
    async with FakeSlack() as slack, FakeOpenAI() as llm:
        env = endy_env(root, slack.api_url, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=llm.base_url)
        async with endy(root, env, "serve") as run:
            await slack.wait_for_connections(1, timeout=START_BOUND)
            llm.slow_next(1, 30.0, path="/chat/completions")  # an answer that keeps the drain waiting
            await slack.send_event(slack.event_message_im("U0ALICE", QUESTION))
            await until(run, llm.chat_requests, "LLM request", 20.0)
            run.proc.send_signal(first)
            await until(run, lambda: "shutdown requested" in run.log(), "graceful shutdown", 20.0)
            run.proc.send_signal(second)  # impatient: cut the drain short
            assert await run.exits() == 0
    assert "another stop signal" in run.log()


@WARM
async def test_servers_left_by_a_sigkilled_run_are_adopted_and_stopped_by_the_next(root: Path) -> None:
    async with FakeSlack() as slack, endy(root, endy_env(root, slack.api_url), "serve") as run:
        await slack.wait_for_connections(1, timeout=START_BOUND)
        run.proc.kill()  # no handler runs: both daemons are orphaned, the registries keep a dead pid
        await run.proc.wait()
        assert run.servers("postgres")
        assert run.servers("redis-server")
        assert str(run.proc.pid) in (run.data_dir / "postgres" / ".handle_pids.json").read_text()
    async with endy(root, endy_env(root), "ask", QUESTION) as ask:
        assert await ask.exits() == 0, ask.output()  # and, as with every run, nothing is left afterwards
    assert "e-HR" in ask.output()
    assert "a postgres server is already running" in ask.log()
    assert "adopted the embedded Redis" in ask.log()


@WARM  # the signal comes in initdb, before the caches are read
async def test_endy_ask_interrupted_while_starting_stops_the_servers(root: Path) -> None:
    async with endy(root, endy_env(root), "ask", QUESTION) as run:
        await until(run, lambda: run.servers("postgres"), "a postgres process")
        run.proc.send_signal(signal.SIGTERM)
        assert await run.exits() == 128 + signal.SIGTERM
    async with endy(root, endy_env(root), "ask", QUESTION) as again:  # and the next one finds a clean folder
        assert await again.exits() == 0, again.output()


@WARM
async def test_ctrl_c_at_the_endy_chat_prompt_ends_it_at_once(root: Path) -> None:
    async with endy(root, endy_env(root), "chat", stdin=asyncio.subprocess.PIPE) as run:  # stdin stays open
        await until(run, lambda: texts.CHAT_PROMPT in run.output(), "the chat prompt")
        os.killpg(run.proc.pid, signal.SIGINT)
        assert await run.exits() == 128 + signal.SIGINT  # not waiting for an Enter that never comes
