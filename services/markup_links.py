"""Text-level rules shared by every rendering: invisible characters out, links kept only when allowed, widths.

A "link" is anything Slack or a Markdown renderer could turn into one: `<u|t>` and `<u>`, a URL with any scheme in
any case (`HTTPS://`, `mailto:`, `slack://`), a protocol-relative `//host`, an e-mail address, a bare domain
(`evil-hr.example`, `www.x.com/path`, and internationalised ones such as `인사팀.com/login`, `www.예시.한국` or their
punycode) or an IP address with a port or path. Full-width and other NFKC look-alikes count too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

_LETTER = r"a-z0-9\u00c0-\u024f\u0300-\u036f\u0370-\u03ff\u0400-\u04ff"  # Latin, Greek, Cyrillic (homoglyphs)
# A label of any other script (Hangul, Han, Kana …: an internationalised domain such as `인사팀.com`). A first label
# is of one kind, so Korean prose glued to a domain (`위키는wiki.x.com`) is not taken for part of it.
_OTHER = r"(?:[^\W_a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]|-)"  # digits too
# Top-level domains in other scripts that Slack links (Korean ones, and the common Han, Kana and Cyrillic ones).
_IDN_TLDS = "|".join(
    ("한국", "삼성", "닷컴", "닷넷", "中国", "中國", "香港", "台灣", "台湾", "新加坡", "公司", "网络", "網絡", "在线")
    + ("移动", "コム", "みんな", "рф", "сайт", "онлайн", "рус", "укр", "бел", "срб")
)
# A Korean particle right after a TLD in another script (`예시.한국에서`) still ends the domain; any other letter
# (`…했어요.한국어`, `삼성전자`) makes it a word.
_PARTICLES = "에서|에게|에|으로|로|은|는|이|가|을|를|의|도|만|와|과|이나|나|부터|까지|처럼|보다|이에요|예요|입니다"
# Matches start only where a label starts (linear time, however long a run of labels): at most 10 labels.
_LABELS = (
    rf"(?:(?<![{_LETTER}_\-])[{_LETTER}_\-]{{1,63}}|(?<!{_OTHER}){_OTHER}{{1,63}})\."
    rf"(?:[\w\-\u0300-\u036f]{{1,63}}\.){{0,9}}"
)
_IDN_TLD = rf"(?=[^\x00-\x7f])(?:{_IDN_TLDS})(?=(?:{_PARTICLES})?(?![\w\-]))"
_HOST = rf"{_LABELS}(?:(?:[a-z]{{2,63}}|xn--[a-z0-9\-]{{1,59}})(?![{_LETTER}\-])|{_IDN_TLD})"
_TAIL = r"[^\s<>\"'`]"
_NO_SLASH = r"https?|ftp|wss?|mailto|tel|sms|javascript|vbscript|data|file|slack|callto|skype|facetime|intent|sip|xmpp"
_ANGLED = rf"(?:[a-z][a-z0-9+.\-]{{1,31}}:|//|{_HOST})[^\s<>|]*"
_FIND = re.compile(
    rf"<(?P<target>{_ANGLED})\|(?P<label>[^<>\n]*)>"
    rf"|<(?P<angled>{_ANGLED})>"
    rf"|(?<![a-z0-9+.\-])(?P<url>[a-z][a-z0-9+.\-]{{0,31}}:[/\\]{{2}}{_TAIL}+|(?:{_NO_SLASH}):{_TAIL}+)"
    rf"|(?<![a-z0-9._%+\-])(?P<mail>[a-z0-9._%+\-]{{1,64}}@{_HOST})"
    rf"|(?P<ip>(?<![\d.])\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?::\d{{1,5}}|[/?#]){_TAIL}*)"
    rf"|(?P<host>(?://)?{_HOST}(?::\d{{1,5}})?(?:[/?#]{_TAIL}*)?)",
    re.IGNORECASE,
)


class _Folding(dict[int, int]):
    """Each code point as NFKC writes it, where that is one code point (`ｗ` → `w`, `ⓔ` → `e`, `ﾡ` → `ᄀ`)."""

    def __missing__(self, point: int) -> int:
        folded = unicodedata.normalize("NFKC", chr(point))
        self[point] = ord(folded) if len(folded) == 1 else point
        return self[point]


# Full-width ASCII, look-alike dots and other NFKC compatibility forms, folded one code point for one so matches
# index the original text.
_FOLD = _Folding({c: ord(".") for c in (0x3002, 0xFF61, 0xFE52, 0x2024)})
# File names Slack does not link (their extensions are no top-level domains): `신청서.hwp` stays text.
_FILE_EXTENSIONS = frozenset("pdf hwp hwpx docx xlsx pptx txt csv png jpg jpeg gif json yaml yml exe".split())
_VALID_LINK = re.compile(r"https?://[^\s|<>\"\\`]+", re.IGNORECASE)
# What a bare link takes: its scheme and host whole (an internationalised one too), then the ASCII part of the rest.
_ASCII_URL = re.compile(
    rf"(?:[a-z][a-z0-9+.\-]{{0,31}}:[/\\]{{2}}|//)?{_HOST}(?::\d{{1,5}})?[!-~]*|[!-~]+", re.IGNORECASE
)
_CONTINUES = re.compile(r"[A-Za-z0-9/_\-%?#=&~+@]|[.,:;!)]+[A-Za-z0-9/_\-%]")
# A zero-width joiner belongs inside emoji; next to (full-width) ASCII it only hides a link.
_ZWJ_AT_ASCII = re.compile(r"(?<![^\x00-\x7f\uff01-\uff5e])\u200d|\u200d(?![^\x00-\x7f\uff01-\uff5e])")
# Invisible marks that are no format characters (variation selectors, Hangul fillers …) next to ASCII, letters of
# any script (`인사팀\ufe0f.com`, `evil.example\u034f` at the end of a text) or look-alike dots; an emoji keeps its own.
_NEXT_TO_INVISIBLE = r"[!-~\uff01-\uff5e\w\u3002\uff61\ufe52\u2024]"
_INVISIBLE = r"[\u034f\u115f\u1160\u17b4\u17b5\u200d\u3164\uffa0\ufe00-\ufe0f]+"
_INVISIBLE_IN_ASCII = re.compile(rf"(?<={_NEXT_TO_INVISIBLE}){_INVISIBLE}|{_INVISIBLE}(?={_NEXT_TO_INVISIBLE})")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
_PASSES = 4  # removing a link can join its neighbours into a new one; a few passes reach a fixed point


def clean(text: str) -> str:
    """Normalise newlines and drop controls, zero-width/bidi marks and private-use code points (ZWJ stays in emoji)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t\u200d" or unicodedata.category(c) not in _DROPPED_CATEGORIES)
    return _INVISIBLE_IN_ASCII.sub("", _ZWJ_AT_ASCII.sub("", text)).replace("\t", "    ")


def valid_link(url: str) -> bool:
    """True for a link Endy may build itself: absolute http(s) with a host, no whitespace, `|`, `<`, `>` or userinfo."""
    if not _VALID_LINK.fullmatch(url) or any(unicodedata.category(c) in _DROPPED_CATEGORIES for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.hostname) and "@" not in parts.netloc


@dataclass(frozen=True, slots=True)
class Links:
    """The links allowed to survive rendering, findable by their written or percent-encoded form."""

    by_form: dict[str, str]
    longest_first: tuple[str, ...]
    normalize: Callable[[str], str]

    @classmethod
    def of(cls, allowed: Iterable[str], normalize: Callable[[str], str]) -> Links:
        """Index the valid links (see valid_link); anything else can never be allowed."""
        safe = sorted({u for u in allowed if u and valid_link(u)}, key=len, reverse=True)
        forms = {normalize(u): u for u in safe} | {u: u for u in safe}
        return cls(forms, tuple(safe), normalize)

    def find(self, url: str) -> str | None:
        """The allowed link url stands for, or None."""
        return self.by_form.get(url) or self.by_form.get(self.normalize(url))

    def prefix(self, text: str) -> str | None:
        """The longest allowed link text starts with, ending where a URL would end."""
        for url in self.longest_first:
            if text.startswith(url) and not _CONTINUES.match(text, len(url)):
                return url
        return None


NO_LINKS = Links({}, (), lambda url: url)


@dataclass(frozen=True, slots=True)
class Hit:
    """A link found in text: its allowed url (None when not allowed) and the label to show."""

    url: str | None
    label: str


def scan(text: str, links: Links) -> list[str | Hit]:
    """Text split into plain pieces and links; a link not allowed keeps only its label (a bare one: nothing)."""
    out: list[str | Hit] = []
    shadow, pos, done = text.translate(_FOLD), 0, 0
    while (match := _FIND.search(shadow, pos)) is not None:
        found = _hit(text, match, links)
        if found is None:  # a file name, not a link
            pos = match.end()
            continue
        hit, length = found
        out += [text[done : match.start()], hit]
        pos = done = match.start() + max(length, 1)  # what follows a cut-off URL is searched again
    out.append(text[done:])
    return _close_gaps(out)


def strip_links(text: str) -> str:
    """Text with every link removed (labels stay), repeated until removing one leaves no new one behind."""
    for _ in range(_PASSES):
        stripped = "".join(p if isinstance(p, str) else p.label for p in scan(text, NO_LINKS))
        if stripped == text:
            break
        text = stripped
    return text


def _hit(text: str, match: re.Match[str], links: Links) -> tuple[Hit, int] | None:
    """The link one match stands for and how many characters of the match it takes; None for a file name."""
    kind = match.lastgroup
    if kind in ("label", "angled"):
        group = "target" if kind == "label" else "angled"
        url = links.find(text[match.start(group) : match.end(group)])
        label = strip_links(text[match.start("label") : match.end("label")]) if kind == "label" else ""
        return Hit(url, label), match.end() - match.start()
    candidate = text[match.start() : match.end()]
    if kind == "host" and _file_name(candidate):
        return None
    if kind == "host":
        return _bare_host(candidate, match.group(0), links)
    return _bare(candidate, match.group(0), links if kind == "url" else NO_LINKS)


def _file_name(candidate: str) -> bool:
    name, _, extension = candidate.rpartition(".")
    return "." not in name and "/" not in name and extension.lower() in _FILE_EXTENSIONS


def _bare(candidate: str, folded: str, links: Links) -> tuple[Hit, int]:
    """A bare link: the allowed one it starts with, else its (folded) host and ASCII part without trailing
    punctuation."""
    allowed = links.prefix(candidate)
    if allowed:
        return Hit(allowed, ""), len(allowed)
    ascii_part = _ASCII_URL.match(folded)
    length = len((ascii_part.group(0) if ascii_part else folded).rstrip(".,;:!?)]}'\""))
    return Hit(links.find(candidate[:length]), ""), length


def _bare_host(candidate: str, folded: str, links: Links) -> tuple[Hit, int]:
    """A bare host (`vpn.company.example`, `wiki.x.com/hr`): a link, shown as written, when `https://` + it is an
    allowed link (the knowledge base writes it, see `written_hosts`); otherwise removed like any bare link."""
    written = candidate[2:] if candidate.startswith("//") else candidate
    allowed = links.prefix("https://" + written) or links.prefix("http://" + written)
    if allowed is None:
        return _bare(candidate, folded, NO_LINKS)
    shown = allowed.split("://", 1)[1]
    return Hit(allowed, shown), len(candidate) - len(written) + len(shown)


def written_hosts(text: str) -> set[str]:
    """The bare hosts a text writes (`vpn.company.example`, `intranet.x.com/hr`) as `https://` links, validated."""
    found: set[str] = set()
    for match in _FIND.finditer(text.translate(_FOLD)):
        candidate = text[match.start() : match.end()]
        if match.lastgroup != "host" or _file_name(candidate) or not candidate.isascii():
            continue
        url = "https://" + candidate.removeprefix("//").rstrip(".,;:!?)]}'\"")
        if valid_link(url):
            found.add(url)
    return found


def _close_gaps(pieces: list[str | Hit]) -> list[str | Hit]:
    """Where a dropped URL stood between two spaces, keep one space."""
    pieces = [p for p in pieces if p != ""]
    for i, piece in enumerate(pieces):
        if isinstance(piece, Hit) and piece.url is None and not piece.label and 0 < i < len(pieces) - 1:
            before, after = pieces[i - 1], pieces[i + 1]
            if isinstance(before, str) and isinstance(after, str) and before.endswith(" ") and after[:1] in " ":
                pieces[i + 1] = after[1:]
    return [p for p in pieces if p != ""]


def display_width(text: str) -> int:
    """Columns text takes in a monospace font: East-Asian wide/full-width characters count 2, marks 0."""
    return sum(_char_width(c) for c in text)


def _char_width(c: str) -> int:
    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def layout_table(rows: Sequence[Sequence[str]], aligns: Sequence[str]) -> str:
    """Rows (header first) as aligned monospace lines with a rule under the header."""
    count = max((len(r) for r in rows), default=0)
    grid = [[" ".join(cell.split()) for cell in row] + [""] * (count - len(row)) for row in rows]
    widths = [max(1, *(display_width(row[i]) for row in grid)) for i in range(count)]
    sides = [*aligns, *["left"] * count]
    lines = [" | ".join(_pad(cell, widths[i], sides[i]) for i, cell in enumerate(row)).rstrip() for row in grid]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _pad(cell: str, width: int, align: str) -> str:
    room = width - display_width(cell)
    if align == "right":
        return " " * room + cell
    if align == "center":
        return " " * (room // 2) + cell + " " * (room - room // 2)
    return cell + " " * room
