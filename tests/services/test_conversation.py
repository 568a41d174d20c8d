"""A thread's turns rebuilt from its Slack messages (when PostgreSQL has none): table-driven, near-misses included."""

from __future__ import annotations

from typing import Any

import pytest

from services.answer_types import Turn
from services.conversation import HISTORY_TURNS, turns_from_messages

BOT = "UENDY"


def person(text: str) -> dict[str, Any]:
    return {"user": "U1", "text": text}


def endy(text: str) -> dict[str, Any]:
    return {"user": BOT, "text": text}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param(
            [person("연차?"), endy("신청은 HR 포털에서")], [Turn("연차?", "신청은 HR 포털에서")], id="one-turn"
        ),
        pytest.param([person("a"), person("b"), endy("B")], [Turn("b", "B")], id="the-last-question-counts"),
        pytest.param([endy("안녕하세요"), person("a"), endy("A")], [Turn("a", "A")], id="a-greeting-is-no-turn"),
        pytest.param([person("a"), endy("A"), endy("A2")], [Turn("a", "A")], id="one-answer-per-question"),
        pytest.param([person("a"), {"bot_id": "B1", "text": "A"}], [Turn("a", "A")], id="bot-id-is-endy"),
        pytest.param([person("a"), endy("A"), person("b")], [Turn("a", "A")], id="unanswered-question-left-out"),
        pytest.param([person("a"), person("b")], None, id="not-endys-thread"),
        pytest.param([], None, id="no-messages"),
    ],
)
def test_turns_from_messages(messages: list[dict[str, Any]], expected: list[Turn] | None) -> None:
    assert turns_from_messages(messages, BOT) == expected


def test_only_the_latest_turns_are_kept() -> None:
    messages = [m for n in range(HISTORY_TURNS + 3) for m in (person(f"q{n}"), endy(f"a{n}"))]
    turns = turns_from_messages(messages, BOT)
    assert turns is not None
    assert len(turns) == HISTORY_TURNS
    assert turns[-1] == Turn(f"q{HISTORY_TURNS + 2}", f"a{HISTORY_TURNS + 2}")
