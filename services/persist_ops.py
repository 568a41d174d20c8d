"""The writes Endy makes behind the reply: answered questions, reply messages, votes; each idempotent, with a
JSON form for the spill file (services/persist_spill.py)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.storage import Exchange, Storage


class WriteOp(Protocol):
    """One pending write."""

    @property
    def kind(self) -> str:
        """The op's name in the spill file."""

    async def apply(self, storage: Storage) -> None:
        """Perform the write (idempotently: it may be retried)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the spill file."""

    @property
    def voter(self) -> Voter | None:
        """Whose vote on which message this write is (their votes must land in order); None for other writes."""


@dataclass(frozen=True, slots=True)
class RecordExchange:
    """Store one answered question (idempotent on its request_id)."""

    exchange: Exchange
    kind: str = "exchange"

    @property
    def voter(self) -> None:
        """Not a vote."""
        return None

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

    @property
    def voter(self) -> None:
        """Not a vote."""
        return None

    async def apply(self, storage: Storage) -> None:
        """Set the reply ts on the stored message."""
        await storage.attach_reply(self.request_id, self.channel_id, self.reply_ts)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the spill file."""
        return {
            "op": self.kind,
            "data": {"request_id": str(self.request_id), "channel_id": self.channel_id, "reply_ts": self.reply_ts},
        }


@dataclass(frozen=True, slots=True)
class Voter:
    """One user's vote on one message: the unit whose writes keep their order."""

    ref: MessageRef
    team_id: str
    user_id: str


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

    @property
    def voter(self) -> Voter:
        """This user's vote on this message."""
        return Voter(self.ref, self.team_id, self.user_id)

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

    @property
    def voter(self) -> Voter:
        """This user's vote on this message."""
        return Voter(self.ref, self.team_id, self.user_id)

    async def apply(self, storage: Storage) -> None:
        """Delete the reaction vote, if any."""
        message_id = await self.ref.resolve(storage)
        await storage.remove_feedback(message_id, self.team_id, self.user_id, "reaction", rating=self.rating)

    def to_json(self) -> dict[str, Any]:
        """Serialise for the spill file."""
        data = dataclasses.asdict(self)
        data.pop("kind")
        return {"op": self.kind, "data": data}


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
