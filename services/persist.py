"""Write-behind persistence: replies never wait for PostgreSQL; failed writes are retried, never dropped.

One queue drained by one task (here), the retry policy (here), the writes themselves (services/persist_ops.py),
the spill file for overflow and shutdown (services/persist_spill.py), per-voter ordering (services/persist_lines.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from loguru import logger

from services.metrics import Metrics
from services.persist_lines import VoterLines
from services.persist_ops import (
    AttachReply,
    MessageRef,
    RecordExchange,
    RecordFeedback,
    RemoveFeedback,
    RetryLater,
    Voter,
    WriteOp,
    op_from_json,
)
from services.persist_spill import REJECTED, Spill
from services.storage import Storage

__all__ = [
    "AttachReply",
    "MessageRef",
    "RecordExchange",
    "RecordFeedback",
    "Recorder",
    "RemoveFeedback",
    "RetryLater",
    "RetryPolicy",
    "Voter",
    "WriteOp",
    "op_from_json",
]

# Connection-level failures: worth retrying until the database is back.
_TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
# Not transient (a bug or bad data): the record is kept on disk for an operator, never silently dropped.
_REJECTED = (asyncpg.PostgresError, ValueError, TypeError, KeyError)

# A vote about a message not stored yet (another replica's exchange may still be on its way) is set aside and
# tried again this many times, ~30 s in all, without holding up the writes behind it.
REFERENCE_WAITS = 40


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How writes are retried: through a database outage with growing pauses; a vote whose message is not stored
    yet, off the writer's path, a bounded number of times."""

    max_backoff: float = 5.0  # the longest pause between retries while the database is down
    first_backoff: float = 0.2
    reference_waits: int = REFERENCE_WAITS

    def next_backoff(self, backoff: float) -> float:
        """The pause after `backoff` (doubling, capped)."""
        return min(backoff * 2, self.max_backoff)

    def aside_delay(self, tries: int) -> float:
        """How long a vote waits for its message before its next try."""
        return min(0.05 * tries, 1.0)

    def gives_up(self, tries: int) -> bool:
        """True once a vote waited for its message too often."""
        return tries > self.reference_waits


@dataclass(eq=False, slots=True)
class _Entry:
    """A write in memory, with how often its message was not stored yet and its timer while set aside."""

    op: WriteOp
    tries: int = 0
    timer: asyncio.TimerHandle | None = None


class Recorder:
    """A bounded queue drained by one task; overflow and shutdown leftovers go to a JSONL spill file."""

    def __init__(
        self,
        storage: Storage,
        *,
        metrics: Metrics,
        spill_path: Path,
        max_queue: int = 10_000,
        max_backoff: float = 5.0,
        reference_waits: int = REFERENCE_WAITS,
    ) -> None:
        self._storage = storage
        self._metrics = metrics
        self._spill = Spill(spill_path, metrics)
        self._policy = RetryPolicy(max_backoff=max_backoff, reference_waits=reference_waits)
        self._queue: asyncio.Queue[_Entry] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self._current: _Entry | None = None
        self._outage = False
        self._aside: set[_Entry] = set()  # votes waiting for their message, until their timer fires
        self._lines: VoterLines[_Entry] = VoterLines()

    @property
    def healthy(self) -> bool:
        """False while writes are failing (the database is unreachable)."""
        return not self._outage

    @property
    def pending(self) -> int:
        """Writes waiting in memory (queued, or set aside until the message they refer to is stored)."""
        return self._queue.qsize() + len(self._aside) + len(self._lines)

    async def start(self) -> None:
        """Start draining, first re-queueing anything spilled by an earlier run."""
        ops = self._spill.take()
        for op in ops:
            self.submit(op)
        if ops:
            logger.bind(count=len(ops)).info("re-queued writes spilled by an earlier run")
        self._task = asyncio.create_task(self._run(), name="endy-recorder")

    def submit(self, op: WriteOp) -> None:
        """Queue a write without waiting; spill to disk when the queue is full."""
        self._enqueue(_Entry(op))

    def _enqueue(self, entry: _Entry) -> None:
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self._spill.write([e.op for e in self._lines.take(entry)])  # the votes behind it go along, in order
        self._metrics.persist_queue.set(self._queue.qsize())

    async def flush(self, grace: float, *, set_aside: bool = True) -> bool:
        """Wait until every write in memory is stored (or given up on); False if the timeout passed first.
        With set_aside=False, votes waiting for their message are not waited for."""
        try:
            async with asyncio.timeout(grace):
                await self._queue.join()
                while set_aside and self.pending:  # noqa: ASYNC110 (set-aside votes come back through the queue)
                    await asyncio.sleep(0.05)
                    await self._queue.join()
        except TimeoutError:
            return False
        return True

    async def aclose(self, grace: float = 10.0) -> None:
        """Flush within the timeout, then stop; whatever is left is spilled so nothing is lost."""
        await self.flush(grace, set_aside=False)  # set-aside votes are spilled below: nothing is lost
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # The write being retried when we stopped is not in the queue any more; writes are idempotent, so
        # spilling it (even if it just landed) is safe.
        left: list[_Entry] = [self._current] if self._current is not None else []
        for entry in self._aside:
            if entry.timer is not None:
                entry.timer.cancel()
            left.append(entry)
        while not self._queue.empty():
            left.append(self._queue.get_nowait())
        left.extend(self._lines.drain_behind())  # after their line's first
        self._aside.clear()
        if left:
            self._spill.write([e.op for e in left])

    async def _run(self) -> None:
        while True:
            entry = await self._queue.get()
            self._current = entry
            try:
                await self._apply(entry)
                self._current = None
            finally:
                self._queue.task_done()
                self._metrics.persist_queue.set(self._queue.qsize())

    async def _apply(self, entry: _Entry) -> None:
        if self._lines.behind(entry):
            return  # an earlier vote of this user on this message is still waiting: keep the order
        await self._write(entry)
        if entry not in self._aside:  # done with it (stored, given up or rejected): the next vote may go
            following = self._lines.release(entry)
            if following is not None:
                self._enqueue(following)

    async def _write(self, entry: _Entry) -> None:
        backoff = self._policy.first_backoff
        while True:
            try:
                await entry.op.apply(self._storage)
            except RetryLater:
                self._set_aside(entry)
                return
            except _TRANSIENT as err:
                self._metrics.persist.labels("retry").inc()
                if not self._outage:
                    self._outage = True
                    logger.bind(error=type(err).__name__).warning("database writes failing; retrying with backoff")
                await asyncio.sleep(backoff)
                backoff = self._policy.next_backoff(backoff)
                continue
            except _REJECTED:
                self._metrics.persist.labels("failed").inc()
                logger.exception("write rejected by the database; kept in the spill file")
                self._spill.write([entry.op], suffix=REJECTED)
                return
            if self._outage:
                self._outage = False
                logger.info("database writes recovered")
            self._metrics.persist.labels("ok").inc()
            return

    def _set_aside(self, entry: _Entry) -> None:
        """Try a vote again later, off the writer's path; give up after reference_waits tries."""
        entry.tries += 1
        if self._policy.gives_up(entry.tries):
            self._give_up(entry.op)
            return
        self._lines.hold(entry)
        delay = self._policy.aside_delay(entry.tries)
        entry.timer = asyncio.get_running_loop().call_later(delay, self._retry_set_aside, entry)
        self._aside.add(entry)

    def _retry_set_aside(self, entry: _Entry) -> None:
        self._aside.discard(entry)  # back in the queue: counted there
        entry.timer = None
        self._enqueue(entry)

    def _give_up(self, op: WriteOp) -> None:
        voter = op.voter
        if voter is not None and not voter.ref.request_id:
            # A reaction on an Endy message that is no stored answer (the greeting, a notice): nothing to record.
            self._metrics.persist.labels("orphaned").inc()
            logger.bind(op=op.kind).info("reaction on a message that is not a stored answer; ignored")
            return
        self._metrics.persist.labels("failed").inc()
        logger.bind(op=op.kind).error("write refers to a message that never arrived; kept on disk")
        self._spill.write([op], suffix=REJECTED)
