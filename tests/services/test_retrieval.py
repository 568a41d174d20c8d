"""Retrieval quality on the sample handbook: dev set, held-out set, out-of-scope refusals, caching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from endy_bot.evaluation import evaluate, load_devset
from services.knowledge import KnowledgeBase
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer
from tests.conftest import DATA

# Levels reached when this was written (dev: 102 questions, held-out: 50 written blind to the synonyms).
DEV_HIT_AT_3 = 0.96
HELDOUT_HIT_AT_3 = 0.96
MIN_CONFIDENCE = 0.4  # the default ANSWER_MIN_CONFIDENCE


def _out_of_scope(name: str) -> list[str]:
    return [line.strip() for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dev_set_hit_at_3(retriever: Retriever) -> None:
    cases = load_devset(DATA / "devset.jsonl")
    assert len(cases) >= 60
    report = evaluate(retriever, cases)
    assert report.hit_at_3 >= DEV_HIT_AT_3, report.misses
    assert report.hit_at_1 <= report.hit_at_3 and report.mrr >= report.hit_at_1


def test_heldout_set_hit_at_3(retriever: Retriever) -> None:
    report = evaluate(retriever, load_devset(DATA / "heldout.jsonl"))
    assert report.hit_at_3 >= HELDOUT_HIT_AT_3, report.misses


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("휴가는 언제 생겨?", "연차 발생 기준"),
        ("재직증명서 어디서 떼요?", "재직증명서 발급"),
        ("와이파이 비번 뭐야?", "와이파이"),
        ("법카 잃어버렸는데 어떡해요?", "법인카드"),
        ("월급 언제 들어와요?", "급여일"),
        ("비번 까먹었어요", "비밀번호"),
    ],
)
def test_colloquial_paraphrases_find_their_section(retriever: Retriever, question: str, expected: str) -> None:
    result = retriever.search_lexical(question, k=3)
    titles = [h.section.title + " " + (h.section.related_heading or "") for h in result.hits]
    assert any(expected in t for t in titles), titles
    assert result.confidence >= MIN_CONFIDENCE


@pytest.mark.parametrize("name", ["out_of_scope.txt", "heldout_out_of_scope.txt"])
def test_out_of_scope_questions_are_below_the_threshold(retriever: Retriever, name: str) -> None:
    questions = _out_of_scope(name)
    confident = [q for q in questions if retriever.search_lexical(q).confidence >= MIN_CONFIDENCE]
    assert len(questions) >= 25 and confident == []


def test_hits_carry_title_source_and_link(retriever: Retriever) -> None:
    best = retriever.search_lexical("VPN 접속 방법").best
    assert best is not None
    assert best.section.link and best.section.link.startswith("https://")
    assert best.section.source.endswith((".md", ".yaml")) and " > " in best.section.title
    assert 0.0 < best.coverage <= 1.0


def test_question_without_content_words_finds_nothing(retriever: Retriever) -> None:
    result = retriever.search_lexical("?? !!! ...")
    assert result.hits == [] and result.confidence == 0.0


class CountingTokenizer(KoreanTokenizer):
    """Counts how many texts the index build analysed."""

    analysed = 0

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:  # type: ignore[override]
        CountingTokenizer.analysed += len(texts)
        return super().tokenize_many(texts)


def test_token_cache_skips_analysis_on_restart(sample_kb: KnowledgeBase, tmp_path: Path) -> None:
    tok = CountingTokenizer()
    first = Retriever(sample_kb, tok, cache_dir=tmp_path)
    analysed = CountingTokenizer.analysed
    assert analysed == 2 * len(sample_kb.sections)
    second = Retriever(sample_kb, tok, cache_dir=tmp_path)
    assert CountingTokenizer.analysed == analysed
    q = "노트북 교체 주기"
    assert [h.section.id for h in first.search_lexical(q).hits] == [h.section.id for h in second.search_lexical(q).hits]
    (cache_file,) = tmp_path.glob("tokens-*.json.gz")
    assert sample_kb.version in cache_file.name


def test_eval_lines_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"question": "q", "expected_section": "s"}) + "\n{not json}\n", encoding="utf-8")
    with pytest.raises(Exception, match="dev.jsonl:2"):
        load_devset(path)
