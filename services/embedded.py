"""What both embedded servers (PostgreSQL, Redis) need to never outlive Endy: process checks, a registry of the
processes using a server, an inter-process lock and a start that a signal cannot orphan.

Both servers are daemons (their parent is init), so a crashed Endy leaves them running; the next start finds them
through the files under DATA_DIR and this module's /proc reading (Linux; elsewhere only liveness is checked).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_PROC = Path("/proc")
_POLL_SECONDS = 0.02
# A registered pid whose process started after the registry's last write is a reused pid, not the registered
# process; start times read from /proc are precise to a clock tick and boot time to a second.
_START_TIME_SLACK_SECONDS = 1.0


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (state first); [] when gone; None where /proc is not available."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return [] if (_PROC / "self").exists() else None
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (an unreaped exit is not a running server)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (pgserver runs postgres as its own user under root)
    fields = _stat_fields(pid)
    return fields is None or (bool(fields) and fields[0] != "Z")


def started_at(pid: int) -> float | None:
    """The process's start time (epoch seconds), or None when it cannot be read."""
    fields = _stat_fields(pid)
    if not fields or len(fields) < 20:
        return None
    try:
        boot = next(line for line in (_PROC / "stat").read_text().splitlines() if line.startswith("btime "))
        return int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError):
        return None


def command_line(pid: int) -> str | None:
    """The process's command line joined by spaces (None when unreadable or gone; "" for a zombie)."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


def working_dir(pid: int) -> Path | None:
    """The process's current directory (None when unreadable): a server's identity that, unlike its command line
    (a process title, cut to the length of the original argv), is never truncated."""
    try:
        return Path(os.readlink(_PROC / str(pid) / "cwd"))
    except OSError:
        return None


def find_processes(*needles: str) -> list[int]:
    """Pids of the live processes whose command line contains every needle (Linux; [] elsewhere)."""
    found = []
    for entry in _PROC.glob("[0-9]*") if _PROC.is_dir() else ():
        line = command_line(int(entry.name))
        if line and all(needle in line for needle in needles) and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_gone(pid: int, seconds: float) -> bool:
    """Wait (blocking) until the process has exited; False if it is still running after `seconds`."""
    deadline = time.monotonic() + seconds
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


def terminate(pid: int, grace_seconds: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after the grace period."""
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):  # gone, or not ours to stop
            return
        if wait_gone(pid, wait):
            return


class PidRegistry:
    """The pids of the processes using one server: a JSON list in a file (pgserver's `.handle_pids.json` format).

    Reading it forgets the pids of processes that have died (a crashed run never unregisters, and the last
    process stops the server only when it finds itself alone). Callers hold the server's lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> list[int]:
        try:
            values = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []  # missing or torn: nobody is known to use the server
        return [v for v in values if isinstance(v, int)] if isinstance(values, list) else []

    def _write(self, pids: list[int]) -> None:
        self.path.write_text(json.dumps(pids), encoding="utf-8")

    def live(self) -> list[int]:
        """The registered pids still in use, after forgetting (and rewriting without) the dead ones."""
        pids = self._read()
        try:
            written = self.path.stat().st_mtime
        except OSError:
            written = time.time()
        alive = [p for p in pids if is_alive(p) and (started_at(p) or 0.0) <= written + _START_TIME_SLACK_SECONDS]
        if alive != pids:
            self._write(alive)
        return alive

    def add(self, pid: int) -> list[int]:
        """Register `pid`; return the other live pids."""
        pids = self.live()
        if pid not in pids:
            self._write([*pids, pid])
        return [p for p in pids if p != pid]

    def remove(self, pid: int) -> list[int]:
        """Unregister `pid`; return the other live pids."""
        others = [p for p in self.live() if p != pid]
        self._write(others)
        return others


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock on `path` (flock; two holders in one process exclude each other too)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def start_in_thread(start: Callable[[], T], stop: Callable[[T], None]) -> T:
    """Run a blocking `start` in a thread. If the caller is cancelled meanwhile (SIGTERM during start-up), the
    start still finishes and what it started is stopped before the cancellation goes on: the caller never got
    a handle to put on its exit stack."""
    job = asyncio.ensure_future(asyncio.to_thread(start))
    interrupted: asyncio.CancelledError | None = None
    while not job.done():
        try:
            await asyncio.wait([job])  # unlike wait_for, being cancelled does not cancel the job
        except asyncio.CancelledError as err:
            interrupted = interrupted or err  # a second signal changes nothing: keep waiting
    if interrupted is not None:
        # A start that failed meanwhile cleaned up after itself; its error is likely the signal's doing (a Ctrl-C
        # reaches initdb and pg_ctl too): the cancellation is what goes on.
        if job.exception() is None:
            stop(job.result())  # blocking on purpose: nothing may interrupt this stop
        raise interrupted
    return job.result()
