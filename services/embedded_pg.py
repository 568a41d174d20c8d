"""The embedded PostgreSQL: pgserver's server under DATA_DIR/postgres, stopped by the last Endy process using it.

pgserver keeps the pids of the processes using a server in `.handle_pids.json` and stops the server only when the
one leaving finds itself alone there. A crashed run never leaves that list, so every later process left PostgreSQL
running: the list is pruned of dead pids at each start and stop. A server a crashed run left behind is adopted
(pgserver finds it through postmaster.pid) and stopped by whoever uses it last.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

from loguru import logger

from config import problems
from config.settings import ConfigError
from services.embedded import PidRegistry, command_line, is_alive, terminate

REGISTRY = ".handle_pids.json"


def _server_class() -> Any:
    # pgserver asks platformdirs for a runtime dir (at import, and when stopping); without XDG_RUNTIME_DIR
    # (root, CI) it warns and falls back to /tmp, which is fine for a local development database. The filter
    # goes first: the warning fires while pgserver is being imported.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from pgserver.postgres_server import PostgresServer  # imported lazily: production never needs it

    return PostgresServer


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid postmaster.pid names (running or not), or None."""
    try:
        return int((pgdata / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _recover(pgdata: Path, lock: Any) -> None:
    """Forget what a crashed run left in pgdata: dead pids in the registry, and a postmaster.pid whose pid now
    belongs to another program (pgserver would take that program for the server)."""
    with lock:
        PidRegistry(pgdata / REGISTRY).live()
        pid = postmaster_pid(pgdata)
        if pid is not None and _stale_postmaster(pid):
            logger.bind(pid=pid).info("removing a stale postmaster.pid")
            (pgdata / "postmaster.pid").unlink(missing_ok=True)


def _stale_postmaster(pid: int) -> bool:
    """A zombie (pgserver's psutil check calls it running) or another program that got the pid since. A pid
    that is simply gone is left to PostgreSQL, which checks its shared memory before reusing the folder."""
    line = command_line(pid)
    zombie = line == "" and not is_alive(pid)
    reused = bool(line) and "postgres" not in str(line)
    return zombie or reused


class EmbeddedPostgres:
    """A handle on the embedded server, registered for this process."""

    def __init__(self, server: Any, pgdata: Path, lock: Any) -> None:
        self._server = server
        self._lock = lock
        self.pgdata = pgdata
        self.url = str(server.get_uri())

    def stop(self) -> None:
        """Leave the server; the last live process using it stops it (pg_ctl stop, fast mode)."""
        with self._lock:
            PidRegistry(self.pgdata / REGISTRY).live()
        self._server.cleanup()


def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or adopt) the server under DATA_DIR/postgres and register this process as one of its users."""
    server_class = _server_class()
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    lock = server_class._lock  # pgserver's own inter-process lock (not reentrant: never nested)
    _recover(pgdata, lock)
    try:
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    except (OSError, subprocess.SubprocessError, AssertionError) as err:
        _stop_unused(pgdata, lock)
        raise ConfigError([problems.embedded_failed("DATABASE_URL", str(err), pgdata / "log")]) from None
    with lock:  # a server this process opened before is handed back by pgserver without registering again
        server.global_process_id_list.get_and_add(os.getpid())
    return EmbeddedPostgres(server, pgdata, lock)


def _stop_unused(pgdata: Path, lock: Any) -> None:
    """After a failed start: a postmaster that came up late, and that no live process uses, is stopped."""
    with lock:
        users = PidRegistry(pgdata / REGISTRY).live()
    pid = postmaster_pid(pgdata)
    if pid is not None and not users and is_alive(pid) and "postgres" in (command_line(pid) or "postgres"):
        terminate(pid)
