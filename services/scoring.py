"""Scoring internals of retrieval: term scores read straight from the BM25 index, and coverage of many sections.

Everything here works on per-call arrays: nothing shared is changed, so a search may run in any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from services.ranking import NEIGHBOUR_WEIGHT, SYNONYM_WEIGHT, TITLE_WEIGHT

if TYPE_CHECKING:
    from services.retrieval import Concept

# Cells (terms × sections) read from the index at once: a 500-character question on 10,000 sections takes a few.
GATHER_CELLS = 1_000_000


@dataclass(frozen=True, slots=True)
class Plan:
    """How one concept is scored: its own word, its one-word and longer synonyms, its neighbours (all known)."""

    concept: Concept
    own: bool
    singles: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, concept: Concept, phrase_idf: Callable[[tuple[str, ...]], float | None]) -> Plan:
        """The plan of a concept; members with a word the handbook never uses cannot score and are left out."""
        members = [m for m in concept.members - {(concept.token,)} if phrase_idf(m) is not None]
        own = phrase_idf((concept.token,)) is not None
        singles = tuple(m[0] for m in members if len(m) == 1)
        return cls(concept, own, singles, tuple(m for m in members if len(m) > 1))

    @property
    def terms(self) -> list[str]:
        """Every term this plan reads from the index."""
        own = [self.concept.token] if self.own else []
        return [*own, *self.singles, *self.concept.neighbours, *(t for p in self.phrases for t in p)]


def chunks(plans: list[Plan], max_terms: int) -> list[list[Plan]]:
    """Consecutive plans grouped so each group reads at most max_terms distinct terms (a bigger plan alone)."""
    chunks: list[list[Plan]] = []
    terms: set[str] = set()
    for plan in plans:
        new = terms | set(plan.terms)
        if chunks and len(new) <= max_terms:
            chunks[-1].append(plan)
            terms = new
        else:
            chunks.append([plan])
            terms = set(plan.terms)
    return chunks


class FieldIndex:
    """One bm25s field read directly: the stored per-term score columns (CSC), without a bm25s call per term."""

    def __init__(self, index: bm25s.BM25) -> None:
        self.bm25 = index  # kept for reference checks (tests compare against its get_scores)
        scores = index.scores
        self._data: np.ndarray = scores["data"]
        self._indices: np.ndarray = scores["indices"]
        self._indptr: np.ndarray = scores["indptr"]
        self._vocab: dict[str, int] = index.vocab_dict

    def rows(self, terms: Sequence[str], n: int) -> np.ndarray:
        """Dense score rows (float32, one per term; zeros for a term this field never uses), in one gather."""
        out = np.zeros((len(terms), n), dtype=self._data.dtype)
        known = [(row, self._vocab[t]) for row, t in enumerate(terms) if t in self._vocab]
        if not known:
            return out
        rows, ids = np.array(known, dtype=np.int64).T
        starts, ends = self._indptr[ids], self._indptr[ids + 1]
        lengths = (ends - starts).astype(np.int64)
        at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        out[np.repeat(rows, lengths), self._indices[at]] = self._data[at]
        return out

    def sections_with(self, term: str) -> np.ndarray:
        """The sections (positions) whose field uses the term; empty when none does."""
        tid = self._vocab.get(term)
        if tid is None:
            return self._indices[:0]
        return self._indices[self._indptr[tid] : self._indptr[tid + 1]]


class TermScores:
    """BM25 scores of terms and phrases over both fields, from rows gathered once per chunk of the question.

    Adds like bm25s does (float32, term by term, then the two fields in float64), so every score is bit-identical
    to `body.get_scores(phrase) + TITLE_WEIGHT * title.get_scores(phrase)`; a maximum of weighted scores equals
    the weighted maximum (rounding is monotonic), so synonyms are compared in one array operation.
    """

    def __init__(self, terms: Sequence[str], body: FieldIndex, title: FieldIndex, n: int) -> None:
        self._row = {t: i for i, t in enumerate(terms)}
        self._body = body.rows(terms, n)
        self._title = title.rows(terms, n)

    def best(self, plan: Plan, n: int) -> np.ndarray:
        """Per section, the best score of the concept's own word, synonyms (weighted) and neighbours (weighted)."""
        best = self._words((plan.concept.token,))[0] if plan.own else np.zeros(n, dtype=np.float64)
        if plan.singles:
            best = np.maximum(best, SYNONYM_WEIGHT * self._words(plan.singles).max(axis=0))
        for phrase in plan.phrases:
            best = np.maximum(best, SYNONYM_WEIGHT * self._phrase(phrase))
        if plan.concept.neighbours:
            best = np.maximum(best, NEIGHBOUR_WEIGHT * self._words(plan.concept.neighbours).max(axis=0))
        return best

    def _words(self, words: Sequence[str]) -> np.ndarray:
        rows = [self._row[w] for w in words]
        return self._body[rows].astype(np.float64) + TITLE_WEIGHT * self._title[rows].astype(np.float64)

    def _phrase(self, phrase: tuple[str, ...]) -> np.ndarray:
        rows = [self._row[t] for t in phrase]
        body: np.ndarray = self._body[rows[0]].copy()
        title: np.ndarray = self._title[rows[0]].copy()
        for r in rows[1:]:
            body += self._body[r]
            title += self._title[r]
        combined: np.ndarray = body.astype(np.float64) + TITLE_WEIGHT * title.astype(np.float64)
        return combined


class Evidence:
    """A question's concepts and weights, checked against many sections at once (coverage and matched words)."""

    def __init__(self, concepts: list[Concept], weights: list[float], factors: list[float] | None = None) -> None:
        """`factors`: each concept's evidence factor (default: its own); a strong word has a factor of at least 1."""
        self.concepts = concepts
        self.weights = weights
        factors = [c.factor for c in concepts] if factors is None else factors
        self._weights = np.array(weights, dtype=np.float64)
        self._strong = np.array([f >= 1.0 for f in factors])
        self.strong = sum(1 for f, w in zip(factors, weights, strict=True) if f >= 1.0 and w > 0)
        # Every concept's members, term by term, laid end to end: a member is in a section when all its terms
        # are (minimum over its run), a concept when any member is (maximum over its members' run).
        members = [frozenset(m) for c in concepts for m in c.members]
        self._terms = frozenset(t for m in members for t in m)
        self._column = {t: j for j, t in enumerate(sorted(self._terms))}
        self._flat = np.array([self._column[t] for m in members for t in sorted(m)], dtype=np.int64)
        self._member_starts = np.cumsum([0, *(len(m) for m in members[:-1])], dtype=np.int64)
        self._concept_starts = np.cumsum([0, *(len(c.members) for c in concepts[:-1])], dtype=np.int64)

    def coverage(self, docs: Sequence[frozenset[str]]) -> tuple[list[float], list[int]]:
        """Per section: the covered share of the evidence weight, and how many strong words it contains."""
        if not docs:
            return [], []
        present = np.zeros((len(docs), len(self._column)), dtype=np.uint8)
        for row, doc in enumerate(docs):
            present[row, [self._column[t] for t in doc & self._terms]] = 1
        member_in = np.minimum.reduceat(present[:, self._flat], self._member_starts, axis=1)
        covered = np.maximum.reduceat(member_in, self._concept_starts, axis=1).astype(bool)
        # Running sums add the weights in question order, exactly as a loop over the concepts would.
        total = float(np.cumsum(self._weights)[-1])
        sums = np.cumsum(np.where(covered, self._weights, 0.0), axis=1)[:, -1]
        shares = [float(s) / total if total else 0.0 for s in sums]
        return shares, [int(m) for m in (covered & self._strong).sum(axis=1)]
