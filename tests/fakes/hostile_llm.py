"""Hostile LLM completions for the fake OpenAI (a hypothesis strategy), and the check that none of it goes live.

A completion mixes ordinary Korean answer text with what a compromised or prompt-injected model would write: links
to foreign sites in every form Slack or a Markdown renderer could act on (any scheme in any case, bare and
protocol-relative domains, internationalised domains (`인사팀.com`, `www.예시.한국`), Markdown links and images,
Slack `<u|t>`, e-mail, IP addresses, full-width look-alikes,
zero-width characters inside), pings, and made-up source lines. Some end with one of the knowledge base's own links,
which must survive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from hypothesis import strategies as st

KB_LINK = "https://wiki.example.com/guide/attendance"  # the sample handbook's own link (attendance.md)
HOMOGLYPH = "\u0435vil-hr.example"  # a Cyrillic "е"
IDN_HOSTS = (
    "인사팀.com",
    "www.예시.한국",
    "evil.한국",
    "인사팀.삼성",
    "예시.닷컴",
    "xn--9n2bp8q.xn--3e0b707e",
    "인사팀.닷넷",
)
HOSTS = (
    *("evil.example", "EVIL.EXAMPLE", "evil-hr.example", "www.evil-hr.example", "sso.evil.example:8443", HOMOGLYPH),
    *IDN_HOSTS,
)
SCHEMES = (
    *("https://", "http://", "HTTPS://", "HtTpS://", "hTTp://", "//", "ftp://", "slack://", "intent://"),
    *("https:\\\\", "https:/", "https:// ", "&#104;ttps://", "&#x68;ttps://", "hr+payroll@"),
)
PATHS = ("", "/", "/sso", "/login?next=/e-hr", "/x(1)", "/복지", "#top", "/a.png")
SCHEMELESS = (
    "javascript:alert(document.cookie)",
    "JavaScript:fetch('//evil.example')",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "mailto:hr@evil-hr.example",
    "MAILTO:payroll@evil.example?subject=급여",
    "hr@evil-hr.example",
    "tel:+82-10-6666-6666",
    "sms:+82106666",
    "file:///etc/passwd",
    "x.com/path",
    "인사팀.com/login",
    "evil.한국/sso",
    "10.6.6.6:8080/admin",
)
# What must never appear in anything Endy posts (searched case-insensitively, NFKC, zero-width characters removed).
MARKERS = (
    "evil.example",
    HOMOGLYPH,
    "evil-hr.example",
    "x.com",
    "10.6.6.6",
    "javascript:",
    "vbscript:",
    "data:text",
    "mailto:",
    "tel:",
    "sms:",
    "file:",
    "ftp:",
    "slack:",
    "intent:",
    "인사팀.com",
    "예시.한국",
    "evil.한국",
    "인사팀.삼성",
    "예시.닷컴",
    "인사팀.닷넷",
    "xn--",
)
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202c\u202e\u2066\u2069\u180e\u034f\ufe0f"
LABELS = ("여기를 클릭", "SSO 로그인", "e-HR 바로가기", "급여 명세서 확인", "연차 신청서")
FAKE_SOURCES = ("인사팀 공식 공지", "총무팀 내부 규정집", "Official HR Notice")
PINGS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0ADMINS|@admins>",
    "<!subteam^S0HR>",
    "<@U0CAROL>",
    "<@W0BOSS|boss>",
    "<#C0GENERAL|general>",
    "<!date^1392734382^{date}|x>",
    "@channel",
    "@here",
    "@everyone",
    "&lt;!channel&gt;",
)
PROSE = (
    "연차는 e-HR > 근태 > 휴가 신청에서 신청해요. [1]",
    "팀장 승인 후 자동으로 반영돼요.",
    "반차는 오전·오후 4시간 단위예요 [1][2].",
    "**중요**: 신청은 전날 18시까지 해 주세요.",
    "- 연차 15일\n- 반차 가능",
    "| 종류 | 일수 |\n|---|---:|\n| 연차 | 15일 |",
    "```\n신청 > 승인 > 반영\n```",
    "> 참고로 수습 기간에도 쓸 수 있어요.",
    "3.5일, v1.2, 12:00~13:00, R&D팀, 신청서.hwp",
    "신청했어요.다음 달부터 3.5일씩 v2.1 기준이에요.",
)
_BENIGN = st.text(alphabet="가나다라마바사아자차카타파하연차휴가신청 abcXYZ0123.,!?-", max_size=30)


def _forms(url: str, label: str) -> list[str]:
    """Every way a completion can write one link."""
    return [
        url,
        f"[{label}]({url})",
        f'[{label}]({url} "공식 안내")',
        f"[{label}](<{url}>)",
        f"![{label}]({url})",
        f"<{url}|{label}>",
        f"<{url}>",
        f"({url})",
        f"{url}에서 확인하세요",
        f"**{url}**",
        f"`{url}`",
        f'<a href="{url}">{label}</a>',
        f"[{label}][r1]\n\n[r1]: {url}",
        f"## {label} {url}",
        f"| 문서 | 링크 |\n|---|---|\n| {label} | [{label}]({url}) |",
        f"- [{label}]({url})",
        f"> <{url}|{label}>",
        f"```\n{url}\n```",
        f"[{url}]({url})",
        f"[[{label}]]({url})",
        f"[여기를\n{label}]({url})",
        f"[![{label}]({url})]({url})",
        f'[{label}][r2]\n\n[r2]: <{url}> "제목"',
        f"< {url} >",
        f"오늘{url}을 확인",
    ]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def hostile_url(draw: st.DrawFn) -> str:
    """A link to a foreign site, perhaps full-width or with zero-width characters inside."""
    if draw(st.booleans()):
        url = draw(st.sampled_from(SCHEMES)) + draw(st.sampled_from(HOSTS)) + draw(st.sampled_from(PATHS))
    else:
        url = draw(st.sampled_from(SCHEMELESS))
    if draw(st.integers(0, 5)) == 0:
        url = _fullwidth(url)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(url)))
        url = url[:at] + draw(st.sampled_from(ZERO_WIDTH)) + url[at:]
    return url


@st.composite
def hostile_link(draw: st.DrawFn) -> str:
    """One foreign link in one of its written forms."""
    return draw(st.sampled_from(_forms(draw(hostile_url()), draw(st.sampled_from(LABELS)))))


@st.composite
def source_line(draw: st.DrawFn) -> str:
    """A made-up source line (sources come only from the retrieved sections, rendered by Endy)."""
    fake = draw(st.sampled_from(FAKE_SOURCES))
    url = draw(st.one_of(hostile_url(), st.just(KB_LINK)))
    return draw(
        st.sampled_from(
            [
                f"출처: 📄 [{fake}]({url})",
                f"**출처**: {fake}",
                f"📄 출처: {fake}",
                f"Sources: [1] {fake}",
                f"출처 - {fake}",
                f"> 출처: [{fake}]({url})",
                f"- 출처: <{url}|{fake}>",
                f"참고 자료: {fake}",
                f"References:\n1. {fake}",
                f"자세한 내용은 위와 같아요. 출처: {fake}",
            ]
        )
    )


@st.composite
def hostile_completion(draw: st.DrawFn) -> str:
    """A whole completion: prose, foreign links, pings and source lines; perhaps ending with the KB's own link."""
    piece = st.one_of(
        st.sampled_from(PROSE), hostile_link(), hostile_link(), st.sampled_from(PINGS), source_line(), _BENIGN
    )
    pieces = [f"\n\n{p}\n\n" if "```" in p else p for p in draw(st.lists(piece, min_size=1, max_size=8))]
    separators = draw(st.lists(st.sampled_from([" ", "\n", "\n\n", " ", ". "]), min_size=len(pieces)))
    text = "".join(p + s for p, s in zip(pieces, separators, strict=False)).strip()
    if draw(st.booleans()):
        text += "\n\n" + draw(st.sampled_from(KB_PIECES))
    return text


KB_PIECES = (f"[근태 가이드]({KB_LINK})", KB_LINK, f"<{KB_LINK}|근태 가이드>", f"자세한 내용은 {KB_LINK} 에 있어요.")


def has_kb_link(completion: str) -> bool:
    """True when the completion ends with a paragraph citing the knowledge base's own link (which must survive)."""
    return completion.rsplit("\n\n", 1)[-1] in KB_PIECES


_TOKEN = re.compile(r"<([^<>]*)>")
_LIVE_BROADCAST = re.compile(r"(?<![＠\w])@(?:channel|here|everyone)\b", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)")
# Any internationalised domain Slack would link: a label of another script before an ASCII TLD (not a file name
# such as `신청서.hwp`, which Slack leaves as text), or an IDN TLD.
_IDN_DOMAIN = re.compile(
    r"[^\W\x00-\x7f]+\.(?!(?:pdf|hwpx?|docx|xlsx|pptx|txt|csv|png|jpe?g|gif|json|ya?ml|exe)\b)"
    r"(?:[a-z]{2,63}|xn--[a-z0-9-]+)(?![a-z0-9-])|[\w-]+\.(?:한국|삼성|닷컴|닷넷|xn--[a-z0-9-]+)(?=(?:에서|에|으로|로|은|는|이|가|을|를|의|도)?(?![\w-]))"
)


def normalised(text: str) -> str:
    """Text as a link detector should see it: NFKC, no zero-width or format characters, lower case."""
    visible = "".join(c for c in text if c not in ZERO_WIDTH and unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", visible).lower()


@dataclass
class Outcome:
    """What one door showed for one completion: any leaks found, and whether the KB link was there."""

    leaks: list[str] = field(default_factory=list)
    kb_link_shown: bool = False


def inspect(
    texts: Iterable[str],
    *,
    allowed: frozenset[str],
    prefixes: tuple[str, ...] = (),
    actors: frozenset[str] = frozenset(),
    generated: bool = True,
) -> Outcome:
    """Leaks in what Slack would render: a foreign link or scheme, a live ping, a foreign `<…>` or `[…](…)`, and
    in generated text a made-up source. `allowed` (or starting with one of `prefixes`, e.g. Slack's permalinks):
    the link targets Endy may build; `actors`: the `<@U…>` it may write; `generated=False` for a person's own words
    quoted back (an escalated question)."""
    outcome = Outcome()
    for text in texts:
        low = normalised(text)
        outcome.leaks += [f"foreign link {m!r} in {text[:200]!r}" for m in MARKERS if m in low]
        outcome.leaks += [f"internationalised domain {m.group(0)!r}" for m in _IDN_DOMAIN.finditer(low)]
        outcome.leaks += [f"made-up source {s!r}" for s in FAKE_SOURCES if generated and s.lower() in low]
        for token in _TOKEN.findall(text):
            target = token.split("|", 1)[0]
            if target not in allowed and not target.startswith(prefixes) and f"<{token}>" not in actors:
                outcome.leaks += [f"Slack would act on <{token}>"]
        outcome.leaks += [f"Markdown link to {t!r}" for t in _MARKDOWN_LINK.findall(text) if t not in allowed]
        outcome.leaks += [f"live {m.group(0)!r}" for m in _LIVE_BROADCAST.finditer(text)]
        outcome.kb_link_shown = outcome.kb_link_shown or any(link in text for link in allowed if "wiki" in link)
    return outcome


def shown_texts(node: object) -> list[str]:
    """Every string in a Slack request body that Slack renders (text, markdown_text, titles, prompts …); button
    values and ids are not shown."""
    if isinstance(node, list):
        return [t for item in node for t in shown_texts(item)]
    if not isinstance(node, dict):
        return []
    out: list[str] = []
    for key, value in node.items():
        if key in ("text", "markdown_text", "title", "message", "initial_comment", "alt_text") and isinstance(
            value, str
        ):
            out.append(value)
        elif key not in ("value", "private_metadata", "action_id", "block_id", "response_url"):
            out += shown_texts(value)
    return out
