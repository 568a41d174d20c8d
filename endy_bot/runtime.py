"""`endy serve`: the Slack app (socket or HTTP mode) plus the sidecar, with a graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web
from loguru import logger
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from config.settings import ConfigError, Settings, SlackMode
from endy_bot.app import build_app
from endy_bot.deps import Deps, open_deps
from endy_bot.sidecar import State, build_sidecar
from endy_bot.tasks import TaskTracker


def check_slack_settings(settings: Settings) -> None:
    """`endy serve` needs Slack credentials even outside production (the terminal needs none: `endy chat`)."""
    problems = []
    if settings.slack_bot_token is None:
        problems.append("SLACK_BOT_TOKEN is missing (without Slack, try `endy chat`)")
    if settings.slack_mode is SlackMode.SOCKET and settings.slack_app_token is None:
        problems.append("SLACK_APP_TOKEN is missing (required when SLACK_MODE=socket)")
    if settings.slack_mode is SlackMode.HTTP and settings.slack_signing_secret is None:
        problems.append("SLACK_SIGNING_SECRET is missing (required when SLACK_MODE=http)")
    if problems:
        raise ConfigError(problems)


async def _start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


@web.middleware
async def refuse_malformed_timestamps(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """401 for a non-numeric X-Slack-Request-Timestamp: slack_sdk's verifier would raise on it and Bolt would
    pass the unverified body to the error hook (which must never act on a forged request)."""
    if request.method == "POST" and not request.headers.get("X-Slack-Request-Timestamp", "").isdigit():
        return web.json_response({"error": "invalid_request"}, status=401)
    return await handler(request)


async def name_no_framework(request: web.Request, response: web.StreamResponse) -> None:
    """Server: endy on every routed response of the Slack listener (aiohttp would name itself and its version;
    a request too malformed to route still gets aiohttp's own error reply)."""
    response.headers["Server"] = "endy"


class Server:
    """One running Endy: Slack connection, sidecar, background answers."""

    def __init__(self, deps: Deps, *, grace_seconds: float = 20.0) -> None:
        self.deps = deps
        self.tasks = TaskTracker()
        self.state = State(migrated=deps.settings.migrate_on_start)
        self.grace = grace_seconds
        self.app = build_app(deps, self.tasks, http=deps.settings.slack_mode is SlackMode.HTTP)
        self._socket: AsyncSocketModeHandler | None = None
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        """Open the sidecar and the Slack connection."""
        s = self.deps.settings
        self._runners.append(await _start_site(build_sidecar(self.deps, self.state), s.host, s.port))
        if s.slack_mode is SlackMode.SOCKET:
            token = s.slack_app_token.get_secret_value() if s.slack_app_token else None
            self._socket = AsyncSocketModeHandler(self.app, token, web_client=self.app.client)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            self.state.slack_connected = self._socket_connected
        else:
            slack_web = self.app.web_app(path="/slack/events")
            slack_web.middlewares.append(refuse_malformed_timestamps)
            slack_web.on_response_prepare.append(name_no_framework)
            self._runners.append(await _start_site(slack_web, s.host, s.slack_http_port))
        logger.bind(mode=s.slack_mode.value, sidecar_port=s.port).info("Endy is serving Slack")

    async def _socket_connected(self) -> bool:
        # the aiohttp SocketModeClient's is_connected() is a coroutine: bool() of it was always True
        return self._socket is not None and await self._socket.client.is_connected()

    async def stop(self) -> None:
        """Graceful: not ready at once, no new events, in-flight answers finish, writes flushed."""
        self.state.shutting_down = True
        if self._socket is not None:
            await self._socket.disconnect_async()  # type: ignore[no-untyped-call]
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        for runner in reversed(self._runners[1:]):  # the Slack HTTP listener; the sidecar stays for probes
            await runner.cleanup()
        finished = await self.tasks.settle(self.grace)
        logger.bind(clean=finished, left=len(self.tasks)).info("in-flight answers drained")
        await self.deps.recorder.flush(self.grace, set_aside=False)  # set-aside votes are spilled, not awaited
        await self._runners[0].cleanup()
        session = getattr(self.app.client, "session", None)
        if session is not None:  # the Web API client's shared session (see endy_bot.app.slack_client)
            await session.close()


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then shut down gracefully; exit code 0."""
    check_slack_settings(settings)
    async with open_deps(settings) as deps:
        server = Server(deps, grace_seconds=settings.shutdown_grace_seconds)
        await server.start()
        # Start-up leaves ~200k long-lived objects (Kiwi, the KB and its indexes, Bolt): every full collection
        # walked them, pausing the loop ~100 ms about once a second under load (answers and probes alike).
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logger.info("shutdown requested")
        await server.stop()
    return 0
