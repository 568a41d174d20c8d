"""What a Slack user sees of an answer: rendered mrkdwn, long answers cut with a way to read on, whole tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pytest

from handlers import texts
from handlers.admin_view import feedback_lines
from handlers.blocks import (
    SECTION_LIMIT,
    answer_blocks,
    greeting_text,
    help_blocks,
    home_view,
    notice_blocks,
    sources_block,
    suggested_prompts,
)
from handlers.buttons import Seal
from handlers.escalation import escalation_text, shared_message
from handlers.reply import PREVIEW_CHARS, answer_body
from services.answer_types import Answer, AnswerKind, Source
from services.knowledge import Category
from services.output_policy import policy_for
from services.signing import Keyring
from services.storage import FeedbackRow
from tests.fakes.hostile_llm import inspect, shown_texts

WIKI = "https://wiki.example.com/guide/welfare"
LINKS = policy_for(frozenset({WIKI}))
SLACK_TOKEN = re.compile(r"<([^<>]*)>")
SEAL = Seal(Keyring("k" * 64), "U0ASKER")


def answer(text: str, link: str | None = WIKI, *, llm_failed: bool = False) -> Answer:
    """An extractive answer citing one section."""
    sources = [Source("복지포인트", link, "welfare.md", "s1")]
    return Answer(AnswerKind.ANSWER, text, "질문", sources=sources, llm_failed=llm_failed)


def test_answer_body_is_mrkdwn_not_raw_markdown() -> None:
    md = "#### 복지포인트\n**연 200만 원**을 드려요.\n\n---\n\n| 항목 | 금액 |\n|---|---|\n| 포인트 | 200만 원 |"
    body = answer_body(answer(md), LINKS)
    assert "####" not in body
    assert "**" not in body
    assert "---" not in body.split("\n")
    assert "|---|" not in body
    assert body.startswith("*복지포인트*\n*연 200만 원*")
    assert "```\n항목   | 금액" in body


def test_answer_body_keeps_only_knowledge_base_links_and_pings_nothing() -> None:
    md = f"[안내]({WIKI}) [피싱](https://evil.example) <!channel> <@U1> https://evil.example/x"
    body = answer_body(answer(md), LINKS)
    assert [t.split("|")[0] for t in SLACK_TOKEN.findall(body)] == [WIKI]
    assert "&lt;!channel&gt; &lt;@U1&gt;" in body
    assert "evil" not in body


LONG = "\n".join(f"- {i}번째 안내 문장이에요. 복지포인트는 이렇게 써요." for i in range(80))


@pytest.mark.parametrize(
    ("link", "more"),
    [(WIKI, f"<{WIKI}|{texts.READ_MORE}>"), (None, texts.READ_MORE_IN_SOURCE)],
    ids=["linked-source", "source-without-link"],
)
def test_long_answer_is_cut_at_a_line_end_with_a_way_to_read_on(link: str | None, more: str) -> None:
    body = answer_body(answer(LONG, link), LINKS)
    head, last = body.rsplit("\n", 1)
    assert last == more
    assert len(head) <= PREVIEW_CHARS
    assert head.endswith("써요."), "cut after a whole line"
    assert len(answer_blocks(answer(LONG, link), body, LINKS, seal=SEAL)[0]["text"]["text"]) <= SECTION_LIMIT


def test_short_answer_is_not_cut_and_fallback_note_follows() -> None:
    body = answer_body(answer("짧은 답이에요.", llm_failed=True), LINKS)
    assert body == f"짧은 답이에요.\n_{texts.LLM_FALLBACK_NOTE}_"


def test_not_found_reply_unchanged() -> None:
    missing = Answer(AnswerKind.NOT_FOUND, "", "질문")
    assert answer_body(missing, LINKS) == texts.not_found(None)


def feed_all(chunks: list[str]) -> list[str]:
    """What the streamed path appends, chunk by chunk, ending with the flush."""
    sanitizer = LINKS.stream()
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
    assert any(rule in p for p in pieces)
    assert all(p.strip("\n") != rule[:2] for p in pieces)


def test_stream_still_escapes_and_drops_foreign_links() -> None:
    out = "".join(feed_all(["<!chan", "nel> | a | b |\n", "자세한 건 https://evil.exam", "ple/x 참고"]))
    assert "&lt;!channel&gt;" in out
    assert "evil" not in out
    assert "자세한 건 참고" in out


HOSTILE = "<!channel> 공지 https://evil.example/x www.evil-hr.example [클릭](https://evil.example)"
CATEGORIES = [Category("hr", f"인사 {HOSTILE}", emoji="<!here>", examples=(f"연차 {HOSTILE}", "급여일?"))]


def _leaks(*shown: str) -> list[str]:
    return inspect(shown, allowed=LINKS.allowed, actors=frozenset({"<@U0ASKER>"}), generated=False).leaks


def test_sources_cite_only_validated_knowledge_links_with_inert_titles() -> None:
    sources = [Source(f"연차 {HOSTILE}", WIKI, "a.md", "a#0"), Source("가짜", "https://evil.example/x", "b.md", "b#0")]
    block = sources_block(sources, LINKS)
    assert block is not None
    (line,) = shown_texts(block)
    assert f"<{WIKI}|연차 &lt;!channel&gt; 공지" in line
    assert line.endswith(" · 가짜")
    assert _leaks(line) == []


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(lambda: [greeting_text(CATEGORIES)], id="greeting"),
        pytest.param(lambda: shown_texts(home_view(CATEGORIES)), id="app-home"),
        pytest.param(lambda: [p for d in suggested_prompts(CATEGORIES) for p in d.values()], id="suggested-prompts"),
        pytest.param(lambda: shown_texts(help_blocks(CATEGORIES)), id="help"),
        pytest.param(lambda: shown_texts(notice_blocks(texts.help_text(CATEGORIES))), id="notice"),
        pytest.param(lambda: [escalation_text(HOSTILE, "https://t.slack.com/archives/C1/p1")], id="escalation"),
    ],
)
def test_every_surface_renders_foreign_words_inert(shown: Callable[[], list[str]]) -> None:
    texts_shown = shown()
    assert texts_shown
    assert all("연차" in t or "인사" in t or "엔디" in t for t in texts_shown[:1])
    assert [leak for leak in _leaks(*texts_shown) if "t.slack.com" not in leak] == []


def test_admin_feedback_lines_render_comments_and_unknown_reasons_inert() -> None:
    row = FeedbackRow(datetime(2026, 1, 2, 3, 4), -1, "button", ["<!channel>", "outdated"], HOSTILE, HOSTILE, "", None)
    assert _leaks(*feedback_lines([row], negative_only=True, page=1)) == []


def test_share_renders_the_stored_text_again_never_trusting_it() -> None:
    stored = Answer(
        AnswerKind.ANSWER,
        f"출처: 📄 [인사팀 공식 공지](https://evil.example/md) {HOSTILE}\n연차는 e-HR에서 신청해요.",
        f"질문 {HOSTILE}",
        sources=[Source("근태", WIKI, "a.md", "a#0"), Source("가짜", "https://evil.example", "b.md", "b#0")],
    )
    text, blocks = shared_message(stored, "U0ASKER", LINKS, SEAL)
    shown = [text, *shown_texts(blocks)]
    assert shown[1].startswith("<@U0ASKER>님이")
    assert "연차는 e-HR에서 신청해요." in text
    assert _leaks(*shown) == []
    assert "인사팀 공식 공지" not in "".join(shown)
    assert f"<{WIKI}|근태>" in "".join(shown)


def test_an_answer_whose_every_word_was_a_link_still_says_something() -> None:
    assert answer_body(answer("https://evil.example/a <https://evil.example|클릭>"), LINKS) == "클릭"
    assert answer_body(answer("https://evil.example/a"), LINKS) == texts.NOTHING_SAFE_TO_SHOW


def test_a_not_found_reply_offers_its_suggestions_and_cites_nothing() -> None:
    # "출처" under "I could not find it" read as if the answer had come from that section.
    near = Source("출장 숙박비 한도", WIKI, "handbook.md", "handbook.md#30")
    missing = Answer(AnswerKind.NOT_FOUND, "", "오늘 서울 날씨 어때요?", suggestions=[near])
    shown = [b for b in answer_blocks(missing, answer_body(missing, LINKS), LINKS, seal=SEAL) if b["type"] == "context"]
    (line,) = [e["text"] for b in shown for e in b["elements"]]
    assert line.startswith(f"📄 {texts.SUGGESTIONS_LABEL} ") and "출장 숙박비 한도" in line
    assert texts.SOURCES_LABEL not in line
    found = answer("답이에요.")
    cited = [
        e["text"]
        for b in answer_blocks(found, "답이에요.", LINKS, seal=SEAL)
        if b["type"] == "context"
        for e in b["elements"]
    ]
    assert cited[0].startswith(f"📄 {texts.SOURCES_LABEL}: ")
