"""Hand a question Endy could not answer to its team's channel; share a private answer with the channel."""

from __future__ import annotations

from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, texts
from handlers.buttons import Escalation, Seal, Shared
from handlers.context import SlackServices
from handlers.doors import Status
from handlers.reply import answer_body
from handlers.team_channels import NOT_MEMBER_ERRORS, log_not_member, team_notice
from services.answer_types import Answer
from services.channels import Channel
from services.feedback import Verdict
from services.knowledge import Department
from services.output_policy import WITHOUT_LINKS, OutputPolicy, policy_for
from services.privacy import mask_pii
from services.slack_safety import link


def escalation_text(question: str, permalink: str | None) -> str:
    """The post in the team's channel: the masked question as inert text, and Slack's link to the conversation."""
    text = texts.ESCALATION_POST.format(question=WITHOUT_LINKS.text(" ".join(mask_pii(question).split())))
    return f"{text}\n{link(permalink, texts.ESCALATION_LINK_LABEL)}" if permalink else text  # link() checks it


def shared_message(answer: Answer, sharer: str, policy: OutputPolicy, seal: Seal) -> tuple[str, list[blocks.Block]]:
    """A stored answer for the channel: its stored text rendered again through the policy (never old blocks)."""
    quoted = policy.text(" ".join(answer.question.split()))
    header = texts.SHARED_BY.format(user=policy.user(sharer)) + f"\n> {quoted}"
    rendered = answer_body(answer, policy)
    shared = [
        {"type": "section", "text": {"type": "mrkdwn", "text": header}},
        *blocks.answer_blocks(answer, rendered, policy, seal=seal),
    ]
    return rendered, shared


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


async def _already_sent(
    client: AsyncWebClient, services: SlackServices, body: dict[str, Any], department: Department, respond: AsyncRespond
) -> Status:
    services.metrics.errors.labels(type="escalation_repeated").inc()
    logger.bind(department=department.key).info("escalation already sent; not posted again")
    channel = services.channels.cached(department.channel)
    await _tell(client, body, respond, team_notice(texts.ESCALATION_ALREADY, department, channel))
    return Status.DENIED


def _not_sent(services: SlackServices, department: Department, channel: Channel, error: str) -> str:
    """The asker's notice when the post failed; not a member of the channel: the admin's log line says so."""
    if error in NOT_MEMBER_ERRORS:
        services.metrics.errors.labels(type="escalation_not_in_channel").inc()
        services.channels.forget(department.channel)  # asked again next time: someone may invite Endy meanwhile
        log_not_member(department, channel, error)
        return team_notice(texts.ESCALATION_NOT_MEMBER, department, channel)
    logger.bind(error=error, department=department.key).warning("escalation failed")
    return team_notice(texts.ESCALATION_FAILED, department, channel)


async def escalate(
    client: AsyncWebClient, services: SlackServices, body: dict[str, Any], value: Escalation, respond: AsyncRespond
) -> Status | None:
    """Post the masked question to the department's channel once (across replicas), then tell the asker where it
    went; a second press only says it was already sent."""
    claim = await services.feedback.escalate(services.kb, value.request_id, value.department)
    department = claim.department
    if department is None:
        return None
    if claim.verdict is Verdict.ALREADY_SENT:
        return await _already_sent(client, services, body, department, respond)
    text = escalation_text(value.question, await _permalink(client, body))
    channel = await services.channels.resolve(client, department.channel)  # by id (<#C…>), resolved once
    try:
        await client.chat_postMessage(channel=channel.target, text=text)
    except SlackApiError as err:
        await services.feedback.escalation_failed(value.request_id)  # not sent: the asker may press again
        notice = _not_sent(services, department, channel, str(err.response.get("error") or ""))
        await _tell(client, body, respond, notice)
        return Status.ERROR
    await _tell(client, body, respond, team_notice(texts.ESCALATED, department, channel))
    return Status.OK


async def share(
    client: AsyncWebClient, services: SlackServices, body: dict[str, Any], value: Shared, respond: AsyncRespond
) -> Status | None:
    """Post a private /endy answer (as stored) into the channel, crediting who shared it."""
    sharing = await services.feedback.share(value.request_id)
    channel = str((body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id") or "")
    if sharing.verdict is Verdict.EXPIRED or not channel:
        await respond(response_type="ephemeral", replace_original=False, text=texts.ANSWER_EXPIRED)
        return None
    if sharing.answer is None:  # a "not found" reply has nothing to share (and offers no share button)
        await respond(response_type="ephemeral", replace_original=False, text=texts.NOTHING_TO_SHARE)
        return None
    policy = policy_for(services.answers.kb_links)
    seal = Seal(services.keys, value.owner)
    rendered, shared = shared_message(sharing.answer, str(body["user"]["id"]), policy, seal)
    await client.chat_postMessage(channel=channel, text=rendered[:3000], blocks=shared)
    await respond(delete_original=True)
    return Status.OK
