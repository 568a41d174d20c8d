"""A signed slash command or interaction delivered again inside Slack's 5-minute window runs once (HTTP: the same
signature and timestamp; Socket Mode: the same envelope id), on any replica; a fresh request still runs."""

from __future__ import annotations

import aiohttp
import pytest

from tests.endy import SIGNING_SECRET, Endy, StartEndy
from tests.fakes.slack_payloads import http_body, sign

pytestmark = pytest.mark.timeout(120)
USER = "U0EVE"


def replays(endy: Endy) -> float:
    """errors_total{type="slack_replay"} of one replica."""
    return endy.deps.metrics.registry.get_sample_value("errors_total", {"type": "slack_replay"}) or 0.0


async def post(endy: Endy, body: bytes, headers: dict[str, str]) -> int:
    """POST a request to the replica's Slack door exactly as given."""
    url = f"http://127.0.0.1:{endy.deps.settings.slack_http_port}/slack/events"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status


async def test_a_replayed_signed_slash_command_runs_once_across_replicas(start_endy: StartEndy) -> None:
    first: Endy = await start_endy(mode="http")
    second: Endy = await start_endy(mode="http")
    command = first.slack.slash_command("/endy", "연차는 어떻게 신청하나요?", USER)
    body, content_type = http_body("slash_commands", command)
    headers = {"Content-Type": content_type, **sign(body, SIGNING_SECRET)}
    assert [await post(endy, body, headers) for endy in (first, second, first)] == [200, 200, 200]
    (answer,) = await first.slack.wait_for_responses(1)
    assert "e-HR" in str(answer.body)
    assert await first.server.tasks.settle(10)
    assert await second.server.tasks.settle(10)
    assert len(first.slack.responses) == 1
    assert replays(first) + replays(second) == 2
    rows = await first.rows("SELECT count(*) AS n FROM messages")
    assert rows[0]["n"] == 1
    again = http_body("slash_commands", first.slack.slash_command("/endy", "연차는 어떻게 신청하나요?", USER))[0]
    assert await post(first, again, {"Content-Type": content_type, **sign(again, SIGNING_SECRET)}) == 200
    await first.slack.wait_for_responses(2)  # the same question asked again is a new request: answered


async def test_a_redelivered_socket_mode_envelope_runs_once(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    command = endy.slack.slash_command("/endy", "와이파이 비번 뭐야?", USER)
    envelope = await endy.slack.send_slash_command(command)
    await endy.slack.wait_for_ack(envelope)
    await endy.slack.wait_for_responses(1)
    del endy.slack.acks[envelope]
    await endy.slack.send_event(command, "slash_commands", envelope_id=envelope)
    assert await endy.slack.wait_for_ack(envelope) == {}  # acked, so Slack stops redelivering
    assert await endy.server.tasks.settle(10)
    assert len(endy.slack.responses) == 1
    assert replays(endy) == 1
