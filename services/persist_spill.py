"""The spill file: writes that could not wait in memory (queue full, shutdown, rejected) kept as JSON lines on disk,
re-queued by the next start (a `.rejected` sibling keeps what the database refused, for an operator)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from loguru import logger

from services.metrics import Metrics
from services.persist_ops import WriteOp, op_from_json

REJECTED = ".rejected"


class Spill:
    """Appends writes to a JSONL file; `take` reads them back once (the file is removed)."""

    def __init__(self, path: Path, metrics: Metrics) -> None:
        self.path = path
        self._metrics = metrics

    def write(self, ops: Sequence[WriteOp], suffix: str = "") -> None:
        """Append ops (to the `.rejected` file with suffix=REJECTED)."""
        path = self.path.with_name(self.path.name + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for op in ops:
                fh.write(json.dumps(op.to_json(), ensure_ascii=False) + "\n")
        self._metrics.persist.labels("spilled").inc(len(ops))
        logger.bind(count=len(ops), path=str(path)).warning("writes spilled to disk")

    def take(self) -> list[WriteOp]:
        """Every write an earlier run spilled (the file is removed: they are the caller's now)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        self.path.unlink()
        return [op_from_json(json.loads(line)) for line in lines if line.strip()]
