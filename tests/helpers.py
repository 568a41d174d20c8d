"""Small helpers every test package shares: a free TCP port, the one bounded poll, a PNG's size, whether a process
runs."""

from __future__ import annotations

import asyncio
import inspect
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

POLL_INTERVAL = 0.02


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(
    check: Callable[[], object | Awaitable[object]], what: str, bound: float = 15.0, *, interval: float = POLL_INTERVAL
) -> None:
    """Poll `check()` (sync or async) until it is truthy, for state nothing signals (log records, Endy's task set,
    a row in the database); TimeoutError naming `what` after `bound` seconds. Prefer awaiting an event."""
    deadline = time.monotonic() + bound
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {bound}s")
        await asyncio.sleep(interval)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes; AssertionError when they are no PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR", "no IHDR chunk first"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def process_state(pid: int) -> tuple[str, int] | None:
    """The process's state letter (R, S, Z …) and its parent's pid from /proc, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether the process runs (a zombie, waiting to be reaped, does not count)."""
    state = process_state(pid)
    return state is not None and state[0] != "Z"
