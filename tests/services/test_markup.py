"""Answer Markdown rendered for Slack (mrkdwn) and the terminal: structure, safety, and the near-misses."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.markup import shorten, to_mrkdwn, to_plain
from services.markup_links import display_width

WIKI = "https://wiki.example.com/guide/welfare"
KOREAN_LINK = "https://wiki.example.com/복지"
ALLOWED = frozenset({WIKI, KOREAN_LINK})
ZWSP = "\u200b"
SLACK_TOKEN = re.compile(r"<([^<>]*)>")
P = pytest.param

MRKDWN = [
    P("**굵게** __밑줄__", "*굵게* *밑줄*", id="bold-both-spellings"),
    P("*기울임* _기울임_", "_기울임_ _기울임_", id="italic-both-spellings"),
    P("~~취소~~", "~취소~", id="strikethrough"),
    P("**연차**는 15일", f"*연차*{ZWSP}는 15일", id="bold-touching-korean-gets-a-boundary"),
    P("# 제목\n본문", "*제목*\n본문", id="h1-bold-line"),
    P("#### 소제목 **굵게**\n\n본문", "*소제목 굵게*\n\n본문", id="h4-bold-line-inner-bold-merged"),
    P("위\n\n---\n\n아래", "위\n\n아래", id="rule-removed"),
    P("위\n\n***\n\n아래", "위\n\n아래", id="star-rule-removed"),
    P("- 하나\n* 둘\n+ 셋", "• 하나\n• 둘\n• 셋", id="bullets"),
    P("- 바깥\n  - 안쪽", "• 바깥\n  ◦ 안쪽", id="nested-bullets"),
    P("1. 로그인\n2. 신청\n3. 승인", "1. 로그인\n2. 신청\n3. 승인", id="numbered-kept"),
    P("3. 셋\n4. 넷", "3. 셋\n4. 넷", id="numbered-keeps-start"),
    P("`e-HR > 휴가`", "`e-HR &gt; 휴가`", id="inline-code-kept-escaped"),
    P("```\nif a < b: **x**\n```", "```\nif a &lt; b: **x**\n```", id="fence-kept-escaped-not-formatted"),
    P("> 인용", "> 인용", id="blockquote"),
    P("![복지몰 화면](https://evil.example/a.png)", "복지몰 화면", id="image-becomes-alt"),
    P("[복지 안내](https://wiki.example.com/guide/welfare)", f"<{WIKI}|복지 안내>", id="allowed-link"),
    P("[복지](https://wiki.example.com/복지)", f"<{KOREAN_LINK}|복지>", id="allowed-link-korean-path"),
    P("[여기](https://evil.example/phish)를 눌러요", "여기를 눌러요", id="disallowed-link-keeps-text"),
    P("**[여기](https://evil.example)**", "*여기*", id="disallowed-link-inside-bold"),
    P("**[복지](https://wiki.example.com/guide/welfare)**", f"*<{WIKI}|복지>*", id="allowed-link-inside-bold"),
    P("<https://evil.example|클릭>", "클릭", id="slack-link-disallowed"),
    P("<https://evil.example|여기를 클릭>", "여기를 클릭", id="slack-link-with-spaces-disallowed"),
    P(f"<{WIKI}|복지 안내>", f"<{WIKI}|복지 안내>", id="slack-link-allowed"),
    P("자세한 건 https://evil.example/steal 참고", "자세한 건 참고", id="bare-disallowed-url-dropped"),
    P("<https://evil.example/x> 끝", "끝", id="angled-disallowed-url-dropped"),
    P(f"{WIKI}에서 확인", f"<{WIKI}>에서 확인", id="bare-allowed-url-before-korean"),
    P(f"({WIKI}).", f"(<{WIKI}>).", id="bare-allowed-url-in-parentheses"),
    P("링크 https://wiki.exa\u200bmple.com/guide/welfare 끝", f"링크 <{WIKI}> 끝", id="zero-width-inside-allowed-url"),
    P("htt\u200bps://evil.example/a 끝", "끝", id="zero-width-inside-scheme-still-dropped"),
    P("https://evil\u2060.example/\u202ea 끝", "끝", id="word-joiner-and-bidi-inside-url"),
    P("[복지](https://wiki.exa\u200bmple.com/guide/welfare)", f"<{WIKI}|복지>", id="zero-width-inside-link-target"),
    P("<!channel> <!here> <!everyone>", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;", id="broadcasts-inert"),
    P("<@U0CAROL> <!subteam^S0ADMINS>", "&lt;@U0CAROL&gt; &lt;!subteam^S0ADMINS&gt;", id="mentions-inert"),
    P("&lt;!channel&gt; &#60;!here&#62;", "&lt;!channel&gt; &lt;!here&gt;", id="entities-stay-escaped"),
    P("R&D팀", "R&amp;D팀", id="ampersand-escaped"),
    P("3*4 = 12, 5*6 = 30", "3*4 = 12, 5*6 = 30", id="near-miss-star-in-arithmetic"),
    P("a*b*c 와 x**y**z", f"a*b*c 와 x{ZWSP}*y*{ZWSP}z", id="lone-star-between-letters-is-a-star"),
    P("snake_case_name 과 file_name_here", "snake_case_name 과 file_name_here", id="near-miss-snake-case"),
    P("a | b | c 는 표가 아니에요", "a | b | c 는 표가 아니에요", id="near-miss-pipe-in-prose"),
    P("9시~18시, 3월~11월", "9시~18시, 3월~11월", id="near-miss-tilde-ranges"),
    P("** 공백 **", "** 공백 **", id="near-miss-spaced-stars"),
    P("", "", id="empty"),
]


@pytest.mark.parametrize(("md", "expected"), MRKDWN)
def test_to_mrkdwn(md: str, expected: str) -> None:
    assert to_mrkdwn(md, ALLOWED) == expected


PLAIN = [
    P("## 제목\n**굵게** 와 _기울임_", "제목\n굵게 와 기울임", id="markers-removed"),
    P("---\n- 항목\n\n1. 단계", "• 항목\n\n1. 단계", id="rule-bullets-steps"),
    P(f"[복지 안내]({WIKI})", f"복지 안내 ({WIKI})", id="allowed-link-with-url"),
    P("[여기](https://evil.example) https://evil.example/x 끝", "여기 끝", id="disallowed-links-text-only"),
    P("```\n코드 **x**\n```", "    코드 **x**", id="code-indented-verbatim"),
    P("<!channel> R&D", "<!channel> R&D", id="no-slack-escaping-in-a-terminal"),
    P("빨강\x1b[31m 글자\u202e", "빨강[31m 글자", id="terminal-controls-removed"),
]


@pytest.mark.parametrize(("md", "expected"), PLAIN)
def test_to_plain(md: str, expected: str) -> None:
    assert to_plain(md, ALLOWED) == expected


def test_to_plain_without_allowed_links_keeps_link_text_only() -> None:
    assert to_plain(f"[복지 안내]({WIKI}) 와 {WIKI}") == "복지 안내 와"


TABLE = "| 휴가 종류 | 일수 | 비고 |\n|---|--:|---|\n| 연차 | 15일 | **e-HR** |\n| 경조휴가 | 5 | <!channel> |"


def test_table_becomes_aligned_code_block_with_korean_counted_double() -> None:
    out = to_mrkdwn(TABLE, ALLOWED)
    assert out.startswith("```\n")
    assert out.endswith("\n```")
    lines = out.split("\n")[1:-1]
    shown = [line.replace("&lt;", "<").replace("&gt;", ">") for line in lines]
    assert shown == [
        "휴가 종류 | 일수 | 비고",
        "----------+------+-----------",
        "연차      | 15일 | e-HR",
        "경조휴가  |    5 | <!channel>",
    ]
    assert "&lt;!channel&gt;" in out, "a cell can neither ping nor show raw markers"
    assert "**" not in out, "a cell can neither ping nor show raw markers"
    bars = {display_width(line.split("|")[0]) for line in shown if "|" in line}
    assert bars == {10}, "column separators line up in a monospace font"


def test_table_in_terminal_is_aligned_text() -> None:
    assert to_plain(TABLE).split("\n")[0] == "휴가 종류 | 일수 | 비고"
    assert "```" not in to_plain(TABLE)


def test_link_inside_table_cell_is_its_label() -> None:
    out = to_mrkdwn(f"| 문서 |\n|---|\n| [복지]({WIKI}) |\n| [피싱](https://evil.example) |", ALLOWED)
    assert out == "```\n문서\n----\n복지\n피싱\n```"


def test_fence_inside_code_cannot_close_the_block() -> None:
    out = to_mrkdwn("````\n```\n<!here>\n````", ALLOWED)
    assert out.count("```") == 2
    assert "&lt;!here&gt;" in out


HOSTILE = [
    "<!channel>",
    "<!subteam^S123|@admins>",
    "<@W0BOSS|boss>",
    "<#C0GENERAL|general>",
    "<!date^1392734382^{date}|x>",
    "<mailto:evil@evil.example|메일>",
    "[<!here>](https://wiki.example.com/guide/welfare)",
    "| <!channel> | <@U1> |\n|---|---|\n| <https://evil.example|x> | y |",
    "**<https://evil.example|굵게>**",
    "<https://wiki.example.com/guide/welfare|a>b> <https://evil.example>",
]


@pytest.mark.parametrize("md", HOSTILE)
def test_nothing_slack_would_act_on_survives_except_allowed_links(md: str) -> None:
    out = to_mrkdwn(md, ALLOWED)
    for token in SLACK_TOKEN.findall(out):
        assert token.split("|", 1)[0] in ALLOWED, f"Slack would act on <{token}> in {out!r}"


PIECES = [*HOSTILE, "**", "*", "_", "|", "---", "\n", "\n\n", "`", "```", "[", "](", ")", "<", ">", "#", "- ", "1. "]
PIECES += [WIKI, "https://evil.example/a", "\u200b", "\u202e", "가나다", " ", "&", "!["]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=30).map("".join))
def test_any_markup_renders_without_pings_foreign_links_or_hidden_characters(md: str) -> None:
    out = to_mrkdwn(md, ALLOWED)
    for token in SLACK_TOKEN.findall(out):
        assert token.split("|", 1)[0] in ALLOWED, f"Slack would act on <{token}> in {out!r}"
    hidden = {c for c in to_plain(md) if unicodedata.category(c) in ("Cc", "Cf")} - {"\n", "\u200d"}
    assert not hidden, "no controls or invisible marks reach a terminal"


SHORTEN = [
    P("짧은 답", 100, "짧은 답", False, id="short-untouched"),
    P("첫 줄이에요.\n둘째 줄이에요.\n셋째 줄이 길어요 길어요", 25, "첫 줄이에요.\n둘째 줄이에요.", True, id="line-end"),
    P("가" * 30 + ". " + "나" * 30, 50, "가" * 30 + ".", True, id="sentence-end"),
    P(f"앞부분이에요 <{WIKI}|아주 긴 링크 이름>", 30, "앞부분이에요", True, id="never-inside-a-link"),
    P(
        "표예요\n```\na | b\n--+--\n1 | 2\n3 | 4\n```",
        28,
        "표예요\n```\na | b\n--+--\n1 | 2\n```",
        True,
        id="closes-code",
    ),
]


@pytest.mark.parametrize(("text", "limit", "expected", "cut"), SHORTEN)
def test_shorten(text: str, limit: int, expected: str, cut: bool) -> None:
    assert shorten(text, limit) == (expected, cut)
