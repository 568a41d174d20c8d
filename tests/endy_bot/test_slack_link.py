"""What Endy says about Slack is true: a real Endy (open_deps + Server, the real Bolt app) against the fake Slack.

- Socket Mode, Slack refusing apps.connections.open: /health's `slack` and /readiness are false until the first
  connection opens; each failed attempt is one short line (no slack_sdk traceback), the pauses growing.
- Slack not reachable at all: auth.test is retried the same way, and nothing claims to be connected.
- HTTP mode: ready once the listener is bound and auth.test succeeded.
- A token Slack refuses (invalid, revoked, swapped), at start or later: SlackTokenError naming the variable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from endy_bot.slack_link import Backoff, SlackTokenError
from tests.endy import Endy, StartEndy
from tests.endy_bot.test_sidecar import get
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually, free_port

if TYPE_CHECKING:
    from loguru import Record

pytestmark = pytest.mark.timeout(90)
FAST = Backoff(first=0.05, factor=2.0, cap=0.4, jitter=0.2)  # the production pauses, scaled down
CALLS_PER_ATTEMPT = 3  # endy_bot/app.py's Web API client: a 5xx or a connection error is retried twice
BOUND = 30.0
Launch = Callable[..., Awaitable[Endy]]


@pytest.fixture
def launch(start_endy: StartEndy) -> Launch:
    """Start Endy against a given fake Slack (a fresh one for None) without waiting for Slack, fast backoff."""

    async def start(slack: FakeSlack | None, **overrides: Any) -> Endy:
        endy: Endy = await start_endy(slack=slack, ready=False, backoff=FAST, **overrides)
        return endy

    return start


async def slack_signals(endy: Endy) -> tuple[object, object, int]:
    """(/health status, /health checks.slack, /readiness status)."""
    health, ready = await get(endy, "/health"), await get(endy, "/readiness")
    return health.json()["status"], health.json()["checks"]["slack"], ready.status


def attempts(records: list[Record], what: str) -> list[Record]:
    return [r for r in records if r["message"].startswith(f"{what} failed")]


def assert_short_lines_with_growing_pauses(lines: list[Record]) -> None:
    assert all(r["exception"] is None and "\n" not in r["message"] and len(r["message"]) < 300 for r in lines)
    assert [r["extra"]["attempt"] for r in lines] == list(range(1, len(lines) + 1))
    pauses = [r["extra"]["retry_in"] for r in lines]
    assert pauses == sorted(pauses)
    assert pauses[0] < pauses[-1]


async def test_socket_mode_is_neither_healthy_nor_ready_until_the_first_connection_opens(
    launch: Launch, warnings_logged: list[Record], caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeSlack() as slack:
        refused_attempts = 3
        slack.fail_next("apps.connections.open", status=503, times=refused_attempts * CALLS_PER_ATTEMPT)
        endy = await launch(slack)
        await slack.wait_for("apps.connections.open", 1)
        assert await slack_signals(endy) == ("degraded", False, 503)  # connecting is not connected
        await slack.wait_for_connections(1, timeout=BOUND)
        assert endy.server.link is not None
        await asyncio.wait_for(endy.server.link.until_ready(), BOUND)
        assert await slack_signals(endy) == ("healthy", True, 200)
    lines = attempts(warnings_logged, "Slack Socket Mode connection")
    assert len(lines) == refused_attempts
    assert all("internal_error" in r["message"] for r in lines)
    assert_short_lines_with_growing_pauses(lines)
    assert [r for r in caplog.records if r.exc_info or "Failed to connect" in r.getMessage()] == []
    assert slack.connects == 1


async def test_an_unreachable_slack_is_retried_and_never_reported_connected(
    launch: Launch, warnings_logged: list[Record]
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    endy = await launch(None, slack_api_url=nowhere)

    def three_failed() -> bool:
        return len(attempts(warnings_logged, "Slack auth.test")) >= 3

    await eventually(three_failed, "three failed auth.test attempts", BOUND)
    assert await slack_signals(endy) == ("degraded", False, 503)
    lines = attempts(warnings_logged, "Slack auth.test")[:3]
    assert_short_lines_with_growing_pauses(lines)
    assert all("ClientConnectorError" in r["message"] for r in lines)


async def test_http_mode_is_ready_once_the_listener_is_bound_and_auth_test_succeeded(launch: Launch) -> None:
    async with FakeSlack() as slack:
        slack.fail_next("auth.test", status=503, times=CALLS_PER_ATTEMPT)  # the first attempt fails
        endy = await launch(slack, mode="http")
        await slack.wait_for("auth.test", 1)
        assert await slack_signals(endy) == ("degraded", False, 503)
        assert endy.server.link is not None
        await asyncio.wait_for(endy.server.link.until_ready(), BOUND)
        assert await slack_signals(endy) == ("healthy", True, 200)
        assert len(slack.calls_to("auth.test")) == CALLS_PER_ATTEMPT + 1
        assert slack.connects == 0


@pytest.mark.parametrize(
    ("fake", "tokens", "variable", "error", "hint"),
    [
        ({}, {"slack_bot_token": "xapp-1-A0001-swapped"}, "SLACK_BOT_TOKEN", "not_allowed_token_type", "바뀐"),
        ({"bot_token": "xoxb-real"}, {}, "SLACK_BOT_TOKEN", "invalid_auth", "Bot User OAuth Token"),
        ({"revoked": "xoxb-test"}, {}, "SLACK_BOT_TOKEN", "token_revoked", "다시 설치"),
        ({}, {"slack_app_token": "xoxb-swapped"}, "SLACK_APP_TOKEN", "not_allowed_token_type", "바뀐"),
        ({"app_token": "xapp-real"}, {}, "SLACK_APP_TOKEN", "invalid_auth", "connections:write"),
    ],
    ids=["bot-token-is-an-app-token", "bot-token-invalid", "bot-token-revoked", "app-token-is-a-bot-token", "app-bad"],
)
async def test_a_token_slack_refuses_is_fatal_and_named(
    launch: Launch, fake: dict[str, str], tokens: dict[str, str], variable: str, error: str, hint: str
) -> None:
    async with FakeSlack(bot_token=fake.get("bot_token"), app_token=fake.get("app_token")) as slack:
        if "revoked" in fake:
            slack.revoke_token(fake["revoked"])
        endy = await launch(slack, **tokens)
        assert endy.server.link is not None
        with pytest.raises(SlackTokenError) as refused:
            await asyncio.wait_for(endy.server.link.until_ready(), BOUND)
        assert await slack_signals(endy) == ("degraded", False, 503)
    method = "auth.test" if variable == "SLACK_BOT_TOKEN" else "apps.connections.open"
    assert (refused.value.variable, refused.value.method, refused.value.error) == (variable, method, error)
    line = refused.value.line
    assert "\n" not in line
    assert variable in line
    assert error in line
    assert hint in line
    assert len(slack.calls_to(method)) == 1
    assert slack.connects == 0  # refused once: never retried


async def test_an_app_token_revoked_while_serving_stops_the_reconnects(launch: Launch) -> None:
    async with FakeSlack() as slack:
        endy = await launch(slack)
        assert endy.server.link is not None
        await asyncio.wait_for(endy.server.link.until_ready(), BOUND)
        slack.revoke_token("xapp-test")
        await slack.disconnect_all()  # Endy reconnects … and Slack refuses the token
        refused = await asyncio.wait_for(asyncio.shield(endy.server.link.refused), BOUND)
        assert (refused.variable, refused.error) == ("SLACK_APP_TOKEN", "token_revoked")
        assert await slack_signals(endy) == ("degraded", False, 503)
        calls = len(slack.calls_to("apps.connections.open"))
    assert calls == 2
    assert slack.connects == 1


async def test_the_bot_token_in_the_environment_draws_no_warning_from_bolt(
    launch: Launch, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How every admin sets it (.env, systemd, compose): Bolt reads SLACK_BOT_TOKEN from the environment by itself
    and, next to Endy's own client, warned "As you gave `client` as well, `token` will be unused" at every start."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    async with FakeSlack() as slack:
        endy = await launch(slack)
        assert endy.server.link is not None
        await asyncio.wait_for(endy.server.link.until_ready(), BOUND)
    bolt = [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt") and r.levelno >= logging.WARNING]
    assert bolt == []
