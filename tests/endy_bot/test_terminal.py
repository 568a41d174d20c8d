"""Answers in the terminal: Markdown shown as plain, aligned text, block by block as it streams."""

from __future__ import annotations

from collections.abc import AsyncIterator

from endy_bot.terminal import PlainStream, answer_text, write_answer
from services.answer_types import Answer, AnswerKind

WIKI = "https://wiki.example.com/guide/welfare"
MD = (
    "## 복지포인트\n**연 200만 원**이에요.\n\n| 항목 | 금액 |\n|---|---|\n| 포인트 | 200만 원 |\n\n[안내](" + WIKI + ")"
)
SHOWN = "복지포인트\n연 200만 원이에요.\n\n항목   | 금액\n-------+---------\n포인트 | 200만 원\n\n안내 (" + WIKI + ")"


def test_answer_text_is_plain() -> None:
    assert answer_text(Answer(AnswerKind.ANSWER, MD, "q"), frozenset({WIKI})) == SHOWN


def test_plain_stream_emits_finished_blocks_only() -> None:
    plain = PlainStream(frozenset({WIKI}))
    assert plain.feed("## 복지포인트\n**연 200만") == ""
    assert plain.feed(" 원**이에요.\n\n| 항목 | 금액 |\n") == "복지포인트\n연 200만 원이에요.\n\n"
    assert (
        plain.feed("|---|---|\n| 포인트 | 200만 원 |\n\n[안내](" + WIKI + ")")
        == "항목   | 금액\n-------+---------\n포인트 | 200만 원\n\n"
    )
    assert plain.flush() == f"안내 ({WIKI})\n"


def test_plain_stream_keeps_a_code_block_with_blank_lines_together() -> None:
    plain = PlainStream()
    assert plain.feed("```\n첫 줄\n\n둘째 줄\n") == ""
    assert plain.feed("```\n\n끝") == "    첫 줄\n    \n    둘째 줄\n\n"


async def test_write_answer_writes_the_whole_answer_in_order() -> None:
    async def chunks() -> AsyncIterator[str]:
        for piece in (MD[:20], MD[20:60], MD[60:]):
            yield piece

    written: list[str] = []
    await write_answer(chunks(), written.append, frozenset({WIKI}))
    assert "".join(written) == SHOWN + "\n"
