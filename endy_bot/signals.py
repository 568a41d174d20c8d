"""SIGTERM and SIGINT in every phase of a command, so that what it started is stopped.

Python's default SIGTERM action ends the process without running a single exit stack: the embedded PostgreSQL
and Redis (daemons, parented to init) then ran on forever. Here a signal becomes a cancellation of the command's
task until it is serving, and a graceful stop once it is; either way the exit stacks unwind and stop the servers.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from loguru import logger

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """SIGTERM/SIGINT handlers for the life of one command's task (installed first, removed last).

    Before `wait()` a signal cancels the task: start-up and Socket Mode connection retries unwind through their
    exit stacks. During `wait()` the first signal returns from it for a graceful stop; any later one cancels the
    task (a second Ctrl-C skips the drain, never the stopping of the embedded servers).
    """

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._task: asyncio.Task[Any] | None = None
        self._requested = asyncio.Event()
        self._waiting = False

    def __enter__(self) -> StopSignals:
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        first = self.received is None
        self.received = self.received or sig
        if first and self._waiting:
            self._requested.set()
            return
        logger.bind(signal=sig.name).info("stop signal: cancelling" if first else "another stop signal: cancelling")
        if self._task is not None:
            self._task.cancel()

    def raise_if_received(self) -> None:
        """Stop here if a signal already came: its cancellation may have been absorbed by a library on the way."""
        if self.received is not None:
            raise asyncio.CancelledError

    async def wait(self) -> signal.Signals:
        """Serve until the first stop signal; return it (at once if one already came)."""
        if self.received is not None:
            return self.received
        self._waiting = True
        try:
            await self._requested.wait()
        finally:
            self._waiting = False  # stopping (or no longer waiting): a signal now cancels
        assert self.received is not None
        return self.received


async def cancel_on_signals(command: Coroutine[Any, Any, int]) -> int:
    """Run a terminal command (`endy ask`, `chat`, `report`, `migrate`) so that SIGTERM and SIGINT cancel it and
    its exit stacks stop the embedded servers; the exit code is then 128 + the signal's number."""
    with StopSignals() as signals:
        try:
            return await command
        except asyncio.CancelledError:
            if signals.received is None:  # not ours: someone else cancelled the command
                raise
            return 128 + int(signals.received)


def _read_raw_line() -> str:
    """One line from stdin, unbuffered: a daemon thread blocked here holds no lock of Python's stdin buffer, whose
    finalisation would otherwise abort the exiting process ("could not acquire lock … daemon threads")."""
    raw = getattr(getattr(sys.stdin, "buffer", None), "raw", None)
    if raw is None:  # stdin replaced by a text object: no file underneath
        return input()
    data = raw.readline()
    if not data:
        raise EOFError
    return str(data.decode(sys.stdin.encoding or "utf-8", errors="replace").rstrip("\r\n"))


async def read_line(prompt: str) -> str:
    """input() that a stop signal can interrupt: it reads in a daemon thread, so a cancelled `endy chat` exits at
    once (a default-executor thread would keep the process waiting for Enter after its servers had stopped)."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if line.done():  # cancelled meanwhile: nobody waits for this line any more
            return
        if error is not None:
            line.set_exception(error)
        else:
            line.set_result(value or "")

    def read() -> None:
        value: str | None = None
        error: BaseException | None = None
        try:
            value = _read_raw_line()
        except (EOFError, OSError, ValueError) as err:  # end of input, closed stdin
            error = err
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:
            pass  # the loop is closed: chat ended (a signal) before this line came

    sys.stdout.write(prompt)
    sys.stdout.flush()
    threading.Thread(target=read, name="endy-chat-input", daemon=True).start()
    return await line
