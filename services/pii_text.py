"""The text as the PII patterns see it: NFKC per character, Unicode dashes and dots as ASCII, invisibles dropped.

The view is for matching only. Offsets map each of its characters back to the original, so the masker keeps
the caller's text as it was outside the spans it replaces (whole-text NFKC would, for one, store ㅋㅋ as
conjoining jamo).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

_SPECIAL = dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u2e3a\u2e3b\ufe58\ufe63\uff0d", "-")
_SPECIAL |= dict.fromkeys("\u30fc\uff70\u3161", "-")  # long-vowel marks and ㅡ, typed as dashes
_SPECIAL |= dict.fromkeys("\u00b7\u0387\u2022\u2024\u2027\u2219\u22c5\u30fb\uff65\u3002\uff61\uff0e\u318d", ".")
_SPECIAL |= dict.fromkeys("\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5", "")  # invisible, yet not format characters
_DROPPED = frozenset({"Cf", "Cc", "Co", "Cs", "Cn", "Mn", "Me"})  # zero-width, bidi marks, combining marks …
_ODD = re.compile(r"[^\t\n\r\x20-\x7e\uac00-\ud7a3]")  # ASCII and Hangul syllables are stable; the rest may fold
_ODD_RUN = re.compile(r"[^\t\n\r\x20-\x7e\uac00-\ud7a3]+")


def _fold_one(ch: str) -> str:
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)
    if category in _DROPPED:
        return ""
    return str(unicodedata.digit(ch)) if category == "Nd" else ch


@lru_cache(maxsize=4096)
def fold(ch: str) -> str:
    """One character as the patterns see it (empty when dropped, several when NFKC expands it)."""
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    return "".join(_fold_one(c) for c in unicodedata.normalize("NFKC", ch))


class Offsets:
    """Maps offsets in the view back to the text: where each segment starts in both, and its length in the text."""

    __slots__ = ("orig", "parts", "size", "view")

    def __init__(self) -> None:
        self.view: list[int] = []
        self.orig: list[int] = []
        self.size: list[int] = []
        self.parts: list[str] = []

    def add(self, piece: str, orig: int, size: int) -> None:
        """Append ``piece`` to the view, standing for ``size`` characters of the text from ``orig``."""
        self.view.append(self.view[-1] + len(self.parts[-1]) if self.parts else 0)
        self.orig.append(orig)
        self.size.append(size)
        self.parts.append(piece)

    def start(self, i: int) -> int:
        """The offset in the text of the view's character ``i``."""
        k = bisect_right(self.view, i) - 1
        return self.orig[k] + min(i - self.view[k], self.size[k] - 1)

    def end(self, i: int) -> int:
        """The offset in the text just after the view's span ending at ``i`` (exclusive)."""
        return self.start(i - 1) + 1


def _add_run(where: Offsets, run: str, at: int) -> None:
    """Fold a run of odd characters; those folding to exactly one character share a segment."""
    folded = [fold(ch) for ch in run]
    breaks = [i for i, piece in enumerate(folded) if len(piece) != 1]  # dropped, or expanded by NFKC
    i = 0
    for j in [*breaks, len(run)]:
        if j > i:
            where.add("".join(folded[i:j]), at + i, j - i)
        if j < len(run):
            where.add(folded[j], at + j, 1)
        i = j + 1


def normalised(text: str) -> tuple[str, Offsets | None]:
    """The text as the patterns see it, and the way back (None when it is unchanged)."""
    if _ODD.search(text) is None:
        return text, None
    where = Offsets()
    pos = 0
    for m in _ODD_RUN.finditer(text):
        at, end = m.span()
        if at > pos:
            where.add(text[pos:at], pos, at - pos)
        _add_run(where, m.group(), at)
        pos = end
    if pos < len(text):
        where.add(text[pos:], pos, len(text) - pos)
    return "".join(where.parts), where
