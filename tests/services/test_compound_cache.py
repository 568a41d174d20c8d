"""The handbook's compounds are found once and cached with the token cache: a restart registers the same Kiwi user
words without analysing every word again, and ranks exactly as the first start did."""

from __future__ import annotations

import json
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


def _concepts(retriever: Retriever) -> list[list[tuple[str, list[tuple[str, ...]]]]]:
    return [[(c.token, sorted(c.members)) for c in retriever.concepts(q)] for q in (*QUESTIONS, "월급날 언제예요?")]


def test_a_restart_reads_the_lexicon_terms_it_analysed(sample_kb: KnowledgeBase, tmp_path: Path) -> None:
    first = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    (cached,) = tmp_path.glob("terms-*.json")
    terms = json.loads(cached.read_text(encoding="utf-8"))
    assert terms == first.tokenizer.terms()
    assert len(terms) > 1000  # the built-in lexicon is analysed once, not on every start
    again = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    assert again.tokenizer.terms() == first.tokenizer.terms()
    assert _concepts(again) == _concepts(first)
    assert _ranking(again) == _ranking(first)


def test_the_lexicon_term_cache_is_what_a_restart_uses(sample_kb: KnowledgeBase, tmp_path: Path) -> None:
    Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    (cached,) = tmp_path.glob("terms-*.json")
    terms = json.loads(cached.read_text(encoding="utf-8"))
    terms["월급"] = ["cached-marker"]
    cached.write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
    again = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    assert again.tokenizer.term("월급") == ["cached-marker"]


def test_an_unreadable_lexicon_term_cache_is_rebuilt(sample_kb: KnowledgeBase, tmp_path: Path) -> None:
    first = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    (cached,) = tmp_path.glob("terms-*.json")
    cached.write_text("[1, 2", encoding="utf-8")
    again = Retriever(sample_kb, KoreanTokenizer(), cache_dir=tmp_path)
    rebuilt = json.loads(cached.read_text(encoding="utf-8"))
    assert rebuilt == again.tokenizer.terms()
    assert rebuilt.keys() == first.tokenizer.terms().keys()
