"""Endy's link to Slack: the bot token checked with `auth.test`, then (Socket Mode) a connection kept open.

The probes read `connected`: in Socket Mode "the token was accepted and a connection is open now" (so false before
the first connection, and during an outage), in HTTP mode "the listener is bound and the token accepted". Slack
unreachable: every attempt is one short line, then a growing pause. A token Slack refuses (invalid, revoked,
swapped) is fatal whenever it happens: `refused` resolves and `endy serve` exits 2.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from loguru import logger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import texts

if TYPE_CHECKING:
    from endy_bot.socket_client import SocketModeLink

# What Slack answers when a token itself is the problem: retrying cannot help, a person has to fix the variable.
TOKEN_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",  # an app-level token without connections:write
        "no_permission",
        "team_access_not_granted",
        "org_login_required",
    }
)
# Failures worth another attempt: the network, a timeout, Slack's own errors (5xx, ratelimited after the retries).
TRANSIENT = (aiohttp.ClientError, OSError, TimeoutError)
REASON_MAX_CHARS = 160

Refused = asyncio.Future["SlackTokenError"]


class SlackTokenError(Exception):
    """Slack refused SLACK_BOT_TOKEN or SLACK_APP_TOKEN: `line` says which, why, and how to fix it."""

    def __init__(self, variable: str, method: str, error: str, *, token: str = "") -> None:
        self.variable, self.method, self.error = variable, method, error
        self.line = texts.slack_token_refused(variable, method, error, token_prefix=token[:5])
        super().__init__(self.line)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses between attempts: first, first×factor, … up to cap, each ±jitter so replicas do not retry in step."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.2

    def pause(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        base = min(self.cap, self.first * self.factor ** min(attempt - 1, 32))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


def refuse(refused: Refused, error: SlackTokenError) -> None:
    """Record the first refused token (later ones change nothing: Endy is stopping)."""
    if not refused.done():
        logger.bind(variable=error.variable, method=error.method, error=error.error).info("Slack refused a token")
        refused.set_result(error)


def _reason(err: BaseException) -> str:
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 1] + "…"


async def keep_trying(
    attempt: Callable[[], Awaitable[None]],
    *,
    what: str,
    backoff: Backoff,
    on_refused: Callable[[str], None],
    stopped: Callable[[], bool] = lambda: False,
) -> bool:
    """Run `attempt` until it succeeds (True), Slack refuses the token (`on_refused(error)`, False) or `stopped()`;
    each transient failure is one short warning, then a growing pause."""
    tries = 0
    while not stopped():
        tries += 1
        try:
            await attempt()
        except SlackApiError as err:
            code = str(err.response.get("error") or f"HTTP {err.response.status_code}")
            if code in TOKEN_ERRORS:
                on_refused(code)
                return False
            reason = code
        except TRANSIENT as err:
            reason = _reason(err)
        else:
            return True
        if stopped():
            break
        pause = backoff.pause(tries)
        logger.bind(attempt=tries, reason=reason, retry_in=round(pause, 2)).warning(
            "{} failed ({}); attempt {}, next in {:.1f} s", what, reason, tries, pause
        )
        await asyncio.sleep(pause)
    return False


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.opt(exception=task.exception()).error("the link to Slack stopped unexpectedly")


class SlackLink:
    """The bot token's check and, in Socket Mode, the connection: what /health and /readiness say about Slack."""

    def __init__(self, client: AsyncWebClient, socket: SocketModeLink | None, refused: Refused, backoff: Backoff):
        self.client, self.socket, self.refused = client, socket, refused
        self.backoff = backoff
        self.identity: dict[str, Any] | None = None  # auth.test's answer: team, bot user
        self._accepted = asyncio.Event()
        # Set once the start-up work after connecting (`then`, e.g. resolving escalation channels) is over.
        self.settled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, then: Callable[[], Awaitable[None]] | None = None) -> None:
        """Check the bot token, then (Socket Mode) connect, then run `then`, in the background: the probes tell
        how far it got."""
        self._task = asyncio.create_task(self._run(then), name="endy-slack-link")
        self._task.add_done_callback(_log_crash)

    async def _run(self, then: Callable[[], Awaitable[None]] | None) -> None:
        token = str(self.client.token or "")

        def refused(code: str) -> None:
            refuse(self.refused, SlackTokenError("SLACK_BOT_TOKEN", "auth.test", code, token=token))

        if not await keep_trying(self._auth_test, what="Slack auth.test", backoff=self.backoff, on_refused=refused):
            return
        if self.socket is not None:
            await self.socket.connect_async()  # type: ignore[no-untyped-call]  # retries by itself (socket_client.py)
        try:
            if then is not None and not self.refused.done():
                await then()
        finally:
            self.settled.set()

    async def _auth_test(self) -> None:
        response = await self.client.auth_test()
        self.identity = {k: response.get(k) for k in ("team", "team_id", "user", "user_id", "bot_id")}
        self._accepted.set()
        logger.bind(**self.identity).info("Slack accepted the bot token")

    async def connected(self) -> bool:
        """What /health's `slack` and /readiness say. Socket Mode: Slack accepted the bot token and a connection is
        open now (false before the first one and during an outage). HTTP mode: the listener is bound (start() did
        that first) and Slack accepted the bot token."""
        if self.socket is None:
            return self.identity is not None
        return bool(await self.socket.client.is_connected())

    async def until_ready(self) -> None:
        """Return once Slack accepted the bot token and (Socket Mode) the first connection opened; raise the
        SlackTokenError if Slack refuses a token first."""

        async def accepted_and_open() -> None:
            await self._accepted.wait()
            if self.socket is not None:
                await self.socket.opened.wait()

        ready = asyncio.ensure_future(accepted_and_open())
        either: set[asyncio.Future[Any]] = {ready, self.refused}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self.refused.done():
            raise self.refused.result()

    async def close(self) -> None:
        """Stop connecting and close the connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # done, cancelled or crashed (_log_crash said so): never raises here
        if self.socket is not None:
            await self.socket.disconnect_async()  # type: ignore[no-untyped-call]
            await self.socket.close_async()  # type: ignore[no-untyped-call]
