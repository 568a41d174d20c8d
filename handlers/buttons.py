"""Button values Endy trusts later, signed with SECRET_KEY (services/signing.py), one key per kind of button.

A value (a question, a message reference, who asked) comes back in the interaction payload; only a value Endy
built is acted on, and it names the asker, who (with the admins) alone may escalate or share it. Pure: no I/O.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from services.signing import Keyring

MAX_VALUE_CHARS = 2000  # Slack's limit for a button value
MAX_QUESTION_CHARS = 1500
RATINGS = ("up", "down")


@dataclass(frozen=True, slots=True)
class Seal:
    """Signs the buttons under one answer: the keyring, and who asked."""

    keys: Keyring
    owner: str


@dataclass(frozen=True, slots=True)
class Escalation:
    """What an escalation button carries."""

    request_id: str
    department: str
    question: str
    owner: str


@dataclass(frozen=True, slots=True)
class Shared:
    """What a share button carries."""

    request_id: str
    owner: str


@dataclass(frozen=True, slots=True)
class Vote:
    """What a 👍/👎 button carries."""

    rating: str
    request_id: str


@dataclass(frozen=True, slots=True)
class ModalRef:
    """What the 👎 modal carries: the answer and the message it was opened from."""

    request_id: str
    channel: str | None
    message_ts: str | None


def _request_id(value: object) -> str:
    return str(uuid.UUID(str(value)))  # ValueError for anything else


def _seal(keys: Keyring, kind: str, text: str) -> str:
    return keys.signer(f"button:{kind}").seal(text)


def _unseal(keys: Keyring, kind: str, value: object) -> str | None:
    return keys.signer(f"button:{kind}").unseal(value) if isinstance(value, str) else None


def _unseal_json(keys: Keyring, kind: str, value: object) -> dict[str, Any] | None:
    text = _unseal(keys, kind, value)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def escalation_value(seal: Seal, request_id: uuid.UUID, department: str, question: str) -> str:
    """The escalation button's value: request id, department, the (masked) question and the asker."""
    q = question[:MAX_QUESTION_CHARS]
    while True:
        data = {"r": str(request_id), "d": department, "q": q, "u": seal.owner}
        value = _seal(seal.keys, "escalate", json.dumps(data, ensure_ascii=False))
        if len(value) <= MAX_VALUE_CHARS or not q:
            return value
        q = q[: len(q) * 3 // 4]  # JSON escaping made it too long for a button


def read_escalation(keys: Keyring, value: object) -> Escalation | None:
    """The escalation a value carries, or None when Endy did not build it."""
    data = _unseal_json(keys, "escalate", value)
    try:
        return (
            None if data is None else Escalation(_request_id(data["r"]), str(data["d"]), str(data["q"]), str(data["u"]))
        )
    except (KeyError, ValueError):
        return None


def share_value(seal: Seal, request_id: uuid.UUID) -> str:
    """The share button's value: request id and the asker."""
    return _seal(seal.keys, "share", json.dumps({"r": str(request_id), "u": seal.owner}))


def read_share(keys: Keyring, value: object) -> Shared | None:
    """The answer a share value points to, or None when Endy did not build it."""
    data = _unseal_json(keys, "share", value)
    try:
        return None if data is None else Shared(_request_id(data["r"]), str(data["u"]))
    except (KeyError, ValueError):
        return None


def vote_value(keys: Keyring, rating: str, request_id: str) -> str:
    """A 👍/👎 button's value: `<rating>|<request id>`, signed."""
    return _seal(keys, "feedback", f"{rating}|{request_id}")


def read_vote(keys: Keyring, value: object) -> Vote | None:
    """The vote a value carries, or None when Endy did not build it."""
    rating, _, request_id = (_unseal(keys, "feedback", value) or "").partition("|")
    try:
        return Vote(rating, _request_id(request_id)) if rating in RATINGS else None
    except ValueError:
        return None


def related_value(keys: Keyring, question: str) -> str:
    """A related-question button's value: the question, signed."""
    return _seal(keys, "related", question[:MAX_QUESTION_CHARS])


def read_related(keys: Keyring, value: object) -> str | None:
    """The related question a value carries, or None when Endy did not build it."""
    return _unseal(keys, "related", value)


def modal_metadata(keys: Keyring, request_id: str, channel: str | None, message_ts: str | None) -> str:
    """The 👎 modal's private_metadata, signed."""
    return _seal(keys, "feedback-modal", json.dumps({"r": request_id, "c": channel, "t": message_ts}))


def read_modal_metadata(keys: Keyring, value: object) -> ModalRef | None:
    """The answer and message a modal was opened for, or None when Endy did not build it."""
    data = _unseal_json(keys, "feedback-modal", value)
    try:
        if data is None:
            return None
        channel, ts = data.get("c"), data.get("t")
        return ModalRef(_request_id(data["r"]), str(channel) if channel else None, str(ts) if ts else None)
    except (KeyError, ValueError):
        return None
