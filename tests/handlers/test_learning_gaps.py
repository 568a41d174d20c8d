"""`/endy-admin gaps`, "이 문서가 답이에요" and 무시 end to end (issue 16): real Bolt app, fake Slack, real stores.
The admin presses the buttons and submits the modals as in Slack; the effect is checked through the service, the
result view's preview and the next answer an employee gets. Non-admins and forged values change nothing."""

from __future__ import annotations

import json

import pytest

from handlers import learning_blocks as lb
from handlers import texts
from tests.endy import Endy, StartEndy
from tests.fakes.slack_views import view_state
from tests.handlers.learning_steps import (
    ADMIN,
    GAP_QUESTION,
    OTHER,
    USER,
    admin_command,
    ask,
    assert_clean,
    buttons,
    latest_view,
    note_for,
    open_modal,
    press,
    readable,
    result,
    submit,
)

pytestmark = pytest.mark.timeout(120)
PII_GAP = "제 메일 lee@example.com 인데 사내 어린이집 신청은 어떻게 해요?"


async def test_gaps_are_listed_most_frequent_first_masked_with_four_actions(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    for user in (USER, OTHER):
        await ask(endy, user, GAP_QUESTION)
    await ask(endy, USER, PII_GAP)
    body = await admin_command(endy, "gaps")
    shown = readable(body["blocks"])
    print(shown)
    assert_clean(shown)
    assert "최근 7일" in shown and "lee@example.com" not in shown and "[이메일]" in shown
    assert shown.index("헬스장") < shown.index("어린이집")  # asked twice, so first
    assert "*2회*" in shown
    for action_id in lb.GAP_ACTIONS.values():
        assert len(buttons(body["blocks"], action_id)) == 2
    labels = [b["text"]["text"] for b in body["blocks"][2]["elements"]]
    assert labels == ["이 문서가 답이에요", "답변 작성", "동의어 추가", "무시"]
    assert "`7d` 또는 `30d`" in (await admin_command(endy, "gaps 90d"))["text"]
    assert (await admin_command(endy, "gaps", user=USER))["text"] == texts.ADMIN_DENIED
    assert "30일" in readable((await admin_command(endy, "gaps 30d"))["blocks"])


async def test_teaching_a_section_found_by_title_answers_the_group_at_once(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    assert (await ask(endy, USER, GAP_QUESTION)).blocks is not None
    view = await open_modal(endy, 0, lb.ACTION_TEACH, lb.VIEW_SECTION)
    print(readable(view["blocks"]))
    assert_clean(readable(view["blocks"]))
    search = endy.slack.block_actions(ADMIN, lb.ACTION_SEARCH, "복지포인트", view=view, action_type="plain_text_input")
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(search))
    await endy.slack.wait_for("views.update")
    view = latest_view(endy, lb.VIEW_SECTION)
    (matches,) = [b for b in view["blocks"] if b.get("block_id") == "matches"]
    options = {o["text"]["text"]: o["value"] for o in matches["element"]["options"]}
    section = next(v for t, v in options.items() if t.endswith("복지포인트 사용처"))
    ack = await submit(endy, ADMIN, view, {"matches": section})
    assert ack["response_action"] == "update" and texts.LEARN_SAVING in readable(ack["view"]["blocks"])
    shown = readable((await result(endy, view["id"]))["blocks"])
    print(shown)
    assert_clean(shown)
    assert "이제 이렇게 답해요" in shown and "헬스장" in shown and "복지포인트 사용처" in shown and "배웠어요" in shown
    assert endy.deps.learning is not None
    learned = await endy.deps.learning.learned(section)
    assert [e.text for e in learned] == [GAP_QUESTION] and learned[0].created_by == ADMIN
    reply = await ask(endy, OTHER, GAP_QUESTION)
    assert "복지포인트" in reply.text and not buttons(reply.blocks or [], "learn_notify")
    assert GAP_QUESTION not in readable((await admin_command(endy, "gaps"))["blocks"])
    again = await submit(endy, ADMIN, view, {"matches": section})  # the same modal submitted twice
    assert again["response_action"] == "update"
    assert texts.LEARN_ALREADY in readable((await result(endy, view["id"], 2))["blocks"])
    assert len(await endy.deps.learning.learned(section)) == 1


async def test_section_gone_or_missing_is_an_error_on_the_field_and_nothing_is_saved(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    view = await open_modal(endy, 0, lb.ACTION_TEACH, lb.VIEW_SECTION)
    nothing = await submit(endy, ADMIN, view)
    assert nothing == {"response_action": "errors", "errors": {"search": texts.LEARN_SECTION_NONE}}
    gone = {"type": "radio_buttons", "selected_option": {"value": "docs/removed.md#9", "text": {"text": "옛 문서"}}}
    ack = await submit(endy, ADMIN, view, state={"candidates": {"value": gone}})
    assert ack == {"response_action": "errors", "errors": {"candidates": texts.LEARN_REFUSED["section_gone"]}}
    assert endy.deps.learning is not None and await endy.deps.learning.learned() == []
    assert [c for c in endy.slack.calls_to("views.update") if "learn_result" in str(c.body)] == []


async def test_ignore_takes_the_group_off_the_list(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    listing = await admin_command(endy, "gaps")
    (ignore,) = buttons(listing["blocks"], lb.ACTION_IGNORE)
    first = await note_for(endy, await press(endy, ADMIN, ignore))
    second = await note_for(endy, await press(endy, ADMIN, ignore))  # a double click
    assert first == second == texts.LEARN_IGNORED.format(example=GAP_QUESTION)
    assert texts.GAPS_EMPTY.format(days=7) in readable((await admin_command(endy, "gaps"))["blocks"])
    audit = await endy.rows("SELECT action FROM learning_audit WHERE actor_id = $1", ADMIN)
    assert [r["action"] for r in audit] == ["ignore"]  # the second click changed nothing


async def test_a_non_admin_or_a_forged_value_changes_nothing(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    listing = await admin_command(endy, "gaps")
    teach, ignore = buttons(listing["blocks"], lb.ACTION_TEACH)[0], buttons(listing["blocks"], lb.ACTION_IGNORE)[0]
    denied = [await press(endy, USER, teach), await press(endy, USER, ignore)]  # genuine buttons, not an admin
    forged = dict(ignore, value=json.dumps({"a": "ignore", "g": "anything"}))
    other = dict(ignore, value=teach["value"])  # a genuine value of another action
    assert [await note_for(endy, r) for r in denied] == [texts.ADMIN_DENIED] * 2
    for value in (forged, other):
        assert await note_for(endy, await press(endy, ADMIN, value)) == texts.BUTTON_REFUSED
    assert endy.slack.calls_to("views.open") == []
    assert GAP_QUESTION in readable((await admin_command(endy, "gaps"))["blocks"])
    view = await open_modal(endy, 0, lb.ACTION_TEACH, lb.VIEW_SECTION)
    choice = view["blocks"][1]["element"]["options"][0]["value"]
    refused = await submit(endy, USER, view, {"candidates": choice})  # the admin's modal, submitted by a non-admin
    assert refused == {"response_action": "errors", "errors": {"search": texts.ADMIN_DENIED}}
    view["private_metadata"] = view["private_metadata"].replace("section", "faq", 1)
    tampered = await submit(endy, ADMIN, view, {"candidates": choice})
    assert tampered == {"response_action": "errors", "errors": {"search": texts.BUTTON_REFUSED}}
    assert endy.deps.learning is not None and await endy.deps.learning.learned() == []


async def test_a_submission_slack_delivers_again_is_acked_once(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    view = await open_modal(endy, 0, lb.ACTION_TEACH, lb.VIEW_SECTION)
    choice = view["blocks"][1]["element"]["options"][0]["value"]
    payload = endy.slack.view_submission(
        ADMIN, lb.VIEW_SECTION, view["private_metadata"], view_state(view, {"candidates": choice})
    )
    payload["view"]["id"] = view["id"]
    envelope = await endy.slack.send_interactive(payload)
    assert (await endy.slack.wait_for_ack(envelope))["response_action"] == "update"
    del endy.slack.acks[envelope]
    await endy.slack.send_event(payload, "interactive", envelope_id=envelope)  # Slack saw no ack: it retries
    assert await endy.slack.wait_for_ack(envelope) == {}
    await result(endy, view["id"])
    assert endy.deps.learning is not None and len(await endy.deps.learning.learned(choice)) == 1
    results = [c for c in endy.slack.calls_to("views.update") if "learn_result" in str(c.body)]
    assert len(results) == 1
