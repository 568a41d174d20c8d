"""Demotions (issue 16): "다른 문서가 필요해요" on an answer ranks the cited section lower for that question's cluster.

A cluster is the demoted question itself (same normalised masked text) or a near-duplicate: the similarity the gap
list groups questions with (content-morpheme Jaccard ≥ GAP_SIMILARITY, services/gaps.py), confirmed on the
morphemes with the verbs kept (Jaccard ≥ DEMOTED_SIMILARITY). Content morphemes alone leave "복지포인트 쓸 데가
어디예요?" and "복지포인트는 얼마나 나와요?" the same set (복지, 포인트): good enough to list them as one gap, too
loose to take a right answer from the second because the first was answered wrongly. A demoted section
goes after every other hit, scored below the last of them, so it is never the rival that makes the new top hit
look ambiguous: a right answer elsewhere is answered, and the demoted section stays a candidate when it is alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from services.cache import normalise_question
from services.gaps import GAP_SIMILARITY, GAP_TEXT_CHARS
from services.ranking import DEMOTED_SHARE, DEMOTED_SIMILARITY


class _Section(Protocol):
    @property
    def id(self) -> str: ...


class _Hit(Protocol):
    @property
    def section(self) -> _Section: ...

    @property
    def score(self) -> float: ...


H = TypeVar("H", bound=_Hit)


class _Tokenizer(Protocol):
    def analyse(self, text: str) -> tuple[list[str], set[str]]: ...


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared share of two morpheme sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


class Demotions:
    """The demoted (question → sections) of one knowledge-base version, analysed once when the index is built."""

    def __init__(self, demoted: Mapping[str, frozenset[str]], tokenizer: _Tokenizer) -> None:
        self._exact = dict(demoted)
        self._tokenizer = tokenizer
        self._near = [(*_morphemes(tokenizer, q), ids) for q, ids in demoted.items()]

    def __bool__(self) -> bool:
        return bool(self._exact)

    def sections_for(self, question: str, tokens: Sequence[str]) -> frozenset[str]:
        """The section ids demoted for this question (its content morphemes given, as the retriever has them)."""
        if not self._exact:
            return frozenset()
        found = set(self._exact.get(normalise_question(question), ()))
        own = frozenset(tokens)
        close = [(words, ids) for content, words, ids in self._near if jaccard(own, content) >= GAP_SIMILARITY]
        if close:  # only then is the question analysed again, for its verbs
            _, mine = _morphemes(self._tokenizer, question)
            found.update(*(ids for words, ids in close if jaccard(mine, words) >= DEMOTED_SIMILARITY))
        return frozenset(found)


def _morphemes(tokenizer: _Tokenizer, question: str) -> tuple[frozenset[str], frozenset[str]]:
    """The question head's content morphemes, and those with its verbs."""
    content, verbs = tokenizer.analyse(question[:GAP_TEXT_CHARS])
    return frozenset(content), frozenset(content) | frozenset(verbs)


def demote(hits: list[H], demoted: frozenset[str]) -> list[H]:
    """Demoted hits after all others (in their order), each scored at most DEMOTED_SHARE × the last other hit's."""
    if not demoted:
        return hits
    kept = [h for h in hits if h.section.id not in demoted]
    down = [h for h in hits if h.section.id in demoted]
    if not down or not kept:
        return hits
    floor = DEMOTED_SHARE * kept[-1].score
    return kept + [dataclasses.replace(h, score=min(h.score, floor)) for h in down]  # type: ignore[type-var]
