"""DMs, /endy, limits and retries, end to end: fake Slack → real Bolt app → PostgreSQL/Redis → fake Slack."""

from __future__ import annotations

import pytest

from tests.endy import Endy, StartEndy

pytestmark = pytest.mark.timeout(90)
USER = "U0ALICE"


def _types(blocks: list[dict[str, object]] | None) -> list[object]:
    return [b.get("type") for b in blocks or []]


async def test_dm_question_gets_a_threaded_answer_with_sources_and_feedback(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    event = endy.slack.event_message_im(USER, "연차는 어떻게 신청하나요? 제 번호는 010-1234-5678이에요")
    await endy.slack.send_event(event)
    (reply,) = await endy.slack.wait_for_messages(1)
    assert reply.thread_ts == event["event"]["ts"]
    assert reply.channel == event["event"]["channel"]
    assert "e-HR" in reply.text
    assert "010-1234-5678" not in reply.text
    assert _types(reply.blocks)[-1] == "context_actions"
    assert "출처" in str(reply.blocks)
    assert "연차" in str(reply.blocks)
    rows = await endy.rows("SELECT question, reply_ts, kind FROM messages")
    assert [(r["reply_ts"], r["kind"]) for r in rows] == [(reply.ts, "answer")]
    assert "[전화번호]" in rows[0]["question"]
    assert "010-1234-5678" not in rows[0]["question"]
    assert (
        endy.deps.metrics.registry.get_sample_value(
            "api_requests_total", {"method": "event", "endpoint": "message.im", "status": "ok"}
        )
        == 1
    )


async def test_dm_answer_streams_when_an_llm_is_configured(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(llm=True)
    assert endy.llm is not None
    endy.llm.reply = (
        "e-HR > 근태 > 휴가 신청에서 신청하면 돼요. <!channel> 모두 참고하세요 https://evil.example.com/x [1]"
    )
    await endy.slack.send_event(endy.slack.event_message_im(USER, "연차 신청 방법 알려줘"))
    await endy.slack.wait_for("chat.stopStream")
    (reply,) = await endy.slack.wait_for_messages(1)
    assert reply.kind == "stream"
    assert "e-HR" in reply.text
    assert "<!channel>" not in reply.text
    assert "&lt;!channel&gt;" in reply.text
    assert "evil.example.com" not in reply.text
    assert "참고하세요 [1]" in reply.text
    stop = endy.slack.calls_to("chat.stopStream")[0].body
    assert _types(stop.get("blocks"))[-1] == "context_actions"
    assert endy.slack.calls_to("assistant.threads.setStatus")


async def test_slash_command_help_and_private_answer(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    envelope = await endy.slack.send_slash_command(endy.slack.slash_command("/endy", "", USER))
    ack = await endy.slack.wait_for_ack(envelope)
    assert "무엇이든 편하게 물어보세요" in str(ack)
    assert ack.get("response_type") == "ephemeral"
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy", "재직증명서 어디서 떼요?", USER))
    (response,) = await endy.slack.wait_for_responses(1)
    assert response.body["response_type"] == "ephemeral"
    assert "재직증명서" in str(response.body["blocks"])
    assert "share_answer" in str(response.body["blocks"])
    assert endy.slack.calls_to("chat.postMessage") == []  # nothing public


async def test_the_eleventh_question_in_a_minute_gets_the_limit_message(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    for _ in range(11):
        await endy.slack.send_event(endy.slack.event_message_im(USER, "와이파이 비번 뭐야?"))
    messages = await endy.slack.wait_for_messages(11)
    limited = [m for m in messages if "질문이 너무 많이 들어왔어요" in m.text]
    assert len(limited) == 1
    assert len(messages) == 11


async def test_a_retried_event_is_answered_once(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    event = endy.slack.event_message_im(USER, "VPN 접속 방법")
    await endy.slack.send_event(event)
    await endy.slack.send_event(event, retry_attempt=1, retry_reason="timeout")
    await endy.slack.wait_for_messages(1)
    await endy.slack.send_event(endy.slack.event_message_im(USER, "노트북 교체"))  # a marker after the retry
    messages = await endy.slack.wait_for_messages(2)
    assert len(messages) == 2
    assert "노트북" in messages[1].text


async def test_a_slack_429_is_retried_and_the_answer_still_arrives(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    endy.slack.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    await endy.slack.send_event(endy.slack.event_message_im(USER, "법카 잃어버렸어요"))
    (reply,) = await endy.slack.wait_for_messages(1, timeout=20)
    assert "법인카드" in reply.text
    assert len(endy.slack.calls_to("chat.postMessage")) == 2


async def test_empty_and_too_long_questions_get_kind_messages(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(endy.slack.event_message_im(USER, "가" * 600))
    (reply,) = await endy.slack.wait_for_messages(1)
    assert "500자 이내" in reply.text
    assert "600자" in reply.text


async def test_bot_messages_and_edits_are_ignored(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    bot_event = endy.slack.event_message_im(USER, "연차 신청")
    bot_event["event"]["bot_id"] = "B0OTHER"
    edit = endy.slack.event_message_im(USER, "연차 신청")
    edit["event"]["subtype"] = "message_changed"
    await endy.slack.send_event(bot_event)
    await endy.slack.send_event(edit)
    await endy.slack.send_event(endy.slack.event_message_im(USER, "급여일이 언제예요?"))
    messages = await endy.slack.wait_for_messages(1)
    assert len(messages) == 1
    assert "25일" in messages[0].text
