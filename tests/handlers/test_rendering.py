"""What a Slack user sees of an answer: rendered mrkdwn, long answers cut with a way to read on, whole tables."""

from __future__ import annotations

import re

import pytest

from handlers import texts
from handlers.blocks import SECTION_LIMIT, answer_blocks
from handlers.reply import PREVIEW_CHARS, answer_body
from handlers.stream_safety import StreamSanitizer
from services.answer_types import Answer, AnswerKind, Source

WIKI = "https://wiki.example.com/guide/welfare"
LINKS = frozenset({WIKI})
SLACK_TOKEN = re.compile(r"<([^<>]*)>")


def answer(text: str, link: str | None = WIKI, *, llm_failed: bool = False) -> Answer:
    """An extractive answer citing one section."""
    sources = [Source("복지포인트", link, "welfare.md", "s1")]
    return Answer(AnswerKind.ANSWER, text, "질문", sources=sources, llm_failed=llm_failed)


def test_answer_body_is_mrkdwn_not_raw_markdown() -> None:
    md = "#### 복지포인트\n**연 200만 원**을 드려요.\n\n---\n\n| 항목 | 금액 |\n|---|---|\n| 포인트 | 200만 원 |"
    body = answer_body(answer(md), LINKS)
    assert "####" not in body and "**" not in body and "---" not in body.split("\n") and "|---|" not in body
    assert body.startswith("*복지포인트*\n*연 200만 원*") and "```\n항목   | 금액" in body


def test_answer_body_keeps_only_knowledge_base_links_and_pings_nothing() -> None:
    md = f"[안내]({WIKI}) [피싱](https://evil.example) <!channel> <@U1> https://evil.example/x"
    body = answer_body(answer(md), LINKS)
    assert [t.split("|")[0] for t in SLACK_TOKEN.findall(body)] == [WIKI]
    assert "&lt;!channel&gt; &lt;@U1&gt;" in body and "evil" not in body


LONG = "\n".join(f"- {i}번째 안내 문장이에요. 복지포인트는 이렇게 써요." for i in range(80))


@pytest.mark.parametrize(
    ("link", "more"),
    [(WIKI, f"<{WIKI}|{texts.READ_MORE}>"), (None, texts.READ_MORE_IN_SOURCE)],
    ids=["linked-source", "source-without-link"],
)
def test_long_answer_is_cut_at_a_line_end_with_a_way_to_read_on(link: str | None, more: str) -> None:
    body = answer_body(answer(LONG, link), LINKS)
    head, last = body.rsplit("\n", 1)
    assert last == more and len(head) <= PREVIEW_CHARS
    assert head.endswith("써요."), "cut after a whole line"
    assert len(answer_blocks(answer(LONG, link), body)[0]["text"]["text"]) <= SECTION_LIMIT


def test_short_answer_is_not_cut_and_fallback_note_follows() -> None:
    body = answer_body(answer("짧은 답이에요.", llm_failed=True), LINKS)
    assert body == f"짧은 답이에요.\n_{texts.LLM_FALLBACK_NOTE}_"


def test_not_found_reply_unchanged() -> None:
    missing = Answer(AnswerKind.NOT_FOUND, "", "질문")
    assert answer_body(missing, LINKS) == texts.not_found(None)


def feed_all(chunks: list[str]) -> list[str]:
    """What the streamed path appends, chunk by chunk, ending with the flush."""
    sanitizer = StreamSanitizer(LINKS)
    out = [sanitizer.feed(c) for c in chunks]
    return [piece for piece in [*out, sanitizer.flush()] if piece]


TABLE_STREAM = ["표예요:\n| 항", "목 | 금액 |\n|---|", "---|\n| 포인트 | 200", "만 원 |\n", "\n다음 ", "문단이에요."]


def test_stream_holds_a_table_until_it_ends() -> None:
    pieces = feed_all(TABLE_STREAM)
    table = "| 항목 | 금액 |\n|---|---|\n| 포인트 | 200만 원 |\n"
    assert "".join(pieces) == "표예요:\n" + table + "\n다음 문단이에요."
    assert any(p.startswith(table) or table in p for p in pieces), "the table arrives in one piece"
    assert all(p.count("|") in (0, table.count("|")) for p in pieces), "no piece carries part of the table"


@pytest.mark.parametrize("chunks", [["위\n-", "--\n아래"], ["위\n* *", " *\n아래"]], ids=["dashes", "spaced-stars"])
def test_stream_sends_a_rule_whole(chunks: list[str]) -> None:
    pieces = feed_all(chunks)
    rule = "".join(chunks).split("\n")[1]
    assert any(rule in p for p in pieces) and all(p.strip("\n") != rule[:2] for p in pieces)


def test_stream_still_escapes_and_drops_foreign_links() -> None:
    out = "".join(feed_all(["<!chan", "nel> | a | b |\n", "자세한 건 https://evil.exam", "ple/x 참고"]))
    assert "&lt;!channel&gt;" in out and "evil" not in out and texts.OTHER_LINKS_REMOVED in out
