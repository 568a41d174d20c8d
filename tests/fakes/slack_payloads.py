"""Realistic Slack payloads (what Slack sends an app) and objects (what its Web API returns).

Shapes follow Slack's reference pages: the Events API ``event_callback`` wrapper; ``message.im`` /
``app_mention`` / ``reaction_added`` / ``app_home_opened`` events; slash-command form fields;
``block_actions`` and ``view_submission`` payloads; user, conversation, view and file objects.
``SlackPayloads`` works alone (e.g. for signed HTTP-mode requests); the fake server subclasses it so
payloads point at what the fake knows (posted messages, opened views, its response URLs) and so user
messages built here exist in the fake's channel history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
import secrets
import string
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

VERIFICATION_TOKEN = "fake-verification-token"
EnvelopeType = Literal["events_api", "slash_commands", "interactive"]
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def sign(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack v0 request-signing headers for ``body`` (HMAC-SHA256 of ``v0:{ts}:{body}``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def http_body(kind: EnvelopeType, payload: dict[str, Any]) -> tuple[bytes, str]:
    """Encode a payload the way Slack POSTs it to an HTTP request URL: ``(body, content_type)``."""
    if kind == "events_api":
        return json.dumps(payload, ensure_ascii=False).encode(), "application/json"
    form = payload if kind == "slash_commands" else {"payload": json.dumps(payload, ensure_ascii=False)}
    return urlencode(form).encode(), "application/x-www-form-urlencoded"


def random_id(prefix: str, length: int = 10) -> str:
    """A Slack-looking id such as ``F0A1B2C3D4E``."""
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def dm_channel(user: str) -> str:
    """The fake's deterministic DM channel id for a user (``U123`` → ``D123``)."""
    return "D" + user[1:]


def rich_text(text: str) -> dict[str, Any]:
    """The ``rich_text`` block Slack attaches to a user's message (mentions become user elements)."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for m in _MENTION.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos : m.start()]})
        elements.append({"type": "user", "user_id": m.group(1)})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    section = {"type": "rich_text_section", "elements": elements}
    return {"type": "rich_text", "block_id": random_id("", 5).lower(), "elements": [section]}


class TsClock:
    """Monotonic Slack message timestamps: ``1700000000.000100``, ``1700000000.000200`` …"""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self._micros = start * 1_000_000

    def next(self) -> str:
        """A fresh ts later than every ts issued or observed so far."""
        self._micros += 100
        return f"{self._micros // 1_000_000}.{self._micros % 1_000_000:06d}"

    def observe(self, ts: str) -> None:
        """Make sure later ``next()`` values sort after ``ts``."""
        seconds, _, micros = ts.partition(".")
        self._micros = max(self._micros, int(seconds) * 1_000_000 + int(micros.ljust(6, "0")[:6] or 0))


class SlackPayloads:
    """Builds Events API, slash-command and interactivity payloads for one workspace and app."""

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        app_id: str = "A0001",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
        bot_name: str = "endy",
        team_domain: str = "endy-test",
    ) -> None:
        self.team_id, self.app_id, self.team_domain = team_id, app_id, team_domain
        self.bot_user_id, self.bot_id, self.bot_name = bot_user_id, bot_id, bot_name
        self.clock = TsClock()
        self.users: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------ hooks (the fake overrides these)
    def response_url(self) -> str:
        """A response_url for a command or action."""
        return f"https://hooks.slack.com/commands/{self.team_id}/{random_id('', 13)}/{secrets.token_hex(12)}"

    def _remember_user_message(self, event: dict[str, Any]) -> None:
        """Called for every user message built, so a fake can keep it in channel history."""

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The API representation of a known message, if any."""
        return None

    def _find_view(self, callback_id: str) -> dict[str, Any] | None:
        """The most recently opened view with this callback_id, if any."""
        return None

    def _home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab view published for a user, if any."""
        return None

    # ------------------------------------------------------------------ common pieces
    def user_name(self, user: str) -> str:
        """The user's Slack handle (registered via ``users`` or derived from the id)."""
        return str(self.users.get(user, {}).get("name") or f"user.{user.lower()}")

    def trigger_id(self) -> str:
        """A trigger_id shaped like Slack's (``<digits>.<digits>.<hex>``)."""
        return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def _ts(self, ts: str | None) -> str:
        if ts is None:
            return self.clock.next()
        self.clock.observe(ts)
        return ts

    def _user_obj(self, user: str) -> dict[str, Any]:
        name = self.user_name(user)
        return {"id": user, "username": name, "name": name, "team_id": self.team_id}

    def event_callback(self, event: dict[str, Any]) -> dict[str, Any]:
        """Wrap an inner event in the Events API ``event_callback`` outer envelope."""
        event_ts = str(event.get("event_ts") or event.get("ts") or self.clock.next())
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": random_id("Ev"),
            "event_time": int(float(event_ts)),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(48),
        }

    # ------------------------------------------------------------------------- events
    def _user_message(
        self,
        event_type: str,
        user: str,
        text: str,
        channel: str,
        channel_type: str | None,
        ts: str | None,
        thread_ts: str | None,
    ) -> dict[str, Any]:
        ts = self._ts(ts)
        event: dict[str, Any] = {
            "user": user,
            "type": event_type,
            "ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "text": text,
            "team": self.team_id,
            "blocks": [rich_text(text)],
            "channel": channel,
            "event_ts": ts,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            parent = self._find_message(channel, thread_ts)
            event["parent_user_id"] = (parent or {}).get("user", user)
        if channel_type is not None:
            event["channel_type"] = channel_type
        self._remember_user_message(event)
        return self.event_callback(event)

    def event_message_im(
        self, user: str, text: str, channel: str | None = None, ts: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """``message.im``: a user writes to the bot in its DM (or agent) conversation."""
        return self._user_message("message", user, text, channel or dm_channel(user), "im", ts, thread_ts)

    def event_message_channel(
        self, user: str, text: str, channel: str = "C0GENERAL", ts: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """``message.channels``: a channel message, usually a reply in a thread the bot answered in."""
        kind = "group" if channel.startswith("G") else "channel"
        return self._user_message("message", user, text, channel, kind, ts, thread_ts)

    def event_app_mention(
        self, user: str, text: str, channel: str = "C0GENERAL", ts: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """``app_mention``; the bot's ``<@UBOT>`` is prepended unless the text already mentions it."""
        mention = f"<@{self.bot_user_id}>"
        text = text if mention in text else f"{mention} {text}"
        return self._user_message("app_mention", user, text, channel, None, ts, thread_ts)

    def _reaction(
        self, kind: str, user: str, reaction: str, channel: str, ts: str, item_user: str | None
    ) -> dict[str, Any]:
        item_owner = item_user or str((self._find_message(channel, ts) or {}).get("user") or self.bot_user_id)
        event = {
            "type": kind,
            "user": user,
            "reaction": reaction,
            "item_user": item_owner,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self.clock.next(),
        }
        return self.event_callback(event)

    def event_reaction_added(
        self, user: str, reaction: str, item_channel: str, item_ts: str, item_user: str | None = None
    ) -> dict[str, Any]:
        """``reaction_added`` on a message (``item_user`` defaults to the message's author)."""
        return self._reaction("reaction_added", user, reaction, item_channel, item_ts, item_user)

    def event_reaction_removed(
        self, user: str, reaction: str, item_channel: str, item_ts: str, item_user: str | None = None
    ) -> dict[str, Any]:
        """``reaction_removed`` on a message."""
        return self._reaction("reaction_removed", user, reaction, item_channel, item_ts, item_user)

    def event_app_home_opened(self, user: str, tab: str = "home", channel: str | None = None) -> dict[str, Any]:
        """``app_home_opened`` for the ``home`` or ``messages`` tab (home carries the published view)."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": channel or dm_channel(user),
            "tab": tab,
            "event_ts": self.clock.next(),
        }
        view = self._home_view(user) if tab == "home" else None
        if view is not None:
            event["view"] = view
        return self.event_callback(event)

    # ------------------------------------------------------------------ interactivity
    def slash_command(self, command: str, text: str, user: str, channel: str = "C0GENERAL") -> dict[str, str]:
        """Slash-command fields exactly as Slack form-posts them (all strings)."""
        channel_name = "directmessage" if channel.startswith("D") else "general"
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": self.user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(),
            "trigger_id": self.trigger_id(),
        }

    def _interaction_base(self, kind: str, user: str) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self._user_obj(user),
            "api_app_id": self.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.trigger_id(),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def block_actions(
        self,
        user: str,
        action_id: str,
        value: str,
        channel: str | None = None,
        message_ts: str | None = None,
        *,
        action_type: str = "button",
        block_id: str | None = None,
        text: str | None = None,
        view: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``block_actions`` for a click on a message (channel + message_ts) or inside a view."""
        payload = self._interaction_base("block_actions", user)
        message = self._find_message(channel, message_ts) if channel and message_ts else None
        if channel and message_ts:
            message = message or {"type": "message", "ts": message_ts, "user": self.bot_user_id, "text": ""}
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            if "thread_ts" in message:
                payload["container"]["thread_ts"] = message["thread_ts"]
            payload["channel"] = {"id": channel, "name": "directmessage" if channel.startswith("D") else "general"}
            payload["message"] = message
            payload["response_url"] = self.response_url()
        elif view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        blocks = (message or view or {}).get("blocks") or []
        action: dict[str, Any] = {
            "type": action_type,
            "action_id": action_id,
            "block_id": block_id or _block_id_of(blocks, action_id) or random_id("", 4).lower(),
            "value": value,
            "action_ts": f"{time.time():.6f}",
        }
        if text is not None or action_type in ("button", "feedback_buttons"):
            action["text"] = {"type": "plain_text", "text": text or value, "emoji": True}
        payload["state"] = {"values": {}}
        payload["actions"] = [action]
        return payload

    def view_submission(
        self,
        user: str,
        callback_id: str,
        private_metadata: str | None = None,
        state_values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``view_submission`` of the modal last opened with ``callback_id`` (or a minimal one)."""
        opened = self._find_view(callback_id) or {"id": random_id("V"), "type": "modal", "blocks": []}
        view = {
            **opened,
            "team_id": self.team_id,
            "callback_id": callback_id,
            "private_metadata": opened.get("private_metadata", "") if private_metadata is None else private_metadata,
            "state": {"values": state_values or {}},
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
        }
        payload = self._interaction_base("view_submission", user)
        payload.update({"view": view, "response_urls": []})
        return payload

    # ------------------------------------------------------ Web API objects
    def bot_profile(self) -> dict[str, Any]:
        """``bot_profile`` attached to the app's messages."""
        return {
            "id": self.bot_id,
            "app_id": self.app_id,
            "name": self.bot_name,
            "team_id": self.team_id,
            "deleted": False,
            "updated": 1700000000,
        }

    def user_object(self, user: str) -> dict[str, Any]:
        """``users.info`` user; ``users[user_id]`` may set real_name, email, tz, is_admin, title, locale."""
        info, name = self.users.get(user, {}), self.user_name(user)
        real, tz = str(info.get("real_name", name)), ZoneInfo(str(info.get("tz", "Asia/Seoul")))
        now = datetime.now(tz)
        profile = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": info.get("display_name", name),
            "email": info.get("email", f"{name}@example.com"),
            "title": info.get("title", ""),
            "image_72": f"https://avatars.slack-edge.com/{user}_72.png",
            "team": self.team_id,
        }
        if user == self.bot_user_id:
            profile["bot_id"] = self.bot_id
        flags = dict.fromkeys(("deleted", "is_owner", "is_primary_owner", "is_restricted", "is_app_user"), False)
        return {
            "id": user,
            "team_id": self.team_id,
            "name": name,
            "real_name": real,
            "tz": str(tz),
            "tz_label": now.tzname(),
            "tz_offset": int((now.utcoffset() or timedelta()).total_seconds()),
            "profile": profile,
            "is_admin": bool(info.get("is_admin", False)),
            "is_bot": user == self.bot_user_id,
            **flags,
            "updated": 1700000000,
            "locale": info.get("locale", "ko-KR"),
        }

    def channel_object(self, channel: str) -> dict[str, Any]:
        """``conversations.info`` channel: an IM for ``D…``, private for ``G…``, public for ``C…``."""
        base = {"id": channel, "created": 1700000000, "context_team_id": self.team_id, "is_archived": False}
        if channel.startswith("D"):
            return base | {"is_im": True, "user": "U" + channel[1:], "is_user_deleted": False}
        private, name = channel.startswith("G"), channel[1:].lower()
        flags = dict.fromkeys(("is_im", "is_mpim", "is_general", "is_shared", "is_ext_shared", "is_org_shared"), False)
        topic = {"value": "", "creator": "", "last_set": 0}
        return (
            base
            | flags
            | {
                "name": name,
                "name_normalized": name,
                "is_channel": not private,
                "is_group": private,
                "is_private": private,
                "is_member": True,
                "topic": topic,
                "purpose": topic,
            }
        )

    def view_object(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        """A view as ``views.open`` / ``update`` / ``publish`` return it."""
        vid = view_id or random_id("V")
        defaults = {
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
        }
        return (
            defaults
            | view
            | {
                "id": vid,
                "team_id": self.team_id,
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{random_id('', 8)}",
                "root_view_id": vid,
                "app_id": self.app_id,
                "app_installed_team_id": self.team_id,
                "bot_id": self.bot_id,
            }
        )

    def file_object(
        self, file_id: str, filename: str, title: str | None, size: int, channel: str | None
    ) -> dict[str, Any]:
        """A file as ``files.completeUploadExternal`` returns it."""
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary"
        private = f"https://files.slack.com/files-pri/{self.team_id}-{file_id}/{filename}"
        return {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": filename,
            "title": title or filename,
            "mimetype": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": self.bot_user_id,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(channel and channel.startswith("C")),
            "url_private": private,
            "url_private_download": private.replace("files-pri", "files-pri/download", 1),
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{file_id}/{filename}",
            "channels": [channel] if channel else [],
        }


def _block_id_of(blocks: list[dict[str, Any]], action_id: str) -> str | None:
    """The block_id of the block holding an element with ``action_id``."""
    for block in blocks:
        elements = block.get("elements") or []
        accessory = block.get("accessory")
        candidates = [*elements, accessory] if accessory else elements
        if any(isinstance(e, dict) and e.get("action_id") == action_id for e in candidates):
            return str(block.get("block_id") or "") or None
    return None
