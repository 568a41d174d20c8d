"""Deliver an answer into Slack: stream it (LLM) or post it once, with sources and feedback."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loguru import logger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, texts
from handlers.buttons import Seal
from handlers.context import SlackServices
from handlers.doors import Door, count
from handlers.outcomes import STATUS, Notice, Outcome, ask, outcome_of
from services.answer_types import Answer, AnswerKind, Asker, Turn
from services.answering import AnswerStream
from services.channels import ChannelDirectory
from services.markup import shorten
from services.output_policy import WITHOUT_LINKS, MarkdownStream, OutputPolicy, policy_for

Respond = Callable[..., Awaitable[Any]]
PREVIEW_CHARS = 1200  # a longer answer is cut here and points to its source for the rest


@dataclass(frozen=True, slots=True)
class Target:
    """Where the reply goes: a channel/thread, or privately through a slash command's response_url."""

    channel: str
    thread_ts: str | None = None
    respond: Respond | None = None  # set for /endy: reply only to the asker

    @property
    def private(self) -> bool:
        """True when only the asker sees the reply."""
        return self.respond is not None


def answer_body(answer: Answer, policy: OutputPolicy, channels: ChannelDirectory | None = None) -> str:
    """The message text as safe mrkdwn (the output policy's), cut when long, or the "not found" reply (its team
    channel linked as `<#C…>` once Slack told Endy the channel's id)."""
    english = answer.language == "en" and not answer.used_llm
    if answer.kind is AnswerKind.NOT_FOUND:
        lead = f"_{texts.ENGLISH_NOT_FOUND}_\n" if english else ""
        reply = policy.text(texts.not_found(answer.department))
        channel = channels.cached(answer.department.channel) if channels and answer.department else None
        if channel is not None and channel.id and answer.department is not None:  # an id Slack gave: C…/G…
            reply = reply.replace(policy.text(answer.department.channel), f"<#{channel.id}>", 1)
        return lead + reply
    body, cut = shorten(policy.answer(answer.text) or policy.text(texts.NOTHING_SAFE_TO_SHOW), PREVIEW_CHARS)
    if cut:
        first = answer.sources[0].link if answer.sources else None
        body += "\n" + (policy.link(first, texts.READ_MORE) if first else policy.text(texts.READ_MORE_IN_SOURCE))
    if answer.hedged:
        body = f"_{policy.text(texts.HEDGE_INTRO)}_\n\n{body}"
        if answer.suggestions:
            others = " · ".join(policy.text(" > ".join(s.title.split(" > ")[-2:])) for s in answer.suggestions)
            body += f"\n\n{policy.text(texts.HEDGE_OTHERS)}: {others}"
    if english:
        body = f"_{texts.ENGLISH_NOTE}_\n\n{body}"
    note = f"\n_{texts.LLM_FALLBACK_NOTE}_" if answer.llm_failed else ""
    return body + note


async def notify(client: AsyncWebClient, target: Target, asker: Asker, text: str, *, ephemeral: bool) -> None:
    """A short notice (limits, validation): private where Slack allows it."""
    notice, text = blocks.notice_blocks(text), WITHOUT_LINKS.text(text)
    if target.respond is not None:
        await target.respond(response_type="ephemeral", replace_original=False, text=text, blocks=notice)
    elif ephemeral and not target.channel.startswith("D"):
        await client.chat_postEphemeral(
            channel=target.channel, user=asker.user_id, thread_ts=target.thread_ts, text=text, blocks=notice
        )
    else:
        await client.chat_postMessage(channel=target.channel, thread_ts=target.thread_ts, text=text, blocks=notice)


async def deliver(
    client: AsyncWebClient,
    services: SlackServices,
    question: str,
    asker: Asker,
    target: Target,
    history: Sequence[Turn] = (),
    *,
    door: Door,
) -> Answer | None:
    """Run the pipeline for one question, put the answer in Slack, and count the outcome."""
    started = time.perf_counter()
    try:
        opened = await ask(services.answers, question, asker, history)
    except BaseException:
        count(services.metrics, door, STATUS[Outcome.ERROR])
        raise
    if isinstance(opened, Notice):
        count(services.metrics, door, STATUS[opened.outcome])
        await notify(client, target, asker, opened.text, ephemeral=opened.private)
        return None
    seal = Seal(services.keys, asker.user_id)
    try:
        if services.streams and not target.private and target.thread_ts:
            ts = await _stream_reply(client, opened, asker, target, seal)
        else:
            ts = await _post_reply(client, opened, target, seal, services.channels)
    except BaseException:
        count(services.metrics, door, STATUS[Outcome.ERROR])
        raise
    answer = opened.result
    if ts:
        services.conversation.replied(answer.request_id, target.channel, ts)
    count(services.metrics, door, STATUS[outcome_of(answer)], time.perf_counter() - started)
    return answer


async def _post_reply(
    client: AsyncWebClient, stream: AnswerStream, target: Target, seal: Seal, channels: ChannelDirectory
) -> str | None:
    async for _ in stream:
        pass
    answer = stream.result
    policy = policy_for(stream.service.kb_links)
    body = answer_body(answer, policy, channels)
    shareable = target.private and answer.kind is AnswerKind.ANSWER
    text, rendered = body[:3000], blocks.answer_blocks(answer, body, policy, seal=seal, shareable=shareable)
    if target.respond is not None:
        await target.respond(response_type="ephemeral", replace_original=False, text=text, blocks=rendered)
        return None
    resp = await client.chat_postMessage(channel=target.channel, thread_ts=target.thread_ts, text=text, blocks=rendered)
    return str(resp["ts"])


async def _stream_reply(
    client: AsyncWebClient, stream: AnswerStream, asker: Asker, target: Target, seal: Seal
) -> str | None:
    """Slack's native streaming: status while thinking, text as it comes, blocks at the end."""
    assert target.thread_ts is not None
    if target.channel.startswith("D"):
        await _set_status(client, target.channel, target.thread_ts, texts.THINKING_STATUS)
    streamer = await client.chat_stream(
        channel=target.channel,
        thread_ts=target.thread_ts,
        recipient_team_id=asker.team_id,
        recipient_user_id=asker.user_id,
    )
    safe: MarkdownStream | None = None
    shown = False
    async for chunk in stream:
        if safe is None:  # the knowledge base's links, read once the stream started (a reload may swap them)
            safe = policy_for(stream.service.kb_links).stream()
        text = safe.feed(chunk)
        if text:
            await streamer.append(markdown_text=text)
            shown = shown or bool(text.strip())
    answer = stream.result
    policy = policy_for(stream.service.kb_links)
    tail = safe.flush() if safe else ""
    if answer.kind is AnswerKind.ANSWER and not shown and not tail.strip():
        tail = policy.text(texts.NOTHING_SAFE_TO_SHOW)  # the policy removed all of it
    elif answer.kind is AnswerKind.NOT_FOUND:
        tail = answer_body(answer, policy)
    elif answer.llm_failed:
        tail += f"\n_{texts.LLM_FALLBACK_NOTE}_"
    if tail:
        await streamer.append(markdown_text=tail)
    resp = await streamer.stop(blocks=blocks.answer_blocks(answer, "", policy, seal=seal))
    return str(resp["ts"]) if resp and resp.get("ts") else None


async def _set_status(client: AsyncWebClient, channel: str, thread_ts: str, status: str) -> None:
    try:
        await client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=status)
    except SlackApiError as err:  # a status is a nicety; never fail the answer for it
        logger.bind(error=err.response.get("error")).debug("assistant status not set")
