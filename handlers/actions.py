"""Buttons on answers: 👍/👎 (👎 opens a modal), escalate to the owning team, share, ask a related question.

Every value is signed (handlers/buttons.py): a value Endy did not build is refused kindly, as is someone other
than the asker (or an admin) escalating or sharing a question."""

from __future__ import annotations

from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, buttons, doors, learning, texts
from handlers.common import ask_in_background
from handlers.context import SlackServices, Spawner
from handlers.doors import Status, counted
from handlers.escalation import escalate, share
from handlers.refusals import guard, refuse
from handlers.reply import Target
from services.answer_types import Asker
from services.feedback import Actor


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    container = body.get("container") or {}
    return str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""), (
        container.get("thread_ts") or container.get("message_ts")
    )


def _actor(body: dict[str, Any]) -> Actor:
    """Who pressed: the workspace (the payload's team, else the user's) and the user."""
    team = str((body.get("team") or {}).get("id") or body["user"].get("team_id") or "")
    return Actor(team, str(body["user"]["id"]))


async def on_feedback(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    respond: AsyncRespond,
    tasks: Spawner,
) -> Status:
    """Record the vote at once; a 👎 also opens the reasons modal."""
    await ack()
    vote = buttons.read_vote(services.keys, action.get("value"))
    if vote is None:  # not a button Endy built (forged or stale): nothing to record
        return await refuse(client, services.metrics, body, respond, "forged", "feedback")
    rating = 1 if vote.rating == "up" else -1
    services.feedback.vote(_actor(body), vote.request_id, rating)
    learning.count_vote(tasks, client, services, _actor(body), vote.request_id, rating)
    if rating < 0 and body.get("trigger_id"):
        channel, _ = _where(body)
        message_ts = (body.get("container") or {}).get("message_ts")
        modal = blocks.feedback_modal(vote.request_id, channel, message_ts, services.keys)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)
    return Status.OK


def _reasons(values: dict[str, Any]) -> list[str] | None:
    """The chosen reasons, or None when one is not on the modal's list (a payload Endy's modal cannot send)."""
    chosen = ((values.get("reasons") or {}).get("value") or {}).get("selected_options") or []
    reasons = [str(o.get("value")) if isinstance(o, dict) else "" for o in chosen] if isinstance(chosen, list) else [""]
    if not all(r in texts.FEEDBACK_REASONS for r in reasons):
        return None
    return list(dict.fromkeys(reasons))


async def _refuse_submission(ack: AsyncAck, services: SlackServices, reason: str, block: str, text: str) -> Status:
    services.metrics.errors.labels(type=f"feedback_{reason}").inc()
    logger.bind(reason=reason).info("feedback submission refused")
    await ack(response_action="errors", errors={block: text})
    return Status.INVALID


async def on_feedback_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
) -> Status:
    """Store the reasons and comment with the 👎 vote, then thank the user (offering the team to ask)."""
    ref = buttons.read_modal_metadata(services.keys, view.get("private_metadata"))
    if ref is None:
        return await _refuse_submission(ack, services, "forged", "comment", texts.BUTTON_REFUSED)
    values = (view.get("state") or {}).get("values") or {}
    reasons = _reasons(values)
    if reasons is None:
        return await _refuse_submission(ack, services, "bad_reason", "reasons", texts.FEEDBACK_BAD_REASON)
    await ack()
    raw_comment = ((values.get("comment") or {}).get("value") or {}).get("value")
    user, team = body["user"]["id"], str((body.get("team") or {}).get("id") or "")  # the view's team only
    services.feedback.explain(Actor(team, user), ref.request_id, reasons, str(raw_comment) if raw_comment else None)
    learning.count_vote(tasks, client, services, Actor(team, user), ref.request_id, -1, tuple(reasons))
    if ref.channel:
        await client.chat_postEphemeral(
            channel=ref.channel, user=user, text=texts.FEEDBACK_THANKS, thread_ts=ref.message_ts
        )
    return Status.OK


async def on_escalate(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    respond: AsyncRespond,
) -> Status | None:
    """Post the (masked) question into the owning team's channel (once) and tell the asker where it went."""
    await ack()
    value = buttons.read_escalation(services.keys, action.get("value"))
    refused = await _refused(client, services, body, respond, value, "escalate")
    if refused is not None or value is None:
        return refused
    return await escalate(client, services, body, value, respond)


async def _refused(
    client: AsyncWebClient,
    services: SlackServices,
    body: dict[str, Any],
    respond: AsyncRespond,
    value: buttons.Escalation | buttons.Shared | None,
    what: str,
) -> Status | None:
    """None for a signed value pressed by its asker (or an admin); else the refusal is sent, its status returned."""

    async def may() -> bool:
        return value is not None and await services.feedback.may_act_for(_actor(body), value.owner)

    return await guard(client, services.metrics, body, respond, what, value is not None, may)


async def on_share(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    respond: AsyncRespond,
) -> Status | None:
    """Share a private /endy answer into the channel (the asker or an admin only)."""
    await ack()
    value = buttons.read_share(services.keys, action.get("value"))
    refused = await _refused(client, services, body, respond, value, "share")
    if refused is not None or value is None:
        return refused
    return await share(client, services, body, value, respond)


async def on_ask_related(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
    respond: AsyncRespond,
) -> Status | None:
    """Ask a related question as if the user had typed it, in the same place."""
    await ack()
    question = buttons.read_related(services.keys, action.get("value"))
    if question is None:
        return await refuse(client, services.metrics, body, respond, "forged", "related")
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
    ask_in_background(tasks, client, services, question, asker, target, door=doors.RELATED)
    return None  # counted when answered (handlers/reply.py)


def register(app: AsyncApp) -> None:
    """Listen to the answer buttons and the 👎 modal."""
    app.action(blocks.ACTION_FEEDBACK)(counted(doors.FEEDBACK, on_feedback))
    app.view(blocks.VIEW_FEEDBACK)(counted(doors.FEEDBACK_REASONS, on_feedback_submit))
    app.action(blocks.ACTION_ESCALATE)(counted(doors.ESCALATE, on_escalate))
    app.action(blocks.ACTION_SHARE)(counted(doors.SHARE, on_share))
    app.action(blocks.ACTION_ASK_RELATED)(counted(doors.RELATED, on_ask_related))
