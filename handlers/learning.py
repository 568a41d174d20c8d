"""Endy learns in Slack (issue 16): `/endy-admin gaps` and `learned`, the gap buttons that open the teaching modals,
removing learned entries, and the asker's "답이 생기면 알려 주세요" opt-in.

Admins only: the role is checked again on every press and every submission (the service checks it once more);
every value is signed (handlers/learning_values.py). A replayed delivery never reaches a listener
(handlers/replay.py) and a repeated press or submission changes nothing (the service's unique keys)."""

from __future__ import annotations

from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, doors, home, learning_modals, texts
from handlers import learning_blocks as lb
from handlers import learning_values as values
from handlers.admin_view import text_blocks
from handlers.context import SlackServices, Spawner
from handlers.doors import Status, counted
from handlers.refusals import guard, tell
from services.admin_commands import AdminAction, AdminCommand
from services.feedback import Actor as Voter
from services.learning import Actor, LearnedKind, LearningRefused, LearningService, Taught
from services.output_policy import WITHOUT_LINKS

GAP_ENDPOINT = doors.LEARNING.endpoint
MODAL_OF = {"teach": "section", "faq": "faq", "synonym": "synonym"}  # gap button → the modal it opens


def actor_of(body: dict[str, Any]) -> Actor:
    """Who pressed or submitted, from Slack's own payload."""
    user = body.get("user") or {}
    return Actor(str((body.get("team") or {}).get("id") or user.get("team_id") or ""), str(user.get("id") or ""))


async def note(client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, text: str) -> None:
    """A private note where the admin pressed: in place for a message, in the DM for the App Home."""
    if (body.get("container") or {}).get("type") != "view":
        await tell(client, body, respond, text)
        return
    try:
        await client.chat_postMessage(channel=actor_of(body).user_id, text=text)
    except SlackApiError as err:
        logger.bind(error=err.response.get("error")).info("learning note not delivered")


async def _admin_only(
    client: AsyncWebClient, services: SlackServices, body: dict[str, Any], respond: AsyncRespond, signed: bool
) -> Status | None:
    """The shared button guard (handlers/refusals.guard) for the learning buttons: a signed value, pressed by an
    admin (the role re-checked now); None when both hold, else the refusal's status once the note is sent."""
    actor = actor_of(body)

    async def may() -> bool:
        return await services.admin.is_admin(actor.team_id, actor.user_id)

    return await guard(client, services.metrics, body, respond, GAP_ENDPOINT, signed, may, "not_admin", note)


async def run_command(cmd: AdminCommand, services: SlackServices, respond: AsyncRespond) -> None:
    """`/endy-admin gaps [7d|30d]` and `/endy-admin learned [section]` (the role was checked by handlers/admin)."""
    svc = services.learning
    if cmd.action is AdminAction.GAPS:
        title = texts.GAPS_TITLE.format(days=cmd.days)
        empty = texts.GAPS_EMPTY.format(days=cmd.days)
        rendered = lb.gap_blocks(
            await svc.gaps(days=cmd.days, limit=10), services.keys, services.kb, title=title, empty=empty
        )
        await respond(response_type="ephemeral", replace_original=False, text=title, blocks=rendered)
        return
    await _learned(cmd.section, svc, services, respond)


async def _learned(query: str | None, svc: LearningService, services: SlackServices, respond: AsyncRespond) -> None:
    section_id, title = await _section_of(svc, services, query)
    if query and section_id is None:
        text = texts.LEARNED_NO_SECTION.format(query=WITHOUT_LINKS.text(query[:80]))
        await respond(response_type="ephemeral", replace_original=False, text=text, blocks=text_blocks([text]))
        return
    rendered = lb.learned_blocks(await svc.learned(section_id), services.keys, section=title)
    await respond(response_type="ephemeral", replace_original=False, text=texts.LEARNED_HEAD, blocks=rendered)


async def _section_of(
    svc: LearningService, services: SlackServices, query: str | None
) -> tuple[str | None, str | None]:
    """A section named by its id, or the first whose title contains the query."""
    if not query:
        return None, None
    known = next((s for s in services.kb.sections if s.id == query), None)
    if known is not None:
        return known.id, known.title
    matches = await svc.search_sections(query, limit=1)
    return (matches[0].section_id, matches[0].title) if matches else (None, None)


async def report_lines(services: SlackServices, days: int) -> list[str]:
    """The learning lines of `/endy-admin report`."""
    r = await services.learning.report(days)
    line = texts.REPORT_LEARNING.format(closed=r.gaps_closed, open=r.gaps_open, answered=r.answered_by_learned)
    if r.median_hours_to_close is not None:
        hours = r.median_hours_to_close
        shown = f"{round(hours * 60)}분" if hours < 1 else f"{hours:.1f}시간" if hours < 48 else f"{hours / 24:.1f}일"
        line += texts.REPORT_TIME_TO_CLOSE.format(hours=shown)
    return ["", line]


async def on_gap_action(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    respond: AsyncRespond,
) -> Status | None:
    """A gap's button: open its teaching modal, or (무시) take it off the list."""
    await ack()
    name = next((a for a, action_id in lb.GAP_ACTIONS.items() if action_id == action.get("action_id")), "")
    gap_id = values.read_gap(services.keys, name, action.get("value"))
    refused = await _admin_only(client, services, body, respond, gap_id is not None)
    if refused is not None or gap_id is None:
        return refused
    svc = services.learning
    if name == "ignore":
        return await _ignore(client, services, body, respond, svc, gap_id)
    # The trigger expires 3 s after the press: the modal opens at once and is filled in when ready.
    title = learning_modals.TITLES[MODAL_OF[name]]
    opened = await client.views_open(
        trigger_id=str(body.get("trigger_id") or ""), view=lb.result_view(title, [texts.LEARN_LOADING])
    )
    try:
        view = await learning_modals.modal_for(name, await svc.gap(gap_id), svc, services)
    except LearningRefused as err:
        view = lb.result_view(title, [lb.refusal_text(err)])
    await client.views_update(view_id=str(opened["view"]["id"]), view=view)
    return Status.OK


async def _ignore(
    client: AsyncWebClient,
    services: SlackServices,
    body: dict[str, Any],
    respond: AsyncRespond,
    svc: LearningService,
    gap_id: str,
) -> Status | None:
    """무시: the group leaves the list (the App Home is published again when pressed there)."""
    try:
        gap = await svc.gap(gap_id)
        await svc.ignore_gap(gap_id, actor_of(body))
    except LearningRefused as err:
        await note(client, body, respond, lb.refusal_text(err))
        return None
    await note(client, body, respond, texts.LEARN_IGNORED.format(example=lb.plain_quote(gap.example)))
    await home.refresh_if_home(client, services, body)
    return Status.OK


async def on_search(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, services: SlackServices
) -> None:
    """The section modal's title search (Enter): the modal again, with the matches to pick from."""
    await ack()
    view = body.get("view") or {}
    meta = values.read_modal_meta(services.keys, "section", view.get("private_metadata"))
    actor = actor_of(body)
    svc = services.learning
    if meta is None or not await services.admin.is_admin(actor.team_id, actor.user_id):
        logger.bind(forged=meta is None).warning("learning search refused")
        return
    query = " ".join(str(action.get("value") or "").split())[:100]
    try:
        gap = await svc.gap(meta.gap_id)
    except LearningRefused:
        return
    matches = await svc.search_sections(query, limit=20) if query else []
    updated = lb.section_modal(gap, services.keys, matches, query)
    await client.views_update(view_id=str(view.get("id") or ""), hash=view.get("hash"), view=updated)


async def on_remove(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    respond: AsyncRespond,
) -> Status | None:
    """Remove one learned entry (`/endy-admin learned`)."""
    await ack()
    entry = values.read_entry(services.keys, action.get("value"))
    signed = entry is not None and entry.kind in LearnedKind.__members__.values()
    refused = await _admin_only(client, services, body, respond, signed)
    if refused is not None or entry is None:
        return refused
    try:
        removed = await services.learning.remove_learned(LearnedKind(entry.kind), entry.entry_id, actor_of(body))
    except LearningRefused as err:
        await note(client, body, respond, lb.refusal_text(err))
        return None
    await note(client, body, respond, texts.LEARNED_REMOVED.format(text=lb.plain_quote(removed.text)))
    return Status.OK


async def on_notify(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    respond: AsyncRespond,
) -> Status | None:
    """The asker opts in: a DM once their question is answered (nobody else may opt them in)."""
    await ack()
    value = values.read_notify(services.keys, action.get("value"))
    actor = actor_of(body)

    async def may() -> bool:
        return value is not None and actor.user_id == value.owner

    refused = await guard(
        client, services.metrics, body, respond, doors.NOTIFY.endpoint, value is not None, may, "not_asker"
    )
    if refused is not None or value is None:
        return refused
    fresh = await services.learning.subscribe(value.question, actor.team_id, actor.user_id)
    await tell(client, body, respond, texts.NOTIFY_SUBSCRIBED if fresh else texts.NOTIFY_ALREADY)
    return Status.OK


def count_vote(
    tasks: Spawner,
    client: AsyncWebClient,
    services: SlackServices,
    actor: Voter,
    request_id: str,
    rating: int,
    reasons: tuple[str, ...] = (),
) -> None:
    """After a 👍/👎 button vote is queued: votes teach (in the background, through the feedback service)."""
    tasks.spawn(_count_vote(client, services, actor, request_id, rating, reasons), context={"endpoint": "feedback"})


async def _count_vote(
    client: AsyncWebClient,
    services: SlackServices,
    actor: Voter,
    request_id: str,
    rating: int,
    reasons: tuple[str, ...],
) -> None:
    await _taught(client, services, await services.feedback.teach(actor, request_id, rating, reasons))


async def count_reaction(
    client: AsyncWebClient, services: SlackServices, actor: Voter, channel: str | None, ts: str | None, rating: int
) -> None:
    """After a thumbs reaction is queued: it teaches like a button vote (the answer found by its message)."""
    await _taught(client, services, await services.feedback.teach_reaction(actor, channel, ts, rating))


async def _taught(client: AsyncWebClient, services: SlackServices, taught: Taught | None) -> None:
    if taught is not None and taught.added:  # a phrasing learned from votes may answer someone who opted in
        await learning_modals.send_notifications(client, services, services.learning)


def register(app: AsyncApp) -> None:
    """Listen to the gap buttons, the section search, remove buttons, the opt-in and the teaching modals."""
    for action_id in lb.GAP_ACTIONS.values():
        app.action(action_id)(counted(doors.LEARNING, on_gap_action))
    app.action(lb.ACTION_SEARCH)(on_search)
    app.action(lb.ACTION_REMOVE)(counted(doors.LEARNING, on_remove))
    app.action(blocks.ACTION_NOTIFY)(counted(doors.NOTIFY, on_notify))
    learning_modals.register(app)
