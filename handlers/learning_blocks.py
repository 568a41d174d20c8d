"""Pure Block Kit builders of the learning surfaces (issue 16): the gap list, the three teaching modals, the result
view with its "이제 이렇게 답해요" preview, and the learned-knowledge review. No I/O here.

Text Endy did not write (masked questions, section titles, proposed words) goes through the output policy: in
mrkdwn escaped and unlinked, in plain_text fields made inert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers import learning_values as values
from handlers import texts
from handlers.blocks import Block, sources_block, split_text
from services.answer_types import Answer, AnswerKind
from services.kb_model import KnowledgeBase
from services.learning_types import (
    MAX_FAQ_ANSWER_CHARS,
    MAX_FAQ_QUESTION_CHARS,
    MAX_SYNONYM_CHARS,
    GapGroup,
    LearnedEntry,
    LearningRefused,
    SectionChoice,
    SynonymProposal,
)
from services.output_policy import WITHOUT_LINKS, OutputPolicy
from services.signing import Keyring

ACTION_TEACH = "learn_teach"
ACTION_FAQ = "learn_faq"
ACTION_SYNONYM = "learn_synonym"
ACTION_IGNORE = "learn_ignore"
ACTION_REMOVE = "learn_remove"
ACTION_SEARCH = "learn_search"
GAP_ACTIONS = {"teach": ACTION_TEACH, "faq": ACTION_FAQ, "synonym": ACTION_SYNONYM, "ignore": ACTION_IGNORE}
VIEW_SECTION = "learn_section_modal"
VIEW_FAQ = "learn_faq_modal"
VIEW_SYNONYM = "learn_synonym_modal"
VIEW_RESULT = "learn_result"
MAX_PROPOSALS = 8
OPTION_VALUE_CHARS = 150  # Slack's limit for an option value


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    shown = WITHOUT_LINKS.plain(text.replace(" > ", " › "))  # a heading path reads better than with "＞"
    return {"type": "plain_text", "text": shown[:limit] or " ", "emoji": True}


def plain_quote(text: str, limit: int = 80) -> str:
    """Foreign text (a masked question, an entry) for a mrkdwn field: one line, cut, escaped and unlinked."""
    return _quote(text, limit)


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return WITHOUT_LINKS.text(text if len(text) <= limit else text[:limit] + "…")


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": _plain(label), "action_id": action_id, "value": value}
    return button | ({"style": style} if style else {})


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}


def _input(block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label, 2000),
        "element": element,
    }
    return block | ({"hint": _plain(hint, 2000)} if hint else {})


def _text_input(initial: str | None = None, *, multiline: bool = False, max_length: int | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    return element | ({"max_length": max_length} if max_length else {})


def _modal(callback_id: str, title: str, meta: str, blocks: list[Block], *, submit: bool = True) -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": meta,
        "title": _plain(title, 24),
        "close": _plain(texts.LEARN_MODAL_DONE if not submit else texts.LEARN_MODAL_CANCEL),
        "blocks": blocks[:100],
    }
    return view | ({"submit": _plain(texts.LEARN_MODAL_SUBMIT)} if submit else {})


def refusal_text(err: LearningRefused) -> str:
    """The Korean message for a refused learning action."""
    template = texts.LEARN_REFUSED.get(err.reason, texts.LEARN_REFUSED["gap_gone"])
    return template.format(limit=err.limit, length=err.length)


def gap_blocks(gaps: Sequence[GapGroup], keys: Keyring, kb: KnowledgeBase, *, title: str, empty: str) -> list[Block]:
    """The gap list: one section per group (masked example, counts, owning team) with its four actions."""
    blocks: list[Block] = [_mrkdwn(title)]
    if not gaps:
        return [*blocks, _mrkdwn(empty)]
    for i, gap in enumerate(gaps[:12]):
        dep = kb.department(gap.department) if gap.department else None
        detail = [
            texts.GAP_NEGATIVE.format(negative=gap.negative) if gap.negative else "",
            texts.GAP_SIMILAR.format(questions=len(gap.questions)) if len(gap.questions) > 1 else "",
            texts.GAP_OWNER.format(team=WITHOUT_LINKS.text(dep.name)) if dep is not None else "",
        ]
        line = texts.GAP_LINE.format(count=gap.count, example=_quote(gap.example))
        shown = " · ".join(d for d in detail if d)
        blocks.append(_mrkdwn(f"{line}\n{shown}" if shown else line))
        labels = {
            "teach": texts.LEARN_TEACH_BUTTON,
            "faq": texts.LEARN_FAQ_BUTTON,
            "synonym": texts.LEARN_SYNONYM_BUTTON,
            "ignore": texts.LEARN_IGNORE_BUTTON,
        }
        elements = [
            _button(
                labels[a], GAP_ACTIONS[a], values.gap_value(keys, a, gap.gap_id), "primary" if a == "teach" else None
            )
            for a in values.GAP_ACTIONS
        ]
        blocks.append({"type": "actions", "block_id": f"learn_gap_{i}", "elements": elements})
    return blocks[:50]


def _section_options(choices: Sequence[SectionChoice]) -> list[dict[str, Any]]:
    return [_option(c.title, c.section_id) for c in choices if len(c.section_id) <= OPTION_VALUE_CHARS][:10]


def section_modal(
    gap: GapGroup, keys: Keyring, matches: Sequence[SectionChoice] | None = None, query: str = ""
) -> Block:
    """이 문서가 답이에요: the top candidates as radio buttons, a title search (Enter), and its matches as a select."""
    blocks: list[Block] = [_mrkdwn(texts.LEARN_SECTION_INTRO.format(example=_quote(gap.example)))]
    candidates = _section_options(gap.candidates)
    if candidates:
        radios = {"type": "radio_buttons", "action_id": "value", "options": candidates}
        blocks.append(_input("candidates", texts.LEARN_SECTION_CANDIDATES, radios, optional=True))
    search: Block = _text_input(query or None, max_length=100)
    search["dispatch_action_config"] = {"trigger_actions_on": ["on_enter_pressed"]}
    search["action_id"] = ACTION_SEARCH
    blocks.append(_input("search", texts.LEARN_SECTION_SEARCH, search, optional=True) | {"dispatch_action": True})
    if matches is not None:
        found = [_option(c.title, c.section_id) for c in matches if len(c.section_id) <= OPTION_VALUE_CHARS][:100]
        if found:
            select = {"type": "static_select", "action_id": "value", "options": found}
            blocks.append(_input("matches", texts.LEARN_SECTION_MATCHES, select, optional=True))
        else:
            blocks.append(_mrkdwn(texts.LEARN_SECTION_NO_MATCH.format(query=_quote(query, 40))))
    meta = values.modal_meta(keys, "section", gap.gap_id)
    return _modal(VIEW_SECTION, texts.LEARN_SECTION_TITLE, meta, blocks)


def faq_modal(gap: GapGroup, keys: Keyring, kb: KnowledgeBase) -> Block:
    """답변 작성: question (the group's example), answer, category, department, link → a curated FAQ entry."""
    blocks = [
        _input(
            "question",
            texts.LEARN_FAQ_QUESTION,
            _text_input(gap.example[:MAX_FAQ_QUESTION_CHARS], max_length=MAX_FAQ_QUESTION_CHARS),
        ),
        _input("answer", texts.LEARN_FAQ_ANSWER, _text_input(multiline=True, max_length=MAX_FAQ_ANSWER_CHARS)),
    ]
    categories = [_option(c.name, c.id) for c in kb.categories if len(c.id) <= OPTION_VALUE_CHARS][:100]
    if categories:
        select: Block = {"type": "static_select", "action_id": "value", "options": categories}
        blocks.append(_input("category", texts.LEARN_FAQ_CATEGORY, select, optional=True))
    teams = [_option(d.name, k) for k, d in kb.departments.items() if len(k) <= OPTION_VALUE_CHARS][:100]
    if teams:
        select = {"type": "static_select", "action_id": "value", "options": teams}
        if gap.department in kb.departments:
            select["initial_option"] = _option(kb.departments[gap.department].name, gap.department)
        blocks.append(_input("department", texts.LEARN_FAQ_DEPARTMENT, select, optional=True))
    blocks.append(_input("link", texts.LEARN_FAQ_LINK, {"type": "url_text_input", "action_id": "value"}, optional=True))
    return _modal(VIEW_FAQ, texts.LEARN_FAQ_TITLE, values.modal_meta(keys, "faq", gap.gap_id), blocks)


def synonym_modal(gap: GapGroup, proposals: Sequence[SynonymProposal], keys: Keyring) -> Block:
    """동의어 추가: each proposed word, checked, with its best knowledge word to accept or edit; or an own pair."""
    shown = [p for p in proposals if p.candidates][:MAX_PROPOSALS]
    blocks: list[Block] = [_mrkdwn(texts.LEARN_SYNONYM_INTRO)]
    if shown:
        options = [_option(p.word, str(i)) for i, p in enumerate(shown)]
        accept = {"type": "checkboxes", "action_id": "value", "options": options, "initial_options": options}
        blocks.append(_input("accept", texts.LEARN_SYNONYM_ACCEPT, accept, optional=True))
        for i, p in enumerate(shown):
            others = ", ".join(p.candidates[1:4])
            hint = texts.LEARN_SYNONYM_OTHERS.format(candidates=others) if others else None
            field = _text_input(p.candidates[0][:MAX_SYNONYM_CHARS], max_length=MAX_SYNONYM_CHARS)
            blocks.append(_input(f"syn_{i}", texts.LEARN_SYNONYM_TARGET.format(word=p.word), field, hint=hint))
    else:
        blocks.append(_mrkdwn(texts.LEARN_SYNONYM_NONE))
    for block_id, label in (("own_word", texts.LEARN_SYNONYM_OWN_WORD), ("own_target", texts.LEARN_SYNONYM_OWN_TARGET)):
        blocks.append(_input(block_id, label, _text_input(max_length=MAX_SYNONYM_CHARS), optional=True))
    meta = values.modal_meta(keys, "synonym", gap.gap_id, tuple(p.word for p in shown))
    return _modal(VIEW_SYNONYM, texts.LEARN_SYNONYM_TITLE, meta, blocks)


def preview_blocks(question: str, answer: Answer, body: str, policy: OutputPolicy) -> list[Block]:
    """ "이제 이렇게 답해요: …": the answer Endy gives now for the question (its body already made safe)."""
    blocks: list[Block] = [_mrkdwn(texts.LEARN_PREVIEW.format(question=_quote(question)))]
    if answer.kind is AnswerKind.NOT_FOUND:
        return [*blocks, _mrkdwn(texts.LEARN_PREVIEW_NOT_FOUND)]
    blocks += [_mrkdwn(piece) for piece in split_text(body)][:20]
    cited = sources_block(answer.sources, policy)
    return [*blocks, cited] if cited else blocks


def notify_blocks(question: str, answer: Answer, body: str, policy: OutputPolicy) -> list[Block]:
    """The asker's DM: their (masked) question got an answer, and the answer as Endy gives it now."""
    blocks = [_mrkdwn(texts.NOTIFY_DM.format(question=_quote(question, 200)))]
    blocks += [_mrkdwn(piece) for piece in split_text(body)][:20]
    cited = sources_block(answer.sources, policy)
    return [*blocks, cited] if cited else blocks


def result_view(title: str, lines: Sequence[str], preview: Sequence[Block] = ()) -> Block:
    """What a teaching modal turns into once saved: what happened, then the preview (no submit button)."""
    blocks = [_mrkdwn(WITHOUT_LINKS.text(line)) for line in lines if line]
    if preview:
        blocks += [{"type": "divider"}, *preview]
    return _modal(VIEW_RESULT, title, "", blocks, submit=False)


def learned_blocks(entries: Sequence[LearnedEntry], keys: Keyring, *, section: str | None = None) -> list[Block]:
    """Learned knowledge for review, newest first, each with a remove button (signed)."""
    head = (
        texts.LEARNED_SECTION_TITLE.format(section=WITHOUT_LINKS.text(section), count=len(entries))
        if section
        else texts.LEARNED_TITLE.format(count=len(entries))
    )
    blocks: list[Block] = [_mrkdwn(head)]
    if not entries:
        return [*blocks, _mrkdwn(texts.LEARNED_EMPTY)]
    for e in entries[:45]:
        where = f" → {WITHOUT_LINKS.text(e.section_title)}" if e.section_title and not section else ""
        line = texts.LEARNED_LINE.format(
            kind=texts.LEARNED_KIND.get(e.kind, e.kind),
            text=_quote(e.text),
            where=where,
            origin=texts.LEARNED_ORIGIN.get(e.origin, e.origin),
            when=e.created_at,
        )
        remove = _button(texts.LEARN_REMOVE_BUTTON, ACTION_REMOVE, values.entry_value(keys, e.kind, e.id), "danger")
        blocks.append(_mrkdwn(line) | {"accessory": remove})
    return blocks[:50]
