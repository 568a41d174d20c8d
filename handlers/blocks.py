"""Pure Block Kit builders: answers, help, feedback modal, App Home. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers import buttons, learning_values, texts
from handlers.buttons import Seal
from services.answer_types import Answer, AnswerKind, Source
from services.knowledge import Category, Department
from services.output_policy import WITHOUT_LINKS, OutputPolicy
from services.signing import Keyring

Block = dict[str, Any]
SECTION_LIMIT = 2900  # Slack allows 3,000 characters per section text; keep a margin for escaping
ACTION_FEEDBACK = "feedback"
ACTION_ESCALATE = "escalate"
ACTION_SHARE = "share_answer"
ACTION_ASK_RELATED = "ask_related"
VIEW_FEEDBACK = "feedback_modal"
ACTION_NOTIFY = "learn_notify"  # "답이 생기면 알려 주세요" on a not-found reply (handlers/learning.py)


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        button["style"] = style
    return button


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split long text at paragraph, then line, then hard boundaries so every piece fits a section."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


_CITED = f"{texts.SOURCES_LABEL}:"


def sources_block(sources: Sequence[Source], policy: OutputPolicy, label: str = _CITED) -> Block | None:
    """One context line citing the sources (or, with another label, offering them), linked when it is one of the
    knowledge base's validated links."""
    if not sources:
        return None
    items = [policy.link(s.link, s.title) for s in sources]
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": f"📄 {label} " + " · ".join(items)}]}


def feedback_block(request_id: str, seal: Seal) -> Block:
    """👍/👎 feedback buttons in a context_actions block (signed values)."""
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "👍"},
                    "value": buttons.vote_value(seal.keys, "up", request_id),
                    "accessibility_label": texts.FEEDBACK_POSITIVE,
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "👎"},
                    "value": buttons.vote_value(seal.keys, "down", request_id),
                    "accessibility_label": texts.FEEDBACK_NEGATIVE,
                },
            }
        ],
    }


def escalation_value(answer: Answer, department: Department, seal: Seal) -> str:
    """What the escalation button carries (signed): request id, department, the (masked) question, the asker."""
    return buttons.escalation_value(seal, answer.request_id, department.key, answer.question)


def answer_blocks(
    answer: Answer, body: str, policy: OutputPolicy, *, seal: Seal, shareable: bool = False
) -> list[Block]:
    """The finished answer: text (already made safe), sources and related questions (through `policy`), actions,
    feedback; button values are signed by `seal` for the asker."""
    blocks: list[Block] = [_mrkdwn(piece) for piece in split_text(body)] if body else []
    # A "not found" reply cites nothing: the sections it offers are suggestions, and say so.
    if answer.kind is AnswerKind.ANSWER:
        cited = sources_block(answer.sources, policy)
    else:
        cited = sources_block(answer.suggestions, policy, texts.SUGGESTIONS_LABEL)
    if cited:
        blocks.append(cited)
    if answer.related_questions:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button(policy.plain(f"💬 {q}"), ACTION_ASK_RELATED, buttons.related_value(seal.keys, q))
                    for q in answer.related_questions[:3]
                ],
            }
        )
    actions = []
    if answer.department is not None and answer.kind is AnswerKind.NOT_FOUND:
        value = escalation_value(answer, answer.department, seal)
        actions.append(_button(texts.ESCALATE_BUTTON, ACTION_ESCALATE, value))
    if answer.kind is AnswerKind.NOT_FOUND:
        notify = learning_values.notify_value(seal.keys, answer.question, seal.owner)
        actions.append(_button(texts.NOTIFY_BUTTON, ACTION_NOTIFY, notify))
    if shareable:
        actions.append(_button(texts.SHARE_BUTTON, ACTION_SHARE, buttons.share_value(seal, answer.request_id)))
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    blocks.append(feedback_block(str(answer.request_id), seal))
    return blocks[:50]


def help_blocks(categories: Sequence[Category]) -> list[Block]:
    """How to use Endy, categories and example questions."""
    return [_mrkdwn(WITHOUT_LINKS.text(texts.help_text(categories))), _mrkdwn(texts.HOME_HOW_TO)]


def notice_blocks(text: str) -> list[Block]:
    """A short message (limits, errors) as one section."""
    return [_mrkdwn(WITHOUT_LINKS.text(text))]


def feedback_modal(request_id: str, channel_id: str | None, message_ts: str | None, keys: Keyring) -> Block:
    """The 👎 modal: reasons and an optional comment (the answer and message it is for: signed metadata)."""
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": key} for key, label in texts.FEEDBACK_REASONS.items()
    ]
    meta = buttons.modal_metadata(keys, request_id, channel_id, message_ts)
    return {
        "type": "modal",
        "callback_id": VIEW_FEEDBACK,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": texts.FEEDBACK_MODAL_TITLE[:24]},
        "submit": {"type": "plain_text", "text": texts.FEEDBACK_MODAL_SUBMIT},
        "close": {"type": "plain_text", "text": texts.FEEDBACK_MODAL_CANCEL},
        "blocks": [
            {
                "type": "input",
                "block_id": "reasons",
                "optional": True,
                "label": {"type": "plain_text", "text": texts.FEEDBACK_REASONS_LABEL},
                "element": {"type": "checkboxes", "action_id": "value", "options": options},
            },
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": {"type": "plain_text", "text": texts.FEEDBACK_COMMENT_LABEL},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 1000},
            },
        ],
    }


def suggested_prompts(categories: Sequence[Category]) -> list[dict[str, str]]:
    """Up to four suggested prompts (title = category, message = its first example), as inert plain text."""
    return [
        {"title": WITHOUT_LINKS.plain(c.name)[:75], "message": WITHOUT_LINKS.plain(c.examples[0])}
        for c in categories
        if c.examples
    ][:4]


def greeting_text(categories: Sequence[Category]) -> str:
    """The one-time greeting in the messages tab, with an example question per category (as inert text)."""
    examples = [WITHOUT_LINKS.text(e) for c in categories for e in c.examples[:1]]
    return "\n".join([texts.GREETING, *(f"• {e}" for e in examples[:4])])


def home_view(categories: Sequence[Category], extra: Sequence[Block] = ()) -> Block:
    """The App Home tab: how to use Endy, categories with examples (plus an admin dashboard when given)."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_TITLE}},
        _mrkdwn(texts.HOME_HOW_TO),
        {"type": "divider"},
    ]
    for cat in categories:
        examples = "\n".join(f"• {WITHOUT_LINKS.text(e)}" for e in cat.examples[:3])
        title = WITHOUT_LINKS.text(f"{cat.emoji} {cat.name}" if cat.emoji else cat.name)
        blocks.append(_mrkdwn(f"*{title}*\n{examples}"))
    return {"type": "home", "blocks": [*blocks, *extra][:100]}
