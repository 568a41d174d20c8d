"""Korean retrieval: morpheme BM25 (bm25s) with synonym expansion, FAQ links and optional dense fusion."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
from loguru import logger

from services.knowledge import KnowledgeBase, Section, SectionKind
from services.tokenizer import TOKENIZER_VERSION, KoreanTokenizer

_SYNONYM_WEIGHT = 0.8
_COVERAGE_BONUS = 1.0
_RERANK_DEPTH = 30
# A question token and its synonyms; a synonym may be a phrase (several morphemes that must all match).
Concept = tuple[str, frozenset[tuple[str, ...]]]
_FAQ_LINK_WEIGHT = 0.9
_RRF_K = 60
_DENSE_WEIGHT = 0.7
_TITLE_WEIGHT = 1.0
# Part of the token-cache key: bump when section_index_text changes.
_INDEX_FORMAT = "f1"


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved section with its fused score and how much of the question it covers (0–1)."""

    section: Section
    score: float
    coverage: float


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Ranked hits and the confidence that the best one actually answers the question."""

    hits: list[Hit]
    confidence: float
    query_tokens: tuple[str, ...]

    @property
    def best(self) -> Hit | None:
        """The top hit, if any."""
        return self.hits[0] if self.hits else None


class DenseScorer(Protocol):
    """Anything that scores every section against a question by embedding similarity."""

    async def scores(self, question: str) -> np.ndarray | None:
        """Cosine similarity per section (None when unavailable right now)."""


class SynonymExpander:
    """Fires synonym groups on the question (morpheme phrases, or literal words) and expands them."""

    def __init__(self, groups: Sequence[Sequence[str]], tokenizer: KoreanTokenizer) -> None:
        self._groups: list[list[tuple[tuple[str, ...], str]]] = []
        for group in groups:
            members = [(tuple(tokenizer.tokenize(word)), _literal(word)) for word in group]
            members = [m for m in members if m[0]]
            if len(members) >= 2:
                self._groups.append(members)

    def expand(self, tokens: Sequence[str], text: str = "") -> list[Concept]:
        """One concept per distinct question token: the token and its fired synonyms."""
        concepts: dict[str, set[tuple[str, ...]]] = {t: {(t,)} for t in tokens}
        literal = "".join(text.split()).lower()
        for members in self._groups:
            fired = [(m, word) for m, word in members if _contains(tokens, m) or (word and word in literal)]
            if not fired:
                continue
            phrases = {m for m, _ in members}
            for member, word in fired:
                # Literal hits may be split differently in the question: expand the tokens inside the word.
                for t in tokens:
                    if t in member or (word and t in word):
                        concepts[t] |= phrases
        return [(t, frozenset(concepts[t])) for t in dict.fromkeys(tokens)]


def _literal(word: str) -> str:
    """The spaceless form used for literal matching; verbs (…다) and one-letter words only match as morphemes,
    since Kiwi splits words like 복포 or 손님 differently depending on context."""
    compact = "".join(word.split()).lower()
    return "" if len(compact) < 2 or compact.endswith("다") else compact


def _contains(tokens: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1))


def section_fields(section: Section) -> tuple[str, str]:
    """The two indexed fields of a section: its title (own heading, or FAQ question + keywords) and body."""
    if section.kind is SectionKind.FAQ:
        return " ".join([section.question or "", *section.keywords]), section.text
    return section.heading, " ".join(section.title_path[1:-1]) + "\n" + section.text


def section_index_text(section: Section) -> str:
    """All indexed text of a section as one string (for embeddings)."""
    return "\n".join(section_fields(section))


class Retriever:
    """Ranks knowledge-base sections for a question; build once per knowledge-base version."""

    def __init__(
        self,
        kb: KnowledgeBase,
        tokenizer: KoreanTokenizer,
        *,
        cache_dir: Path | None = None,
        dense: DenseScorer | None = None,
    ) -> None:
        self.kb = kb
        self.tokenizer = tokenizer
        self.dense = dense
        self.sections = kb.sections
        title_tokens, body_tokens = _cached_tokens(kb, tokenizer, cache_dir)
        self._token_sets = [frozenset(t) | frozenset(b) for t, b in zip(title_tokens, body_tokens, strict=True)]
        self._df: dict[str, int] = {}
        for tokens in self._token_sets:
            for t in tokens:
                self._df[t] = self._df.get(t, 0) + 1
        self._bm25 = _bm25([t + b for t, b in zip(title_tokens, body_tokens, strict=True)])
        self._title_bm25 = _bm25(title_tokens)
        self._expander = SynonymExpander(kb.synonyms, tokenizer)
        self._by_heading = {s.heading: i for i, s in enumerate(self.sections) if s.kind is SectionKind.DOC}
        self._position = {id(s): i for i, s in enumerate(self.sections)}

    def idf(self, token: str) -> float:
        """BM25 idf of a token; unknown tokens get the highest idf (they are rare by definition)."""
        n = len(self.sections)
        df = self._df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search_lexical(self, question: str, k: int = 5) -> Retrieval:
        """BM25 + synonyms + FAQ links; the confidence is the top hit's coverage of the question."""
        tokens = self.tokenizer.tokenize(question)
        if not tokens or not self.sections:
            return Retrieval([], 0.0, tuple(tokens))
        concepts = self._expander.expand(tokens, question)
        return self._rank(self._scores(concepts), concepts, tokens, k)

    async def search(self, question: str, k: int = 5) -> Retrieval:
        """Lexical search, fused with dense similarity (reciprocal rank fusion) when available."""
        lexical = self.search_lexical(question, k=max(k, 20))
        dense = await self.dense.scores(question) if self.dense is not None else None
        if dense is None or not lexical.query_tokens:
            return Retrieval(lexical.hits[:k], lexical.confidence, lexical.query_tokens)
        fused: dict[int, float] = {}
        for rank, hit in enumerate(lexical.hits):
            fused[self._position[id(hit.section)]] = 1 / (_RRF_K + rank)
        for rank, i in enumerate(np.argsort(-dense)[:20]):
            fused[int(i)] = fused.get(int(i), 0.0) + _DENSE_WEIGHT / (_RRF_K + rank)
        concepts = self._expander.expand(list(lexical.query_tokens), question)
        order = sorted(fused, key=lambda i: -fused[i])[:k]
        hits = [Hit(self.sections[i], fused[i], self._coverage(i, concepts)) for i in order]
        # Confidence stays lexical (calibrated); dense similarity only reorders what is shown.
        confidence = max(
            [h.coverage for h in hits[:1]]
            + [lexical.confidence for h in hits[:3] if lexical.best and h.section is lexical.best.section]
        )
        return Retrieval(hits, confidence, lexical.query_tokens)

    def _field_scores(self, tokens: list[str]) -> np.ndarray:
        body = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        return body + _TITLE_WEIGHT * np.asarray(self._title_bm25.get_scores(tokens), dtype=np.float64)

    def _scores(self, concepts: list[Concept]) -> np.ndarray:
        """Sum over concepts of the best-matching member (the question's own word, or a synonym)."""
        total = np.zeros(len(self.sections), dtype=np.float64)
        for token, members in concepts:
            best = self._field_scores([token])
            for member in members - {(token,)}:
                if all(t in self._df for t in member):
                    best = np.maximum(best, _SYNONYM_WEIGHT * self._field_scores(list(member)))
            total += best
        scores = total
        for i in np.argsort(-scores)[:10]:
            linked = self._by_heading.get(self.sections[i].related_heading or "")
            if linked is not None:
                scores[linked] = max(scores[linked], _FAQ_LINK_WEIGHT * scores[i])
        return scores

    def _coverage(self, i: int, concepts: list[Concept]) -> float:
        doc = self._token_sets[i]
        total = covered = 0.0
        for _, concept in concepts:
            known = [max(self.idf(t) for t in m) for m in concept if all(t in self._df for t in m)]
            weight = max(known) if known else self.idf("\0unknown")
            total += weight
            if any(all(t in doc for t in m) for m in concept):
                covered += weight
        return covered / total if total else 0.0

    def _rank(self, scores: np.ndarray, concepts: list[Concept], tokens: list[str], k: int) -> Retrieval:
        """Re-rank the best candidates by how much of the question they cover (a soft AND)."""
        candidates = [int(i) for i in np.argsort(-scores)[:_RERANK_DEPTH] if scores[i] > 0]
        covered = [(i, self._coverage(i, concepts)) for i in candidates]
        hits = [Hit(self.sections[i], float(scores[i]) * (1 + _COVERAGE_BONUS * c), c) for i, c in covered]
        hits.sort(key=lambda h: -h.score)
        hits = hits[:k]
        return Retrieval(hits, hits[0].coverage if hits else 0.0, tuple(tokens))


def _bm25(corpus: list[list[str]]) -> bm25s.BM25:
    index = bm25s.BM25()
    # bm25s refuses an empty corpus; an empty knowledge folder must still start (and report unhealthy)
    index.index([t or [""] for t in corpus] or [[""]], show_progress=False)
    return index


Fields = tuple[list[list[str]], list[list[str]]]


def _cached_tokens(kb: KnowledgeBase, tokenizer: KoreanTokenizer, cache_dir: Path | None) -> Fields:
    """Title and body tokens per section, cached on disk by KB version so a restart skips analysis."""
    path = cache_dir / f"tokens-{kb.version}-{TOKENIZER_VERSION}-{_INDEX_FORMAT}.json.gz" if cache_dir else None
    if path is not None and path.exists():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                titles, bodies = json.load(fh)
            if len(titles) == len(bodies) == len(kb.sections):
                return titles, bodies
        except (OSError, ValueError):
            logger.bind(path=str(path)).warning("token cache unreadable; rebuilding")
    fields = [section_fields(s) for s in kb.sections]
    titles = tokenizer.tokenize_many([f[0] for f in fields])
    bodies = tokenizer.tokenize_many([f[1] for f in fields])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump([titles, bodies], fh, ensure_ascii=False)
        tmp.replace(path)
    return titles, bodies
