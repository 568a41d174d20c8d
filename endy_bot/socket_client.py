"""Socket Mode with Endy's connection attempts: slack_sdk's aiohttp client, its `connect` replaced.

slack_sdk retries a failed connection every ping interval with a ~70-line traceback each time, and reuses a WSS
URL that already failed. Here every attempt asks `apps.connections.open` for a fresh URL, a failure is one short
line (endy_bot/slack_link.py), pauses grow, and a refused SLACK_APP_TOKEN ends the retries: Endy exits 2. Reconnects
(slack_sdk's monitor and receiver call `connect_to_new_endpoint`) go through the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
from loguru import logger
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient

from endy_bot.slack_link import Backoff, Refused, SlackTokenError, keep_trying, refuse

PING_INTERVAL = 10.0  # Bolt's default for its aiohttp handler
RECONNECT_LOCK_SECONDS = 5.0  # as slack_sdk: a second caller gives up while another one is reconnecting


class LinkedSocketModeClient(SocketModeClient):
    """slack_sdk's aiohttp Socket Mode client whose connection attempts back off and stop on a refused token."""

    def __init__(self, app_token: str, app: AsyncApp, *, refused: Refused, backoff: Backoff) -> None:
        super().__init__(app_token=app_token, logger=app.logger, web_client=app.client, ping_interval=PING_INTERVAL)
        self.refused, self.backoff = refused, backoff
        self.opened = asyncio.Event()  # set by the first connection, and stays set

    async def connect(self) -> None:
        """Open a connection, retrying until it is open, the token is refused or the client is closed."""
        token = self.app_token

        def refused(code: str) -> None:
            refuse(self.refused, SlackTokenError("SLACK_APP_TOKEN", "apps.connections.open", code, token=token))

        if await keep_trying(
            self._open, what="Slack Socket Mode connection", backoff=self.backoff, on_refused=refused,
            stopped=lambda: self.closed,
        ):  # fmt: skip
            self.opened.set()

    async def _open(self) -> None:
        """One attempt, as slack_sdk's connect does it but with a new URL each time."""
        self.auto_reconnect_enabled = False  # the old session's tasks must not reconnect meanwhile
        old, self.current_session = self.current_session, None
        if old is not None and not old.closed:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await old.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        response = await self.web_client.apps_connections_open(app_token=self.app_token)
        self.wss_uri = str(response["url"])
        ssl = self.web_client.ssl if self.web_client.ssl is not None else True
        session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri, autoping=False, heartbeat=self.ping_interval, proxy=self.proxy, ssl=ssl
        )
        self.current_session = session
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale, self.last_ping_pong_time = False, None
        await session.ping(f"sdk-ping-pong:{time.time()}".encode())
        for task in (self.current_session_monitor, self.message_receiver):
            if task is not None:
                task.cancel()  # may be the task running this: it ends at its next await, as in slack_sdk
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        self.message_receiver = asyncio.ensure_future(self.receive_messages())
        logger.info("Slack Socket Mode connection open")

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Reconnect through `connect` (one loop, one backoff); a second caller leaves it to the first."""
        try:
            await asyncio.wait_for(self.connect_operation_lock.acquire(), RECONNECT_LOCK_SECONDS)
        except TimeoutError:
            return
        try:
            if force or not await self.is_connected():
                await self.connect()
        finally:
            self.connect_operation_lock.release()


class SocketModeLink(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler on a LinkedSocketModeClient."""

    client: LinkedSocketModeClient

    def __init__(self, app: AsyncApp, app_token: str, *, refused: Refused, backoff: Backoff) -> None:
        # Bolt's __init__ only sets these three; calling it would open (and leak) a second client and session.
        self.app, self.app_token = app, app_token
        self.client = LinkedSocketModeClient(app_token, app, refused=refused, backoff=backoff)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    @property
    def opened(self) -> asyncio.Event:
        """Set once the first connection is open."""
        return self.client.opened
