"""Which embedded servers a test left running, read from /proc (no psutil): a postgres or redis-server process
whose command line (the postmaster's -D, redis-server's socket) or working directory is in the test's DATA_DIR."""

from __future__ import annotations

import os
import signal
from pathlib import Path

SERVER_NAMES = ("postgres", "redis-server")


def leftovers(data_dir: Path) -> list[str]:
    """'pid: command line' of every live embedded server started under `data_dir`."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue  # gone meanwhile
        if state == "Z" or not any(name in line for name in SERVER_NAMES):
            continue
        try:
            cwd = os.readlink(entry / "cwd")  # a process title may be cut short; the working directory is not
        except OSError:
            cwd = ""
        if str(data_dir) in line or cwd.startswith(str(data_dir)):
            found.append(f"{entry.name}: {line}")
    return found


def kill_leftovers(data_dir: Path) -> None:
    """SIGKILL whatever `leftovers` finds (a failing test must not leak either)."""
    for item in leftovers(data_dir):
        try:
            os.kill(int(item.split(":", 1)[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass
