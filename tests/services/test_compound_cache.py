"""The handbook's compounds are found once and cached with the token cache: a restart registers the same Kiwi user
words without analysing every word again, and ranks exactly as the first start did."""

from __future__ import annotations

from pathlib import Path

from services.knowledge import KnowledgeBase
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer

QUESTIONS = ("탕비실 간식은 누가 채워요?", "자기계발비 신청 방법", "연차는 며칠이에요?")


def _ranking(retriever: Retriever) -> list[list[tuple[str, float]]]:
    return [[(h.section.id, h.score) for h in retriever.search_lexical(q).hits] for q in QUESTIONS]


def test_a_restart_restores_the_compounds_it_found(sample_kb: KnowledgeBase, tmp_path: Path) -> None:
    first = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    (cached,) = tmp_path.glob("compounds-*.json")
    again = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    assert first.tokenizer.compounds  # the sample has compounds Kiwi would split (탕비실 …)
    assert again.tokenizer.compounds == first.tokenizer.compounds
    assert again.tokenizer.vocabulary == first.tokenizer.vocabulary
    assert _ranking(again) == _ranking(first)
    assert list(tmp_path.glob("compounds-*.json")) == [cached]


def test_an_unreadable_compound_cache_is_rebuilt(sample_kb: KnowledgeBase, tmp_path: Path) -> None:
    first = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    (cached,) = tmp_path.glob("compounds-*.json")
    cached.write_text("{not json", encoding="utf-8")
    again = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    assert again.tokenizer.compounds == first.tokenizer.compounds
    assert cached.read_text(encoding="utf-8").startswith("[")
