# ruff: noqa: ASYNC109 -- the waiters take ``timeout=`` on purpose, like asyncio.wait_for
"""A fake Slack (Web API + Socket Mode) on a random loopback port, for tests and benchmarks.

Usage::

    async with FakeSlack(bot_user_id="UBOT", team_id="T0001") as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await slack.send_event(slack.event_message_im("U0001", "연차 신청 방법?"))
        [stop] = await slack.wait_for("chat.stopStream")

Web API calls arrive as ``POST``/``GET /api/<method>`` with JSON, form or multipart bodies and
query-string parameters (the async slack_sdk client sends ``params=`` methods in the query string);
all are merged into ``ApiCall.body`` with JSON-string fields (``blocks``, ``view`` …) decoded.
Faults are scripted per method, first in first out. Socket Mode hands out one-shot
``ws://…/link/?ticket=…`` URLs from ``apps.connections.open`` and deals envelopes round-robin over
the open sockets.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, NoReturn

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes.slack_channels import SAMPLE_TEAM_CHANNELS, ChannelError, Channels, FakeChannel
from tests.fakes.slack_payloads import EnvelopeType, SlackPayloads, dm_channel, random_id

SCOPES = (
    "app_mentions:read,assistant:write,channels:history,channels:read,chat:write,commands,files:write,groups:history,"
    "groups:read,im:history,im:read,im:write,reactions:read,reactions:write,users:read"
)
# Slack's answers for a token that is refused outright (see FakeSlack.revoke_token).
REFUSED_TOKEN_ERRORS = frozenset({"token_revoked", "account_inactive", "token_expired", "invalid_auth"})
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "chunks", "metadata", "prompts", "files", "unfurls"})
MessageKind = Literal["message", "ephemeral", "stream", "file", "user", "seed"]
BOT_KINDS = frozenset({"message", "ephemeral", "stream", "file"})


class SlackError(Exception):
    """A Web API error: answered as ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class ApiCall:
    """One Web API request received by the fake (``token`` is taken out of ``body``)."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    time: float
    http_method: str = "POST"


@dataclass
class Message:
    """A message in the fake workspace; ``text`` of a stream is its markdown chunks joined."""

    channel: str
    ts: str
    text: str = ""
    user: str | None = None
    bot_id: str | None = None
    kind: MessageKind = "message"
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    stream_state: Literal["in_progress", "completed"] | None = None
    ephemeral_to: str | None = None
    edited_ts: str | None = None
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class UploadedFile:
    """A file announced by ``files.getUploadURLExternal`` (``content`` once its bytes arrive)."""

    id: str
    filename: str
    length: int
    title: str | None = None
    content: bytes | None = None


@dataclass
class Envelope:
    """A Socket Mode envelope the fake delivered, and over which connection."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    connection_id: int


@dataclass
class ResponsePost:
    """A POST to a response_url handed out by the fake."""

    response_id: str
    body: Any
    headers: dict[str, str]


@dataclass
class _Fault:
    kind: Literal["fail", "slow", "drop"]
    error: str = "ratelimited"
    status: int = 429
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass(eq=False)
class _Connection:
    id: int
    ws: web.WebSocketResponse
    dead: bool = False
    retiring: bool = False


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def _missing(name: str) -> NoReturn:
    """Slack's answer to a missing required argument."""
    messages = [f"[ERROR] missing required field: {name}"]
    raise SlackError("invalid_arguments", response_metadata={"messages": messages})


def _str(body: dict[str, Any], *names: str) -> str:
    """The first non-empty string argument among ``names``."""
    for name in names:
        value = body.get(name)
        if isinstance(value, str) and value:
            return value
    _missing(names[0])


def _view_arg(body: dict[str, Any]) -> dict[str, Any]:
    view = body.get("view")
    if not isinstance(view, dict):
        _missing("view")
    return view


def _opt_list(value: Any) -> list[dict[str, Any]] | None:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else None


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string + JSON / form / multipart body, JSON-string fields decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.body_exists and request.content_type == "application/json":
        data = await request.json()
        params.update(data if isinstance(data, dict) else {})
    elif request.body_exists and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            params[key] = value.file.read() if isinstance(value, web.FileField) else value
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str) and params[key][:1] in ("[", "{"):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass
    return params


class FakeSlack(SlackPayloads):
    """Real aiohttp server on 127.0.0.1 speaking Slack's Web API and Socket Mode wire formats."""

    def __init__(
        self,
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
        *,
        app_id: str = "A0001",
        bot_id: str = "B0001",
        bot_name: str = "endy",
        team_name: str = "Endy Test",
        team_domain: str = "endy-test",
        bot_token: str | None = None,
        app_token: str | None = None,
        channels: tuple[str, ...] = SAMPLE_TEAM_CHANNELS,
    ) -> None:
        super().__init__(
            team_id=team_id,
            app_id=app_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            team_domain=team_domain,
        )
        self.team_name = team_name
        self.bot_token, self.app_token = bot_token, app_token
        self.revoked: dict[str, str] = {}  # token → the error Slack answers for it
        self.scopes = set(SCOPES.split(","))
        self.workspace = Channels(channels)  # public channels named `channels`, the bot a member of each
        self.calls: list[ApiCall] = []
        self._calls_by_method: dict[str, list[ApiCall]] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self.envelopes: list[Envelope] = []
        self.responses: list[ResponsePost] = []
        self.files: dict[str, UploadedFile] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.connects = 0
        self._store: dict[tuple[str, str], Message] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._conns: list[_Connection] = []
        self._tickets: set[str] = set()
        self._rr = 0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._handlers: dict[str, Callable[[ApiCall], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "chat.startStream": self._start_stream,
            "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.replies": self._replies,
            "conversations.info": self._conversations_info,
            "conversations.list": self._conversations_list,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "assistant.threads.setStatus": lambda c: self._require(c, "channel_id", "thread_ts", "status"),
            "assistant.threads.setSuggestedPrompts": lambda c: self._require(c, "channel_id", "prompts"),
            "assistant.threads.setTitle": lambda c: self._require(c, "channel_id", "thread_ts", "title"),
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    async def start(self) -> None:
        """Start listening on a random free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response/{response_id}", self._handle_response)
        app.router.add_get("/link/", self._handle_link)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every socket, then the server."""
        for conn in list(self._conns):
            conn.dead = True
            await conn.ws.close(code=WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------- inspection
    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one Web API method, in arrival order."""
        return list(self._calls_by_method.get(method, ()))

    def messages(self, channel: str | None = None, *, thread_ts: str | None = None) -> list[Message]:
        """What the app posted, streamed or shared (not deleted), in posting order."""
        return [
            m
            for m in self._store.values()
            if m.kind in BOT_KINDS
            and not m.deleted
            and (channel is None or m.channel == channel)
            and (thread_ts is None or m.thread_ts == thread_ts)
        ]

    def message(self, channel: str, ts: str) -> Message | None:
        """Any stored message (the app's, seeded or a user's) by channel and ts."""
        return self._store.get((channel, ts))

    @property
    def connections(self) -> int:
        """Open Socket Mode connections."""
        return sum(1 for c in self._conns if not c.dead)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Wait, without polling, until ``predicate()`` holds after some fake-side change."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._changed.wait()
        except TimeoutError:
            recent = ", ".join(c.method for c in self.calls[-15:]) or "none"
            raise TimeoutError(f"FakeSlack: no {what} within {timeout}s (recent calls: {recent})") from None

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[ApiCall]:
        """Wait for at least ``count`` calls of ``method``; return all calls of it."""
        calls = self._calls_by_method.setdefault(method, [])
        await self.wait_until(lambda: len(calls) >= count, timeout, f"{count}x {method}")
        return self.calls_to(method)

    async def wait_for_messages(
        self, count: int = 1, channel: str | None = None, timeout: float = 10.0
    ) -> list[Message]:
        """Wait until ``count`` app messages exist (streams only once stopped)."""

        def done() -> list[Message]:
            return [m for m in self.messages(channel) if m.stream_state != "in_progress"]

        await self.wait_until(lambda: len(done()) >= count, timeout, f"{count} finished message(s)")
        return done()

    async def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the app to ack an envelope; return the ack's ``payload`` (``{}`` if none)."""
        await self.wait_until(lambda: envelope_id in self.acks, timeout, f"ack of {envelope_id}")
        return self.acks[envelope_id]

    async def wait_for_connections(self, n: int, timeout: float = 10.0) -> None:
        """Wait until at least ``n`` Socket Mode connections are open."""
        await self.wait_until(lambda: self.connections >= n, timeout, f"{n} Socket Mode connection(s)")

    async def wait_for_responses(self, count: int = 1, timeout: float = 10.0) -> list[ResponsePost]:
        """Wait for ``count`` response_url posts."""
        await self.wait_until(lambda: len(self.responses) >= count, timeout, f"{count} response_url post(s)")
        return self.responses

    # -------------------------------------------------------------------- scripting
    def fail_next(
        self,
        method: str,
        error: str | None = None,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` calls: default 429 ratelimited (Retry-After 1); ``status=500``; ``error=`` at 200."""
        status = status if status is not None else (429 if error in (None, "ratelimited") else 200)
        error = error or ("ratelimited" if status == 429 else "internal_error" if status >= 500 else "fatal_error")
        retry_after = retry_after if retry_after is not None or status != 429 else 1
        fault = _Fault("fail", error=error, status=status, retry_after=retry_after)
        self._faults.setdefault(method, deque()).extend([fault] * times)

    def slow_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` calls of ``method`` by ``seconds`` before answering normally."""
        self._faults.setdefault(method, deque()).extend([_Fault("slow", seconds=seconds)] * times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` calls of ``method``."""
        self._faults.setdefault(method, deque()).extend([_Fault("drop")] * times)

    def add_user(self, user_id: str, name: str | None = None, **profile: Any) -> None:
        """Register a user for ``users.info`` (real_name, email, tz, is_admin, title, locale …)."""
        self.users[user_id] = {"name": name or f"user.{user_id.lower()}", **profile}

    def add_channel(self, name: str, *, private: bool = False, member: bool = True, **options: Any) -> FakeChannel:
        """Create a channel in the workspace (``member``: the bot was invited); ``channel_id=`` / ``archived=``."""
        return self.workspace.add(name, private=private, member=member, **options)

    def channel(self, name: str) -> FakeChannel:
        """The workspace's channel called ``name`` (``#`` optional)."""
        found = self.workspace.named(name)
        if found is None:
            raise KeyError(name)
        return found

    def revoke_token(self, token: str, error: str = "token_revoked") -> None:
        """From now on every call with ``token`` fails with ``error`` (token_revoked, account_inactive …)."""
        if error not in REFUSED_TOKEN_ERRORS:
            raise ValueError(error)
        self.revoked[token] = error

    def seed_thread(self, channel: str, ts: str, messages: list[dict[str, Any]]) -> list[Message]:
        """Pre-existing thread history: the first dict is the parent at ``ts`` unless that exists already."""
        self.clock.observe(ts)
        seeded = []
        for i, m in enumerate(messages):
            is_parent = i == 0 and (channel, ts) not in self._store
            mts = ts if is_parent else str(m.get("ts") or self.clock.next())
            self.clock.observe(mts)
            bot_id = m.get("bot_id") or (self.bot_id if m.get("user") == self.bot_user_id else None)
            msg = Message(channel, mts, str(m.get("text", "")), m.get("user"), bot_id, "seed", ts, m.get("blocks"))
            seeded.append(self._add(msg))
        return seeded

    # ---------------------------------------------------------------- socket mode
    async def send_event(
        self,
        payload: dict[str, Any],
        envelope_type: EnvelopeType = "events_api",
        retry_attempt: int = 0,
        retry_reason: str = "",
        *,
        timeout: float = 10.0,
        envelope_id: str | None = None,
    ) -> str:
        """Wrap ``payload`` in a Socket Mode envelope, deliver it to one socket, return its envelope_id
        (``envelope_id``: deliver an envelope again, as Slack may when it saw no ack)."""
        accepts = envelope_type == "slash_commands" or payload.get("type") in ("view_submission", "block_suggestion")
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        await self._deliver(envelope, timeout)
        return str(envelope["envelope_id"])

    async def send_slash_command(self, payload: dict[str, str], *, timeout: float = 10.0) -> str:
        """Deliver a ``slash_commands`` envelope (build the payload with ``slash_command``)."""
        return await self.send_event(payload, "slash_commands", timeout=timeout)

    async def send_interactive(self, payload: dict[str, Any], *, timeout: float = 10.0) -> str:
        """Deliver an ``interactive`` envelope (``block_actions``, ``view_submission`` …)."""
        return await self.send_event(payload, "interactive", timeout=timeout)

    async def _deliver(self, envelope: dict[str, Any], timeout: float) -> None:
        text = json.dumps(envelope, ensure_ascii=False)
        async with asyncio.timeout(timeout):
            while True:
                await self.wait_until(lambda: self.connections > 0, timeout, "Socket Mode connection")
                live = [c for c in self._conns if not c.dead]
                preferred = [c for c in live if not c.retiring] or live
                conn = preferred[self._rr % len(preferred)]
                self._rr += 1
                try:
                    await conn.ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    conn.dead = True  # closing under us: the client will reconnect
                    continue
                payload = envelope["payload"]
                self.envelopes.append(Envelope(envelope["envelope_id"], envelope["type"], payload, conn.id))
                return

    async def disconnect_all(self) -> None:
        """Close every socket (as Slack does on deploys); clients reconnect via apps.connections.open."""
        closing = [c for c in self._conns if not c.dead]
        for conn in closing:
            conn.dead = True
        self._notify()
        await asyncio.gather(*(c.ws.close(code=WSCloseCode.GOING_AWAY) for c in closing))
        await self.wait_until(lambda: not any(c in self._conns for c in closing), 10.0, "sockets to close")

    async def send_disconnect_warning(self, reason: str = "warning", connection_id: int | None = None) -> None:
        """Send ``{"type": "disconnect", "reason": …}`` (``warning`` / ``refresh_requested``) to sockets."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})
        for conn in [c for c in self._conns if not c.dead and connection_id in (None, c.id)]:
            conn.retiring = True
            await conn.ws.send_str(message)

    async def _handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        self.connects += 1
        conn = _Connection(self.connects, ws)
        hello = {
            "type": "hello",
            "num_connections": self.connections + 1,
            "debug_info": {"host": f"applink-fake-{conn.id}", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        self._conns.append(conn)
        self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_socket_text(msg.data)
        finally:
            self._conns.remove(conn)
            self._notify()
        return ws

    def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            self.acks[message["envelope_id"]] = message.get("payload") or {}
            self._apply_view_ack(message["envelope_id"], self.acks[message["envelope_id"]])
            self._notify()

    def _apply_view_ack(self, envelope_id: str, ack: Any) -> None:
        """A view_submission acked with `response_action: update` replaces the modal, as Slack does."""
        sent = next((e for e in reversed(self.envelopes) if e.envelope_id == envelope_id), None)
        if sent is None or sent.payload.get("type") != "view_submission" or not isinstance(ack, dict):
            return
        view_id = str((sent.payload.get("view") or {}).get("id") or "")
        if ack.get("response_action") == "update" and isinstance(ack.get("view"), dict) and view_id in self.views:
            self.views[view_id] = self.view_object(ack["view"], view_id=view_id)

    # -------------------------------------------------------------- HTTP plumbing
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            body, bad_json = await _read_params(request), False
        except ValueError:
            body, bad_json = {}, True
        header, form_token = request.headers.get("Authorization", ""), body.pop("token", None)
        token = header[7:] if header.startswith("Bearer ") else form_token if isinstance(form_token, str) else None
        call = ApiCall(method, body, dict(request.headers), token, time.time(), request.method)
        self.calls.append(call)
        self._calls_by_method.setdefault(method, []).append(call)
        self._notify()
        queue = self._faults.get(method)
        fault = queue.popleft() if queue else None
        if fault is not None and fault.kind == "fail":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self._reply({"ok": False, "error": fault.error}, fault.status, headers)
        if fault is not None:
            await self._delay_or_drop(fault, request)
        handler = self._handlers.get(method)
        try:
            if bad_json:
                raise SlackError("invalid_json")
            if handler is None:
                raise SlackError("unknown_method", req_method=method)
            self._check_token(method, token)
            data = handler(call)
        except (SlackError, ChannelError) as e:
            return self._reply({"ok": False, "error": e.error, **e.extra})
        self._notify()
        return self._reply({"ok": True, **data})

    @staticmethod
    async def _delay_or_drop(fault: _Fault, request: web.Request) -> None:
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            return
        if request.transport is not None:
            request.transport.close()
        await asyncio.sleep(3600)  # cancelled by aiohttp once the peer is gone

    def _reply(self, data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        # The granted scopes are `self.scopes`: a test removes one to see what a missing scope does.
        granted = ",".join(sorted(self.scopes))
        headers = {"x-oauth-scopes": granted, "x-accepted-oauth-scopes": "", **(headers or {})}
        return web.json_response(
            data, status=status, headers=headers, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token in self.revoked:
            raise SlackError(self.revoked[token])
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                raise SlackError("not_allowed_token_type")
            if self.app_token is not None and token != self.app_token:
                raise SlackError("invalid_auth")
        elif token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        elif not token.startswith(("xoxb-", "xoxp-")) or (self.bot_token not in (None, token)):
            raise SlackError("invalid_auth")

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        upload = self.files.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type == "multipart/form-data":
            parts = [v for v in (await request.post()).values() if isinstance(v, web.FileField)]
            upload.content = parts[0].file.read() if parts else b""
        else:
            upload.content = await request.read()
        self._notify()
        return web.Response(text=f"OK - {len(upload.content)}", content_type="text/plain")

    async def _handle_response(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        self.responses.append(ResponsePost(request.match_info["response_id"], body, dict(request.headers)))
        self._notify()
        return web.json_response({"ok": True})

    # -------------------------------------------------------- payload-builder hooks
    def response_url(self) -> str:
        """A response_url on this fake; posts to it land in ``responses``."""
        return f"{self.base_url}/response/{uuid.uuid4().hex}"

    def _remember_user_message(self, event: dict[str, Any]) -> None:
        channel, ts = str(event["channel"]), str(event["ts"])
        if (channel, ts) not in self._store:
            msg = Message(channel, ts, str(event["text"]), str(event["user"]), kind="user", blocks=event.get("blocks"))
            msg.thread_ts, msg.extra = event.get("thread_ts"), {"client_msg_id": event.get("client_msg_id")}
            self._add(msg)

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        msg = self._store.get((channel, ts))
        return self._render(msg) if msg is not None and not msg.deleted else None

    def _find_view(self, callback_id: str) -> dict[str, Any] | None:
        matching = [v for v in self.views.values() if v.get("callback_id") == callback_id]
        return matching[-1] if matching else None

    def _home_view(self, user: str) -> dict[str, Any] | None:
        return self.home_views.get(user)

    # ---------------------------------------------------------------- model helpers
    def _add(self, msg: Message) -> Message:
        self._store[(msg.channel, msg.ts)] = msg
        return msg

    def _get(self, channel: str, ts: str) -> Message:
        msg = self._store.get((channel, ts))
        if msg is None or msg.deleted:
            raise SlackError("message_not_found")
        return msg

    def _bot_message(self, body: dict[str, Any], kind: MessageKind, channel: str, text: str) -> Message:
        thread_ts = body.get("thread_ts") or None
        msg = Message(channel, self.clock.next(), text, self.bot_user_id, self.bot_id, kind, thread_ts)
        msg.blocks, msg.attachments = _opt_list(body.get("blocks")), _opt_list(body.get("attachments"))
        msg.metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
        return self._add(msg)

    def _render(self, m: Message) -> dict[str, Any]:
        """The message as Slack's API returns it."""
        d: dict[str, Any] = {"type": "message", "ts": m.ts, "text": m.text, "team": self.team_id}
        d.update({k: v for k, v in m.extra.items() if v is not None})
        if m.user:
            d["user"] = m.user
        if m.bot_id:
            d["bot_id"] = m.bot_id
            d["app_id"] = self.app_id
            d["bot_profile"] = self.bot_profile()
        for key in ("blocks", "attachments", "metadata", "files"):
            if getattr(m, key):
                d[key] = getattr(m, key)
        if m.thread_ts:
            d["thread_ts"] = m.thread_ts
            parent = self._store.get((m.channel, m.thread_ts))
            if parent is not None and parent is not m and parent.user:
                d["parent_user_id"] = parent.user
        if m.stream_state:
            d["streaming_state"] = m.stream_state
        if m.edited_ts:
            d["edited"] = {"user": m.user, "ts": m.edited_ts}
        if any(m.reactions.values()):
            d["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in m.reactions.items() if u]
        return d

    def _channel_arg(self, body: dict[str, Any], name: str = "channel") -> str:
        channel = body.get(name)
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        return dm_channel(channel) if channel[0] in "UW" else self.workspace.resolve(channel)

    def _require(self, call: ApiCall, *names: str) -> dict[str, Any]:
        for name in names:
            if name not in call.body:
                _missing(name)
        return {}

    # ------------------------------------------------------------------ Web API methods
    def _auth_test(self, call: ApiCall) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _connections_open(self, call: ApiCall) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self._port}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _post_message(self, call: ApiCall) -> dict[str, Any]:
        b = call.body
        channel, text = self._channel_arg(b), str(b.get("text") or b.get("markdown_text") or "")
        self.workspace.check_post(channel)
        if not (text or b.get("blocks") or b.get("attachments")):
            raise SlackError("no_text")
        msg = self._bot_message(b, "message", channel, text)
        return {"channel": channel, "ts": msg.ts, "message": self._render(msg)}

    def _post_ephemeral(self, call: ApiCall) -> dict[str, Any]:
        b = call.body
        channel, user = self._channel_arg(b), _str(b, "user")
        msg = self._bot_message(b, "ephemeral", channel, str(b.get("text") or b.get("markdown_text") or ""))
        msg.ephemeral_to = user
        return {"message_ts": msg.ts}

    def _update(self, call: ApiCall) -> dict[str, Any]:
        b = call.body
        msg = self._get(self._channel_arg(b), _str(b, "ts"))
        if msg.bot_id != self.bot_id:
            raise SlackError("cant_update_message")
        if "text" in b or "markdown_text" in b:
            msg.text = str(b.get("text") or b.get("markdown_text") or "")
        if "blocks" in b:
            msg.blocks = _opt_list(b["blocks"])
        if "attachments" in b:
            msg.attachments = _opt_list(b["attachments"])
        msg.edited_ts = self.clock.next()
        return {"channel": msg.channel, "ts": msg.ts, "text": msg.text, "message": self._render(msg)}

    def _delete(self, call: ApiCall) -> dict[str, Any]:
        msg = self._get(self._channel_arg(call.body), _str(call.body, "ts"))
        if msg.bot_id != self.bot_id:
            raise SlackError("cant_delete_message")
        msg.deleted = True
        return {"channel": msg.channel, "ts": msg.ts}

    def _permalink(self, call: ApiCall) -> dict[str, Any]:
        msg = self._get(self._channel_arg(call.body), _str(call.body, "message_ts"))
        link = f"https://{self.team_domain}.slack.com/archives/{msg.channel}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={msg.channel}"
        return {"channel": msg.channel, "permalink": link}

    def _stream_append(self, msg: Message, body: dict[str, Any]) -> None:
        if isinstance(body.get("markdown_text"), str) and body["markdown_text"]:
            msg.chunks.append({"type": "markdown_text", "text": body["markdown_text"]})
        for chunk in _opt_list(body.get("chunks")) or []:
            msg.chunks.append(chunk)
            if chunk.get("type") == "blocks":
                msg.blocks = (msg.blocks or []) + (_opt_list(chunk.get("blocks")) or [])
        msg.text = "".join(str(c.get("text", "")) for c in msg.chunks if c.get("type") == "markdown_text")

    def _streaming(self, body: dict[str, Any]) -> Message:
        msg = self._get(self._channel_arg(body), _str(body, "ts"))
        if msg.kind != "stream" or msg.stream_state != "in_progress":
            raise SlackError("message_not_in_streaming_state")
        return msg

    def _start_stream(self, call: ApiCall) -> dict[str, Any]:
        b = call.body
        channel = self._channel_arg(b)
        # DM streams must be thread replies; channel streams need their recipient (Slack: "required in channels")
        for name in ("thread_ts",) if channel.startswith("D") else ("recipient_user_id", "recipient_team_id"):
            _str(b, name)
        msg = self._bot_message({"thread_ts": b.get("thread_ts")}, "stream", channel, "")
        msg.stream_state = "in_progress"
        self._stream_append(msg, b)
        return {"channel": channel, "ts": msg.ts}

    def _append_stream(self, call: ApiCall) -> dict[str, Any]:
        msg = self._streaming(call.body)
        self._stream_append(msg, call.body)
        return {"channel": msg.channel, "ts": msg.ts}

    def _stop_stream(self, call: ApiCall) -> dict[str, Any]:
        msg = self._streaming(call.body)
        self._stream_append(msg, call.body)
        if _opt_list(call.body.get("blocks")):
            msg.blocks = (msg.blocks or []) + (_opt_list(call.body["blocks"]) or [])
        if isinstance(call.body.get("metadata"), dict):
            msg.metadata = call.body["metadata"]
        msg.stream_state = "completed"
        return {"channel": msg.channel, "ts": msg.ts, "message": self._render(msg)}

    def _reactions_add(self, call: ApiCall) -> dict[str, Any]:
        b = call.body
        msg = self._get(self._channel_arg(b), _str(b, "timestamp"))
        users = msg.reactions.setdefault(_str(b, "name"), [])
        if self.bot_user_id in users:
            raise SlackError("already_reacted")
        users.append(self.bot_user_id)
        return {}

    def _views_open(self, call: ApiCall) -> dict[str, Any]:
        _str(call.body, "trigger_id", "interactivity_pointer")
        view = self.view_object(_view_arg(call.body))
        self.views[view["id"]] = view
        return {"view": view}

    def _views_update(self, call: ApiCall) -> dict[str, Any]:
        key = _str(call.body, "view_id", "external_id")
        old = [v for v in self.views.values() if key in (v["id"], v.get("external_id"))]
        if not old:
            raise SlackError("not_found")
        view = self.view_object(_view_arg(call.body), view_id=old[-1]["id"])
        self.views[view["id"]] = view
        return {"view": view}

    def _views_publish(self, call: ApiCall) -> dict[str, Any]:
        user = _str(call.body, "user_id")
        view = self.view_object({"type": "home", **_view_arg(call.body)})
        self.home_views[user] = view
        return {"view": view}

    def _replies(self, call: ApiCall) -> dict[str, Any]:
        channel, ts = _str(call.body, "channel"), _str(call.body, "ts")
        thread = sorted(
            (
                m
                for m in self._store.values()
                if m.channel == channel and not m.deleted and m.kind != "ephemeral" and ts in (m.ts, m.thread_ts)
            ),
            key=lambda m: _ts_key(m.ts),
        )
        if not thread:
            raise SlackError("thread_not_found")
        rendered = [self._render(m) for m in thread][: int(call.body.get("limit") or 1000)]
        replies = [m for m in thread if m.ts != ts]
        if thread[0].ts == ts and replies:
            users = sorted({m.user for m in replies if m.user})
            rendered[0].update(
                thread_ts=ts,
                reply_count=len(replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=replies[-1].ts,
            )
        return {"messages": rendered, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _conversations_open(self, call: ApiCall) -> dict[str, Any]:
        users = _str(call.body, "users").split(",")
        if len(users) != 1 or users[0][:1] not in ("U", "W"):
            raise SlackError("user_not_found")
        return {"channel": {"id": dm_channel(users[0])}, "no_op": True, "already_open": True}

    def _conversations_info(self, call: ApiCall) -> dict[str, Any]:
        channel = _str(call.body, "channel")
        if channel[:1] not in ("C", "G", "D"):
            raise SlackError("channel_not_found")
        return {"channel": self.channel_object(channel) | (self.workspace.info(channel) or {})}

    def _conversations_list(self, call: ApiCall) -> dict[str, Any]:
        page, cursor = self.workspace.page(call.body, self.scopes)
        channels = [self.channel_object(c.id) | c.fields() for c in page]
        return {"channels": channels, "response_metadata": {"next_cursor": cursor}}

    def _users_info(self, call: ApiCall) -> dict[str, Any]:
        user = _str(call.body, "user")
        if user[:1] not in ("U", "W"):
            raise SlackError("user_not_found")
        return {"user": self.user_object(user)}

    def _upload_url(self, call: ApiCall) -> dict[str, Any]:
        filename, length = _str(call.body, "filename"), str(call.body.get("length", ""))
        if not length.isdigit():
            _missing("length")
        file_id = random_id("F")
        self.files[file_id] = UploadedFile(file_id, filename, int(length))
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _complete_upload(self, call: ApiCall) -> dict[str, Any]:
        b, wanted = call.body, _opt_list(call.body.get("files"))
        if not wanted:
            _missing("files")
        uploads = [self.files.get(str(w.get("id"))) for w in wanted]
        done = [u for u in uploads if u is not None and u.content is not None]
        if len(done) != len(wanted):
            raise SlackError("file_not_found")
        channel = b.get("channel_id") or str(b.get("channels") or "").split(",")[0] or None
        objs = []
        for upload, want in zip(done, wanted, strict=True):
            upload.title = want.get("title") or upload.title
            objs.append(self.file_object(upload.id, upload.filename, upload.title, len(upload.content or b""), channel))
        if channel:
            comment = str(b.get("initial_comment", ""))
            self._bot_message(b, "file", self._channel_arg({"channel": channel}), comment).files = objs
        return {"files": objs}
