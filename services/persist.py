"""Write-behind persistence: replies never wait for PostgreSQL; failed writes are retried, never dropped."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from loguru import logger

from services.metrics import Metrics
from services.storage import Exchange, Storage

# Connection-level failures: worth retrying until the database is back.
_TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


# A vote about a message not stored yet (another replica's exchange may still be on its way) is set aside and
# tried again this many times, ~30 s in all, without holding up the writes behind it.
REFERENCE_WAITS = 40


class WriteOp(Protocol):
    """One pending write."""

    @property
    def kind(self) -> str:
        """The op's name in the spill file."""

    async def apply(self, storage: Storage) -> None:
        """Perform the write (idempotently: it may be retried)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the spill file."""


@dataclass(frozen=True, slots=True)
class RecordExchange:
    """Store one answered question (idempotent on its request_id)."""

    exchange: Exchange
    kind: str = "exchange"

    async def apply(self, storage: Storage) -> None:
        """Insert the exchange."""
        await storage.record_exchange(self.exchange)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the spill file."""
        data = dataclasses.asdict(self.exchange)
        data["request_id"] = str(self.exchange.request_id)
        data["created_at"] = self.exchange.created_at.isoformat() if self.exchange.created_at else None
        return {"op": self.kind, "data": data}


@dataclass(frozen=True, slots=True)
class AttachReply:
    """Remember which Slack message carried the answer (for reactions and feedback)."""

    request_id: uuid.UUID
    channel_id: str
    reply_ts: str
    kind: str = "reply"

    async def apply(self, storage: Storage) -> None:
        """Set the reply ts on the stored message."""
        await storage.attach_reply(self.request_id, self.channel_id, self.reply_ts)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the spill file."""
        return {
            "op": self.kind,
            "data": {"request_id": str(self.request_id), "channel_id": self.channel_id, "reply_ts": self.reply_ts},
        }


class RetryLater(Exception):
    """The write refers to a message not stored yet (another replica's write may still be on its way)."""


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Which answer a vote is about: by request id (buttons) or by the Slack message (reactions)."""

    request_id: str | None = None
    channel_id: str | None = None
    reply_ts: str | None = None

    async def resolve(self, storage: Storage) -> int:
        """The stored message id, or RetryLater when it is not stored yet."""
        if self.request_id:
            found = await storage.message_id_for_request(uuid.UUID(self.request_id))
        else:
            found = await storage.message_id_for_reply(self.channel_id or "", self.reply_ts or "")
        if found is None:
            raise RetryLater(f"message {self} not stored yet")
        return found


@dataclass(frozen=True, slots=True)
class RecordFeedback:
    """One vote (re-voting replaces it); reasons and comment come from the 👎 modal."""

    ref: MessageRef
    team_id: str
    user_id: str
    rating: int
    via: str
    reasons: tuple[str, ...] = ()
    comment: str | None = None
    kind: str = "feedback"

    async def apply(self, storage: Storage) -> None:
        """Upsert the vote."""
        message_id = await self.ref.resolve(storage)
        await storage.record_feedback(
            message_id, self.team_id, self.user_id, self.rating, self.via, self.reasons, self.comment
        )

    def to_json(self) -> dict[str, Any]:
        """Serialise for the spill file."""
        data = dataclasses.asdict(self)
        data.pop("kind")
        return {"op": self.kind, "data": data}


@dataclass(frozen=True, slots=True)
class RemoveFeedback:
    """A removed reaction retracts that user's reaction vote."""

    ref: MessageRef
    team_id: str
    user_id: str
    rating: int
    kind: str = "unvote"

    async def apply(self, storage: Storage) -> None:
        """Delete the reaction vote, if any."""
        message_id = await self.ref.resolve(storage)
        await storage.remove_feedback(message_id, self.team_id, self.user_id, "reaction", rating=self.rating)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the spill file."""
        data = dataclasses.asdict(self)
        data.pop("kind")
        return {"op": self.kind, "data": data}


def _voter(op: WriteOp) -> tuple[MessageRef, str, str] | None:
    """Whose vote on which message a write is (votes of one voter must land in order), or None."""
    ref = getattr(op, "ref", None)
    if not isinstance(ref, MessageRef):
        return None
    return ref, str(getattr(op, "team_id", "")), str(getattr(op, "user_id", ""))


def op_from_json(obj: dict[str, Any]) -> WriteOp:
    """Rebuild a spilled write."""
    data = obj["data"]
    if obj["op"] == "reply":
        return AttachReply(uuid.UUID(data["request_id"]), data["channel_id"], data["reply_ts"])
    if obj["op"] == "feedback":
        return RecordFeedback(**{**data, "ref": MessageRef(**data["ref"]), "reasons": tuple(data["reasons"])})
    if obj["op"] == "unvote":
        return RemoveFeedback(**{**data, "ref": MessageRef(**data["ref"])})
    data = {
        **data,
        "request_id": uuid.UUID(data["request_id"]),
        "created_at": datetime.fromisoformat(data["created_at"]) if data.get("created_at") else None,
    }
    return RecordExchange(Exchange(**data))


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
        self._spill = spill_path
        self._queue: asyncio.Queue[WriteOp] = asyncio.Queue(maxsize=max_queue)
        self._max_backoff = max_backoff  # the longest pause between retries while the database is down
        self._reference_waits = reference_waits
        self._task: asyncio.Task[None] | None = None
        self._current: WriteOp | None = None
        self._outage = False
        # Votes waiting for their message. Each voter (message, user) has a line, so their votes land in the
        # order given: the first is retried, later ones wait behind it.
        self._waits: dict[int, int] = {}  # id(op) -> tries so far
        self._timers: dict[int, tuple[WriteOp, asyncio.TimerHandle]] = {}  # set aside until the timer fires
        self._lines: dict[tuple[MessageRef, str, str], collections.deque[WriteOp]] = {}

    @property
    def healthy(self) -> bool:
        """False while writes are failing (the database is unreachable)."""
        return not self._outage

    @property
    def pending(self) -> int:
        """Writes waiting in memory (queued, or set aside until the message they refer to is stored)."""
        behind = sum(len(line) - 1 for line in self._lines.values())
        return self._queue.qsize() + len(self._timers) + behind

    async def start(self) -> None:
        """Start draining, first re-queueing anything spilled by an earlier run."""
        self._replay_spill()
        self._task = asyncio.create_task(self._run(), name="endy-recorder")

    def submit(self, op: WriteOp) -> None:
        """Queue a write without waiting; spill to disk when the queue is full."""
        try:
            self._queue.put_nowait(op)
        except asyncio.QueueFull:
            self._waits.pop(id(op), None)
            key = _voter(op)
            line = self._lines.get(key) if key else None
            if line and line[0] is op:  # the votes waiting behind it go along, in order
                self._spill_ops(list(line))
                del self._lines[key]  # type: ignore[arg-type]
            else:
                self._spill_ops([op])
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
        # The op being retried when we stopped is not in the queue any more; writes are idempotent, so
        # spilling it (even if it just landed) is safe.
        left: list[WriteOp] = [self._current] if self._current is not None else []
        for op, timer in self._timers.values():
            timer.cancel()
            left.append(op)
        while not self._queue.empty():
            left.append(self._queue.get_nowait())
        left.extend(op for line in self._lines.values() for op in list(line)[1:])  # after their line's first
        self._timers.clear()
        self._lines.clear()
        self._waits.clear()
        if left:
            self._spill_ops(left)

    async def _run(self) -> None:
        while True:
            op = await self._queue.get()
            self._current = op
            try:
                await self._apply(op)
                self._current = None
            finally:
                self._queue.task_done()
                self._metrics.persist_queue.set(self._queue.qsize())

    async def _apply(self, op: WriteOp) -> None:
        key = _voter(op)
        line = self._lines.get(key) if key else None
        if line is not None and line[0] is not op:
            line.append(op)  # an earlier vote of this user on this message is still waiting: keep the order
            return
        await self._write(op)
        if id(op) not in self._timers:  # done with it (stored, given up or rejected): the next vote may go
            self._next_in_line(key, op)

    def _next_in_line(self, key: tuple[MessageRef, str, str] | None, op: WriteOp) -> None:
        line = self._lines.get(key) if key else None
        if not line or line[0] is not op:
            return
        line.popleft()
        if line:
            self.submit(line[0])
        else:
            del self._lines[key]  # type: ignore[arg-type]

    async def _write(self, op: WriteOp) -> None:
        backoff = 0.2
        waits = self._waits.pop(id(op), 0)
        while True:
            try:
                await op.apply(self._storage)
            except RetryLater:
                self._set_aside(op, waits + 1)
                return
            except _TRANSIENT as err:
                self._metrics.persist.labels("retry").inc()
                if not self._outage:
                    self._outage = True
                    logger.bind(error=type(err).__name__).warning("database writes failing; retrying with backoff")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            except (asyncpg.PostgresError, ValueError, TypeError, KeyError):
                # Not transient (a bug or bad data): keep the record on disk for an operator, never silently.
                self._metrics.persist.labels("failed").inc()
                logger.exception("write rejected by the database; kept in the spill file")
                self._spill_ops([op], suffix=".rejected")
                return
            if self._outage:
                self._outage = False
                logger.info("database writes recovered")
            self._metrics.persist.labels("ok").inc()
            return

    def _set_aside(self, op: WriteOp, waits: int) -> None:
        """Try a vote again later, off the writer's path; give up after reference_waits tries."""
        if waits > self._reference_waits:
            self._give_up(op)
            return
        key = _voter(op)
        if key is not None and key not in self._lines:
            self._lines[key] = collections.deque([op])
        self._waits[id(op)] = waits
        timer = asyncio.get_running_loop().call_later(min(0.05 * waits, 1.0), self._retry_set_aside, op)
        self._timers[id(op)] = (op, timer)

    def _retry_set_aside(self, op: WriteOp) -> None:
        del self._timers[id(op)]  # back in the queue: counted there
        self.submit(op)

    def _give_up(self, op: WriteOp) -> None:
        ref = getattr(op, "ref", None)
        if isinstance(ref, MessageRef) and not ref.request_id:
            # A reaction on an Endy message that is no stored answer (the greeting, a notice): nothing to record.
            self._metrics.persist.labels("orphaned").inc()
            logger.bind(op=op.kind).info("reaction on a message that is not a stored answer; ignored")
            return
        self._metrics.persist.labels("failed").inc()
        logger.bind(op=op.kind).error("write refers to a message that never arrived; kept on disk")
        self._spill_ops([op], suffix=".rejected")

    def _spill_ops(self, ops: list[WriteOp], suffix: str = "") -> None:
        path = self._spill.with_name(self._spill.name + suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for op in ops:
                fh.write(json.dumps(op.to_json(), ensure_ascii=False) + "\n")
        self._metrics.persist.labels("spilled").inc(len(ops))
        logger.bind(count=len(ops), path=str(path)).warning("writes spilled to disk")

    def _replay_spill(self) -> None:
        if not self._spill.exists():
            return
        lines = self._spill.read_text(encoding="utf-8").splitlines()
        self._spill.unlink()
        ops = [op_from_json(json.loads(line)) for line in lines if line.strip()]
        for op in ops:
            self.submit(op)
        logger.bind(count=len(ops)).info("re-queued writes spilled by an earlier run")
