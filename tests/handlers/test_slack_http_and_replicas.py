"""HTTP mode with Slack's request signing, App Home, sharing, and two replicas on one workspace."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from handlers import texts
from handlers.buttons import Seal, share_value
from tests.endy import SIGNING_SECRET, Endy, StartEndy
from tests.fakes.slack_payloads import http_body, sign

pytestmark = pytest.mark.timeout(120)
USER = "U0DAVE"


async def _post(
    endy: Endy,
    payload: dict[str, Any],
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    kind: str = "events_api",
) -> int:
    body, content_type = http_body(kind, payload)  # type: ignore[arg-type]
    headers = {"Content-Type": content_type, **sign(body, secret, timestamp)}
    url = f"http://127.0.0.1:{endy.deps.settings.slack_http_port}/slack/events"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status


async def test_http_mode_verifies_signatures_and_answers(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(mode="http")
    assert await _post(endy, endy.slack.event_message_im(USER, "연차 신청"), secret="forged-secret") == 401
    stale = int(time.time()) - 6 * 60
    assert await _post(endy, endy.slack.event_message_im(USER, "연차 신청"), timestamp=stale) == 401
    assert endy.slack.messages() == []
    assert await _post(endy, endy.slack.event_message_im(USER, "연차는 어떻게 신청하나요?")) == 200
    (reply,) = await endy.slack.wait_for_messages(1)
    assert "e-HR" in reply.text
    retried = endy.slack.event_message_im(USER, "급여일이 언제예요?")
    assert await _post(endy, retried) == 200
    assert await _post(endy, retried) == 200  # Slack's retry of the same event_id
    await endy.slack.wait_for_messages(2)
    assert await _post(endy, endy.slack.slash_command("/endy", "", USER), kind="slash_commands") == 200


async def test_app_home_tab_and_one_greeting(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(endy.slack.event_app_home_opened(USER, tab="home"))
    (call,) = await endy.slack.wait_for("views.publish")
    assert texts.HOME_TITLE in str(call.body["view"])
    assert "근태·휴가" in str(call.body["view"])
    for _ in range(2):
        await endy.slack.send_event(endy.slack.event_app_home_opened(USER, tab="messages"))
    await endy.slack.send_event(endy.slack.event_message_im(USER, "VPN 접속 방법"))
    messages = await endy.slack.wait_for_messages(2)
    greetings = [m for m in messages if "엔디예요" in m.text]
    assert len(greetings) == 1
    assert "VPN" in messages[-1].text


async def test_private_answer_can_be_shared_to_the_channel(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy", "와이파이 비번 뭐야?", USER, "C0TEAM"))
    (response,) = await endy.slack.wait_for_responses(1)
    share = next(
        e
        for b in response.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "share_answer"
    )
    action = endy.slack.block_actions(USER, "share_answer", share["value"])
    action["container"] = {"type": "message", "channel_id": "C0TEAM", "is_ephemeral": True, "message_ts": "1.2"}
    action["channel"] = {"id": "C0TEAM", "name": "team"}
    action["response_url"] = endy.slack.response_url()
    await endy.slack.send_interactive(action)
    (shared,) = await endy.slack.wait_for_messages(1, channel="C0TEAM")
    assert f"<@{USER}>" in str(shared.blocks)
    assert "와이파이" in shared.text


async def test_a_not_found_answer_offers_nothing_to_share(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy", "화성 이주 지원금 있어요?", USER, "C0TEAM"))
    (response,) = await endy.slack.wait_for_responses(1)
    assert "찾지 못했어요" in str(response.body)
    assert "share_answer" not in str(response.body["blocks"])
    (row,) = await endy.rows("SELECT request_id FROM messages WHERE kind = 'not_found'")
    signed = share_value(Seal(endy.deps.keys, USER), row["request_id"])  # as if Endy had offered it
    for value in (str(row["request_id"]), signed):  # a forged button, then a signed one
        action = endy.slack.block_actions(USER, "share_answer", value)
        action["container"] = {"type": "message", "channel_id": "C0TEAM", "is_ephemeral": True, "message_ts": "1.2"}
        action["response_url"] = endy.slack.response_url()
        await endy.slack.send_interactive(action)
    await endy.slack.wait_for_responses(3)
    assert sorted(str(r.body["text"]) for r in endy.slack.responses[1:]) == sorted(
        [texts.BUTTON_REFUSED, texts.NOTHING_TO_SHARE]
    )
    assert endy.slack.messages("C0TEAM") == []


async def test_two_replicas_answer_every_event_exactly_once(start_endy: StartEndy) -> None:
    first: Endy = await start_endy()
    second: Endy = await start_endy()
    await first.slack.wait_for_connections(2)
    questions = ["연차 신청", "급여일", "VPN 접속", "와이파이 비번", "재직증명서 발급", "법인카드 분실"] * 4
    events = [first.slack.event_message_im(f"U{i:04d}", q) for i, q in enumerate(questions)]
    for event in events:
        await first.slack.send_event(event)
    for event in events[:6]:  # Slack's retries of some events land on the other replica
        await first.slack.send_event(event, retry_attempt=1, retry_reason="timeout")
    await first.slack.wait_for_messages(len(events), timeout=60)
    replies = [m.thread_ts for m in first.slack.messages()]
    assert sorted(replies, key=str) == sorted(e["event"]["ts"] for e in events)  # every event once, none twice
    handled = {env.connection_id for env in first.slack.envelopes}  # both sockets received events
    assert len(handled) == 2
    await second.deps.recorder.flush(10)
    rows = await first.rows("SELECT count(*) AS n, count(DISTINCT request_id) AS d FROM messages")
    assert rows[0]["n"] == rows[0]["d"] == len(events)
