"""Text-level rules shared by every rendering: invisible characters out, links kept only when allowed, widths."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:"
# <u|t> (Slack's own syntax, as models and wiki exports write it), <u>, or a bare http(s) URL.
_FIND = re.compile(rf"<({_SCHEME}[^\s<>|]*)\|([^<>\n]*)>|<({_SCHEME}[^\s<>|]*)>|(https?://[^\s<>\"'`]+)")
_ASCII_URL = re.compile(r"[!-~]+")
_CONTINUES = re.compile(r"[A-Za-z0-9/_\-%?#=&~+@]|[.,:;!)]+[A-Za-z0-9/_\-%]")
_SAFE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>|\"]+")
_ZWJ_AT_ASCII = re.compile(r"(?<![^\x00-\x7f])\u200d|\u200d(?![^\x00-\x7f])")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})


def clean(text: str) -> str:
    """Normalise newlines and drop controls, zero-width/bidi marks and private-use code points (ZWJ stays in emoji)."""
    text = _ZWJ_AT_ASCII.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(c for c in text if c in "\n\t\u200d" or unicodedata.category(c) not in _DROPPED_CATEGORIES).replace(
        "\t", "    "
    )


@dataclass(frozen=True, slots=True)
class Links:
    """The links allowed to survive rendering, findable by their written or percent-encoded form."""

    by_form: dict[str, str]
    longest_first: tuple[str, ...]
    normalize: Callable[[str], str]

    @classmethod
    def of(cls, allowed: Iterable[str], normalize: Callable[[str], str]) -> Links:
        """Index absolute links without characters that could break out of a Slack link."""
        safe = sorted({u for u in allowed if u and _SAFE_URL.fullmatch(u)}, key=len, reverse=True)
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


@dataclass(frozen=True, slots=True)
class Hit:
    """A link found in text: its allowed url (None when not allowed) and the label to show."""

    url: str | None
    label: str


def scan(text: str, links: Links) -> list[str | Hit]:
    """Text split into plain pieces and links; a link not allowed keeps only its label (a bare URL: nothing)."""
    out: list[str | Hit] = []
    pos = 0
    for match in _FIND.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        labelled, label, angled, bare = match.groups()
        if bare is None:
            url = links.find(labelled or angled)
            out.append(Hit(url, label or "") if url or label else Hit(None, ""))
            continue
        hit, tail = _bare(bare, links)
        out += [hit, tail]
    out.append(text[pos:])
    return _close_gaps(out)


def _bare(candidate: str, links: Links) -> tuple[Hit, str]:
    allowed = links.prefix(candidate)
    if allowed:
        return Hit(allowed, ""), candidate[len(allowed) :]
    ascii_part = _ASCII_URL.match(candidate)
    url = (ascii_part.group(0) if ascii_part else candidate).rstrip(".,;:!?)]}'\"")
    return Hit(links.find(url), ""), candidate[len(url) :]


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
