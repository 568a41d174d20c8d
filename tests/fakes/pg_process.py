"""A throwaway PostgreSQL (pgserver) a test may stop and start again: a real database outage."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any


class PgProcess:
    """A throwaway PostgreSQL (pgserver) in its own data directory; stopping it is a real outage.

    Always stop the server through this object: pgserver keeps one handle per data directory, and closing the
    handle of a server already restarted (a second `get_server` on the same folder) leaves the new postmaster
    running after the test run has exited.
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The connection URL (a Unix socket in pgdata: the same before and after a restart)."""
        if self._url is None:
            raise RuntimeError("PgProcess was never started")
        return self._url

    @property
    def running(self) -> bool:
        """True while the server is up."""
        return self._server is not None

    def _start_blocking(self) -> Any:
        from pgserver.postgres_server import get_server

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            return get_server(self.pgdata, cleanup_mode="stop")

    async def start(self) -> None:
        """Start (or restart) the server; pg_ctl runs in a thread so Endy keeps serving meanwhile."""
        if self._server is None:
            self._server = await asyncio.to_thread(self._start_blocking)
            self._url = self._url or str(self._server.get_uri())

    async def stop(self) -> None:
        """Stop the server (pg_ctl stop, fast mode: open connections are cut)."""
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.cleanup)
