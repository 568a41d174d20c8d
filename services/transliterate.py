"""Latin ↔ Hangul matching of product and tool names (JIRA/지라, Confluence/컨플루언스) by consonant skeleton.

A handbook writes "Confluence"; an employee types "컨플루언스". Both are reduced to the sequence of their
consonant sounds in broad classes (k, t, p, s, c, l, m, n, h) and compared. No list of names is needed, so
names the lexicon does not know still match; the skeletons are derived from the handbook's own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_HANGUL_BASE, _INITIALS, _MEDIALS, _FINALS = 0xAC00, 19, 21, 28
# Consonant class per initial (ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ ㅈ ㅉ ㅊ ㅋ ㅌ ㅍ ㅎ); ㅇ is silent.
_INITIAL = ["k", "k", "n", "t", "t", "l", "m", "p", "p", "s", "s", "", "c", "c", "c", "k", "t", "p", "h"]
# Final consonants (index 0 = none): a final ㅅ/ㄷ sounds like t (아웃룩 → outlook), ㅇ like ng.
_FINAL = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "l", "l", "l", "l", "l", "l", "l",
    "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t",
]  # fmt: skip
_LATIN_RULES = [
    (r"tion", "sn"), (r"sion", "sn"), (r"ph", "p"), (r"th", "s"), (r"ck", "k"), (r"ch", "c"), (r"sh", "s"),
    (r"qu", "k"), (r"x", "ks"), (r"c(?=[eiy])", "s"), (r"c", "k"), (r"q", "k"), (r"g", "k"), (r"f", "p"),
    (r"v", "p"), (r"b", "p"), (r"d", "t"), (r"j", "c"), (r"z", "c"), (r"r", "l"),
]  # fmt: skip
_VOWELS = re.compile(r"[aeiouwy]")
_MIN_CONSONANTS = 2


def hangul_skeleton(word: str) -> str:
    """Consonant classes of a Hangul word (슬랙 → slk)."""
    out: list[str] = []
    for ch in word:
        code = ord(ch) - _HANGUL_BASE
        if not 0 <= code < _INITIALS * _MEDIALS * _FINALS:
            return ""
        out.append(_INITIAL[code // (_MEDIALS * _FINALS)])
        out.append(_FINAL[code % _FINALS])
    return _collapse("".join(out).replace("ng", "N"))


def latin_skeleton(word: str) -> str:
    """Consonant classes of a Latin word (slack → slk, confluence → knplns)."""
    text = word.lower()
    if not re.fullmatch(r"[a-z]+", text):
        return ""
    text = re.sub(r"ng$", "N", re.sub(r"c(?=[eiy])", "s", text))
    text = re.sub(r"e$", "", text) if len(text) > 3 else text
    for pattern, repl in _LATIN_RULES:
        text = re.sub(pattern, repl, text)
    return _collapse(_VOWELS.sub("", text))


def _collapse(skeleton: str) -> str:
    # A closing s and ts/z sound are written ㅅ, ㅈ or ㅊ in Hangul (teams → 팀즈): one class at the end.
    return re.sub(r"c$", "s", re.sub(r"(.)\1+", r"\1", skeleton))


class Transliterator:
    """Finds the handbook's words that sound like a question word written in the other script."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._latin: dict[str, set[str]] = {}
        self._hangul: dict[str, set[str]] = {}
        for word in vocabulary:
            if re.fullmatch(r"[a-z]{3,}", word) and _VOWELS.search(word):  # acronyms (vpn, usb) are spelled out
                self._add(self._latin, latin_skeleton(word), word)
            elif re.fullmatch(r"[가-힣]{2,}", word):
                self._add(self._hangul, hangul_skeleton(word), word)

    @staticmethod
    def _add(index: dict[str, set[str]], skeleton: str, word: str) -> None:
        if len(skeleton) >= _MIN_CONSONANTS:
            index.setdefault(skeleton, set()).add(word)

    def counterparts(self, word: str) -> set[str]:
        """Handbook words in the other script with the same skeleton (empty when none or too short)."""
        if re.fullmatch(r"[가-힣]{2,}", word):
            return set(self._latin.get(hangul_skeleton(word), ()))
        if re.fullmatch(r"[a-z]{3,}", word):
            skeleton = latin_skeleton(word)
            # Hangul words are many: a Latin word must have three consonants to pick one of them.
            return set(self._hangul.get(skeleton, ())) if len(skeleton) >= 3 else set()
        return set()
