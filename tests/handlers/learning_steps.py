"""What an admin (or an asker) does with the learning surfaces, step by step, through the fake Slack (issue 16)."""

from __future__ import annotations

import json
from typing import Any

from handlers import learning_blocks as lb
from tests.endy import Endy
from tests.fakes.slack import Message
from tests.fakes.slack_views import view_state

ADMIN, USER, OTHER, CHANNEL = "U0ADMIN", "U0BOB", "U0CAROL", "C0GENERAL"
GAP_QUESTION = "회사 헬스장 있어요?"


def readable(blocks: list[dict[str, Any]] | None) -> str:
    """Every text of the blocks (sections, contexts, buttons, labels) as an admin reads them, one per line."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for key, child in node.items():
                if key != "text" or not isinstance(child, str):
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(blocks or [])
    return "\n".join(out)


def assert_clean(text: str) -> None:
    """No raw Markdown, no doubly escaped entities, no pings or foreign links."""
    for bad in ("&amp;amp;", "&amp;lt;", "&amp;gt;", "**", "<!channel>", "<!here>", "http://", "https://evil"):
        assert bad not in text, (bad, text)


async def ask(endy: Endy, user: str, question: str) -> Message:
    """A DM question and Endy's reply."""
    before = len(endy.slack.messages(f"D{user[1:]}"))
    await endy.slack.send_event(endy.slack.event_message_im(user, question))
    replies = await endy.slack.wait_for_messages(before + 1, channel=f"D{user[1:]}")
    assert await endy.deps.recorder.flush(10)
    return replies[-1]


async def admin_command(endy: Endy, text: str, user: str = ADMIN) -> dict[str, Any]:
    """`/endy-admin …` and the private response."""
    before = len(endy.slack.responses)
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy-admin", text, user, CHANNEL))
    responses = await endy.slack.wait_for_responses(before + 1)
    body = responses[before].body
    assert isinstance(body, dict)
    return body


def buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    """Every button (in actions blocks or as a section accessory) with that action id, in order."""
    found = []
    for block in blocks:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                found.append(element)
    return found


async def press(endy: Endy, user: str, button: dict[str, Any], *, home: bool = False) -> str:
    """A click on a button of an ephemeral /endy-admin response (or of the App Home), acked; the response id
    its private note will come back under (see `note_for`)."""
    if home:
        view = endy.slack.home_views[user]
        action = endy.slack.block_actions(user, button["action_id"], button["value"], view=view)
    else:
        action = endy.slack.block_actions(user, button["action_id"], button["value"])
        action["container"] = {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True, "message_ts": "1.2"}
        action["response_url"] = endy.slack.response_url()
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))
    return str(action.get("response_url", "")).rsplit("/", 1)[-1]


async def note_for(endy: Endy, response_id: str) -> str:
    """The private note Endy sent back for one press (through that press's response_url)."""

    def found() -> list[str]:
        return [str(r.body.get("text")) for r in endy.slack.responses if r.response_id == response_id]

    await endy.slack.wait_until(lambda: bool(found()), what="the note for a press")
    return found()[0]


async def press_on(endy: Endy, user: str, message: Message, action_id: str) -> None:
    """A click on a button of a posted message (e.g. the not-found reply), acked."""
    (button,) = buttons(message.blocks or [], action_id)
    action = endy.slack.block_actions(user, action_id, button["value"], message.channel, message.ts)
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))


def notes(endy: Endy, user: str) -> list[str]:
    """Private notes a user got: ephemeral posts and response_url replies (texts), in order."""
    ephemeral = [
        str(c.body.get("text")) for c in endy.slack.calls_to("chat.postEphemeral") if c.body.get("user") == user
    ]
    responses = [str(r.body.get("text")) for r in endy.slack.responses if isinstance(r.body, dict)]
    return ephemeral + responses


def latest_view(endy: Endy, callback_id: str) -> dict[str, Any]:
    """The modal with that callback id as Slack holds it now."""
    found = [v for v in endy.slack.views.values() if v.get("callback_id") == callback_id]
    assert found, f"no {callback_id} view"
    return found[-1]


async def open_modal(endy: Endy, gap_index: int, action_id: str, callback_id: str) -> dict[str, Any]:
    """`/endy-admin gaps`, press a gap's button, and the modal it opened."""
    listing = await admin_command(endy, "gaps")
    before = [v["id"] for v in endy.slack.views.values() if v.get("callback_id") == callback_id]
    await press(endy, ADMIN, buttons(listing["blocks"], action_id)[gap_index])

    def opened() -> list[dict[str, Any]]:
        return [v for v in endy.slack.views.values() if v.get("callback_id") == callback_id and v["id"] not in before]

    await endy.slack.wait_until(lambda: bool(opened()), what=f"the {callback_id} modal")
    return opened()[-1]


async def submit(
    endy: Endy,
    user: str,
    view: dict[str, Any],
    answers: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Submit the modal (answers: block_id → typed/picked; state: a forged state as is) and return Slack's ack."""
    values = state if state is not None else view_state(view, answers)
    payload = endy.slack.view_submission(user, str(view["callback_id"]), view.get("private_metadata"), values)
    payload["view"]["id"] = view["id"]
    ack = await endy.slack.wait_for_ack(await endy.slack.send_interactive(payload))
    return ack


async def result(endy: Endy, view_id: str, count: int = 1) -> dict[str, Any]:
    """The result view the modal became once the preview was rendered (the count-th update of that view)."""

    def updates() -> list[dict[str, Any]]:
        calls = [c.body for c in endy.slack.calls_to("views.update") if c.body.get("view_id") == view_id]
        views = [c["view"] if isinstance(c["view"], dict) else json.loads(c["view"]) for c in calls]
        return [v for v in views if v.get("callback_id") == lb.VIEW_RESULT]

    await endy.slack.wait_until(lambda: len(updates()) >= count, what="the result view")
    assert await endy.server.tasks.settle(10)
    return updates()[count - 1]
