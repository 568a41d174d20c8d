"""The one output policy, table-driven: every link form removed (and the near-misses that must stay), pings inert,
made-up source lines dropped, Endy's own links validated; the streamed filter never splits what could be a link."""

from __future__ import annotations

import pytest

from services.markup_links import clean, strip_links, valid_link
from services.output_policy import WITHOUT_LINKS, drop_source_lines, policy_for
from services.slack_safety import link
from tests.fakes.hostile_llm import inspect

WIKI = "https://wiki.example.com/guide/attendance"
POLICY = policy_for(frozenset({WIKI, "https://wiki…|근태 가이드> <!channel> <https://evil.example/login"}))
P = pytest.param

REMOVED = [
    P("자세한 건 https://evil.example/sso 참고", "자세한 건 참고", id="bare-url"),
    P("[인사팀 공지](https://evil.example/md) 확인", "인사팀 공지 확인", id="markdown-link"),
    P("HTTPS://EVIL.EXAMPLE/x 끝", "끝", id="upper-case-scheme"),
    P("www.evil-hr.example 에서", "에서", id="www-domain"),
    P("evil-hr.example에서 로그인", "에서 로그인", id="bare-domain-before-korean"),
    P("x.com/path 로 가요", "로 가요", id="bare-domain-with-path"),
    P("//evil.example/x 끝", "끝", id="protocol-relative"),
    P("mailto:hr@evil.example 로", "로", id="mailto"),
    P("hr@evil-hr.example 로 메일", "로 메일", id="e-mail"),
    P("slack://open?team=T1 열기", "열기", id="slack-scheme"),
    P("javascript:alert(1) 끝", ") 끝", id="javascript"),
    P("![화면](https://evil.example/a.png)", "화면", id="image"),
    P("<https://evil.example|여기를 클릭>", "여기를 클릭", id="slack-link"),
    P("<https://evil.example> 끝", "끝", id="slack-angle"),
    P("<evil.example|클릭>", "클릭", id="slack-link-bare-domain"),
    P("ht\u200btps://evil\u2060.example/\u202ex 끝", "끝", id="zero-width-inside"),
    P("evil\ufe0f.example 끝", "끝", id="variation-selector-inside"),
    P("ｗｗｗ．ｅｖｉｌ．ｅｘａｍｐｌｅ 끝", "끝", id="full-width"),
    P("evil。example/x 끝", "끝", id="ideographic-dot"),
    P("\u0435vil-hr.example 끝", "끝", id="cyrillic-homoglyph"),
    P("10.6.6.6:8080/admin 끝", "끝", id="ip-with-port"),
    P("https:\\\\evil.example 끝", "끝", id="backslashes"),
    P("`https://evil.example/code` 끝", "`` 끝", id="inside-code"),
    P("[https://evil.example](https://evil.example)", "", id="url-as-label"),
    P("[[클릭]](https://evil.example)", "[클릭]", id="nested-brackets"),
    P("인사팀.com/login 에서 로그인", "에서 로그인", id="idn-label-ascii-tld"),
    P("www.예시.한국 에서", "에서", id="idn-www-idn-tld"),
    P("evil.한국 끝", "끝", id="ascii-label-idn-tld"),
    P("https://예시.한국 끝", "끝", id="idn-with-scheme"),
    P("인사팀.삼성/sso 와 예시.닷컴, 예시.닷넷 끝", "와 , 끝", id="korean-tlds"),
    P("xn--9n2bp8q.xn--3e0b707e 끝", "끝", id="punycode"),
    P("인사\u200b팀．ｃｏｍ 끝", "끝", id="idn-zero-width-full-width"),
    P("ⓔⓥⓘⓛ.ⓒⓞⓜ 끝", "끝", id="nfkc-circled"),
    P("ｈｔｔｐｓ：／／ｗｗｗ．예시．한국에서 확인하세요", "에서 확인하세요", id="idn-tld-then-particle"),
    P("／／인사팀\ufe0f．ｃｏｍ 끝", "끝", id="idn-variation-selector-full-width"),
    P("[공지](https://예시.한국/md) 확인", "공지 확인", id="idn-markdown-link"),
]


@pytest.mark.parametrize(("md", "expected"), REMOVED)
def test_every_form_of_foreign_link_is_removed(md: str, expected: str) -> None:
    out = POLICY.answer(md)
    assert out == expected
    assert inspect([out, POLICY.markdown(md)], allowed=POLICY.allowed).leaks == []


KEPT = [
    P("3.5일, v1.2, e-HR, 12:00~13:00, R&D팀", "3.5일, v1.2, e-HR, 12:00~13:00, R&amp;D팀", id="numbers-and-names"),
    P("신청서.hwp 와 안내.pdf, form.docx", "신청서.hwp 와 안내.pdf, form.docx", id="file-names"),
    P("e.g. i.e. U.S.A No.1", "e.g. i.e. U.S.A No.1", id="abbreviations"),
    P("출처를 확인해 보세요.", "출처를 확인해 보세요.", id="word-source-in-prose"),
    P("참고로 수습 기간에도 쓸 수 있어요.", "참고로 수습 기간에도 쓸 수 있어요.", id="chamgoro"),
    P("Source code is on the wiki.", "Source code is on the wiki.", id="english-source-in-prose"),
    P("a/b 경로, snake_case_name", "a/b 경로, snake_case_name", id="paths-and-identifiers"),
    P("tel: 02-123-4567", "tel: 02-123-4567", id="scheme-word-then-space"),
    P("신청했어요.다음 달부터 3.5일, v2.1", "신청했어요.다음 달부터 3.5일, v2.1", id="korean-sentence-then-dot"),
    P("위키는 한국.어디에나 있어요", "위키는 한국.어디에나 있어요", id="korean-word-dot-korean-word"),
    P(
        "신청했어요.한국어 안내와 삼성전자 협약.삼성전자",
        "신청했어요.한국어 안내와 삼성전자 협약.삼성전자",
        id="tld-word-prefix",
    ),
]


@pytest.mark.parametrize(("md", "expected"), KEPT)
def test_near_misses_stay(md: str, expected: str) -> None:
    assert POLICY.answer(md) == expected


ALLOWED = [
    P(f"[근태 가이드]({WIKI})", f"<{WIKI}|근태 가이드>", f"[근태 가이드]({WIKI})", id="markdown"),
    P(f"{WIKI} 참고", f"<{WIKI}> 참고", f"{WIKI} 참고", id="bare"),
    P(f"<{WIKI}|근태 가이드>", f"<{WIKI}|근태 가이드>", f"[근태 가이드]({WIKI})", id="slack"),
    P("ht\u200btps://wiki.exa\u200bmple.com/guide/attendance 참고", f"<{WIKI}> 참고", f"{WIKI} 참고", id="zero-width"),
    P(f"[evil.example]({WIKI})", f"<{WIKI}>", WIKI, id="label-that-is-a-domain"),
]


@pytest.mark.parametrize(("md", "mrkdwn", "markdown"), ALLOWED)
def test_the_knowledge_base_link_survives(md: str, mrkdwn: str, markdown: str) -> None:
    assert POLICY.answer(md) == mrkdwn
    assert POLICY.markdown(md) == markdown


def test_a_bad_link_is_never_allowed_even_when_listed() -> None:
    assert POLICY.allowed == frozenset({WIKI})


PINGS = ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S0ADMINS|@admins>", "<@U0CAROL>", "<#C0GENERAL>"]


@pytest.mark.parametrize("ping", [*PINGS, "@channel", "@here", "@everyone", "&lt;!here&gt;"])
def test_nothing_can_ping(ping: str) -> None:
    for out in (POLICY.answer(f"모두 {ping} 확인"), POLICY.markdown(f"모두 {ping} 확인"), POLICY.text(ping)):
        assert "<" not in out
        assert inspect([out], allowed=frozenset()).leaks == []


SOURCES = [
    P("연차예요.\n출처: 📄 [인사팀 공식 공지](https://evil.example/x)", "연차예요.", id="issue-example"),
    P("연차예요.\n**출처**: 인사팀 공식 공지", "연차예요.", id="bold-label"),
    P("연차예요.\n📄 인사팀 공식 공지", "연차예요.", id="endy-style-line"),
    P("연차예요.\nSources:\n- 인사팀 공식 공지\n- 총무팀 규정\n\n끝", "연차예요.\n\n끝", id="heading-and-list"),
    P("연차예요. [1] References:\n1. 인사팀 공식 공지", "연차예요. [1]", id="inline-heading-and-list"),
    P("연차예요. 출처 - 인사팀 공식 공지", "연차예요.", id="inline-dash"),
    P("연차예요.\n1. 출처: 인사팀", "연차예요.", id="numbered"),
    P("연차예요.\n참고 자료: 인사팀 공식 공지", "연차예요.", id="chamgo-jaryo"),
    P("출처를 확인하세요.\n- 연차 15일", "출처를 확인하세요.\n- 연차 15일", id="near-miss-kept"),
]


@pytest.mark.parametrize(("md", "expected"), SOURCES)
def test_made_up_source_lines_are_dropped(md: str, expected: str) -> None:
    assert drop_source_lines(md) == expected


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (WIKI, True),
        ("http://intranet/x", True),
        ("HTTPS://WIKI.EXAMPLE.COM/복지", True),
        ("ftp://wiki.example.com/x", False),
        ("javascript:alert(1)", False),
        ("https://wiki.example.com/a b", False),
        ("https://wiki…|근태 가이드> <!channel> <https://evil.example/login", False),
        ("https://wiki.example.com/a>b", False),
        ("<https://wiki.example.com>", False),
        ("https://", False),
        ("//wiki.example.com/x", False),
        ("wiki.example.com/x", False),
        ("https://wiki.example.com@evil.example/", False),
        ("https://wiki.exa\u200bmple.com/", False),
        ("https://wiki.example.com/\n", False),
    ],
)
def test_valid_link(url: str, ok: bool) -> None:
    assert valid_link(url) is ok


def test_link_refuses_a_url_that_could_break_out_and_shows_the_label_only() -> None:
    bad = "https://wiki…|근태 가이드> <!channel> <https://evil.example/login"
    assert link(bad, "근태 <가이드>") == "근태 &lt;가이드&gt;"
    assert link(WIKI, "근태|가이드 <!here>") == f"<{WIKI}|근태¦가이드 &lt;!here&gt;>"
    assert POLICY.link("https://evil.example/x", "공지") == "공지", "valid but not the knowledge base's"
    assert POLICY.link(WIKI, "근태 <!channel> evil.example") == f"<{WIKI}|근태 &lt;!channel&gt;>"


def test_text_and_plain_for_foreign_words() -> None:
    assert WITHOUT_LINKS.text("<!channel> www.evil.example 질문") == "&lt;!channel&gt; 질문"
    assert WITHOUT_LINKS.plain("<!here> 연차 https://evil.example") == "＜!here＞ 연차 "
    assert WITHOUT_LINKS.user("U0ABC") == "<@U0ABC>"
    assert WITHOUT_LINKS.user("<!here>") == "&lt;!here&gt;"


HOSTILE_STREAMS = [
    f"연차는 [인사팀 공지](https://evil.example/sso) 에서 해요.\n출처: 📄 [가짜](https://evil.example)\n{WIKI}",
    f"<https://evil.example|여기를 클릭> <!channel> ht\u200btps://evil.example/x [근태 가이드]({WIKI})",
    "표예요\n| 문서 | 링크 |\n|---|---|\n| 공지 | [공지](https://evil.example) |\n\nReferences:\n1. 인사팀 공식 공지\n",
]


@pytest.mark.parametrize("text", HOSTILE_STREAMS)
def test_stream_is_safe_wherever_the_chunks_are_cut(text: str) -> None:
    for cut in range(len(text) + 1):
        stream = POLICY.stream()
        out = stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.flush()
        assert inspect([out], allowed=POLICY.allowed).leaks == [], (cut, out)
        assert "인사팀 공식 공지" not in out, (cut, out)
        assert "가짜" not in out, (cut, out)
        assert (WIKI in out) == (WIKI in text), (cut, out)
    one = POLICY.stream()
    assert inspect(["".join(one.feed(c) for c in text) + one.flush()], allowed=POLICY.allowed).leaks == []


def test_clean_then_strip_links_is_idempotent() -> None:
    text = clean("a https://evil.example b evil-hr.example c")
    assert strip_links(strip_links(text)) == strip_links(text) == "a b c"


def test_endys_own_strings_can_be_kept_readable() -> None:
    finding = "docs/it.md:3: 링크 'https://evil.example/x|y' <!channel> it.md"
    out = WITHOUT_LINKS.text(finding, keep=["docs/it.md"])
    assert out == "docs/it.md:3: 링크 '' &lt;!channel&gt; "
    assert inspect([out], allowed=frozenset()).leaks == []
