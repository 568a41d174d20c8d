"""Korean retrieval: morpheme BM25 (bm25s) with synonym expansion, FAQ links and optional dense fusion."""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
from loguru import logger

from services.knowledge import KnowledgeBase, Section, SectionKind
from services.lexicon import builtin_lexicon, merge_synonyms
from services.tokenizer import GENERIC_FORMS, TIME_FORMS, TOKENIZER_VERSION, KoreanTokenizer
from services.transliterate import Transliterator

_SYNONYM_WEIGHT = 0.8
_COVERAGE_BONUS = 1.0
_RERANK_DEPTH = 30
_FAQ_LINK_WEIGHT = 0.9
_RRF_K = 60
_DENSE_WEIGHT = 0.7
_TITLE_WEIGHT = 1.0
# Evidence weight of a question word relative to its idf: verbs and generic workplace nouns (회사, 신청, 시간)
# say less about the topic than a specific noun; a one-letter word or a bare number even less.
_VERB_FACTOR = 0.4
_GENERIC_FACTOR = 0.3
_SHORT_FACTOR = 0.5
# A word the handbook never uses counts against confidence, but at most this fraction of the rarest word's idf.
_UNKNOWN_FACTOR = 0.75
_BOLD = re.compile(r"\*\*([^*\n]{2,30})\*\*")
_NEIGHBOUR_WEIGHT = 0.5
# A child section within this share of its parent's score is preferred to it (see _prefer_children).
_CHILD_SCORE = 0.8
_NEIGHBOUR_POOL, _NEIGHBOURS = 10, 3
_HANGUL_WORD = re.compile(r"[가-힣]+")
# Part of the token-cache key: bump when section_index_text changes.
_INDEX_FORMAT = "f2"


@dataclass(frozen=True, slots=True)
class Concept:
    """A question word, its alternatives (synonyms, transliterations; phrases of morphemes), and its weight."""

    token: str
    members: frozenset[tuple[str, ...]]
    factor: float = 1.0
    # Word-vector neighbours of a word the handbook never uses: they help ranking, never confidence.
    neighbours: tuple[str, ...] = ()

    @property
    def rank_weight(self) -> float:
        """Weight in ranking: a verb ranks in full (BM25's idf already discounts common ones; FAQ questions
        share them: "며칠 생기나요?"), but is weak evidence of the topic in the confidence."""
        return 1.0 if self.factor == _VERB_FACTOR else self.factor


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved section with its fused score and how much of the question it covers (0–1)."""

    section: Section
    score: float
    coverage: float
    matched: int = 0


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Ranked hits and the confidence that the best one actually answers the question."""

    hits: list[Hit]
    confidence: float
    query_tokens: tuple[str, ...]
    concepts: int = 0

    @property
    def best(self) -> Hit | None:
        """The top hit, if any."""
        return self.hits[0] if self.hits else None

    @property
    def margin(self) -> float:
        """How far the top hit is ahead of the best rival (score ratio − 1; large when alone).

        Its own parent or sub-sections are no rivals: they say the same thing at another depth.
        """
        top = self.hits[0] if self.hits else None
        rivals = [h for h in self.hits[1:] if top and not _nested(h.section, top.section)]
        if top is None or not rivals or rivals[0].score <= 0:
            return 1.0
        return top.score / rivals[0].score - 1.0


class DenseScorer(Protocol):
    """Anything that scores every section against a question by embedding similarity."""

    async def scores(self, question: str) -> np.ndarray | None:
        """Cosine similarity per section (None when unavailable right now)."""


class SynonymExpander:
    """Fires synonym groups on the question (morpheme phrases, or literal words) and expands them."""

    def __init__(self, groups: Sequence[Sequence[str]], tokenizer: KoreanTokenizer) -> None:
        self._groups: list[list[tuple[tuple[str, ...], str]]] = []
        self._by_first: dict[str, list[int]] = {}
        self._by_literal: list[tuple[str, int]] = []
        for group in groups:
            members = [(tuple(tokenizer.term(word)), _literal(word)) for word in group]
            # A member the analyser gets wrong (우리사주 → 사, 품의 → 품) would fire on every such letter.
            members = [m for m, word in zip(members, group, strict=True) if m[0] and _analysed_whole(word, m[0])]
            if len(members) < 2:
                continue
            index = len(self._groups)
            self._groups.append(members)
            for phrase, word in members:
                self._by_first.setdefault(phrase[0], []).append(index)
                if word:
                    self._by_literal.append((word, index))

    def expand(self, tokens: Sequence[str], text: str = "") -> dict[str, set[tuple[str, ...]]]:
        """Per distinct question token: the token itself and the members of every group it fired."""
        concepts: dict[str, set[tuple[str, ...]]] = {t: {(t,)} for t in tokens}
        literal = "".join(text.split()).lower()
        candidates = {g for t in set(tokens) for g in self._by_first.get(t, ())}
        candidates |= {g for word, g in self._by_literal if word in literal}
        for g in sorted(candidates):
            members = self._groups[g]
            fired = [(m, word) for m, word in members if _contains(tokens, m) or (word and word in literal)]
            phrases = {m for m, _ in members}
            for member, word in fired:
                # Literal hits may be split differently in the question: expand the tokens inside the word.
                for t in concepts:
                    if t in member or (word and t in word):
                        concepts[t] |= phrases
        return concepts


def _analysed_whole(word: str, tokens: tuple[str, ...]) -> bool:
    """Whether the morphemes account for the word (allowing an ending or a particle on longer words)."""
    core = "".join(word.split()).lower().removesuffix("다")
    return len("".join(tokens)) >= len(core) - (1 if len(core) >= 4 else 0)


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
        lexicon: Sequence[tuple[str, ...]] | None = None,
        word_vectors: bool = False,
    ) -> None:
        self.kb = kb
        self.tokenizer = tokenizer
        self.dense = dense
        self.sections = kb.sections
        synonyms = merge_synonyms(builtin_lexicon() if lexicon is None else lexicon, kb.synonyms)
        tokenizer.add_compounds(_compound_candidates(kb, synonyms))
        title_tokens, body_tokens = _cached_tokens(kb, tokenizer, cache_dir)
        self._token_sets = [frozenset(t) | frozenset(b) for t, b in zip(title_tokens, body_tokens, strict=True)]
        self._df: dict[str, int] = {}
        for tokens in self._token_sets:
            for t in tokens:
                self._df[t] = self._df.get(t, 0) + 1
        self._bm25 = _bm25([t + b for t, b in zip(title_tokens, body_tokens, strict=True)])
        self._title_bm25 = _bm25(title_tokens)
        self._expander = SynonymExpander(synonyms, tokenizer)
        self._translit = Transliterator(self._df)
        self._by_heading = {s.heading: i for i, s in enumerate(self.sections) if s.kind is SectionKind.DOC}
        self._position = {id(s): i for i, s in enumerate(self.sections)}
        self._unknown_idf = _UNKNOWN_FACTOR * self.idf("\0unknown")
        self._word_vectors = word_vectors

    def idf(self, token: str) -> float:
        """BM25 idf of a token; unknown tokens get the highest idf (they are rare by definition)."""
        n = len(self.sections)
        df = self._df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def concepts(self, question: str) -> list[Concept]:
        """The question's words with their synonyms, transliterations and evidence factors."""
        tokens = self.tokenizer.tokenize(question)
        verbs = self.tokenizer.verbs(question) if tokens else set()
        expanded = self._expander.expand(tokens, question)
        out = []
        for token, members in expanded.items():
            factor = token_factor(token, verbs)
            if token in TIME_FORMS and token not in self._df:
                factor = min(factor, _GENERIC_FACTOR)
            if token not in self._df and factor >= 1.0:  # nouns only: 다녀오 is not "done"
                members |= {(w,) for w in self._translit.counterparts(token)}
            known = any(all(t in self._df for t in m) for m in members)
            near = () if known or not self._word_vectors else self._neighbours(token)
            out.append(Concept(token, frozenset(members), factor, near))
        return out

    def _neighbours(self, token: str) -> tuple[str, ...]:
        """The handbook's words nearest to an unknown question word (월급 → 급여), at most a few."""
        if len(token) < 2 or not _HANGUL_WORD.fullmatch(token):
            return ()
        return tuple(w for w in self.tokenizer.similar(token, _NEIGHBOUR_POOL) if w in self._df)[:_NEIGHBOURS]

    def search_lexical(self, question: str, k: int = 5) -> Retrieval:
        """BM25 + synonyms + FAQ links; the confidence is the top hit's weighted coverage of the question."""
        concepts = self.concepts(question)
        tokens = tuple(c.token for c in concepts)
        if not concepts or not self.sections:
            return Retrieval([], 0.0, tokens)
        return self._rank(self._scores(concepts), concepts, tokens, k)

    async def search(self, question: str, k: int = 5) -> Retrieval:
        """Lexical search, fused with dense similarity (reciprocal rank fusion) when available."""
        lexical = self.search_lexical(question, k=max(k, 20))
        dense = await self.dense.scores(question) if self.dense is not None else None
        if dense is None or not lexical.query_tokens:
            return Retrieval(lexical.hits[:k], lexical.confidence, lexical.query_tokens, lexical.concepts)
        fused: dict[int, float] = {}
        for rank, hit in enumerate(lexical.hits):
            fused[self._position[id(hit.section)]] = 1 / (_RRF_K + rank)
        for rank, i in enumerate(np.argsort(-dense)[:20]):
            fused[int(i)] = fused.get(int(i), 0.0) + _DENSE_WEIGHT / (_RRF_K + rank)
        weighted = self._weighted(self.concepts(question))
        order = sorted(fused, key=lambda i: -fused[i])[:k]
        hits = [self._hit(i, fused[i], weighted) for i in order]
        # Confidence stays lexical (calibrated); dense similarity only reorders what is shown.
        confidence = max(
            [h.coverage for h in hits[:1]]
            + [lexical.confidence for h in hits[:3] if lexical.best and h.section is lexical.best.section]
        )
        return Retrieval(hits, confidence, lexical.query_tokens, lexical.concepts)

    def _field_scores(self, tokens: list[str]) -> np.ndarray:
        body = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        return body + _TITLE_WEIGHT * np.asarray(self._title_bm25.get_scores(tokens), dtype=np.float64)

    def _scores(self, concepts: list[Concept]) -> np.ndarray:
        """Sum over concepts of the best-matching member (the question's own word, or a synonym)."""
        total = np.zeros(len(self.sections), dtype=np.float64)
        for concept in concepts:
            token = concept.token
            best = self._field_scores([token]) if token in self._df else np.zeros_like(total)
            for member in concept.members - {(token,)}:
                if all(t in self._df for t in member):
                    best = np.maximum(best, _SYNONYM_WEIGHT * self._field_scores(list(member)))
            for word in concept.neighbours:
                best = np.maximum(best, _NEIGHBOUR_WEIGHT * self._field_scores([word]))
            total += concept.rank_weight * best
        scores = total
        for i in np.argsort(-scores)[:10]:
            linked = self._by_heading.get(self.sections[i].related_heading or "")
            if linked is not None:
                scores[linked] = max(scores[linked], _FAQ_LINK_WEIGHT * scores[i])
        return scores

    def _weighted(self, concepts: list[Concept]) -> list[tuple[Concept, float]]:
        """Each concept's evidence weight, computed once per question (not per candidate)."""
        out = []
        for concept in concepts:
            known = [max(self.idf(t) for t in m) for m in concept.members if all(t in self._df for t in m)]
            out.append((concept, concept.factor * (max(known) if known else self._unknown_idf)))
        return out

    def _hit(self, i: int, score: float, weighted: list[tuple[Concept, float]]) -> Hit:
        """A hit with its coverage: the share of the question's evidence weight the section contains."""
        doc = self._token_sets[i]
        total = covered = 0.0
        matched = 0
        for concept, weight in weighted:
            total += weight
            if any(all(t in doc for t in m) for m in concept.members):
                covered += weight
                matched += concept.factor >= 1.0
        coverage = covered / total if total else 0.0
        return Hit(self.sections[i], score * (1 + _COVERAGE_BONUS * coverage), coverage, matched)

    def _rank(self, scores: np.ndarray, concepts: list[Concept], tokens: tuple[str, ...], k: int) -> Retrieval:
        """Re-rank the best candidates by how much of the question they cover (a soft AND)."""
        candidates = [int(i) for i in np.argsort(-scores)[:_RERANK_DEPTH] if scores[i] > 0]
        weighted = self._weighted(concepts)
        hits = sorted((self._hit(i, float(scores[i]), weighted) for i in candidates), key=lambda h: -h.score)
        hits = _prefer_children(hits)[:k]
        strong = sum(1 for c, w in weighted if c.factor >= 1.0 and w > 0)
        return Retrieval(hits, hits[0].coverage if hits else 0.0, tokens, strong)


def _nested(a: Section, b: Section) -> bool:
    """Whether one section is the other's ancestor (same document, one heading path a prefix of the other)."""
    short, long = sorted((a.title_path, b.title_path), key=len)
    return a.source == b.source and long[: len(short)] == short


def _prefer_children(hits: list[Hit]) -> list[Hit]:
    """A sub-section close behind its own parent, covering as much of the question, is the more precise answer."""
    if len(hits) < 2:
        return hits
    top = hits[0]
    for i, hit in enumerate(hits[1:4], 1):
        path, parent = hit.section.title_path, top.section.title_path
        is_child = (
            hit.section.source == top.section.source and path[: len(parent)] == parent and len(path) > len(parent)
        )
        if is_child and hit.coverage >= top.coverage and hit.score >= _CHILD_SCORE * top.score:
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits


def token_factor(token: str, verbs: set[str] | frozenset[str] = frozenset()) -> float:
    """How much a question word says about the topic, relative to its idf."""
    if token in GENERIC_FORMS or token.isdigit():
        return _GENERIC_FACTOR
    if token in verbs:
        return _VERB_FACTOR
    return _SHORT_FACTOR if len(token) == 1 else 1.0


def _compound_candidates(kb: KnowledgeBase, synonyms: Sequence[Sequence[str]]) -> list[str]:
    """Headings, bold terms and lexicon words: the phrases whose compounds should stay whole."""
    phrases = [h for s in kb.sections for h in s.title_path]
    phrases += [m for s in kb.sections for m in _BOLD.findall(s.text)]
    phrases += [w for group in synonyms for w in group if " " not in w.strip()]
    return phrases


def _bm25(corpus: list[list[str]]) -> bm25s.BM25:
    index = bm25s.BM25()
    # bm25s refuses an empty corpus; an empty knowledge folder must still start (and report unhealthy)
    index.index([t or [""] for t in corpus] or [[""]], show_progress=False)
    return index


Fields = tuple[list[list[str]], list[list[str]]]


def _cached_tokens(kb: KnowledgeBase, tokenizer: KoreanTokenizer, cache_dir: Path | None) -> Fields:
    """Title and body tokens per section, cached on disk by KB version so a restart skips analysis."""
    path = (
        cache_dir / f"tokens-{kb.version}-{TOKENIZER_VERSION}-{tokenizer.vocabulary}-{_INDEX_FORMAT}.json.gz"
        if cache_dir
        else None
    )
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
