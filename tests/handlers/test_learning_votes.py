"""Votes teach through Slack's own paths (issue 16): 👎 "다른 문서가 필요해요" in the feedback modal demotes the cited
section for that question's cluster, and thumbs reactions count like the buttons."""

from __future__ import annotations

import html
import re

import pytest

from services.learning import WRONG_SECTION_REASON
from tests.endy import Endy, StartEndy
from tests.fakes.slack import Message
from tests.handlers.learning_steps import ADMIN, OTHER, USER, ask

pytestmark = pytest.mark.timeout(120)
WHERE = "복지포인트 쓸 데가 어디예요?"
HOW_MUCH = "자주 묻는 질문 > 복지포인트는 얼마나 나오나요?"  # what the sample handbook cites first for WHERE
PLACES = "복리후생 가이드 > 복지포인트 > 복지포인트 사용처"


def cited(reply: Message) -> list[str]:
    """The source titles under an answer, in order (from its "출처" line of links)."""
    texts = [e.get("text", "") for b in reply.blocks or [] if b["type"] == "context" for e in b.get("elements", [])]
    line = next(t for t in texts if "출처" in t)
    return [html.unescape(t) for t in re.findall(r"\|([^>]+)>", line)]


def feedback(reply: Message) -> dict[str, dict[str, str]]:
    return next(b for b in reply.blocks or [] if b["type"] == "context_actions")["elements"][0]  # type: ignore[no-any-return]


async def vote(endy: Endy, user: str, reply: Message, which: str) -> None:
    action = endy.slack.block_actions(
        user, "feedback", feedback(reply)[which]["value"], reply.channel, reply.ts, action_type="feedback_buttons"
    )
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))


async def test_wrong_document_downvote_demotes_the_section_for_that_question_and_its_near_duplicates(
    start_endy: StartEndy,
) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    before = await ask(endy, USER, WHERE)
    assert cited(before)[0] == HOW_MUCH
    await vote(endy, USER, before, "negative_button")
    await endy.slack.wait_for("views.open")
    state = {"reasons": {"value": {"type": "checkboxes", "selected_options": [{"value": WRONG_SECTION_REASON}]}}}
    submission = endy.slack.view_submission(USER, "feedback_modal", None, state)
    assert await endy.slack.wait_for_ack(await endy.slack.send_interactive(submission)) == {}
    assert await endy.server.tasks.settle(10)
    rows = await endy.rows("SELECT question_key, section_id FROM learning_demotions")
    assert [(r["question_key"], r["section_id"]) for r in rows] == [("복지포인트 쓸 데가 어디예요", "faq.yaml#34")]

    for question in (
        WHERE,
        "복지포인트는 어디에 쓸 수 있어요?",
    ):  # the same question (not the cached answer) and a near one
        after = await ask(endy, OTHER, question)
        assert cited(after)[0] == PLACES and HOW_MUCH not in cited(after), cited(after)
    other_question = await ask(endy, OTHER, "복지포인트는 얼마나 나와요?")  # another question: still its own answer
    assert cited(other_question)[0] == HOW_MUCH


async def test_thumbs_up_reactions_from_two_people_teach_like_the_buttons(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    question = "복지포인트 쓸 데가 어디예요?"
    reply = await ask(endy, USER, question)
    for user, reaction in ((USER, "thumbsup"), (OTHER, "+1::skin-tone-2"), (OTHER, "tada")):
        await endy.slack.send_event(endy.slack.event_reaction_added(user, reaction, reply.channel, reply.ts))
    await endy.slack.wait_until(lambda: len(endy.slack.acks) >= 3, what="the reactions' acks")
    assert await endy.server.tasks.settle(10)
    assert endy.deps.learning is not None
    entries = [e for e in await endy.deps.learning.learned() if e.origin.value == "votes"]
    assert [(e.text, e.section_id) for e in entries] == [(question, "faq.yaml#34")]
