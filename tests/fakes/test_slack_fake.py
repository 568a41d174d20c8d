"""Self-tests for the fake Slack, driven by the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import FakeSlack
from tests.fakes.slack_payloads import http_body, sign

APP_TOKEN = "xapp-1-A0001-1-test"
FEEDBACK_BLOCK = {
    "type": "context_actions",
    "block_id": "fb",
    "elements": [
        {
            "type": "feedback_buttons",
            "action_id": "feedback",
            "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": "good"},
            "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "bad"},
        }
    ],
}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A running fake Slack."""
    async with FakeSlack(bot_user_id="UBOT", team_id="T0001") as fake:
        yield fake


def web(slack: FakeSlack, token: str = "xoxb-test", **kwargs: Any) -> AsyncWebClient:
    """The real async Web API client pointed at the fake."""
    return AsyncWebClient(token=token, base_url=slack.api_url, **kwargs)


@asynccontextmanager
async def socket_client(
    slack: FakeSlack, received: list[SocketModeRequest], ack: dict[str, Any] | None = None
) -> AsyncIterator[SocketModeClient]:
    """A connected slack_sdk aiohttp SocketModeClient that records and acks every request."""
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web(slack))

    async def on_request(c: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=ack))

    client.socket_mode_request_listeners.append(on_request)
    await client.connect()  # type: ignore[no-untyped-call]
    try:
        yield client
    finally:
        await client.close()  # type: ignore[no-untyped-call]


# ------------------------------------------------------------------------------ Web API


@pytest.mark.timeout(20)
async def test_auth_test_and_post_message(slack: FakeSlack) -> None:
    client = web(slack)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", slack.bot_id, "T0001")
    assert auth["url"].startswith("https://")
    assert auth["team"]
    assert auth["user"]
    first = await client.chat_postMessage(channel="C0GENERAL", text="안녕하세요", blocks=[FEEDBACK_BLOCK])
    second = await client.chat_postMessage(channel="U0001", text="DM")  # a user id opens the DM
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["bot_id"] == slack.bot_id
    assert first["message"]["blocks"] == [FEEDBACK_BLOCK]
    assert second["channel"] == "D0001"
    [call, _] = slack.calls_to("chat.postMessage")
    assert call.token == "xoxb-test"
    assert call.body["blocks"] == [FEEDBACK_BLOCK]
    assert "token" not in call.body
    assert [(m.channel, m.text) for m in slack.messages()] == [("C0GENERAL", "안녕하세요"), ("D0001", "DM")]


@pytest.mark.timeout(20)
async def test_form_and_query_encodings_are_parsed(slack: FakeSlack) -> None:
    posted = await web(slack).chat_postMessage(channel="C0GENERAL", text="q")
    # the sync client form-encodes; raw form posts carry blocks as a JSON string and the token as a field
    await asyncio.to_thread(
        WebClient(token="xoxb-sync", base_url=slack.api_url).reactions_add,
        channel="C0GENERAL",
        timestamp=posted["ts"],
        name="eyes",
    )
    form = {"token": "xoxb-form", "channel": "C0GENERAL", "blocks": '[{"type": "divider"}]', "text": "f"}
    async with aiohttp.ClientSession() as http, http.post(slack.api_url + "chat.postMessage", data=form) as resp:
        assert (await resp.json())["ok"] is True
    [reaction] = slack.calls_to("reactions.add")
    assert reaction.token == "xoxb-sync" and reaction.body == {
        "channel": "C0GENERAL",
        "timestamp": posted["ts"],
        "name": "eyes",
    }
    form_call = slack.calls_to("chat.postMessage")[-1]
    assert form_call.token == "xoxb-form"
    assert form_call.body["blocks"] == [{"type": "divider"}]
    with pytest.raises(SlackApiError) as again:
        await web(slack).reactions_add(channel="C0GENERAL", timestamp=posted["ts"], name="eyes")
    assert again.value.response["error"] == "already_reacted"


@pytest.mark.timeout(20)
async def test_chat_stream_helper_assembles_one_message(slack: FakeSlack) -> None:
    question = slack.event_message_im("U0001", "연차는 어떻게 신청하나요?")["event"]
    client = web(slack)
    streamer = await client.chat_stream(
        channel="D0001", thread_ts=question["ts"], recipient_team_id="T0001", recipient_user_id="U0001", buffer_size=8
    )
    parts = ["연차는 ", "e-HR 시스템에서 ", "신청해요. ", "[1]"]
    for part in parts:
        await streamer.append(markdown_text=part)
    await streamer.stop(blocks=[FEEDBACK_BLOCK])
    assert slack.calls_to("chat.startStream")
    assert slack.calls_to("chat.stopStream")
    [msg] = slack.messages("D0001")
    assert (msg.kind, msg.text, msg.blocks, msg.thread_ts) == (
        "stream",
        "".join(parts),
        [FEEDBACK_BLOCK],
        question["ts"],
    )
    assert msg.stream_state == "completed"
    assert msg.ts == streamer.ts
    with pytest.raises(SlackApiError) as late:
        await client.chat_appendStream(channel="D0001", ts=msg.ts, markdown_text="more")
    assert late.value.response["error"] == "message_not_in_streaming_state"
    with pytest.raises(SlackApiError) as no_recipient:
        await client.chat_startStream(channel="C0GENERAL", thread_ts=msg.ts, markdown_text="x")
    assert no_recipient.value.response["error"] == "invalid_arguments"


@pytest.mark.timeout(20)
async def test_message_lifecycle_and_lookups(slack: FakeSlack) -> None:
    client = web(slack)
    posted = await client.chat_postMessage(channel="C0GENERAL", text="초안")
    updated = await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="수정본")
    assert updated["message"]["text"] == "수정본"
    assert "edited" in updated["message"]
    link = await client.chat_getPermalink(channel="C0GENERAL", message_ts=posted["ts"])
    assert link["permalink"].endswith("/archives/C0GENERAL/p" + posted["ts"].replace(".", ""))
    eph = await client.chat_postEphemeral(channel="C0GENERAL", user="U0001", text="나만 보여요")
    assert eph["message_ts"]
    assert slack.messages()[-1].ephemeral_to == "U0001"
    await client.chat_delete(channel="C0GENERAL", ts=posted["ts"])
    assert [m.text for m in slack.messages()] == ["나만 보여요"]
    with pytest.raises(SlackApiError) as gone:
        await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="x")
    assert gone.value.response["error"] == "message_not_found"
    slack.add_user("U0001", "kim.minsu", real_name="김민수", email="minsu@encar.example", is_admin=True)
    user = (await client.users_info(user="U0001"))["user"]
    assert (user["real_name"], user["tz"], user["tz_offset"], user["is_bot"]) == ("김민수", "Asia/Seoul", 32400, False)
    assert user["profile"]["email"] == "minsu@encar.example"
    assert user["is_admin"] is True
    assert (await client.conversations_info(channel="D0001"))["channel"]["is_im"] is True
    await client.assistant_threads_setStatus(channel_id="D0001", thread_ts=posted["ts"], status="찾아보는 중…")
    await client.assistant_threads_setSuggestedPrompts(
        channel_id="D0001", thread_ts=posted["ts"], prompts=[{"title": "연차", "message": "연차 신청 방법?"}]
    )
    await client.assistant_threads_setTitle(channel_id="D0001", thread_ts=posted["ts"], title="연차 문의")
    assert slack.calls_to("assistant.threads.setSuggestedPrompts")[0].body["prompts"][0]["title"] == "연차"


@pytest.mark.timeout(20)
async def test_conversations_replies_returns_seeded_and_posted_thread(slack: FakeSlack) -> None:
    root = "1700000500.000100"
    slack.seed_thread("C0GENERAL", root, [{"user": "U0001", "text": "출장비 정산은?"}, {"user": "UBOT", "text": "A"}])
    client = web(slack)
    await client.chat_postMessage(channel="C0GENERAL", thread_ts=root, text="추가 답변")
    follow_up = slack.event_message_channel("U0001", "감사합니다", thread_ts=root)["event"]
    replies = await client.conversations_replies(channel="C0GENERAL", ts=root)
    texts = [m["text"] for m in replies["messages"]]
    assert texts == ["출장비 정산은?", "A", "추가 답변", "감사합니다"]
    assert replies["messages"][0]["reply_count"] == 3
    assert replies["messages"][-1]["ts"] == follow_up["ts"]
    assert replies["messages"][1]["bot_id"] == slack.bot_id
    assert follow_up["parent_user_id"] == "U0001"
    assert [m.text for m in slack.messages()] == ["추가 답변"]  # seeds and user messages are not the app's output
    with pytest.raises(SlackApiError) as missing:
        await client.conversations_replies(channel="C0GENERAL", ts="1600000000.000001")
    assert missing.value.response["error"] == "thread_not_found"


@pytest.mark.timeout(20)
async def test_files_upload_v2_end_to_end(slack: FakeSlack) -> None:
    resp = await web(slack).files_upload_v2(
        channel="C0GENERAL",
        content=b"id,score\n1,5\n",
        filename="report.csv",
        title="주간 리포트",
        initial_comment="첨부",
    )
    file_id = resp["file"]["id"]
    assert slack.files[file_id].content == b"id,score\n1,5\n"
    assert resp["file"]["title"] == "주간 리포트"
    [msg] = slack.messages("C0GENERAL")
    assert (msg.kind, msg.text, msg.files[0]["id"]) == ("file", "첨부", file_id)
    assert slack.calls_to("files.completeUploadExternal")[0].body["files"] == [{"id": file_id, "title": "주간 리포트"}]


# ---------------------------------------------------------------------------- faults


@pytest.mark.timeout(30)
async def test_rate_limit_is_retried_by_the_sdk_handler(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as limited:
        await web(slack).chat_postMessage(channel="C0GENERAL", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    slack.fail_next("chat.postMessage", retry_after=1)
    retrying = web(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    resp = await retrying.chat_postMessage(channel="C0GENERAL", text="다시")
    assert resp["ok"]
    assert len(slack.calls_to("chat.postMessage")) == 3
    assert [m.text for m in slack.messages()] == ["다시"]


@pytest.mark.timeout(20)
async def test_errors_auth_and_unknown_methods(slack: FakeSlack) -> None:
    client = web(slack)
    slack.fail_next("users.info", status=500)
    slack.fail_next("auth.test", error="invalid_auth")
    with pytest.raises(SlackApiError) as server:
        await client.users_info(user="U0001")
    assert server.value.response.status_code == 500
    with pytest.raises(SlackApiError) as auth:
        await client.auth_test()
    assert (auth.value.response.status_code, auth.value.response["error"]) == (200, "invalid_auth")
    assert (await client.auth_test())["ok"]  # the queue is FIFO and per method
    cases: list[tuple[Callable[[], Awaitable[Any]], str]] = [
        (lambda: client.api_call("foo.bar"), "unknown_method"),
        (lambda: web(slack, token=APP_TOKEN).chat_postMessage(channel="C1", text="x"), "not_allowed_token_type"),
        (lambda: client.apps_connections_open(app_token="xoxb-test"), "not_allowed_token_type"),
        (lambda: web(slack, token="").auth_test(), "not_authed"),
        (lambda: client.api_call("chat.postMessage", json={"channel": "C1"}), "no_text"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as failed:
            await call()
        assert failed.value.response["error"] == error


@pytest.mark.timeout(20)
async def test_slow_and_dropped_calls(slack: FakeSlack) -> None:
    slack.slow_next("auth.test", 0.2)
    task = asyncio.create_task(web(slack).auth_test())
    [call] = await slack.wait_for("auth.test")
    assert call.token == "xoxb-test"
    assert (await task)["ok"]
    slack.drop_next("auth.test")
    assert (await web(slack).auth_test())["ok"]  # the SDK's default handler retries a dropped connection
    assert len(slack.calls_to("auth.test")) == 3


# ------------------------------------------------------------------------ Socket Mode


@pytest.mark.timeout(30)
async def test_socket_mode_event_ack_and_reconnect(slack: FakeSlack) -> None:
    received: list[SocketModeRequest] = []
    async with socket_client(slack, received):
        await slack.wait_for_connections(1)
        payload = slack.event_message_im("U0001", "휴가 규정 알려줘")
        envelope_id = await slack.send_event(payload)
        assert await slack.wait_for_ack(envelope_id) == {}
        [req] = received
        assert (req.type, req.envelope_id, req.payload) == ("events_api", envelope_id, payload)
        assert (req.retry_attempt, req.retry_reason, req.accepts_response_payload) == (0, "", False)
        assert slack.calls_to("apps.connections.open")[0].token == APP_TOKEN

        await slack.disconnect_all()
        await slack.wait_until(lambda: slack.connects == 2 and slack.connections == 1, what="a reconnection")
        again = await slack.send_event(payload, retry_attempt=1, retry_reason="timeout")
        await slack.wait_for_ack(again)
        assert (received[-1].retry_attempt, received[-1].retry_reason) == (1, "timeout")
        assert [e.connection_id for e in slack.envelopes] == [1, 2]


@pytest.mark.timeout(30)
async def test_round_robin_and_disconnect_warning(slack: FakeSlack) -> None:
    first: list[SocketModeRequest] = []
    second: list[SocketModeRequest] = []
    async with socket_client(slack, first), socket_client(slack, second):
        await slack.wait_for_connections(2)
        ids = [await slack.send_event(slack.event_app_mention("U0001", f"질문 {i}")) for i in range(4)]
        for envelope_id in ids:
            await slack.wait_for_ack(envelope_id)
        assert (len(first), len(second)) == (2, 2)
        assert first[0].payload["event"]["text"] == "<@UBOT> 질문 0"

        await slack.send_disconnect_warning(reason="refresh_requested")
        await slack.wait_until(lambda: slack.connects == 4 and slack.connections == 2, what="refreshed sockets")
        await slack.wait_for_ack(await slack.send_event(slack.event_app_mention("U0002", "after")))


@pytest.mark.timeout(30)
async def test_slash_command_ack_payload_and_response_url(slack: FakeSlack) -> None:
    received: list[SocketModeRequest] = []
    async with socket_client(slack, received, ack={"text": "접수했어요"}):
        command = slack.slash_command("/endy", "경조사 휴가", "U0001", channel="C0GENERAL")
        envelope_id = await slack.send_slash_command(command)
        assert await slack.wait_for_ack(envelope_id) == {"text": "접수했어요"}
        assert received[0].type == "slash_commands"
        assert received[0].accepts_response_payload is True
        assert all(isinstance(v, str) for v in received[0].payload.values())
    await AsyncWebhookClient(command["response_url"]).send(text="답변", response_type="ephemeral")
    [post] = await slack.wait_for_responses()
    assert post.body == {"text": "답변", "response_type": "ephemeral"}


# --------------------------------------------------------------- payloads and Bolt


@pytest.mark.timeout(20)
async def test_payload_builders_reference_what_the_fake_knows(slack: FakeSlack) -> None:
    client = web(slack)
    posted = await client.chat_postMessage(channel="D0001", text="답변", blocks=[FEEDBACK_BLOCK])
    action = slack.block_actions("U0001", "feedback", "bad", "D0001", posted["ts"], action_type="feedback_buttons")
    assert action["message"]["blocks"] == [FEEDBACK_BLOCK]
    assert action["actions"][0]["block_id"] == "fb"
    assert action["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "D0001",
        "is_ephemeral": False,
    }
    view = {
        "type": "modal",
        "callback_id": "feedback_modal",
        "private_metadata": posted["ts"],
        "title": {"type": "plain_text", "text": "의견"},
    }
    opened = (await client.views_open(trigger_id=action["trigger_id"], view=view))["view"]
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "출처가 틀렸어요"}}}
    submission = slack.view_submission("U0001", "feedback_modal", state_values=values)
    assert submission["view"]["id"] == opened["id"]
    assert submission["view"]["private_metadata"] == posted["ts"]
    assert submission["view"]["state"]["values"] == values
    await client.views_publish(user_id="U0001", view={"type": "home", "blocks": []})
    assert slack.event_app_home_opened("U0001", tab="home")["event"]["view"]["type"] == "home"
    assert "view" not in slack.event_app_home_opened("U0001", tab="messages")["event"]
    reaction = slack.event_reaction_added("U0001", "-1", "D0001", posted["ts"])
    assert reaction["event"]["item_user"] == "UBOT"
    assert reaction["authorizations"][0]["user_id"] == "UBOT"


def test_sign_matches_slack_sdk_signature_verifier() -> None:
    body, _ = http_body("slash_commands", {"command": "/endy", "text": "연차"})
    verifier = SignatureVerifier("s3cret")
    headers = sign(body, "s3cret")
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    forged = sign(body, "wrong")
    assert not verifier.is_valid(body, forged["X-Slack-Request-Timestamp"], forged["X-Slack-Signature"])
    stale = sign(body, "s3cret", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid(body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"])


@pytest.mark.timeout(30)
async def test_bolt_app_over_socket_mode_and_signed_http(slack: FakeSlack) -> None:
    app = AsyncApp(client=web(slack), signing_secret="s3cret")

    @app.event("message")
    async def on_dm(event: dict[str, Any], say: Any) -> None:
        await say(text=f"echo: {event['text']}", thread_ts=event["ts"])

    @app.command("/endy")
    async def on_command(ack: Any, command: dict[str, str], respond: Any) -> None:
        await ack()
        await respond(text=f"답변: {command['text']}")

    @app.action("feedback")
    async def on_feedback(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await app.client.chat_postMessage(channel=body["channel"]["id"], text=body["actions"][0]["value"])

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        dm = slack.event_message_im("U0001", "안녕")
        await slack.wait_for_ack(await slack.send_event(dm))
        await slack.wait_for_ack(await slack.send_slash_command(slack.slash_command("/endy", "연차", "U0001")))
        [reply] = await slack.wait_for_messages(1, channel="D0001")
        assert (reply.text, reply.thread_ts) == ("echo: 안녕", dm["event"]["ts"])
        [post] = await slack.wait_for_responses()
        assert post.body["text"] == "답변: 연차"
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]

    action = slack.block_actions("U0001", "feedback", "good", "D0001", reply.ts, action_type="feedback_buttons")
    body, content_type = http_body("interactive", action)
    stale = int(time.time()) - 600
    for headers, status in [(sign(body, "s3cret"), 200), (sign(body, "x"), 401), (sign(body, "s3cret", stale), 401)]:
        request = AsyncBoltRequest(body=body.decode(), headers={**headers, "Content-Type": content_type})
        assert (await app.async_dispatch(request)).status == status
    await slack.wait_for_messages(2, channel="D0001")
    assert slack.messages("D0001")[-1].text == "good"
