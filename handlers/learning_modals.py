"""The teaching modals (issue 16): opening them, and their submissions.

A submission is checked (signed metadata, admin role, the service's validation) before it is acked, so a refusal is
shown on its field (`response_action: errors`) and nothing is saved; once saved the modal turns into a result view,
and after the index is rebuilt it shows "이제 이렇게 답해요: …" for the group's question. Askers who opted in are
sent their DM once (the service hands each notification out exactly once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import doors, texts
from handlers import learning_blocks as lb
from handlers import learning_values as values
from handlers.context import SlackServices, Spawner
from handlers.doors import Status, counted
from handlers.reply import answer_body
from services.answer_types import AnswerKind
from services.errors import PermissionDenied
from services.learning import Actor, FaqDraft, GapGroup, LearningRefused, LearningService, Refusal, Taught
from services.learning_types import MAX_FAQ_QUESTION_CHARS
from services.output_policy import policy_for

TITLES = {"section": texts.LEARN_SECTION_TITLE, "faq": texts.LEARN_FAQ_TITLE, "synonym": texts.LEARN_SYNONYM_TITLE}
FIRST_BLOCK = {"section": "search", "faq": "question", "synonym": "own_word"}


async def modal_for(name: str, gap: GapGroup, svc: LearningService, services: SlackServices) -> dict[str, Any]:
    """The modal a gap button opens (teach: sections; faq: the FAQ form; synonym: the proposed pairs)."""
    if name == "teach":
        return lb.section_modal(gap, services.keys)
    if name == "faq":
        return lb.faq_modal(gap, services.keys, services.kb)
    return lb.synonym_modal(gap, await svc.propose_synonyms(gap.gap_id), services.keys)


@dataclass(frozen=True, slots=True)
class Submission:
    """A submission that passed the checks every kind shares."""

    svc: LearningService
    gap: GapGroup
    actor: Actor
    meta: values.ModalMeta
    state: Mapping[str, Any]
    view_id: str
    blocks: frozenset[str]

    def where(self, block: str) -> str:
        """The block an error goes on: `block` when the modal has it (Slack refuses an error on a missing one)."""
        return block if block in self.blocks else FIRST_BLOCK[self.meta.kind]


def field(state: Mapping[str, Any], block: str, action: str = "value") -> str:
    """A text field's value (or a select's chosen value), '' when empty."""
    holder = state.get(block)
    element = holder.get(action) if isinstance(holder, dict) else None
    if not isinstance(element, dict):
        return ""
    chosen = element.get("selected_option")
    raw = chosen.get("value") if isinstance(chosen, dict) else element.get("value")
    return str(raw or "").strip()


async def _refuse(ack: AsyncAck, services: SlackServices, kind: str, block: str, text: str, reason: str) -> Status:
    """Ack with the error on its field (nothing saved); the submission is counted as invalid at its door."""
    services.metrics.errors.labels(type=f"learning_{reason}").inc()
    logger.bind(kind=kind, reason=reason).info("learning submission refused")
    await ack(response_action="errors", errors={block: text})
    return Status.INVALID


async def _checked(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: SlackServices, kind: str
) -> Submission | None:
    """Signed metadata, an admin (checked now), the service, and the gap still known; else the error is acked."""
    block = FIRST_BLOCK[kind]
    meta = values.read_modal_meta(services.keys, kind, view.get("private_metadata"))
    user = body.get("user") or {}
    actor = Actor(str((body.get("team") or {}).get("id") or user.get("team_id") or ""), str(user.get("id") or ""))
    if meta is None:
        await _refuse(ack, services, kind, block, texts.BUTTON_REFUSED, "forged")
        return None
    if not await services.admin.is_admin(actor.team_id, actor.user_id):
        await _refuse(ack, services, kind, block, texts.LEARN_DENIED, "denied")
        return None
    try:
        gap = await services.learning.gap(meta.gap_id)
    except LearningRefused as err:
        await _refuse(ack, services, kind, block, lb.refusal_text(err), err.reason)
        return None
    state = (view.get("state") or {}).get("values") or {}
    present = frozenset(str(b.get("block_id")) for b in view.get("blocks") or [] if isinstance(b, dict))
    return Submission(
        services.learning,
        gap,
        actor,
        meta,
        state if isinstance(state, dict) else {},
        str(view.get("id") or ""),
        present,
    )


@dataclass(frozen=True, slots=True)
class Refused:
    """A submission refused before anything is saved: the field, the Korean text, the metric's reason."""

    block: str
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A parsed submission: how to save it, and which field a refusal by the service goes on."""

    save: Callable[[], Awaitable[Taught]]
    block_of: Callable[[LearningRefused], str]  # the field (before `Submission.where`) a refusal is about
    denied_block: str  # the field the "admins only" error goes on


Parse = Callable[[Submission, SlackServices], Draft | Refused]


async def _submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
    kind: str,
    parse: Parse,
) -> Status:
    """What every teaching modal does: check (signed, admin, gap known), parse, save, then show the preview.
    Any refusal is acked on its field and nothing is saved."""
    sub = await _checked(ack, body, view, services, kind)
    if sub is None:
        return Status.INVALID
    draft = parse(sub, services)
    if isinstance(draft, Refused):
        return await _refuse(ack, services, kind, sub.where(draft.block), draft.text, draft.reason)
    try:
        taught = await draft.save()
    except LearningRefused as err:
        return await _refuse(ack, services, kind, sub.where(draft.block_of(err)), lb.refusal_text(err), err.reason)
    except PermissionDenied:
        return await _refuse(ack, services, kind, draft.denied_block, texts.LEARN_DENIED, "denied")
    return await _saved(ack, client, services, tasks, sub, kind, taught)


def _section_draft(sub: Submission, services: SlackServices) -> Draft | Refused:
    """The chosen section (from the title search when used, else from the candidates)."""
    block = "matches" if field(sub.state, "matches") else "candidates"
    section_id = field(sub.state, block)
    if not section_id:
        return Refused("search", texts.LEARN_SECTION_NONE, "no_section")
    return Draft(
        lambda: sub.svc.teach_section(sub.gap.gap_id, section_id, sub.actor, rebuild=False),
        lambda _err: block,
        sub.where(block),
    )


async def on_section_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
) -> Status:
    """이 문서가 답이에요: the group's questions become phrasings of the chosen section."""
    return await _submit(ack, body, view, client, services, tasks, "section", _section_draft)


def _faq_block(err: LearningRefused, draft: FaqDraft) -> str:
    """The FAQ modal field a refusal is about."""
    if err.reason is Refusal.BAD_LINK:
        return "link"
    if err.reason is Refusal.EMPTY:
        return "question" if not draft.question else "answer"
    if err.reason is Refusal.TOO_LONG:
        return "question" if len(draft.question) > MAX_FAQ_QUESTION_CHARS else "answer"
    return "question"


def _faq_draft(sub: Submission, services: SlackServices) -> Draft | Refused:
    """The entry's fields; a category or team must be one the knowledge base has."""
    category, department = field(sub.state, "category") or None, field(sub.state, "department") or None
    if category is not None and category not in {c.id for c in services.kb.categories}:
        return Refused("category", texts.LEARN_BAD_CHOICE, "bad_choice")
    if department is not None and department not in services.kb.departments:
        return Refused("department", texts.LEARN_BAD_CHOICE, "bad_choice")
    draft = FaqDraft(
        field(sub.state, "question"), field(sub.state, "answer"), category, department, field(sub.state, "link") or None
    )
    return Draft(
        lambda: sub.svc.add_faq(draft, sub.actor, gap_id=sub.gap.gap_id, rebuild=False),
        lambda err: _faq_block(err, draft),
        "question",
    )


async def on_faq_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
) -> Status:
    """답변 작성: a curated FAQ entry for the group (its question, answer, category, team and link)."""
    return await _submit(ack, body, view, client, services, tasks, "faq", _faq_draft)


def _pairs(sub: Submission) -> tuple[list[tuple[str, str, str]], str | None]:
    """The accepted (word, knowledge word, field) triples, or the field of a half-filled own pair."""
    holder = sub.state.get("accept")
    accept = holder.get("value") if isinstance(holder, dict) else None
    options = accept.get("selected_options") if isinstance(accept, dict) else None
    chosen = {str(o.get("value")) for o in options if isinstance(o, dict)} if isinstance(options, list) else set()
    pairs = [
        (word, field(sub.state, f"syn_{i}"), f"syn_{i}") for i, word in enumerate(sub.meta.items) if str(i) in chosen
    ]
    own_word, own_target = field(sub.state, "own_word"), field(sub.state, "own_target")
    if bool(own_word) != bool(own_target):
        return pairs, "own_target" if own_word else "own_word"
    if own_word:
        pairs.append((own_word, own_target, "own_word"))
    return pairs, None


def _pair_block(err: LearningRefused, pairs: list[tuple[str, str, str]]) -> str:
    """The field of the pair a refusal names (its word or knowledge word is the refusal's detail)."""
    for word, target, block in pairs:
        if err.detail in (word, target):
            return "own_target" if block == "own_word" and err.detail == target != word else block
    return pairs[0][2]


def _synonym_draft(sub: Submission, services: SlackServices) -> Draft | Refused:
    """Every accepted (or edited) pair, and the admin's own pair when both of its fields are filled."""
    pairs, half = _pairs(sub)
    if half is not None or not pairs:
        where = half or ("accept" if sub.meta.items else "own_word")
        return Refused(where, texts.LEARN_SYNONYM_OWN_MISSING if half else texts.LEARN_SYNONYM_NOTHING, "no_pair")
    return Draft(
        lambda: sub.svc.accept_synonyms([(w, t) for w, t, _ in pairs], sub.actor, gap_id=sub.gap.gap_id, rebuild=False),
        lambda err: _pair_block(err, pairs),
        pairs[0][2],
    )


async def on_synonym_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
) -> Status:
    """동의어 추가: every accepted (or edited) pair, all or nothing."""
    return await _submit(ack, body, view, client, services, tasks, "synonym", _synonym_draft)


async def _saved(
    ack: AsyncAck,
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
    sub: Submission,
    kind: str,
    taught: Taught,
) -> Status:
    """Ack with the result view at once; rebuild, preview and notify after the ack."""
    logger.bind(kind=kind, added=taught.added).info("learned in Slack")
    await ack(response_action="update", view=lb.result_view(TITLES[kind], [texts.LEARN_SAVING]))
    tasks.spawn(
        _finish(client, services, sub, kind, taught), context={"user": sub.actor.user_id, "endpoint": "learning"}
    )
    return Status.OK


async def _finish(client: AsyncWebClient, services: SlackServices, sub: Submission, kind: str, taught: Taught) -> None:
    """The index rebuilt everywhere, then the preview in the modal and the DMs owed to askers."""
    if taught.added:
        await sub.svc.changed()
    answer = await sub.svc.preview(sub.gap.example)
    policy = policy_for(services.answers.kb_links)
    done = texts.LEARN_SAVED[taught.kind].format(added=taught.added) if taught.added else texts.LEARN_ALREADY
    lines = [done, texts.LEARN_SKIPPED.format(count=len(taught.skipped)) if taught.skipped else ""]
    preview = lb.preview_blocks(sub.gap.example, answer, answer_body(answer, policy), policy)
    try:
        await client.views_update(view_id=sub.view_id, view=lb.result_view(TITLES[kind], lines, preview))
    except SlackApiError as err:  # the admin closed the modal: the change is saved all the same
        logger.bind(error=err.response.get("error")).info("learning result view not updated")
    await send_notifications(client, services, sub.svc)


async def send_notifications(client: AsyncWebClient, services: SlackServices, svc: LearningService) -> int:
    """DM each asker whose opted-in question now has an answer (claimed once across replicas); how many were sent."""
    sent = 0
    for n in [*await svc.claim_notifications(), *await svc.answered_notifications()]:
        answer = await svc.preview(n.question)
        if answer.kind is AnswerKind.NOT_FOUND:
            logger.bind(gap=n.gap_id).info("notification skipped: still not answered")
            continue
        policy = policy_for(services.answers.kb_links)
        rendered = lb.notify_blocks(n.question, answer, answer_body(answer, policy), policy)
        try:
            dm = await client.conversations_open(users=n.user_id)
            await client.chat_postMessage(channel=dm["channel"]["id"], text=texts.NOTIFY_DM_TEXT, blocks=rendered)
            sent += 1
        except SlackApiError as err:
            logger.bind(error=err.response.get("error"), gap=n.gap_id).warning("answer notification not delivered")
    return sent


def register(app: AsyncApp) -> None:
    """Listen to the three teaching modals' submissions."""
    app.view(lb.VIEW_SECTION)(counted(doors.LEARN_SECTION, on_section_submit))
    app.view(lb.VIEW_FAQ)(counted(doors.LEARN_FAQ, on_faq_submit))
    app.view(lb.VIEW_SYNONYM)(counted(doors.LEARN_SYNONYM, on_synonym_submit))
