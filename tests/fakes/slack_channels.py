"""The fake Slack's channels: ids and names, whether the bot is a member, and what Slack answers about them.

- ``conversations.list``: public channels (the bot's membership in ``is_member``) and the private ones the bot is in,
  ``types`` / ``exclude_archived`` / ``limit`` (default 100, at most 1000) / ``cursor`` pagination, ``missing_scope``
  without channels:read (public) or groups:read (private).
- ``conversations.info``: a private channel the bot is not in is ``channel_not_found``, as in Slack.
- ``chat.postMessage``: a ``#name`` is resolved (unknown: ``channel_not_found``); a public channel the bot is not in is
  ``not_in_channel``, a private one ``channel_not_found``, an archived one ``is_archived``.

Channels nobody registered keep the fake's old leniency (any ``C…``/``G…`` id works), so a test can use any id.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakes.slack_payloads import random_id

# The bundled handbook's kb.yaml names these: by default the fake workspace has them, with the bot invited.
SAMPLE_TEAM_CHANNELS = ("it-helpdesk", "ask-pnc", "ask-finance", "ask-ga")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TYPE_SCOPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "mpim": "mpim:read",
    "im": "im:read",
}


class ChannelError(Exception):
    """What Slack would answer instead (``error`` plus extra fields)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class FakeChannel:
    """A channel of the fake workspace."""

    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False

    def fields(self) -> dict[str, Any]:
        """What differs from the fake's generic channel object."""
        return {
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_private": self.is_private,
            "is_member": self.is_member,
            "is_archived": self.is_archived,
        }


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _offset(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(str(cursor), validate=True).decode().partition(":")
        if kind == "channel" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise ChannelError("invalid_cursor")


class Channels:
    """The registered channels, by id."""

    def __init__(self, names: Iterable[str] = SAMPLE_TEAM_CHANNELS) -> None:
        self.by_id: dict[str, FakeChannel] = {}
        for name in names:
            self.add(name)

    def add(
        self,
        name: str,
        *,
        private: bool = False,
        member: bool = True,
        archived: bool = False,
        channel_id: str | None = None,
    ) -> FakeChannel:
        """Register a channel (``name`` without ``#``); its id is random unless given."""
        channel = FakeChannel(channel_id or random_id("G" if private else "C"), name.lstrip("#"), private, member)
        channel.is_archived = archived
        self.by_id[channel.id] = channel
        return channel

    def named(self, name: str) -> FakeChannel | None:
        """The channel called ``name`` (``#`` optional)."""
        return next((c for c in self.by_id.values() if c.name == name.lstrip("#")), None)

    def resolve(self, channel: str) -> str:
        """A ``#name`` as its id (as chat.postMessage accepts names); ids as they are."""
        if not channel.startswith("#"):
            return channel
        found = self.named(channel)
        if found is None:
            raise ChannelError("channel_not_found")
        return found.id

    def check_post(self, channel_id: str) -> None:
        """Slack's refusals of chat.postMessage for a bot without chat:write.public."""
        channel = self.by_id.get(channel_id)
        if channel is None:
            return
        if channel.is_private and not channel.is_member:
            raise ChannelError("channel_not_found")
        if channel.is_archived:
            raise ChannelError("is_archived")
        if not channel.is_member:
            raise ChannelError("not_in_channel")

    def info(self, channel_id: str) -> dict[str, Any] | None:
        """conversations.info's fields for a registered channel (None: not registered)."""
        channel = self.by_id.get(channel_id)
        if channel is not None and channel.is_private and not channel.is_member:
            raise ChannelError("channel_not_found")
        return channel.fields() if channel is not None else None

    def page(self, body: dict[str, Any], scopes: set[str]) -> tuple[list[FakeChannel], str]:
        """conversations.list: one page of the visible channels, and the next cursor ("" at the end)."""
        types = {t.strip() for t in str(body.get("types") or "public_channel").split(",") if t.strip()}
        if not types <= TYPE_SCOPES.keys():
            raise ChannelError("invalid_types")
        needed = {TYPE_SCOPES[t] for t in types}
        if not needed <= scopes:
            missing, provided = ",".join(sorted(needed - scopes)), ",".join(sorted(scopes))
            raise ChannelError("missing_scope", needed=missing, provided=provided)
        limit = min(MAX_LIMIT, max(1, int(str(body.get("limit") or DEFAULT_LIMIT))))
        visible = [
            c
            for c in self.by_id.values()
            if ("private_channel" if c.is_private else "public_channel") in types
            and (c.is_member or not c.is_private)
            and not (c.is_archived and _flag(body.get("exclude_archived")))
        ]
        start = _offset(body.get("cursor"))
        end = start + limit
        cursor = base64.b64encode(f"channel:{end}".encode()).decode() if end < len(visible) else ""
        return visible[start:end], cursor
