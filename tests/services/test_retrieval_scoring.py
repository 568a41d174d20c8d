"""The cheap scoring path gives exactly what the per-term bm25s calls and per-candidate loops gave."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from services.ranking import NEIGHBOUR_WEIGHT, SYNONYM_WEIGHT, TITLE_WEIGHT
from services.retrieval import Concept, Retrieval, Retriever

QUESTIONS = [
    "연차는 어떻게 신청하나요?",
    "법카 잃어버렸는데 어떡해요?",
    "와이파이 비번 뭐야?",
    "자기계발 비용 지원 받을 수 있나요? 도서 구입비도 되나요?",
    "컨플루언스 계정은 어디서 만들어요? 지라도 같이요",
    "재택근무 신청하고 노트북 반납은 어떻게 해요",
    "경조사 휴가 며칠이에요? 결혼하면 축하금도 나오나요? 출장비 정산은 언제까지 해야 하나요?",
    "우주선 발사 일정 알려주세요",
]


def _reference_scores(retriever: Retriever, concepts: list[Concept]) -> np.ndarray:
    """The former algorithm: one bm25s call per field for every member of every concept."""
    body, title = retriever._body.bm25, retriever._title.bm25
    known = retriever._df

    def field(tokens: list[str]) -> np.ndarray:
        b = np.asarray(body.get_scores(tokens), dtype=np.float64)
        return b + TITLE_WEIGHT * np.asarray(title.get_scores(tokens), dtype=np.float64)

    total = np.zeros(len(retriever.sections), dtype=np.float64)
    for concept in concepts:
        best = field([concept.token]) if concept.token in known else np.zeros_like(total)
        for member in concept.members - {(concept.token,)}:
            if all(t in known for t in member):
                best = np.maximum(best, SYNONYM_WEIGHT * field(list(member)))
        for word in concept.neighbours:
            best = np.maximum(best, NEIGHBOUR_WEIGHT * field([word]))
        total += concept.rank_weight * best
    return total


def _reference_coverage(retriever: Retriever, concepts: list[Concept], i: int) -> tuple[float, int]:
    """The former per-candidate loop: the covered share of the evidence weight, and the strong words matched."""
    evidence = retriever._evidence(concepts)
    weights = evidence._weights.tolist()
    doc = retriever._token_sets[i]
    total = covered = 0.0
    matched = 0
    for concept, weight in zip(concepts, weights, strict=True):
        total += weight
        if any(all(t in doc for t in m) for m in concept.members):
            covered += weight
            matched += concept.factor >= 1.0
    return (covered / total if total else 0.0), matched


@pytest.mark.parametrize("question", QUESTIONS)
def test_gathered_term_scores_equal_per_term_bm25_calls(retriever: Retriever, question: str) -> None:
    concepts = retriever.concepts(question)
    assert concepts
    assert np.array_equal(retriever._term_scores(concepts), _reference_scores(retriever, concepts))


def test_synonym_expansion_is_exercised(retriever: Retriever) -> None:
    concepts = retriever.concepts("법카 잃어버렸는데 어떡해요?")
    assert any(len(c.members) > 1 for c in concepts)


@pytest.mark.parametrize("question", QUESTIONS)
def test_coverage_of_all_sections_equals_the_per_section_loop(retriever: Retriever, question: str) -> None:
    concepts = retriever.concepts(question)
    evidence = retriever._evidence(concepts)
    everything = range(len(retriever.sections))
    shares, matched = evidence.coverage([retriever._token_sets[i] for i in everything])
    expected = [_reference_coverage(retriever, concepts, i) for i in everything]
    assert shares == [e[0] for e in expected]
    assert matched == [e[1] for e in expected]


def _summary(result: Retrieval) -> list[tuple[str, float, float, int]]:
    return [(h.section.id, h.score, h.coverage, h.matched) for h in result.hits]


def test_searches_in_threads_give_the_sequential_results(retriever: Retriever) -> None:
    sequential = [_summary(retriever.search_lexical(q)) for q in QUESTIONS * 3]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda q: _summary(retriever.search_lexical(q)), QUESTIONS * 3))
    assert threaded == sequential


async def test_async_search_in_worker_threads_matches(retriever: Retriever) -> None:
    expected = [_summary(retriever.search_lexical(q)) for q in QUESTIONS]
    found = await asyncio.gather(*(asyncio.to_thread(retriever.search_lexical, q) for q in QUESTIONS))
    assert [_summary(r) for r in found] == expected
