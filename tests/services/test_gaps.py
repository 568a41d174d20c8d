"""Gap grouping: the indexed grouping equals the pairwise definition; thresholds, long questions, memo."""

from __future__ import annotations

import random

import pytest

from services.gaps import GAP_SIMILARITY, GAP_TEXT_CHARS, PIECE_WORDS, Gap, TokenMemo, group_gaps
from services.storage import GapCandidate
from services.tokenizer import KoreanTokenizer


class Words:
    """A whitespace tokenizer: grouping is about sets, so the sets can be written down directly."""

    def __init__(self, vocabulary: str = "words") -> None:
        self.vocabulary = vocabulary
        self.calls: list[str] = []

    def tokenize(self, text: str) -> list[str]:
        self.calls.append(text)
        return text.split()


def _candidate(question: str, why: str = "low_confidence", source: str | None = None) -> GapCandidate:
    return GapCandidate(question, source, None, why)


def _pairwise(candidates: list[GapCandidate]) -> list[list[str]]:
    """The definition: each question joins the earlier group whose first question is most similar (≥ t)."""
    groups: list[tuple[set[str], list[str]]] = []
    for cand in candidates:
        tokens = set(cand.question.split())

        def score(group: tuple[set[str], list[str]], tokens: set[str] = tokens) -> float:
            union = tokens | group[0]
            return len(tokens & group[0]) / len(union) if union else 0.0

        best = max(groups, key=score, default=None)
        if best is not None and score(best) >= GAP_SIMILARITY:
            best[1].append(cand.question)
        else:
            groups.append((tokens, [cand.question]))
    return sorted((members for _, members in groups), key=lambda m: -len(m))


@pytest.mark.parametrize("seed", range(40))
def test_indexed_grouping_equals_the_pairwise_definition(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(rng.choice((12, 40, 200)))]
    candidates = [
        _candidate(" ".join(rng.sample(vocabulary, rng.randint(0, min(10, len(vocabulary))))))
        for _ in range(rng.randint(1, 150))
    ]
    expected = _pairwise(candidates)
    gaps = group_gaps(candidates, Words(), limit=len(candidates))
    assert [g.count for g in gaps] == [len(m) for m in expected]
    assert [g.example for g in gaps] == [m[0] for m in expected]


@pytest.mark.parametrize(
    ("first", "second", "together"),
    [
        ("a b c d e", "a b", True),  # Jaccard exactly 0.4 is similar enough
        ("a b c d e", "a f", False),  # 1/6
        ("a b c", "a b c", True),
        ("a b c d e f g h i j", "a b c d", True),  # 4/10 with very different sizes
        ("a b c d e f g h i j", "a b c", False),  # 3/10
        ("", "", False),  # nothing to compare: every empty question stands alone
    ],
)
def test_similarity_threshold_near_misses(first: str, second: str, together: bool) -> None:
    gaps = group_gaps([_candidate(first), _candidate(second)], Words())
    assert [g.count for g in gaps] == ([2] if together else [1, 1])


def test_a_group_counts_its_negative_votes_and_names_its_most_common_section() -> None:
    candidates = [
        _candidate("주차 요금", "negative", "주차 안내"),
        _candidate("주차 요금 정산", source="주차 안내"),
        _candidate("주차 요금 환불", "negative", "교통비"),
        _candidate("VPN 접속"),
    ]
    first, second = group_gaps(candidates, Words())
    assert first == Gap("주차 요금", 3, "주차 안내", None, 2)
    assert second.example == "VPN 접속"
    assert second.count == 1


def test_only_the_head_of_a_long_question_is_analysed_a_few_words_at_a_time_and_once() -> None:
    words = Words()
    long = " ".join(f"낱말{i}" for i in range(GAP_TEXT_CHARS))
    memo = TokenMemo()
    group_gaps([_candidate(long), _candidate(long), _candidate("주차 요금")], words, memo=memo)
    analysed = list(words.calls)
    group_gaps([_candidate(long)], words, memo=memo)  # a second report reuses what the first analysed
    assert words.calls == analysed
    assert analysed[-1] == "주차 요금"
    assert " ".join(analysed[:-1]).split() == long[:GAP_TEXT_CHARS].split()
    assert max(len(piece.split()) for piece in analysed) <= PIECE_WORDS


def test_a_new_vocabulary_is_analysed_again() -> None:
    memo = TokenMemo()
    group_gaps([_candidate("주차 요금")], Words("v1"), memo=memo)
    reloaded = Words("v2")
    group_gaps([_candidate("주차 요금")], reloaded, memo=memo)
    assert reloaded.calls == ["주차 요금"]


def test_the_memo_is_bounded() -> None:
    memo, words = TokenMemo(size=2), Words()
    group_gaps([_candidate("a"), _candidate("b"), _candidate("c")], words, memo=memo)
    group_gaps([_candidate("a")], words, memo=memo)  # the oldest entry went first
    assert words.calls == ["a", "b", "c", "a"]


def test_korean_questions_group_by_content_morphemes(tokenizer: KoreanTokenizer) -> None:
    candidates = [
        _candidate("사내 어린이집 신청 방법"),
        _candidate("어린이집 신청은 어디서 하나요"),
        _candidate("주차 요금 정산"),
    ]
    gaps = group_gaps(candidates, tokenizer)
    assert [(g.example, g.count) for g in gaps] == [("사내 어린이집 신청 방법", 2), ("주차 요금 정산", 1)]
