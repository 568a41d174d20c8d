"""Buttons on answers: 👍/👎 (👎 opens a modal), escalate to the owning team, share, ask a related question."""

from __future__ import annotations

import json
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from endy_bot.deps import Deps
from endy_bot.tasks import TaskTracker
from handlers import blocks, texts
from handlers.common import ask_in_background
from handlers.escalation import escalate, share
from handlers.reply import Target
from services.answer_types import Asker
from services.persist import MessageRef, RecordFeedback
from services.privacy import mask_pii


def _is_request_id(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    container = body.get("container") or {}
    return str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""), (
        container.get("thread_ts") or container.get("message_ts")
    )


async def on_feedback(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Record the vote at once; a 👎 also opens the reasons modal."""
    await ack()
    rating, _, request_id = str(action.get("value") or "").partition("|")
    if rating not in ("up", "down") or not _is_request_id(request_id):
        return  # not a button Endy built (forged or stale): nothing to record
    user, team = body["user"]["id"], str((body.get("team") or {}).get("id") or body["user"].get("team_id") or "")
    vote = 1 if rating == "up" else -1
    deps.recorder.submit(RecordFeedback(MessageRef(request_id=request_id), team, user, vote, "button"))
    deps.metrics.feedback.labels("up" if vote > 0 else "down", "button").inc()
    deps.metrics.api_requests.labels("action", "feedback", "ok").inc()
    if vote < 0 and body.get("trigger_id"):
        channel, _ = _where(body)
        message_ts = (body.get("container") or {}).get("message_ts")
        await client.views_open(
            trigger_id=body["trigger_id"], view=blocks.feedback_modal(request_id, channel, message_ts)
        )


async def on_feedback_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Store the reasons and comment with the 👎 vote, then thank the user (offering the team to ask)."""
    await ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    if not _is_request_id(meta.get("r")):
        return
    values = (view.get("state") or {}).get("values") or {}
    reasons = [o["value"] for o in ((values.get("reasons") or {}).get("value") or {}).get("selected_options") or []]
    raw_comment = ((values.get("comment") or {}).get("value") or {}).get("value")
    comment = mask_pii(str(raw_comment)) if raw_comment else None  # masked before anything stores it
    user, team = body["user"]["id"], str((body.get("team") or {}).get("id") or "")
    deps.recorder.submit(
        RecordFeedback(MessageRef(request_id=meta.get("r")), team, user, -1, "button", tuple(reasons), comment)
    )
    deps.metrics.api_requests.labels("view", "feedback", "ok").inc()
    channel = meta.get("c")
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, text=texts.FEEDBACK_THANKS, thread_ts=meta.get("t"))


async def on_escalate(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    respond: AsyncRespond,
) -> None:
    """Post the (masked) question into the owning team's channel and tell the asker where it went."""
    await ack()
    await escalate(client, deps, body, json.loads(action.get("value") or "{}"), respond)


async def on_share(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    respond: AsyncRespond,
) -> None:
    """Share a private /endy answer into the channel."""
    await ack()
    await share(client, deps, body, str(action.get("value") or ""), respond)


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
    ask_in_background(
        tasks, client, deps, str(action.get("value") or ""), asker, target, endpoint="related", kind="action"
    )


def register(app: AsyncApp) -> None:
    """Listen to the answer buttons and the 👎 modal."""
    app.action(blocks.ACTION_FEEDBACK)(on_feedback)
    app.view(blocks.VIEW_FEEDBACK)(on_feedback_submit)
    app.action(blocks.ACTION_ESCALATE)(on_escalate)
    app.action(blocks.ACTION_SHARE)(on_share)
    app.action(blocks.ACTION_ASK_RELATED)(on_ask_related)
