"""Escalation channels by id: kb.yaml names a team's channel by id (C…/G…) or by name (#ask-pnc).

Names are resolved to ids once (at start, `conversations.list`, paginated; ids are looked up with
`conversations.info`) and cached: messages link the channel as `<#C…>`, and a renamed channel keeps working. What
Slack cannot tell (no channels:read/groups:read yet, Slack unreachable) is asked again later, never on every
escalation; until then Endy posts by name, which chat.postMessage also accepts.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from loguru import logger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{8,}")
_MENTION = re.compile(r"<#([CG][A-Z0-9]{8,})(?:\|([^<>]*))?>")  # a channel link pasted into kb.yaml
LIST_PAGE = 200  # Slack's advice for conversations.list
MAX_PAGES = 100  # 20,000 channels: past that, the names still unseen are retried later
RETRY_SECONDS = 600.0  # how long an unresolved channel waits before Slack is asked again
_FAILURES = (SlackApiError, aiohttp.ClientError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Channel:
    """A team channel as kb.yaml names it, and what Slack said about it (None: not known yet)."""

    ref: str
    id: str | None = None
    name: str | None = None  # without `#`
    is_member: bool | None = None

    @property
    def label(self) -> str:
        """`#name` for logs and plain text (the id when Slack did not say the name)."""
        return f"#{self.name}" if self.name else (self.id or self.ref)

    @property
    def target(self) -> str:
        """What chat.postMessage gets: the id, or the name while it is unresolved."""
        return self.id or f"#{self.name or self.ref.lstrip('#')}"


def parse_ref(ref: str) -> Channel:
    """A kb.yaml channel: `C0123ABCD`, `<#C0123ABCD|name>`, `#name` or `name` (Slack names are lower-case)."""
    text = ref.strip()
    mention = _MENTION.fullmatch(text)
    if mention:
        return Channel(ref, mention[1], mention[2] or None)
    if CHANNEL_ID.fullmatch(text):
        return Channel(ref, text)
    return Channel(ref, name=text.lstrip("#").lower() or None)


class ChannelDirectory:
    """kb.yaml's channel references resolved to Slack channels, cached for the life of the process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._known: dict[str, Channel] = {}  # by ref
        self._asked: dict[str, float] = {}  # ref → when Slack last failed to resolve it
        self._lock = asyncio.Lock()
        self._clock = clock

    def cached(self, ref: str) -> Channel:
        """What is known about `ref` without asking Slack."""
        return self._known.get(ref) or parse_ref(ref)

    async def resolve(self, client: AsyncWebClient, ref: str) -> Channel:
        """The channel for `ref`: from the cache, or asked once (and at most every RETRY_SECONDS when unresolved)."""
        known = self._known.get(ref)
        if known is not None or self._clock() - self._asked.get(ref, -RETRY_SECONDS) < RETRY_SECONDS:
            return known or parse_ref(ref)
        return (await self.warm(client, [ref]))[0]

    async def warm(self, client: AsyncWebClient, refs: Iterable[str]) -> list[Channel]:
        """Resolve every reference in one go (names: one paginated conversations.list), then cache the answers."""
        wanted = [parse_ref(r) for r in dict.fromkeys(refs)]
        async with self._lock:
            names = {c.name for c in wanted if c.id is None and c.name}
            found = await _list_names(client, names) if names else {}
            out = [await _with_facts(client, c, found) for c in wanted]
            for channel in out:
                if channel.id is not None and channel.is_member is not None:
                    self._known[channel.ref] = channel
                    self._asked.pop(channel.ref, None)
                else:
                    self._asked[channel.ref] = self._clock()
        return out

    def forget(self, ref: str) -> None:
        """Ask Slack again next time (e.g. Endy was just refused: it may have been removed from the channel)."""
        self._known.pop(ref, None)
        self._asked.pop(ref, None)


async def _list_names(client: AsyncWebClient, names: set[str]) -> dict[str, Channel]:
    """Page through conversations.list until every name is seen (or the pages run out)."""
    found: dict[str, Channel] = {}
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            page = await client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=LIST_PAGE, cursor=cursor
            )
            for raw in page.get("channels") or []:
                if raw.get("name") in names:
                    found[raw["name"]] = _channel(raw["name"], raw)
            cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
            if cursor is None or names <= found.keys():
                break
    except _FAILURES as err:
        logger.bind(error=_error(err), unresolved=sorted(names - found.keys())).warning(
            "could not list Slack channels to resolve escalation channel names; posting by name meanwhile"
        )
    return found


async def _with_facts(client: AsyncWebClient, channel: Channel, found: dict[str, Channel]) -> Channel:
    """The listed channel for a name; for an id, what conversations.info says (membership, name)."""
    if channel.id is None:
        listed = found.get(channel.name or "")
        return replace(listed, ref=channel.ref) if listed else channel
    try:
        info = (await client.conversations_info(channel=channel.id)).get("channel") or {}
    except SlackApiError as err:
        if err.response.get("error") == "channel_not_found":  # private and Endy not in it, or gone
            return replace(channel, is_member=False)
        logger.bind(channel=channel.id, error=_error(err)).warning("could not look up an escalation channel")
        return channel
    except _FAILURES as err:
        logger.bind(channel=channel.id, error=_error(err)).warning("could not look up an escalation channel")
        return channel
    return replace(_channel(channel.ref, info), name=info.get("name") or channel.name)


def _channel(ref: str, raw: dict[str, Any]) -> Channel:
    return Channel(ref, str(raw["id"]), raw.get("name"), bool(raw.get("is_member")))


def _error(err: BaseException) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or err.response.status_code)
    return type(err).__name__
