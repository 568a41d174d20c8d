"""Signed values of the learning surfaces (issue 16): gap buttons, learned-entry buttons, modal metadata and the
not-found reply's "답이 생기면 알려 주세요" button. Each kind has its own key (services/signing.py), so a value
built for one never verifies as another; what a value names is re-checked (admin role, gap, section) on use. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from handlers.buttons import MAX_QUESTION_CHARS, MAX_VALUE_CHARS
from services.signing import Keyring

GAP_ACTIONS = ("teach", "faq", "synonym", "ignore")
MODAL_KINDS = ("section", "faq", "synonym")


@dataclass(frozen=True, slots=True)
class NotifyValue:
    """What the opt-in button carries: the (masked) question and who asked it."""

    question: str
    owner: str


@dataclass(frozen=True, slots=True)
class EntryValue:
    """What a remove button carries: one learned entry."""

    kind: str
    entry_id: int


@dataclass(frozen=True, slots=True)
class ModalMeta:
    """What a learning modal carries: its kind, the gap it is for, and what Endy put in it (words, sections)."""

    kind: str
    gap_id: str
    items: tuple[str, ...] = ()


def _seal(keys: Keyring, kind: str, data: dict[str, Any]) -> str:
    return keys.signer(f"button:learn-{kind}").seal(json.dumps(data, ensure_ascii=False))


def _unseal(keys: Keyring, kind: str, value: object) -> dict[str, Any] | None:
    text = keys.signer(f"button:learn-{kind}").unseal(value) if isinstance(value, str) else None
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def gap_value(keys: Keyring, action: str, gap_id: str) -> str:
    """A gap button's value (action: one of GAP_ACTIONS)."""
    return _seal(keys, "gap", {"a": action, "g": gap_id})


def read_gap(keys: Keyring, action: str, value: object) -> str | None:
    """The gap id a value for `action` carries, or None when Endy did not build it for that action."""
    data = _unseal(keys, "gap", value)
    if data is None or data.get("a") != action or not isinstance(data.get("g"), str):
        return None
    return str(data["g"])


def entry_value(keys: Keyring, kind: str, entry_id: int) -> str:
    """A learned entry's remove button value."""
    return _seal(keys, "entry", {"k": kind, "e": entry_id})


def read_entry(keys: Keyring, value: object) -> EntryValue | None:
    """The entry a remove value names, or None when Endy did not build it."""
    data = _unseal(keys, "entry", value)
    if data is None or not isinstance(data.get("e"), int) or not isinstance(data.get("k"), str):
        return None
    return EntryValue(str(data["k"]), int(data["e"]))


def modal_meta(keys: Keyring, kind: str, gap_id: str, items: tuple[str, ...] = ()) -> str:
    """A learning modal's private_metadata (Slack allows 3,000 characters: items are dropped from the end)."""
    kept = list(items)
    while True:
        value = _seal(keys, "modal", {"k": kind, "g": gap_id, "i": kept})
        if len(value) <= 3000 or not kept:
            return value
        kept.pop()


def read_modal_meta(keys: Keyring, kind: str, value: object) -> ModalMeta | None:
    """The modal a private_metadata describes, or None when Endy did not build it (for that kind of modal)."""
    data = _unseal(keys, "modal", value)
    if data is None or data.get("k") != kind or not isinstance(data.get("g"), str):
        return None
    items = data.get("i") or []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return None
    return ModalMeta(kind, str(data["g"]), tuple(items))


def notify_value(keys: Keyring, question: str, owner: str) -> str:
    """The opt-in button's value: the (masked) question and the asker, signed."""
    q = question[:MAX_QUESTION_CHARS]
    while True:
        value = _seal(keys, "notify", {"q": q, "u": owner})
        if len(value) <= MAX_VALUE_CHARS or not q:
            return value
        q = q[: len(q) * 3 // 4]


def read_notify(keys: Keyring, value: object) -> NotifyValue | None:
    """The question and asker an opt-in value carries, or None when Endy did not build it."""
    data = _unseal(keys, "notify", value)
    if data is None or not isinstance(data.get("q"), str) or not isinstance(data.get("u"), str):
        return None
    return NotifyValue(str(data["q"]), str(data["u"]))
