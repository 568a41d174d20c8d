"""Pure Block Kit builders: answers, help, feedback modal, App Home. No I/O here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from handlers import texts
from services.answer_types import Answer, AnswerKind, Source
from services.knowledge import Category, Department
from services.slack_safety import escape, link

Block = dict[str, Any]
SECTION_LIMIT = 2900  # Slack allows 3,000 characters per section text; keep a margin for escaping
ACTION_FEEDBACK = "feedback"
ACTION_ESCALATE = "escalate"
ACTION_SHARE = "share_answer"
ACTION_ASK_RELATED = "ask_related"
VIEW_FEEDBACK = "feedback_modal"


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


def sources_block(sources: Sequence[Source]) -> Block | None:
    """One context line citing the sources, linked when the knowledge base gives a link."""
    if not sources:
        return None
    items = [link(s.link, s.title) if s.link else escape(s.title) for s in sources]
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"📄 {texts.SOURCES_LABEL}: " + " · ".join(items)}],
    }


def feedback_block(request_id: str) -> Block:
    """👍/👎 feedback buttons in a context_actions block."""
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "👍"},
                    "value": f"up|{request_id}",
                    "accessibility_label": texts.FEEDBACK_POSITIVE,
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "👎"},
                    "value": f"down|{request_id}",
                    "accessibility_label": texts.FEEDBACK_NEGATIVE,
                },
            }
        ],
    }


def escalation_value(answer: Answer, department: Department) -> str:
    """What the escalation button carries: request id, department and the (masked) question."""
    return json.dumps(
        {"r": str(answer.request_id), "d": department.key, "q": answer.question[:1500]}, ensure_ascii=False
    )


def answer_blocks(answer: Answer, body: str, *, shareable: bool = False) -> list[Block]:
    """The finished answer: text (already made safe), sources, related questions, actions, feedback."""
    blocks: list[Block] = [_mrkdwn(piece) for piece in split_text(body)] if body else []
    cited = sources_block(answer.sources if answer.kind is AnswerKind.ANSWER else answer.suggestions)
    if cited:
        blocks.append(cited)
    if answer.related_questions:
        blocks.append(
            {
                "type": "actions",
                "elements": [_button(f"💬 {q}", ACTION_ASK_RELATED, q) for q in answer.related_questions[:3]],
            }
        )
    buttons = []
    if answer.department is not None and answer.kind is AnswerKind.NOT_FOUND:
        buttons.append(_button(texts.ESCALATE_BUTTON, ACTION_ESCALATE, escalation_value(answer, answer.department)))
    if shareable:
        buttons.append(_button(texts.SHARE_BUTTON, ACTION_SHARE, str(answer.request_id)))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    blocks.append(feedback_block(str(answer.request_id)))
    return blocks[:50]


def help_blocks(categories: Sequence[Category]) -> list[Block]:
    """How to use Endy, categories and example questions."""
    return [_mrkdwn(escape(texts.help_text(categories))), _mrkdwn(texts.HOME_HOW_TO)]


def notice_blocks(text: str) -> list[Block]:
    """A short message (limits, errors) as one section."""
    return [_mrkdwn(escape(text))]


def feedback_modal(request_id: str, channel_id: str | None, message_ts: str | None) -> Block:
    """The 👎 modal: reasons and an optional comment."""
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": key} for key, label in texts.FEEDBACK_REASONS.items()
    ]
    meta = json.dumps({"r": request_id, "c": channel_id, "t": message_ts})
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
    """Up to four suggested prompts (title = category, message = its first example)."""
    return [{"title": c.name[:75], "message": c.examples[0]} for c in categories if c.examples][:4]


def home_view(categories: Sequence[Category], extra: Sequence[Block] = ()) -> Block:
    """The App Home tab: how to use Endy, categories with examples (plus an admin dashboard when given)."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_TITLE}},
        _mrkdwn(texts.HOME_HOW_TO),
        {"type": "divider"},
    ]
    for cat in categories:
        examples = "\n".join(f"• {escape(e)}" for e in cat.examples[:3])
        blocks.append(_mrkdwn(f"*{escape(cat.emoji + ' ' if cat.emoji else '')}{escape(cat.name)}*\n{examples}"))
    return {"type": "home", "blocks": [*blocks, *extra][:100]}
