"""Hand a question Endy could not answer to its team's channel; share a private answer with the channel."""

from __future__ import annotations

import uuid
from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from endy_bot.deps import Deps
from handlers import blocks, texts
from handlers.reply import answer_body
from services.answer_types import Answer, AnswerKind, Source
from services.privacy import mask_pii
from services.slack_safety import escape


async def _tell(client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, text: str) -> None:
    container = body.get("container") or {}
    if container.get("is_ephemeral"):
        await respond(response_type="ephemeral", replace_original=False, text=text)
        return
    await client.chat_postEphemeral(
        channel=str(container.get("channel_id") or ""),
        user=body["user"]["id"],
        text=text,
        thread_ts=container.get("thread_ts") or container.get("message_ts"),
    )


async def _permalink(client: AsyncWebClient, body: dict[str, Any]) -> str | None:
    container = body.get("container") or {}
    if container.get("is_ephemeral") or not container.get("message_ts"):
        return None
    try:
        resp = await client.chat_getPermalink(channel=container["channel_id"], message_ts=container["message_ts"])
    except SlackApiError:
        return None
    return str(resp.get("permalink") or "") or None


async def escalate(
    client: AsyncWebClient, deps: Deps, body: dict[str, Any], value: dict[str, Any], respond: AsyncRespond
) -> None:
    """Post the masked question to the department's channel, then tell the asker where it went."""
    department = deps.kb.department(str(value.get("d") or ""))
    if department is None:
        return
    question = escape(mask_pii(str(value.get("q") or "")))
    link = await _permalink(client, body)
    text = (
        texts.ESCALATION_POST.format(question=question, link=link)
        if link
        else texts.ESCALATION_POST_NO_LINK.format(question=question)
    )
    try:
        await client.chat_postMessage(channel=department.channel, text=text)
    except SlackApiError as err:
        logger.bind(error=err.response.get("error"), department=department.key).warning("escalation failed")
        deps.metrics.api_requests.labels("action", "escalate", "error").inc()
        await _tell(client, body, respond, texts.ESCALATION_FAILED.format(channel=department.channel))
        return
    deps.metrics.api_requests.labels("action", "escalate", "ok").inc()
    await _tell(client, body, respond, texts.ESCALATED.format(team=department.name, channel=department.channel))


async def share(
    client: AsyncWebClient, deps: Deps, body: dict[str, Any], request_id: str, respond: AsyncRespond
) -> None:
    """Post a private /endy answer (as stored) into the channel, crediting who shared it."""
    await deps.recorder.flush(3, set_aside=False)  # the exchange was queued moments ago on this replica
    try:
        stored = await deps.storage.stored_answer(uuid.UUID(request_id))
    except ValueError:
        stored = None
    channel = str((body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id") or "")
    if stored is None or not channel:
        await respond(response_type="ephemeral", replace_original=False, text=texts.ANSWER_EXPIRED)
        return
    question, text, kind, sources = stored
    if kind != AnswerKind.ANSWER:  # a "not found" reply has nothing to share (and offers no share button)
        await respond(response_type="ephemeral", replace_original=False, text=texts.NOTHING_TO_SHARE)
        return
    answer = Answer(
        AnswerKind(kind),
        text,
        question,
        sources=[
            Source(str(s.get("title")), s.get("link"), str(s.get("source")), str(s.get("section_id"))) for s in sources
        ],
        request_id=uuid.UUID(request_id),
    )
    header = texts.SHARED_BY.format(user=body["user"]["id"]) + f"\n> {escape(question)}"
    rendered = answer_body(answer, deps.answers.kb_links)
    shared = [
        {"type": "section", "text": {"type": "mrkdwn", "text": header}},
        *blocks.answer_blocks(answer, rendered),
    ]
    await client.chat_postMessage(channel=channel, text=rendered[:3000], blocks=shared)
    await respond(delete_original=True)
    deps.metrics.api_requests.labels("action", "share", "ok").inc()
