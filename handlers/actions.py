"""Buttons on answers: 👍/👎 (👎 opens a modal), escalate to the owning team, share, ask a related question.

Every value is signed (handlers/buttons.py): a value Endy did not build is refused kindly, as is someone other
than the asker (or an admin) escalating or sharing a question."""

from __future__ import annotations

from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from endy_bot.deps import Deps
from endy_bot.tasks import TaskTracker
from handlers import blocks, buttons, learning, texts
from handlers.common import ask_in_background
from handlers.escalation import escalate, share
from handlers.refusals import refuse
from handlers.reply import Target
from services.answer_types import Asker
from services.persist import MessageRef, RecordFeedback
from services.privacy import mask_pii


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    container = body.get("container") or {}
    return str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""), (
        container.get("thread_ts") or container.get("message_ts")
    )


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or body["user"].get("team_id") or "")


async def _may_act_for(deps: Deps, body: dict[str, Any], owner: str) -> bool:
    """Only the asker, or an admin, may escalate or share a question."""
    user = str(body["user"]["id"])
    return user == owner or await deps.admin.is_admin(_team(body), user)


async def on_feedback(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    respond: AsyncRespond,
    tasks: TaskTracker,
) -> None:
    """Record the vote at once; a 👎 also opens the reasons modal."""
    await ack()
    vote = buttons.read_vote(deps.keys, action.get("value"))
    if vote is None:  # not a button Endy built (forged or stale): nothing to record
        await refuse(client, deps, body, respond, "forged", "feedback")
        return
    user, team = body["user"]["id"], _team(body)
    rating = 1 if vote.rating == "up" else -1
    deps.recorder.submit(RecordFeedback(MessageRef(request_id=vote.request_id), team, user, rating, "button"))
    learning.count_vote(tasks, client, deps, (vote.request_id, team, user, rating))
    deps.metrics.feedback.labels(vote.rating, "button").inc()
    deps.metrics.api_requests.labels("action", "feedback", "ok").inc()
    if rating < 0 and body.get("trigger_id"):
        channel, _ = _where(body)
        message_ts = (body.get("container") or {}).get("message_ts")
        modal = blocks.feedback_modal(vote.request_id, channel, message_ts, deps.keys)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)


def _reasons(values: dict[str, Any]) -> list[str] | None:
    """The chosen reasons, or None when one is not on the modal's list (a payload Endy's modal cannot send)."""
    chosen = ((values.get("reasons") or {}).get("value") or {}).get("selected_options") or []
    reasons = [str(o.get("value")) if isinstance(o, dict) else "" for o in chosen] if isinstance(chosen, list) else [""]
    if not all(r in texts.FEEDBACK_REASONS for r in reasons):
        return None
    return list(dict.fromkeys(reasons))


async def _refuse_submission(ack: AsyncAck, deps: Deps, reason: str, block: str, text: str) -> None:
    deps.metrics.errors.labels(type=f"feedback_{reason}").inc()
    deps.metrics.api_requests.labels("view", "feedback", "invalid").inc()
    logger.bind(reason=reason).info("feedback submission refused")
    await ack(response_action="errors", errors={block: text})


async def on_feedback_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps, tasks: TaskTracker
) -> None:
    """Store the reasons and comment with the 👎 vote, then thank the user (offering the team to ask)."""
    ref = buttons.read_modal_metadata(deps.keys, view.get("private_metadata"))
    if ref is None:
        await _refuse_submission(ack, deps, "forged", "comment", texts.BUTTON_REFUSED)
        return
    values = (view.get("state") or {}).get("values") or {}
    reasons = _reasons(values)
    if reasons is None:
        await _refuse_submission(ack, deps, "bad_reason", "reasons", texts.FEEDBACK_BAD_REASON)
        return
    await ack()
    raw_comment = ((values.get("comment") or {}).get("value") or {}).get("value")
    comment = mask_pii(str(raw_comment)) if raw_comment else None  # masked before anything stores it
    user, team = body["user"]["id"], str((body.get("team") or {}).get("id") or "")
    deps.recorder.submit(
        RecordFeedback(MessageRef(request_id=ref.request_id), team, user, -1, "button", tuple(reasons), comment)
    )
    learning.count_vote(tasks, client, deps, (ref.request_id, team, user, -1), tuple(reasons))
    deps.metrics.api_requests.labels("view", "feedback", "ok").inc()
    if ref.channel:
        await client.chat_postEphemeral(
            channel=ref.channel, user=user, text=texts.FEEDBACK_THANKS, thread_ts=ref.message_ts
        )


async def on_escalate(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    respond: AsyncRespond,
) -> None:
    """Post the (masked) question into the owning team's channel (once) and tell the asker where it went."""
    await ack()
    value = buttons.read_escalation(deps.keys, action.get("value"))
    if await _allowed(client, deps, body, respond, value, "escalate"):
        assert value is not None
        await escalate(client, deps, body, value, respond)


async def _allowed(
    client: AsyncWebClient, deps: Deps, body: dict[str, Any], respond: AsyncRespond, value: Any, what: str
) -> bool:
    """A signed value pressed by its asker (or an admin); otherwise the kind refusal is sent and False returned."""
    if value is None:
        await refuse(client, deps, body, respond, "forged", what)
        return False
    if not await _may_act_for(deps, body, value.owner):
        await refuse(client, deps, body, respond, "not_owner", what)
        return False
    return True


async def on_share(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    respond: AsyncRespond,
) -> None:
    """Share a private /endy answer into the channel (the asker or an admin only)."""
    await ack()
    value = buttons.read_share(deps.keys, action.get("value"))
    if await _allowed(client, deps, body, respond, value, "share"):
        assert value is not None
        await share(client, deps, body, value, respond)


async def on_ask_related(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    tasks: TaskTracker,
    respond: AsyncRespond,
) -> None:
    """Ask a related question as if the user had typed it, in the same place."""
    await ack()
    question = buttons.read_related(deps.keys, action.get("value"))
    if question is None:
        await refuse(client, deps, body, respond, "forged", "related")
        return
    channel, thread_ts = _where(body)
    is_ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
    asker = Asker(
        user_id=body["user"]["id"],
        team_id=str((body.get("team") or {}).get("id") or ""),
        surface="slash" if is_ephemeral else ("dm" if channel.startswith("D") else "mention"),
        channel_id=channel,
        thread_ts=None if is_ephemeral else thread_ts,
    )
    target = Target(channel, None, respond=respond) if is_ephemeral else Target(channel, thread_ts)
    ask_in_background(tasks, client, deps, question, asker, target, endpoint="related", kind="action")


def register(app: AsyncApp) -> None:
    """Listen to the answer buttons and the 👎 modal."""
    app.action(blocks.ACTION_FEEDBACK)(on_feedback)
    app.view(blocks.VIEW_FEEDBACK)(on_feedback_submit)
    app.action(blocks.ACTION_ESCALATE)(on_escalate)
    app.action(blocks.ACTION_SHARE)(on_share)
    app.action(blocks.ACTION_ASK_RELATED)(on_ask_related)
