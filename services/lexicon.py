"""The built-in Korean workplace lexicon (package data), merged under a company's own synonym groups, and the
expander that fires those groups on a question."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Protocol

import yaml
from loguru import logger

Group = tuple[str, ...]
# libyaml's safe loader when PyYAML was built with it: the same data, ~10x less CPU on every start.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Terms(Protocol):
    """What the expander needs of the tokenizer: the morphemes of a lexicon term."""

    def term(self, word: str) -> list[str]:
        """Content morphemes of a lexicon or synonym term."""


def _key(word: str) -> str:
    return "".join(word.split()).lower()


@lru_cache(maxsize=1)
def builtin_lexicon() -> tuple[Group, ...]:
    """The groups of `services/data/workplace_lexicon.yaml` (empty, with a warning, if it is unreadable)."""
    try:
        text = (resources.files("services") / "data" / "workplace_lexicon.yaml").read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_SAFE_LOADER) or {}
    except (OSError, yaml.YAMLError) as err:
        logger.bind(error=str(err)).warning("built-in lexicon unreadable; only the company's synonyms apply")
        return ()
    groups = data.get("groups") if isinstance(data, dict) else None
    out = []
    for group in groups or []:
        if isinstance(group, list):
            words = tuple(dict.fromkeys(str(w).strip() for w in group if str(w).strip()))
            if len(words) >= 2:
                out.append(words)
    return tuple(out)


def merge_synonyms(builtin: Sequence[Group], company: Sequence[Group]) -> list[Group]:
    """Company groups first; a built-in group sharing any word with a company group is replaced by it."""
    taken = {_key(w) for group in company for w in group}
    return [*company, *(g for g in builtin if not any(_key(w) in taken for w in g))]


class SynonymExpander:
    """Fires synonym groups on the question (morpheme phrases, or literal words) and expands them.

    Read-only after construction (safe to share between threads); each `expand` call works on its own sets.
    """

    def __init__(self, groups: Sequence[Sequence[str]], tokenizer: Terms) -> None:
        self._groups: list[list[tuple[tuple[str, ...], str]]] = []
        self._by_first: dict[str, list[int]] = {}
        # Literal words by their first two letters: one pass over the question finds every word it contains.
        self._by_bigram: dict[str, list[tuple[str, int]]] = {}
        self._longest = 1
        # Members the analyser gets wrong (육휴 → 휴, 내선번호 → 내/번호): they fire only where a word of the question
        # starts with them (검사번호 holds no 사번), never on their stray morphemes, and are no expansion (a lone 휴 or
        # 사 would match everything).
        self._literal_only: list[set[str]] = []
        for group in groups:
            analysed = [(tuple(tokenizer.term(word)), _literal(word)) for word in group]
            whole = [bool(m[0]) and _analysed_whole(word, m[0]) for m, word in zip(analysed, group, strict=True)]
            members = [m for m, ok in zip(analysed, whole, strict=True) if ok]
            literal_only = {word for (_, word), ok in zip(analysed, whole, strict=True) if not ok and word}
            if not members or len(members) + len(literal_only) < 2:
                continue
            index = len(self._groups)
            self._groups.append(members)
            self._literal_only.append(literal_only)
            for phrase, word in members:
                self._by_first.setdefault(phrase[0], []).append(index)
                self._longest = max(self._longest, len(phrase))
                if word:
                    self._by_bigram.setdefault(word[:2], []).append((word, index))
            for word in literal_only:
                self._by_bigram.setdefault(word[:2], []).append((word, index))

    def expand(self, tokens: Sequence[str], text: str = "") -> dict[str, set[tuple[str, ...]]]:
        """Per distinct question token: the token itself and the members of every group it fired."""
        concepts: dict[str, set[tuple[str, ...]]] = {t: {(t,)} for t in tokens}
        literal = "".join(text.split()).lower()
        words = self._literals_in(literal)
        grams = {tuple(tokens[i : i + n]) for n in range(1, self._longest + 1) for i in range(len(tokens) - n + 1)}
        candidates = {g for t in set(tokens) for g in self._by_first.get(t, ())}
        candidates |= {g for _, g in words}
        present = {word for word, _ in words}
        for g in sorted(candidates):
            members = self._groups[g]
            fired = [(m, word) for m, word in members if m in grams or word in present]
            fired += [((), word) for word in self._literal_only[g] if word in present and _starts_a_word(word, text)]
            phrases = {m for m, _ in members}
            for member, word in fired:
                # Literal hits may be split differently in the question: expand the tokens inside the word.
                for t in concepts:
                    if t in member or (word and t in word):
                        concepts[t] |= phrases
        return concepts

    def phrases(self) -> set[tuple[str, ...]]:
        """Every member phrase of every group (what `expand` can add to a question)."""
        return {m for members in self._groups for m, _ in members}

    def _literals_in(self, literal: str) -> set[tuple[str, int]]:
        """The (literal word, group) pairs whose word occurs in the spaceless question."""
        found: set[tuple[str, int]] = set()
        for i in range(len(literal) - 1):
            for word, g in self._by_bigram.get(literal[i : i + 2], ()):
                if literal.startswith(word, i):
                    found.add((word, g))
        return found


def _starts_a_word(literal: str, text: str) -> bool:
    """Whether the literal occurs in the spaceless text where one of its words starts ("두 시간만" holds 두시간;
    "교육 휴" holds 육휴 only from inside 교육)."""
    compact, starts, at = "", set(), 0
    for word in text.lower().split():
        starts.add(at)
        compact += word
        at += len(word)
    found = compact.find(literal)
    while found >= 0:
        if found in starts:
            return True
        found = compact.find(literal, found + 1)
    return False


def _analysed_whole(word: str, tokens: tuple[str, ...]) -> bool:
    """Whether the morphemes account for the word (allowing an ending or a particle on longer words)."""
    core = "".join(word.split()).lower().removesuffix("다")
    return len("".join(tokens)) >= len(core) - (1 if len(core) >= 4 else 0)


def _literal(word: str) -> str:
    """The spaceless form used for literal matching; verbs (…다) and one-letter words only match as morphemes,
    since Kiwi splits words like 복포 or 손님 differently depending on context."""
    compact = "".join(word.split()).lower()
    return "" if len(compact) < 2 or compact.endswith("다") else compact
