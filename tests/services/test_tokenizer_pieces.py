"""Long texts are analysed a few words at a time (Kiwi holds the GIL for a whole call); short ones whole."""

from __future__ import annotations

from services.tokenizer import _PIECE_CHARS, LONG_TEXT_CHARS, KoreanTokenizer, _pieces


def test_a_short_question_is_one_piece() -> None:
    question = "연차 휴가는 며칠까지 쓸 수 있나요?"
    assert _pieces(question) == [question]


def test_a_long_text_splits_only_between_words() -> None:
    text = "법인카드 사용 내역은 다음 달 5일까지 경비 시스템에 등록해 주세요. " * 8
    pieces = _pieces(text)
    assert len(text) > LONG_TEXT_CHARS
    assert len(pieces) > 1
    assert " ".join(pieces) == " ".join(text.split())
    assert all(len(p) <= _PIECE_CHARS or " " not in p for p in pieces)


def test_a_long_question_keeps_every_word(tokenizer: KoreanTokenizer) -> None:
    one = "재택근무 신청은 어디서 하나요?"
    tokens, verbs = tokenizer.analyse(" ".join([one] * 12))
    alone, alone_verbs = tokenizer.analyse(one)
    assert tokens.count("신청") == 12  # every piece analysed (Kiwi may join 재택+근무 differently by context)
    assert set(alone) <= set(tokens)
    assert verbs == alone_verbs


def test_chat_emoticons_of_bare_jamo_are_not_words(tokenizer: KoreanTokenizer) -> None:
    plain = tokenizer.tokenize("법인카드 잃어버렸어요 어떡하죠")
    assert tokenizer.tokenize("법인카드 잃어버렸어요ㅠㅠ 어떡하죠 ㅋㅋㅋ ㅎㅎ") == plain
    assert tokenizer.tokenize("ㅠㅠ") == []


def test_a_generic_letter_and_a_particle_that_make_a_noun_are_that_noun(tokenizer: KoreanTokenizer) -> None:
    # In context Kiwi reads 주가 (stock price) as 주 (week) + the particle 가; Endy drops the generic 주, and the
    # question's topic was gone ("온담푸드 주가" matched the handbook on the company's name alone).
    assert "주가" in tokenizer.tokenize("온담푸드 주가 요즘 왜 이렇게 떨어져요?")
    # A letter and its particle that are no noun together stay as Kiwi reads them; a bound noun after an adnominal
    # ending never joins ("할 수도" is no 수도, "할 수가" no 수가).
    assert tokenizer.tokenize("연차 며칠 쓸 수가 있어요?") == ["연차"]
    assert tokenizer.tokenize("재택근무를 할 수도 있나요?") == ["재택근무"]
    assert tokenizer.tokenize("회사가 어디에요") == ["회사"]
    assert "일" in tokenizer.tokenize("요즘 일이 많아요")
