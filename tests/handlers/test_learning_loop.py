"""Closing the loop (issue 16): the asker's opt-in DM (once, masked, only with the opt-in), reviewing and removing
what was learned, the report's learning line, and the gap list on an admin's App Home."""

from __future__ import annotations

import pytest

from handlers import blocks, texts
from handlers import learning_blocks as lb
from tests.endy import Endy, StartEndy
from tests.fakes.slack import Message
from tests.handlers.learning_steps import (
    ADMIN,
    GAP_QUESTION,
    OTHER,
    USER,
    admin_command,
    ask,
    assert_clean,
    buttons,
    note_for,
    open_modal,
    press,
    press_on,
    readable,
    result,
    submit,
)
from tests.helpers import eventually

pytestmark = pytest.mark.timeout(120)
PII_QUESTION = "제 번호는 010-1234-5678 인데 회사 헬스장 있어요?"
GYM_ANSWER = "사내 헬스장은 없어요. 대신 복지포인트로 외부 헬스장 비용을 돌려받을 수 있어요."


def ephemeral_to(endy: Endy, user: str) -> list[str]:
    return [str(c.body.get("text")) for c in endy.slack.calls_to("chat.postEphemeral") if c.body.get("user") == user]


def dms(endy: Endy, user: str) -> list[Message]:
    """Endy's DMs that are answer notifications."""
    return [m for m in endy.slack.messages(f"D{user[1:]}") if m.text == texts.NOTIFY_DM_TEXT]


async def write_faq(endy: Endy, answer: str = GYM_ANSWER) -> str:
    """The admin answers the first gap with a curated FAQ entry; the modal's id."""
    view = await open_modal(endy, 0, lb.ACTION_FAQ, lb.VIEW_FAQ)
    assert (await submit(endy, ADMIN, view, {"answer": answer}))["response_action"] == "update"
    await result(endy, view["id"])
    return str(view["id"])


async def test_the_asker_who_opted_in_gets_one_masked_dm(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    reply = await ask(endy, USER, PII_QUESTION)
    (notify,) = buttons(reply.blocks or [], blocks.ACTION_NOTIFY)
    assert notify["text"]["text"] == texts.NOTIFY_BUTTON
    await press_on(endy, OTHER, reply, blocks.ACTION_NOTIFY)  # someone else cannot opt the asker in
    await press_on(endy, USER, reply, blocks.ACTION_NOTIFY)
    await press_on(endy, USER, reply, blocks.ACTION_NOTIFY)  # a double click
    await endy.slack.wait_until(lambda: len(ephemeral_to(endy, USER)) == 2, what="the asker's notes")
    assert ephemeral_to(endy, USER) == [texts.NOTIFY_SUBSCRIBED, texts.NOTIFY_ALREADY]
    assert ephemeral_to(endy, OTHER) == [texts.NOTIFY_NOT_YOURS]
    await ask(endy, OTHER, GAP_QUESTION)  # the same gap, without the opt-in
    await write_faq(endy)
    await endy.slack.wait_until(lambda: bool(dms(endy, USER)), what="the asker's DM")
    (dm,) = dms(endy, USER)
    shown = readable(dm.blocks)
    print(shown)
    assert_clean(shown)
    assert "010-1234-5678" not in shown and "[전화번호]" in shown and "사내 헬스장은 없어요" in shown
    assert dms(endy, OTHER) == []
    await ask(endy, OTHER, "사내 어린이집 신청은 어떻게 해요?")  # another gap, closed later
    await write_faq(endy, "본사 2층 어린이집은 총무 포털에서 신청해요.")
    assert len(dms(endy, USER)) == 1 and dms(endy, OTHER) == []


async def test_a_forged_opt_in_is_refused(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    reply = await ask(endy, USER, GAP_QUESTION)
    action = endy.slack.block_actions(
        USER, blocks.ACTION_NOTIFY, '{"q": "<!channel>", "u": "U0BOB"}', reply.channel, reply.ts
    )
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))
    await endy.slack.wait_until(lambda: bool(ephemeral_to(endy, USER)), what="the refusal")
    assert ephemeral_to(endy, USER) == [texts.BUTTON_REFUSED]
    assert await endy.rows("SELECT * FROM learning_subscriptions") == []


async def test_learned_entries_are_reviewed_and_removed_by_admins_only(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    await write_faq(endy)
    listing = await admin_command(endy, "learned")
    shown = readable(listing["blocks"])
    print(shown)
    assert_clean(shown)
    assert "[FAQ]" in shown and GAP_QUESTION in shown and "관리자" in shown
    (remove,) = buttons(listing["blocks"], lb.ACTION_REMOVE)
    assert await note_for(endy, await press(endy, USER, remove)) == texts.ADMIN_DENIED
    assert await note_for(endy, await press(endy, ADMIN, remove)) == texts.LEARNED_REMOVED.format(text=GAP_QUESTION)
    assert await note_for(endy, await press(endy, ADMIN, remove)) == texts.LEARN_REFUSED["not_found"]
    assert texts.LEARNED_EMPTY in readable((await admin_command(endy, "learned"))["blocks"])
    missing = await admin_command(endy, "learned 꿈나라 <!here>")
    assert "꿈나라" in missing["text"] and "<!here>" not in str(missing)


async def test_the_report_counts_closed_gaps(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    await write_faq(endy)
    await ask(endy, OTHER, GAP_QUESTION)  # answered thanks to what was learned
    shown = readable((await admin_command(endy, "report"))["blocks"])
    print(shown)
    assert "*학습* 닫은 질문 묶음 1개" in shown and "배운 내용으로 답한 질문" in shown


async def test_app_home_lists_gaps_for_admins_and_refreshes_after_an_action(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    for user in (USER, ADMIN):
        await endy.slack.send_event(endy.slack.event_app_home_opened(user, tab="home"))
    await endy.slack.wait_for("views.publish", 2)
    home = endy.slack.home_views[ADMIN]
    shown = readable(home["blocks"])
    print(shown)
    assert texts.GAPS_HOME_TITLE in shown and GAP_QUESTION in shown
    assert texts.GAPS_HOME_TITLE not in readable(endy.slack.home_views[USER]["blocks"])
    (ignore,) = buttons(home["blocks"], lb.ACTION_IGNORE)
    await press(endy, ADMIN, ignore, home=True)
    await endy.slack.wait_for("views.publish", 3)
    assert GAP_QUESTION not in readable(endy.slack.home_views[ADMIN]["blocks"])
    await endy.slack.wait_until(lambda: any("목록에서 뺐어요" in m.text for m in endy.slack.messages("D0ADMIN")))


async def test_what_one_replica_learns_the_other_answers_with(start_endy: StartEndy) -> None:
    first: Endy = await start_endy(admin_user_ids=[ADMIN])
    second: Endy = await start_endy(admin_user_ids=[ADMIN])
    await first.slack.wait_for_connections(2)
    await second.deps.reloader.subscribed.wait()
    await ask(first, USER, GAP_QUESTION)
    old = second.deps.kb.version
    await write_faq(first)  # the presses and the submission are dealt to both replicas in turn
    await eventually(  # the other replica rebuilds within moments of the signed reload
        lambda: second.deps.kb.version != old and first.deps.kb.version == second.deps.kb.version,
        "rebuild on the other replica",
    )
    assert second.deps.kb.version != old
    assert first.deps.kb.version == second.deps.kb.version
    for _ in range(2):  # both replicas answer in turn
        assert "사내 헬스장은 없어요" in (await ask(first, OTHER, GAP_QUESTION)).text
    assert {e.connection_id for e in first.slack.envelopes[-2:]} == {1, 2}


async def test_two_people_voting_up_an_answer_teach_its_question(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    question = "복지포인트 쓸 데가 어디예요?"
    await endy.slack.send_event(endy.slack.event_app_mention(USER, question, channel="C0GENERAL"))
    (reply,) = await endy.slack.wait_for_messages(1, channel="C0GENERAL")
    assert await endy.deps.recorder.flush(10)
    feedback = next(b for b in reply.blocks or [] if b["type"] == "context_actions")["elements"][0]
    for user in (USER, OTHER, OTHER):  # the same person twice counts once
        action = endy.slack.block_actions(
            user, "feedback", feedback["positive_button"]["value"], reply.channel, reply.ts,
            action_type="feedback_buttons",
        )  # fmt: skip
        await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))
    assert await endy.server.tasks.settle(10)
    assert endy.deps.learning is not None
    entries = [e for e in await endy.deps.learning.learned() if e.origin.value == "votes"]
    assert [e.text for e in entries] == [question]
