"""The spill file: writes that could not wait in memory (queue full, shutdown, rejected) kept as JSON lines on disk,
re-queued by the next start (a `.rejected` sibling keeps what the database refused, for an operator)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from loguru import logger

from services.metrics import Metrics
from services.persist_ops import WriteOp, op_from_json

REJECTED = ".rejected"
LOG_EVERY = 30.0  # seconds: under a sustained overflow one warning per file this often, carrying the count since


class Spill:
    """Appends writes to a JSONL file; `take` reads them back once (the file is removed)."""

    def __init__(self, path: Path, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._metrics = metrics
        self._clock = clock
        self._unlogged: dict[Path, int] = {}  # per file: ops spilled since its last warning
        self._logged_at: dict[Path, float] = {}

    def write(self, ops: Sequence[WriteOp], suffix: str = "") -> None:
        """Append ops (to the `.rejected` file with suffix=REJECTED); warn at once, then at most every LOG_EVERY
        seconds per file with the count since (a full queue spills every write: one line each would flood the log;
        `persist_operations_total{operation="spilled"}` counts every one)."""
        path = self.path.with_name(self.path.name + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for op in ops:
                fh.write(json.dumps(op.to_json(), ensure_ascii=False) + "\n")
        self._metrics.persist.labels("spilled").inc(len(ops))
        count = self._unlogged.get(path, 0) + len(ops)
        now = self._clock()
        last = self._logged_at.get(path)
        if last is not None and now - last < LOG_EVERY:
            self._unlogged[path] = count
            return
        self._logged_at[path], self._unlogged[path] = now, 0
        logger.bind(count=count, path=str(path)).warning("writes spilled to disk")

    def take(self) -> list[WriteOp]:
        """Every write an earlier run spilled (the file is removed: they are the caller's now)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        self.path.unlink()
        return [op_from_json(json.loads(line)) for line in lines if line.strip()]
