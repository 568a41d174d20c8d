"""Words for learning: which question words the knowledge base never uses, their nearest knowledge words, and
which synonyms would be harmful (a single syllable or a stop word would make a word match almost everything)."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

from services.learning_types import MAX_SYNONYM_CHARS, LearningRefused, Refusal, SynonymProposal
from services.lexicon import builtin_lexicon
from services.retrieval import Retriever, token_factor
from services.tokenizer import GENERIC_FORMS, TIME_FORMS

_PROPOSALS = 5
_VECTOR_POOL = 30
# Ranking the knowledge base's own words by word vector: Kiwi's global neighbours of a word are rarely words a
# handbook uses (외할머니 → 외할아버지, 외숙모 …), so the handbook's words are scored against it directly.
_SHORTLIST = 25  # best-scored knowledge words whose hubness is checked
_PROBES = 100  # knowledge words a word's average similarity ("hubness") is measured against
_MIN_COSINE = 0.55
_MIN_MARGIN = 0.12  # above the average similarity of either word: some vectors are near everything
_SHARED_VECTOR = 3  # this many words with exactly one score share the model's vector for words it lacks
_HANGUL_WORD = re.compile(r"[가-힣]{2,}")


def _key(word: str) -> str:
    return "".join(word.split()).lower()


class Vocabulary:
    """What the served index knows, asked through the retriever's public idf (an unknown word has the top idf)."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self._unknown = retriever.idf("\0unknown-word")
        self._words: list[str] | None = None

    def knows(self, word: str) -> bool:
        """Whether every morpheme of the word occurs in the knowledge base."""
        tokens = self.retriever.tokenizer.tokenize(word)
        return bool(tokens) and all(self.retriever.idf(t) < self._unknown for t in tokens)

    def unknown_words(self, question: str) -> list[str]:
        """The question's topic words (nouns, not generic) that the knowledge base never uses, even as a synonym."""
        out = []
        for concept in self.retriever.concepts(question):
            if concept.factor < 1.0 or len(concept.token) < 2 or concept.token in out:
                continue
            if not any(all(self.retriever.idf(t) < self._unknown for t in m) for m in concept.members):
                out.append(concept.token)
        return out

    def near_words(self, question: str) -> tuple[str, ...]:
        """Near words of the question's topic words from the lexicon's groups, a few each. Kiwi's word-vector
        neighbours are left out: as often as not they are about something else (냉장고 → 냉동실, 가전제품)."""
        out: list[str] = []
        for concept in self.retriever.concepts(question):
            word = concept.token
            if concept.factor < 1.0 or len(word) < 2:
                continue
            group = [m for g in builtin_lexicon() if any(_key(x) == _key(word) for x in g) for m in g]
            out += [w for w in dict.fromkeys(group) if _key(w) != _key(word)][:NEAR_PER_WORD]
        return tuple(dict.fromkeys(out))[:MAX_NEAR_WORDS]

    def knowledge_words(self) -> list[str]:
        """The knowledge base's topic words that a synonym may point at (Hangul nouns of two syllables or more)."""
        if self._words is None:
            self._words = [w for w in self.retriever.words() if _HANGUL_WORD.fullmatch(w) and token_factor(w) >= 1.0]
        return self._words

    def vector_neighbours(self, word: str) -> list[str]:
        """The knowledge words nearest to `word` by Kiwi's word vectors, best first: a cosine of at least
        _MIN_COSINE that is also _MIN_MARGIN above what either word shares with knowledge words on average
        (hub vectors near everything are left out), ranked by that margin."""
        tokenizer, words = self.retriever.tokenizer, self.knowledge_words()
        scored = [(s, w) for w in words if w != word and (s := tokenizer.similarity(word, w)) is not None]
        shared = {s for s, n in Counter(s for s, _ in scored).items() if n >= _SHARED_VECTOR}
        lacking = {w for s, w in scored if s in shared}  # words the model has no vector of their own for
        best = sorted(((s, w) for s, w in scored if s not in shared and s >= _MIN_COSINE), reverse=True)
        if not best:
            return []
        probes = [w for w in words[:: max(1, len(words) // _PROBES)] if w not in lacking]

        def hubness(of: str) -> float:
            found = [s for p in probes if p != of and (s := tokenizer.similarity(of, p)) is not None]
            return statistics.fmean(found) if found else 1.0

        own = hubness(word)
        margins = [(s - max(own, hubness(w)), w) for s, w in best[:_SHORTLIST]]
        return [w for m, w in sorted(margins, reverse=True) if m >= _MIN_MARGIN]

    def proposal(self, word: str) -> SynonymProposal | None:
        """The closest knowledge words for one unknown word: the lexicon's group first, then Kiwi word vectors."""
        lexicon = [m for g in builtin_lexicon() if any(_key(x) == _key(word) for x in g) for m in g]
        known = [m for m in lexicon if _key(m) != _key(word) and self.knows(m)]
        if known:
            return SynonymProposal(word, tuple(dict.fromkeys(known))[:_PROPOSALS], "lexicon")
        near = [
            w
            for w in self.retriever.tokenizer.similar(word, _VECTOR_POOL)
            if len(w) >= 2 and w != word and token_factor(w) >= 1.0 and self.knows(w)
        ]
        near += self.vector_neighbours(word)
        return SynonymProposal(word, tuple(dict.fromkeys(near))[:_PROPOSALS], "vectors") if near else None


NEAR_PER_WORD = 3
MAX_NEAR_WORDS = 12


def proposals(vocabulary: Vocabulary, questions: Sequence[str]) -> list[SynonymProposal]:
    """Synonym proposals for a gap's questions, one per unknown word, in order of first appearance."""
    seen: set[str] = set()
    out = []
    for question in questions:
        for word in vocabulary.unknown_words(question):
            if word in seen:
                continue
            seen.add(word)
            found = vocabulary.proposal(word)
            if found is not None:
                out.append(found)
    return out


def check_synonym(vocabulary: Vocabulary, word: str, target: str) -> tuple[str, str]:
    """The cleaned pair, or LearningRefused for a word that would match everything or a target the KB lacks."""
    word, target = " ".join(word.split()), " ".join(target.split())
    for w in (word, target):
        if len(_key(w)) > MAX_SYNONYM_CHARS:
            raise LearningRefused(Refusal.SYNONYM_TOO_LONG, limit=MAX_SYNONYM_CHARS, length=len(_key(w)))
        if len(_key(w)) < 2:
            raise LearningRefused(Refusal.SYNONYM_TOO_SHORT, detail=w)
        tokens = vocabulary.retriever.tokenizer.tokenize(w)
        if not [t for t in tokens if t not in GENERIC_FORMS and t not in TIME_FORMS]:
            raise LearningRefused(Refusal.SYNONYM_STOP_WORD, detail=w)
    if _key(word) == _key(target):
        raise LearningRefused(Refusal.SYNONYM_SAME)
    if not vocabulary.knows(target):
        raise LearningRefused(Refusal.SYNONYM_UNKNOWN_TARGET, detail=target)
    return word, target
