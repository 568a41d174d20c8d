"""`endy serve`: the Slack app (socket or HTTP mode) plus the sidecar, with a graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from loguru import logger

from config import problems as texts
from config.settings import ConfigError, Settings, SlackMode
from endy_bot.app import build_app
from endy_bot.deps import Deps, open_deps
from endy_bot.sidecar import State, build_sidecar
from endy_bot.signals import StopSignals
from endy_bot.slack_http import ReadTimeouts, ServerLog, slack_web_app
from endy_bot.slack_link import Backoff, Refused, SlackLink, SlackTokenError
from endy_bot.socket_client import SocketModeLink
from endy_bot.socket_mode import track_envelopes
from endy_bot.tasks import TaskTracker
from handlers.team_channels import warm_team_channels
from services.db import check_database_url
from services.redis_conn import check_redis_url


def _missing_slack_settings(settings: Settings) -> list[str]:
    """`endy serve` needs Slack credentials even outside production (the terminal needs none: `endy chat`)."""
    problems = []
    if settings.slack_bot_token is None:
        problems.append(texts.token_missing("SLACK_BOT_TOKEN", suggest_chat=True))
    if settings.slack_mode is SlackMode.SOCKET and settings.slack_app_token is None:
        problems.append(texts.token_missing("SLACK_APP_TOKEN", mode=SlackMode.SOCKET.value))
    if settings.slack_mode is SlackMode.HTTP and settings.slack_signing_secret is None:
        problems.append(texts.token_missing("SLACK_SIGNING_SECRET", mode=SlackMode.HTTP.value))
    return problems


def check_serve_settings(settings: Settings) -> None:
    """Everything that stops `endy serve`, in one ConfigError: production refusals, Slack credentials, malformed
    DATABASE_URL / REDIS_URL (one round of fixes, not one per restart)."""
    problems = settings.production_problems() if settings.is_production else _missing_slack_settings(settings)
    for check, value in ((check_database_url, settings.database_url), (check_redis_url, settings.redis_url)):
        if value is not None and value.get_secret_value().strip():
            try:
                check(value.get_secret_value())
            except ConfigError as err:
                problems += err.problems
    if problems:
        raise ConfigError(problems)


class Server:
    """One running Endy: Slack connection, sidecar, background answers."""

    def __init__(
        self,
        deps: Deps,
        *,
        grace_seconds: float = 20.0,
        timeouts: ReadTimeouts | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.deps = deps
        self.timeouts = timeouts or ReadTimeouts()
        self.tasks = TaskTracker()
        self.state = State(migrated=deps.settings.migrate_on_start)
        self.grace = grace_seconds
        self.backoff = backoff or Backoff()  # between attempts to reach Slack
        self.app = build_app(deps, self.tasks, http=deps.settings.slack_mode is SlackMode.HTTP)
        self.link: SlackLink | None = None
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        """Open the sidecar (and the HTTP listener), then reach Slack in the background: the bot token is checked
        with auth.test and, in Socket Mode, the connection opened; the probes say when that is done."""
        s = self.deps.settings
        await self._listen(build_sidecar(self.deps, self.state), s.port, self.timeouts.header_seconds)
        refused: Refused = asyncio.get_running_loop().create_future()
        socket: SocketModeLink | None = None
        if s.slack_mode is SlackMode.SOCKET:
            token = s.slack_app_token.get_secret_value() if s.slack_app_token else ""
            socket = SocketModeLink(self.app, token, refused=refused, backoff=self.backoff)
            track_envelopes(socket)  # a redelivered envelope runs once (handlers/replay.py)
        else:
            secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None
            slack_web = slack_web_app(self.app, secret, self.deps.metrics, self.timeouts)
            await self._listen(slack_web, s.slack_http_port, self.timeouts.proxied_header_seconds)
        self.link = SlackLink(self.app.client, socket, refused, self.backoff)
        self.state.slack_connected = self.link.connected  # false until Slack accepted the token and (socket) connected
        self.link.start(then=lambda: warm_team_channels(self.deps, self.app.client))  # escalation channels by id
        logger.bind(mode=s.slack_mode.value, sidecar_port=s.port).info("Endy is serving Slack")

    async def until_stopped(self, stop: Awaitable[Any]) -> SlackTokenError | None:
        """Serve until `stop` completes (None) or Slack refuses a token (returned: the caller exits 2)."""
        assert self.link is not None, "start() first"
        stopping = asyncio.ensure_future(stop)
        try:
            await asyncio.wait({stopping, self.link.refused}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        return self.link.refused.result() if self.link.refused.done() else None

    async def _listen(self, app: web.Application, port: int, header_seconds: float) -> None:
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=header_seconds,  # also the header read timeout (see ReadTimeouts)
            lingering_time=self.timeouts.body_seconds,
            logger=ServerLog(self.deps.metrics),  # a request too malformed to route: one short counted line
        )
        await runner.setup()
        await web.TCPSite(runner, self.deps.settings.host, port).start()
        self._runners.append(runner)

    async def stop(self) -> None:
        """Graceful: not ready at once, no new events, in-flight answers finish, writes flushed."""
        self.state.shutting_down = True
        if self.link is not None:
            await self.link.close()
        for runner in reversed(self._runners[1:]):  # the Slack HTTP listener; the sidecar stays for probes
            await runner.cleanup()
        finished = await self.tasks.settle(self.grace)
        logger.bind(clean=finished, left=len(self.tasks)).info("in-flight answers drained")
        await self.deps.recorder.flush(self.grace, set_aside=False)  # set-aside votes are spilled, not awaited
        if self._runners:  # none when a signal cut the start-up short
            await self._runners[0].cleanup()


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then shut down gracefully; exit code 0. A signal in any phase (start-up, Socket Mode
    connection retries, serving, shutdown) stops everything Endy started, the embedded servers included. A token
    Slack refuses stops it the same way, then raises SlackTokenError (one line; `endy serve` exits 2)."""
    check_serve_settings(settings)
    refused: SlackTokenError | None = None
    with StopSignals() as signals:  # first: Python's default SIGTERM would skip every exit stack below
        try:
            refused = await _serve(settings, signals)
        except asyncio.CancelledError:
            if signals.received is None:
                raise
            logger.bind(signal=signals.received.name).info("stopped by a signal")
    if refused is not None:  # raised only now: everything Endy started has stopped
        raise refused
    return 0


async def _serve(settings: Settings, signals: StopSignals) -> SlackTokenError | None:
    async with open_deps(settings) as deps:
        # Kiwi's lazy parts load on its first analysis: now, not in the first user's answer (a no-op when building
        # the index already analysed text; not so when every token came from the cache).
        await asyncio.to_thread(deps.retriever.tokenizer.warm_up)
        signals.raise_if_received()  # a signal during start-up stops it before Slack, even if its cancel was lost
        server = Server(deps, grace_seconds=settings.shutdown_grace_seconds)
        try:
            await server.start()
            # Start-up leaves ~200k long-lived objects (Kiwi, the KB and its indexes, Bolt): every full collection
            # walked them, pausing the loop ~100 ms about once a second under load (answers and probes alike).
            gc.collect()
            gc.freeze()
            refused = await server.until_stopped(signals.wait())
            logger.info("shutdown requested" if refused is None else "Slack refused a token: stopping")
        finally:  # also after a start cut short by a signal: the listeners and the Slack connection close
            await server.stop()
    return refused
