"""AnswerService without an LLM: validation, extractive answers, honest "not found", follow-ups."""

from __future__ import annotations

import pytest

from handlers import texts
from services.answer_types import AnswerKind, Asker, Turn
from services.answering import AnswerService
from services.errors import InvalidQuestion, InvalidReason
from services.knowledge import KnowledgeBase
from services.retrieval import Retriever

ASKER = Asker(user_id="U1")


@pytest.fixture
def service(sample_kb: KnowledgeBase, retriever: Retriever) -> AnswerService:
    return AnswerService(sample_kb, retriever, None, max_question_chars=500, min_confidence=0.4)


async def test_extractive_answer_with_its_source(service: AnswerService) -> None:
    answer = await service.answer("연차는 어떻게 신청하나요?", ASKER)
    assert answer.kind is AnswerKind.ANSWER
    assert not answer.used_llm
    assert answer.text.startswith("**")
    assert "e-HR" in answer.text
    assert any(s.title.endswith("연차 신청 방법") for s in answer.sources)
    assert answer.sources[0].link
    assert answer.department is not None
    assert answer.timings["total"] > 0


async def test_long_sections_are_trimmed_to_the_useful_part(service: AnswerService, sample_kb: KnowledgeBase) -> None:
    answer = await service.answer("노트북 교체는 언제 할 수 있나요?", ASKER)
    assert answer.kind is AnswerKind.ANSWER
    assert len(answer.text) <= 760
    assert "노트북" in answer.text


async def test_unknown_topic_names_the_team_instead_of_guessing(service: AnswerService) -> None:
    answer = await service.answer("비트코인 지금 사도 될까요?", ASKER)
    assert answer.kind is AnswerKind.NOT_FOUND
    assert answer.text == ""
    assert answer.sources == []
    assert answer.department is not None
    rendered = texts.not_found(answer.department)
    assert "찾지 못했어요" in rendered
    assert answer.department.channel in rendered


async def test_it_questions_route_to_it(service: AnswerService) -> None:
    answer = await service.answer("VPN이 자꾸 끊겨요", ASKER)
    assert answer.kind is AnswerKind.ANSWER
    assert answer.department is not None
    assert answer.department.key == "it"


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "\u200b\u200e"])
async def test_empty_questions_get_help(service: AnswerService, question: str) -> None:
    with pytest.raises(InvalidQuestion) as info:
        await service.stream(question, ASKER)
    assert info.value.reason is InvalidReason.EMPTY


async def test_too_long_question_states_the_limit(service: AnswerService) -> None:
    with pytest.raises(InvalidQuestion) as info:
        await service.stream("연차 " * 200, ASKER)
    err = info.value
    assert err.reason is InvalidReason.TOO_LONG
    assert err.limit == 500
    assert err.length > 500
    assert "500자" in texts.too_long(err.limit, err.length)


def test_control_characters_are_stripped(service: AnswerService) -> None:
    assert service.validate("연차\x00 신청\u200b 방법\x1b[31m") == "연차 신청 방법[31m"


async def test_question_is_masked_before_anything_else_sees_it(service: AnswerService) -> None:
    answer = await service.answer("제 번호 010-9876-5432인데 연차 신청 어떻게 해요?", ASKER)
    assert "010-9876-5432" not in answer.question
    assert "[전화번호]" in answer.question
    assert answer.kind is AnswerKind.ANSWER


async def test_follow_up_uses_the_previous_question(service: AnswerService) -> None:
    alone = await service.answer("그럼 취소는요?", ASKER)
    history = [Turn("연차는 어떻게 신청하나요?", "e-HR에서 신청해요.")]
    follow_up = await service.answer("그럼 취소는요?", ASKER, history)
    assert follow_up.kind is AnswerKind.ANSWER
    assert any("연차" in s.title for s in follow_up.sources)
    assert follow_up.confidence >= alone.confidence


async def test_stream_yields_the_same_text_as_the_answer(service: AnswerService) -> None:
    stream = await service.stream("와이파이 비번 뭐야?", ASKER)
    chunks = [c async for c in stream]
    assert "".join(chunks) == stream.result.text
    assert stream.result.kind is AnswerKind.ANSWER


def test_help_text_lists_every_category_with_examples(sample_kb: KnowledgeBase) -> None:
    text = texts.help_text(sample_kb.categories)
    for cat in sample_kb.categories:
        assert cat.name in text
        assert cat.examples[0] in text
