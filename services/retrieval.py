"""Korean retrieval: morpheme BM25 (bm25s) with synonym expansion, FAQ links and optional dense fusion.

Cost per question: one Kiwi analysis; every term of the question and its synonyms read from the BM25 index in one
gather per field (`scoring.FieldIndex.rows`), not one bm25s call per term; idf weights and the coverage of all re-ranked
candidates computed once per question (`scoring.Evidence`). Ranking constants live in services/ranking.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
from loguru import logger

from services.demotion import Demotions, demote
from services.knowledge import KnowledgeBase, Section, SectionKind
from services.lexicon import SynonymExpander, builtin_lexicon, merge_synonyms
from services.ranking import (
    CHILD_LOOKAHEAD,
    CHILD_SCORE,
    COUNTER_MAX_DF,
    COUNTER_WEIGHT,
    COVERAGE_BONUS,
    DENSE_POOL,
    DENSE_WEIGHT,
    FAQ_LINK_DEPTH,
    FAQ_LINK_WEIGHT,
    GENERIC_FACTOR,
    GENERIC_MIN_SECTIONS,
    GENERIC_SHARE,
    LEXICAL_POOL,
    NEIGHBOUR_POOL,
    NEIGHBOURS,
    RERANK_DEPTH,
    RRF_K,
    SHORT_FACTOR,
    UNKNOWN_FACTOR,
    VERB_FACTOR,
)
from services.scoring import GATHER_CELLS, Evidence, FieldIndex, Plan, TermScores, chunks
from services.tokenizer import GENERIC_FORMS, TIME_FORMS, KoreanTokenizer
from services.transliterate import Transliterator
from services.versions import function_digest, token_cache_version

_BOLD = re.compile(r"\*\*([^*\n]{2,30})\*\*")
_HANGUL_WORD = re.compile(r"[가-힣]+")
# Bare jamo (ㅠㅠ, ㅋㅋ, ㅇㅇ): an emoticon, never a topic word.
_JAMO = re.compile(r"[\u1100-\u11ff\u3130-\u318f]+")


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
        return 1.0 if self.factor == VERB_FACTOR else self.factor


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


def section_fields(section: Section) -> tuple[str, str]:
    """The two indexed fields of a section: its title (own heading, or FAQ question + keywords) and body."""
    if section.kind is SectionKind.FAQ:
        return " ".join([section.question or "", *section.keywords]), section.text
    return section.heading, " ".join(section.title_path[1:-1]) + "\n" + section.text


def section_index_text(section: Section) -> str:
    """All indexed text of a section as one string (for embeddings)."""
    return "\n".join(section_fields(section))


class Retriever:
    """Ranks knowledge-base sections for a question; build once per knowledge-base version.

    Thread-safe once built: nothing it holds is changed by a search (each call works on its own arrays), and the
    tokenizer serialises Kiwi behind its own lock, so `search_lexical` / `search` may run in worker threads.
    """

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
        _add_compounds(list(_compound_candidates(kb, synonyms)), tokenizer, cache_dir)
        title_tokens, body_tokens = _cached_tokens(kb, tokenizer, cache_dir)
        self._token_sets = [frozenset(t) | frozenset(b) for t, b in zip(title_tokens, body_tokens, strict=True)]
        self._df: dict[str, int] = {}
        for tokens in self._token_sets:
            for t in tokens:
                self._df[t] = self._df.get(t, 0) + 1
        self._idf = {t: self.idf(t) for t in self._df}
        self._body = FieldIndex(_bm25([t + b for t, b in zip(title_tokens, body_tokens, strict=True)]))
        self._title = FieldIndex(_bm25(title_tokens))
        self._expander = _expander(synonyms, tokenizer, cache_dir)
        # Every lexicon phrase's highest idf (None: not in the handbook), looked up rather than recomputed per question.
        self._lexicon_idf: dict[tuple[str, ...], float | None] = {}
        self._lexicon_idf = {p: self._phrase_idf(p) for p in self._expander.phrases()}
        self._translit = Transliterator(self._df)
        self._by_heading = {s.heading: i for i, s in enumerate(self.sections) if s.kind is SectionKind.DOC}
        self._position = {id(s): i for i, s in enumerate(self.sections)}
        self._unknown_idf = UNKNOWN_FACTOR * self.idf("\0unknown")
        self._word_vectors = word_vectors
        self._demotions = Demotions(kb.demoted, tokenizer)

    def idf(self, token: str) -> float:
        """BM25 idf of a token; unknown tokens get the highest idf (they are rare by definition)."""
        n = len(self.sections)
        df = self._df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def words(self) -> list[str]:
        """Every morpheme the indexed sections use, sorted (the knowledge base's vocabulary)."""
        return sorted(self._df)

    def concepts(self, question: str) -> list[Concept]:
        """The question's words with their synonyms, transliterations and evidence factors."""
        tokens, verbs = self.tokenizer.analyse(question)
        expanded = self._expander.expand(self._rejoin(tokens), question)
        out = []
        for token, members in expanded.items():
            factor = token_factor(token, verbs)
            if token in TIME_FORMS and token not in self._df:
                factor = 0.0  # "올해", "이번": a time word the handbook never uses is no evidence, for or against
            if token not in self._df and factor >= 1.0:  # nouns only: 다녀오 is not "done"
                members |= {(w,) for w in self._translit.counterparts(token)}
            known = any(all(t in self._df for t in m) for m in members)
            near = () if known or not self._word_vectors else self._neighbours(token)
            out.append(Concept(token, frozenset(members), factor, near))
        return out

    def _rejoin(self, tokens: list[str]) -> list[str]:
        """Pieces in a row that together are a word of the handbook are that word when no piece alone is one (each
        is a single letter or a word the handbook never uses): Kiwi splits a compound by context ("경조휴가 며칠" →
        경/조/휴가, alone → 경조/휴가; "코어타임 몇시" → 코어/타임, "**코어타임**은" → 코어타임), the handbook's
        own use decides."""
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for size in (3, 2):
                run = tokens[i : i + size]
                joined = "".join(run)
                if (
                    len(run) == size
                    and joined in self._df
                    and all(len(t) == 1 or t not in self._df for t in run)
                    and all(_HANGUL_WORD.fullmatch(t) for t in run)
                ):
                    out.append(joined)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _neighbours(self, token: str) -> tuple[str, ...]:
        """The handbook's words nearest to an unknown question word (월급 → 급여), at most a few."""
        if len(token) < 2 or not _HANGUL_WORD.fullmatch(token):
            return ()
        return tuple(w for w in self.tokenizer.similar(token, NEIGHBOUR_POOL) if w in self._df)[:NEIGHBOURS]

    def search_lexical(self, question: str, k: int = 5) -> Retrieval:
        """BM25 + synonyms + FAQ links; the confidence is the top hit's weighted coverage of the question."""
        return self._lexical(question, k)[0]

    def _lexical(self, question: str, k: int) -> tuple[Retrieval, Evidence | None]:
        concepts = self.concepts(question)
        tokens = tuple(c.token for c in concepts)
        if not concepts or not self.sections:
            return Retrieval([], 0.0, tokens), None
        evidence = self._evidence(concepts)
        demoted = self._demotions.sections_for(question, tokens)
        return self._rank(self._scores(concepts), evidence, tokens, k, demoted), evidence

    async def search(self, question: str, k: int = 5) -> Retrieval:
        """Lexical search, fused with dense similarity (reciprocal rank fusion) when available."""
        lexical, evidence = self._lexical(question, max(k, LEXICAL_POOL))
        dense = await self.dense.scores(question) if self.dense is not None else None
        if dense is None or evidence is None:
            return Retrieval(lexical.hits[:k], lexical.confidence, lexical.query_tokens, lexical.concepts)
        fused: dict[int, float] = {}
        for rank, hit in enumerate(lexical.hits):
            fused[self._position[id(hit.section)]] = 1 / (RRF_K + rank)
        for rank, i in enumerate(np.argsort(-dense)[:DENSE_POOL]):
            fused[int(i)] = fused.get(int(i), 0.0) + DENSE_WEIGHT / (RRF_K + rank)
        demoted = self._demotions.sections_for(question, lexical.query_tokens)
        order = sorted(fused, key=lambda i: -fused[i])[: len(fused) if demoted else k]
        hits = demote(self._hits(order, [fused[i] for i in order], evidence), demoted)[:k]
        # Confidence stays lexical (calibrated); dense similarity only reorders what is shown.
        confidence = max(
            [self._confidence(self._position[id(h.section)], h.coverage, evidence) for h in hits[:1]]
            + [lexical.confidence for h in hits[:3] if lexical.best and h.section is lexical.best.section]
        )
        return Retrieval(hits, confidence, lexical.query_tokens, lexical.concepts)

    def _scores(self, concepts: list[Concept]) -> np.ndarray:
        """The term scores, with FAQ entries lending their score to the section they link to."""
        scores = self._term_scores(concepts)
        for i in np.argsort(-scores)[:FAQ_LINK_DEPTH]:
            linked = self._by_heading.get(self.sections[i].related_heading or "")
            if linked is not None:
                scores[linked] = max(scores[linked], FAQ_LINK_WEIGHT * scores[i])
        return scores

    def _term_scores(self, concepts: list[Concept]) -> np.ndarray:
        """Sum over concepts of the best-matching member (the question's own word, or a synonym)."""
        n = len(self.sections)
        total = np.zeros(n, dtype=np.float64)
        plans = [Plan.of(c, self._phrase_idf) for c in concepts]
        # Terms are read in chunks of concepts so a long question on a large handbook stays within a memory bound.
        for chunk in chunks(plans, max(1, GATHER_CELLS // max(n, 1))):
            field = TermScores(list(dict.fromkeys(t for p in chunk for t in p.terms)), self._body, self._title, n)
            for plan in chunk:
                total += plan.concept.rank_weight * field.best(plan, n)
        return total

    def _evidence(self, concepts: list[Concept]) -> Evidence:
        """Each concept's evidence weight (idf × factor), computed once per question, not per candidate."""
        weights, factors = [], []
        common = max(GENERIC_SHARE * len(self.sections), GENERIC_MIN_SECTIONS)
        for concept in concepts:
            known = [m for m in concept.members if self._phrase_idf(m) is not None]
            factor = concept.factor
            # Generic by this handbook's own counts: even its most specific form is in many sections.
            if known and min(min(self._df[t] for t in m) for m in known) > common:
                factor = min(factor, GENERIC_FACTOR)
            idf = max(i for i in map(self._phrase_idf, known) if i is not None) if known else self._unknown_idf
            weights.append(factor * idf)
            factors.append(factor)
        return Evidence(concepts, weights, factors)

    def _phrase_idf(self, phrase: tuple[str, ...]) -> float | None:
        """The highest idf among a phrase's terms, or None when the handbook lacks one of them."""
        if phrase in self._lexicon_idf:
            return self._lexicon_idf[phrase]
        idf = self._idf
        return max(idf[t] for t in phrase) if all(t in idf for t in phrase) else None

    def _hits(self, order: Sequence[int], scores: Sequence[float], evidence: Evidence) -> list[Hit]:
        """Hits with their coverage: the share of the question's evidence weight each section contains."""
        coverage, matched = evidence.coverage([self._token_sets[i] for i in order])
        return [
            Hit(self.sections[i], score * (1 + COVERAGE_BONUS * cov), cov, m)
            for i, score, cov, m in zip(order, scores, coverage, matched, strict=True)
        ]

    def _rank(
        self, scores: np.ndarray, evidence: Evidence, tokens: tuple[str, ...], k: int, demoted: frozenset[str]
    ) -> Retrieval:
        """Re-rank the best candidates by how much of the question they cover (a soft AND); demoted ones last."""
        candidates = [int(i) for i in np.argsort(-scores)[:RERANK_DEPTH] if scores[i] > 0]
        hits = sorted(self._hits(candidates, [float(scores[i]) for i in candidates], evidence), key=lambda h: -h.score)
        hits = _prefer_children(demote(hits, demoted))[:k]
        if not hits:
            return Retrieval([], 0.0, tokens, evidence.strong)
        confidence = self._confidence(self._position[id(hits[0].section)], hits[0].coverage, evidence)
        return Retrieval(hits, confidence, tokens, evidence.strong)

    def _confidence(self, top: int, coverage: float, evidence: Evidence) -> float:
        """The top hit's coverage, with each topic word the handbook has only in unrelated sections counting
        COUNTER_WEIGHT times against it (the question is about what the handbook says elsewhere). A time word
        ("이번", "올해") points nowhere, whichever sections happen to use it."""
        doc = self._token_sets[top]
        extra = 0.0
        for concept, weight in zip(evidence.concepts, evidence.weights, strict=True):
            if (
                concept.factor < 1.0
                or concept.token in TIME_FORMS
                or any(all(t in doc for t in m) for m in concept.members)
            ):
                continue
            if self._elsewhere(concept, top):
                extra += (COUNTER_WEIGHT - 1.0) * weight
        if not extra:
            return coverage
        total = sum(evidence.weights)
        return coverage * total / (total + extra)

    def _elsewhere(self, concept: Concept, top: int) -> bool:
        """Whether the handbook uses the concept only in sections unrelated to the top one (not its parent or
        sub-sections); False for a word it never uses or uses in more than COUNTER_MAX_DF sections."""
        found = False
        for member in concept.members:
            if not all(t in self._df for t in member):
                continue
            rarest = min(member, key=self._df.__getitem__)
            if self._df[rarest] > COUNTER_MAX_DF:
                return False
            for j in self._body.sections_with(rarest):
                j = int(j)
                if all(t in self._token_sets[j] for t in member) and _nested(self.sections[j], self.sections[top]):
                    return False
            found = True
        return found


def _nested(a: Section, b: Section) -> bool:
    """Whether one section is the other's ancestor (same document, one heading path a prefix of the other)."""
    short, long = sorted((a.title_path, b.title_path), key=len)
    return a.source == b.source and long[: len(short)] == short


def _prefer_children(hits: list[Hit]) -> list[Hit]:
    """A sub-section close behind its own parent, covering as much of the question, is the more precise answer."""
    if len(hits) < 2:
        return hits
    top = hits[0]
    for i, hit in enumerate(hits[1 : 1 + CHILD_LOOKAHEAD], 1):
        path, parent = hit.section.title_path, top.section.title_path
        is_child = (
            hit.section.source == top.section.source and path[: len(parent)] == parent and len(path) > len(parent)
        )
        if is_child and hit.coverage >= top.coverage and hit.score >= CHILD_SCORE * top.score:
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits


def token_factor(token: str, verbs: set[str] | frozenset[str] = frozenset()) -> float:
    """How much a question word says about the topic, relative to its idf."""
    if _JAMO.fullmatch(token):
        return 0.0
    if token in GENERIC_FORMS or token.isdigit():
        return GENERIC_FACTOR
    if token in verbs:
        return VERB_FACTOR
    return SHORT_FACTOR if len(token) == 1 else 1.0


def _compound_candidates(kb: KnowledgeBase, synonyms: Sequence[Sequence[str]]) -> list[str]:
    """Headings, bold terms and lexicon words: the phrases whose compounds should stay whole."""
    phrases = [h for s in kb.sections for h in s.title_path]
    phrases += [m for s in kb.sections for m in _BOLD.findall(s.text)]
    phrases += [w for group in synonyms for w in group if " " not in w.strip()]
    return phrases


# Part of the token-cache key: derived from the code of section_fields, so changing it rebuilds the cache.
_INDEX_FORMAT = function_digest(section_fields)


def _bm25(corpus: list[list[str]]) -> bm25s.BM25:
    index = bm25s.BM25()
    # bm25s refuses an empty corpus; an empty knowledge folder must still start (and report unhealthy)
    index.index([t or [""] for t in corpus] or [[""]], show_progress=False)
    return index


Fields = tuple[list[list[str]], list[list[str]]]


def _add_compounds(phrases: list[str], tokenizer: KoreanTokenizer, cache_dir: Path | None) -> None:
    """`tokenizer.add_compounds`, its result cached on disk (keyed by the phrases, the user words already in force and
    the tokenizer's code): a restart or a reload registers the same user words without ~4,000 Kiwi analyses."""
    if cache_dir is None:
        tokenizer.add_compounds(phrases)
        return
    key = hashlib.sha256("\n".join([token_cache_version(), tokenizer.vocabulary, *sorted(set(phrases))]).encode())
    path = cache_dir / f"compounds-{key.hexdigest()[:16]}.json"
    if path.exists():
        try:
            found = {str(c): tuple(str(x) for x in parts) for c, parts in json.loads(path.read_text("utf-8"))}
        except (OSError, ValueError, TypeError):
            logger.bind(path=str(path)).warning("compound cache unreadable; rebuilding")
        else:
            tokenizer.restore_compounds(found, phrases)
            return
    before = tokenizer.compounds
    tokenizer.add_compounds(phrases)
    added = [[c, list(p)] for c, p in tokenizer.compounds.items() if c not in before]
    _write_json(path, added, "compound cache")


def _expander(groups: list[tuple[str, ...]], tokenizer: KoreanTokenizer, cache_dir: Path | None) -> SynonymExpander:
    """The synonym expander, its ~2,000 term analyses cached on disk (keyed by the terms, the user words in force and
    the tokenizer's code): a restart or a reload builds it without running Kiwi on the whole lexicon."""
    if cache_dir is None:
        return SynonymExpander(groups, tokenizer)
    words = sorted({w for group in groups for w in group})
    key = hashlib.sha256("\n".join([token_cache_version(), tokenizer.vocabulary, *words]).encode())
    path = cache_dir / f"terms-{key.hexdigest()[:16]}.json"
    cached = path.exists()
    if cached:
        try:
            terms = {str(w): [str(t) for t in tokens] for w, tokens in json.loads(path.read_text("utf-8")).items()}
        except (OSError, ValueError, TypeError, AttributeError):
            logger.bind(path=str(path)).warning("lexicon term cache unreadable; rebuilding")
            cached = False
        else:
            tokenizer.restore_terms(terms)
    expander = SynonymExpander(groups, tokenizer)
    if not cached:
        _write_json(path, {w: tokenizer.term(w) for w in words}, "lexicon term cache")
    return expander


def _write_json(path: Path, data: object, what: str, *, gzipped: bool = False) -> None:
    """Write a cache file atomically through a temporary file of this writer's own (two rebuilds at once must not
    tear it); a warning, not a failure, when the folder is read-only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as raw:
                if gzipped:
                    with gzip.open(raw, "wt", encoding="utf-8") as fh:
                        json.dump(data, fh, ensure_ascii=False)
                else:
                    raw.write(json.dumps(data, ensure_ascii=False).encode())
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
    except OSError:
        logger.bind(path=str(path)).warning(f"{what} not written")


_TOKEN_CACHE_ENTRIES = 60_000  # texts kept in the token cache: this handbook's, then the most recent others'


def _cached_tokens(kb: KnowledgeBase, tokenizer: KoreanTokenizer, cache_dir: Path | None) -> Fields:
    """Title and body tokens per section. Cached on disk per text (a field's analysis depends on its text, the user
    words in force and the tokenizer's code only), so a restart analyses nothing and a reload only the texts that
    changed: a learned phrasing is a copy of its section with a new title, one short text to analyse."""
    fields = [section_fields(s) for s in kb.sections]
    texts = [f[0] for f in fields] + [f[1] for f in fields]
    if cache_dir is None:
        analysed = tokenizer.tokenize_many(texts)
        return analysed[: len(fields)], analysed[len(fields) :]
    path = cache_dir / f"tokens-{token_cache_version()}-{tokenizer.vocabulary}-{_INDEX_FORMAT}.json.gz"
    cached: dict[str, list[str]] = {}
    if path.exists():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                cached = {str(k): [str(t) for t in v] for k, v in json.load(fh).items()}
        except (OSError, ValueError, AttributeError, TypeError, EOFError, zlib.error):  # a torn or foreign file
            logger.bind(path=str(path)).warning("token cache unreadable; rebuilding")
    keys = [hashlib.sha256(t.encode()).hexdigest()[:24] for t in texts]
    todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in cached}
    if todo:
        cached.update(zip(todo, tokenizer.tokenize_many(list(todo.values())), strict=True))
        own = dict.fromkeys(keys)
        room = max(0, _TOKEN_CACHE_ENTRIES - len(own))  # for other handbooks' texts, the most recent kept
        others = [k for k in cached if k not in own]
        kept = [*others[len(others) - min(room, len(others)) :], *own]
        _write_json(path, {k: cached[k] for k in kept}, "token cache", gzipped=True)
    tokens = [cached[k] for k in keys]
    return tokens[: len(fields)], tokens[len(fields) :]
