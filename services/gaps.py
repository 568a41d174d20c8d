"""Knowledge gaps: the report's similar unserved questions, grouped in near-linear time (runs in a worker thread).

Each question joins the earlier group whose first question is most similar (content-morpheme Jaccard ≥
GAP_SIMILARITY), else starts a group. Instead of comparing every question with every group, groups are found
through an index of their rarest tokens (prefix filtering: two sets with Jaccard ≥ t must share one of the
first |A| − ⌈t·|A|⌉ + 1 tokens of each in a fixed rare-first order), so the answer equals the pairwise one while
a question is compared only with the few groups that can reach the threshold (at most MAX_COMPARED).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.storage import GapCandidate

GAP_SIMILARITY = 0.4
# A question is compared with at most this many groups (those sharing its rarest tokens, oldest first): a bound
# for crafted input; ordinary reports never reach it.
MAX_COMPARED = 64
# Only the head of a long question is analysed: it names the topic, and Kiwi's time grows faster than the
# length (30 / 120 / 500 characters: ~6 / 13 / 76 ms on the loaded bench machine).
GAP_TEXT_CHARS = 160
# Kiwi keeps the GIL for the whole of one call (measured: two threads tokenise no faster than one), so a long
# call would hold the event loop however it is scheduled: a question is analysed a few words at a time instead.
PIECE_WORDS = 6
# Token sets kept between reports (the App Home shows admins the 7-day report on every visit).
MEMO_SIZE = 4096


class Tokenizer(Protocol):
    """What grouping needs of services/tokenizer.py's KoreanTokenizer."""

    @property
    def vocabulary(self) -> str:
        """A short hash of the user words in force."""

    def tokenize(self, text: str) -> list[str]:
        """Content morphemes of one text."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Similar questions the knowledge base did not serve, with the section Endy used (if any)."""

    example: str
    count: int
    section: str | None
    department: str | None
    negative: int


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    small, large = sorted((len(a), len(b)))
    if not small or small < GAP_SIMILARITY * large - 1e-9:  # sizes alone rule it out (rounding keeps it in)
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def _prefix(tokens: frozenset[str], rank: dict[str, tuple[int, str]]) -> list[str]:
    """The rarest |A| − ⌈t·|A|⌉ + 1 tokens: any set this similar to A shares one of them with A's own prefix."""
    keep = len(tokens) - math.ceil(GAP_SIMILARITY * len(tokens) - 1e-9) + 1  # rounding may only lengthen it
    return sorted(tokens, key=rank.__getitem__)[:keep]


class TokenMemo:
    """Content morphemes of questions already analysed, per tokenizer vocabulary (bounded; thread-safe)."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._size = size
        self._sets: dict[tuple[str, str], frozenset[str]] = {}
        self._lock = threading.Lock()

    def prime(self, texts: Sequence[str], tokenizer: Tokenizer) -> None:
        """Analyse these texts now (a batch of a report's questions), so grouping finds them in the memo."""
        for text in texts:
            self.tokens(text, tokenizer)

    def tokens(self, text: str, tokenizer: Tokenizer) -> frozenset[str]:
        """The question head's token set, analysed once while it stays in the memo."""
        key = (tokenizer.vocabulary, text[:GAP_TEXT_CHARS])
        with self._lock:
            found = self._sets.get(key)
        if found is None:
            words = key[1].split()
            pieces = (" ".join(words[i : i + PIECE_WORDS]) for i in range(0, len(words), PIECE_WORDS))
            found = frozenset(t for piece in pieces for t in tokenizer.tokenize(piece))
            with self._lock:
                if len(self._sets) >= self._size:
                    self._sets.pop(next(iter(self._sets)))  # the oldest entry
                self._sets[key] = found
        return found


def _assign(sets: list[frozenset[str]]) -> list[list[int]]:
    """Greedy grouping: each set joins the most similar earlier group (first on ties) or starts one."""
    frequency = Counter(t for s in sets for t in s)
    rank = {t: (n, t) for t, n in frequency.items()}
    groups: list[tuple[frozenset[str], list[int]]] = []
    index: dict[str, list[int]] = {}  # prefix token → groups (in creation order)
    for i, tokens in enumerate(sets):
        prefix = _prefix(tokens, rank) if tokens else []
        near = sorted({g for t in prefix for g in index.get(t, ())})[:MAX_COMPARED]
        best, score = None, 0.0
        for g in near:
            s = _jaccard(tokens, groups[g][0])
            if s > score:
                best, score = g, s
        if best is not None and score >= GAP_SIMILARITY:
            groups[best][1].append(i)
            continue
        for t in prefix:
            index.setdefault(t, []).append(len(groups))
        groups.append((tokens, [i]))
    return [members for _, members in groups]


def group_gaps(
    candidates: Sequence[GapCandidate], tokenizer: Tokenizer, limit: int = 10, memo: TokenMemo | None = None
) -> list[Gap]:
    """Group similar questions (content-morpheme Jaccard ≥ GAP_SIMILARITY), most frequent first."""
    memo = memo or TokenMemo()
    gaps = []
    for indices in _assign([memo.tokens(c.question, tokenizer) for c in candidates]):
        members = [candidates[i] for i in indices]
        sections = Counter(m.top_source for m in members if m.top_source)
        departments = Counter(m.department for m in members if m.department)
        gaps.append(
            Gap(
                members[0].question,
                len(members),
                sections.most_common(1)[0][0] if sections else None,
                departments.most_common(1)[0][0] if departments else None,
                sum(1 for m in members if m.why == "negative"),
            )
        )
    gaps.sort(key=lambda g: -g.count)  # stable: ties keep the most recent first
    return gaps[:limit]
