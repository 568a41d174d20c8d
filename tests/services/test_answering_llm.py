"""The LLM path against a fake OpenAI server: grounding, masking, retries, timeouts, fallbacks."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from endy_bot.deps import open_deps
from services.answer_types import Answer, AnswerKind, Asker
from services.answering import AnswerService
from services.knowledge import KnowledgeBase, load_knowledge_base, sample_kb_dir
from services.llm import LlmClient
from services.output_policy import policy_for
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.timeout(60)
QUESTION = "제 연락처는 010-1234-5678, hong@example.com 이에요. 연차는 어떻게 신청하나요?"
ASKER = Asker(user_id="U123", surface="cli")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def make_service(
    make_settings: Callable[..., Settings], fake: FakeOpenAI, sample_kb: KnowledgeBase, retriever: Retriever
) -> AsyncIterator[Callable[..., AnswerService]]:
    clients: list[LlmClient] = []

    def factory(**overrides: Any) -> AnswerService:
        settings = make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url, **overrides)
        llm = LlmClient(settings)
        clients.append(llm)
        return AnswerService(sample_kb, retriever, llm, min_confidence=settings.answer_min_confidence)

    yield factory
    for client in clients:
        await client.aclose()


def _about_leave_requests(title: str) -> bool:
    return title.endswith(("연차 신청 방법", "연차는 어떻게 신청하나요?"))


async def _streamed(service: AnswerService, question: str = QUESTION) -> tuple[list[str], Answer]:
    stream = await service.stream(question, ASKER)
    chunks = [chunk async for chunk in stream]
    return chunks, stream.result


async def test_streamed_answer_is_grounded_and_masked(fake: FakeOpenAI, make_service: Callable[..., Any]) -> None:
    fake.reply = "e-HR > 근태 > 휴가 신청에서 연차를 신청하고 팀장 결재를 받으면 돼요. [1]"
    chunks, answer = await _streamed(make_service())
    assert len(chunks) > 1
    assert "".join(chunks) == fake.reply == answer.text
    assert answer.used_llm
    assert not answer.llm_failed
    assert answer.kind is AnswerKind.ANSWER
    assert _about_leave_requests(answer.sources[0].title)
    assert answer.completion_tokens > 0
    assert answer.model
    (request,) = fake.chat_requests()
    body = request.json
    assert body["stream"] is True
    assert body["messages"][0]["role"] == "system"
    user = body["messages"][-1]["content"]
    # Titles are escaped inside the prompt's attributes.
    assert "<sections>" in user
    assert '근태·휴가 가이드 &gt; 연차 신청 방법"' in user
    assert "e-HR > 근태 > 휴가 신청" in user  # the section text itself is the grounding
    assert "[전화번호]" in user
    assert "[이메일]" in user
    assert "010-1234-5678" not in str(body)
    assert "hong@example.com" not in str(body)
    assert "Answer ONLY from the handbook sections" in body["messages"][0]["content"]


async def test_plain_completion_masks_input(fake: FakeOpenAI, make_settings: Callable[..., Settings]) -> None:
    llm = LlmClient(make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url))
    try:
        result = await llm.complete([{"role": "user", "content": "사번 E12345 연차 알려줘"}])
    finally:
        await llm.aclose()
    assert result.text == fake.reply
    assert result.prompt_tokens > 0
    assert fake.chat_requests()[0].json["messages"][0]["content"] == "사번 [사번] 연차 알려줘"
    assert "stream" not in fake.chat_requests()[0].json or not fake.chat_requests()[0].json["stream"]


async def test_server_errors_fall_back_to_the_extractive_answer(
    fake: FakeOpenAI, make_service: Callable[..., Any]
) -> None:
    fake.fail_next(2, status=500)
    chunks, answer = await _streamed(make_service(llm_max_retries=1))
    assert answer.llm_failed
    assert not answer.used_llm
    assert _about_leave_requests(answer.text.split("**")[1])
    assert "e-HR" in answer.text
    assert "".join(chunks) == answer.text
    assert len(fake.chat_requests()) == 2  # one retry, then the fallback


async def test_rate_limit_with_retry_after_is_retried(fake: FakeOpenAI, make_service: Callable[..., Any]) -> None:
    fake.fail_next(1, status=429, retry_after=0.1)
    _, answer = await _streamed(make_service(llm_max_retries=1))
    assert answer.used_llm
    assert answer.text == fake.reply
    assert len(fake.chat_requests()) == 2


async def test_slow_llm_times_out_retries_then_falls_back(fake: FakeOpenAI, make_service: Callable[..., Any]) -> None:
    fake.slow_next(2, delay_seconds=30)
    _, answer = await _streamed(make_service(llm_timeout_seconds=2.0, llm_max_retries=1))
    assert answer.llm_failed
    assert _about_leave_requests(answer.text.split("**")[1])
    assert len(fake.chat_requests()) == 2


async def test_stream_cut_midway_keeps_the_partial_text_then_the_handbook(
    fake: FakeOpenAI, make_service: Callable[..., Any]
) -> None:
    fake.reply = "연차 신청은 e-HR에서 할 수 있고, 팀장 결재가 필요합니다. 자세한 건 [1]을 보세요."
    fake.stream_cut_next(1, after_chunks=2)
    chunks, answer = await _streamed(make_service(llm_max_retries=0))
    shown = "".join(chunks)
    partial, _, rest = shown.partition("\n\n---\n")
    assert partial
    assert fake.reply.startswith(partial)
    assert partial != fake.reply
    assert rest == answer.text
    assert answer.llm_failed
    assert _about_leave_requests(answer.text.split("**")[1])


async def test_no_llm_call_when_the_handbook_has_no_answer(fake: FakeOpenAI, make_service: Callable[..., Any]) -> None:
    _, answer = await _streamed(make_service(), "비트코인 시세 좀 알려줘")
    assert answer.kind is AnswerKind.NOT_FOUND
    assert answer.department is not None
    assert fake.chat_requests() == []


async def test_dense_embeddings_are_fused_and_cached_on_disk(
    fake: FakeOpenAI, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url)
    async with open_deps(settings) as deps:
        assert deps.retriever.dense is not None
        first_inputs = sum(len(r.json["input"]) for r in fake.embedding_requests())
        assert first_inputs == len(deps.kb.sections)
        answer = await deps.answers.answer("연차는 어떻게 신청하나요? 제 메일은 kim@example.com", ASKER)
    assert answer.used_llm
    assert answer.sources
    assert "kim@example.com" not in str([r.json for r in fake.requests])
    embedded_before = len(fake.embedding_requests())
    async with open_deps(settings) as deps:  # a restart: section vectors come from the disk cache
        assert deps.retriever.dense is not None
    assert len(fake.embedding_requests()) == embedded_before


OFFICE_CONTACTS = """
## 본사 대표번호와 주소
- 본사 대표번호는 02-3456-7890이고, 주소는 서울특별시 중구 세종대로 110 엔카빌딩이에요.
- 택배와 우편은 이 주소로 받고, 외부 손님께는 대표번호를 안내해 주세요.
"""


async def test_the_handbooks_own_contacts_reach_the_llm_as_written_and_the_users_stay_masked(
    fake: FakeOpenAI, make_settings: Callable[..., Settings], tokenizer: KoreanTokenizer, tmp_path: Path
) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(sample_kb_dir(), kb_dir)
    office = kb_dir / "docs" / "office.md"
    office.write_text(office.read_text(encoding="utf-8") + OFFICE_CONTACTS, encoding="utf-8")
    kb = load_knowledge_base(kb_dir)
    llm = LlmClient(make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url))
    service = AnswerService(kb, Retriever(kb, tokenizer, cache_dir=tmp_path / "cache"), llm)
    fake.reply = (
        "본사 대표번호는 02-3456-7890이고 주소는 서울특별시 중구 세종대로 110 엔카빌딩이에요. [1] "
        "[주소 확인](https://evil.example/map) <!channel>"
    )
    try:
        chunks, answer = await _streamed(service, "본사 대표번호랑 주소 알려 주세요. 제 번호는 010-9876-5432예요")
    finally:
        await llm.aclose()
    (request,) = fake.chat_requests()
    sent = str(request.json)
    assert "02-3456-7890" in sent  # the handbook's own number and address, as written
    assert "서울특별시 중구 세종대로 110 엔카빌딩" in sent
    assert "010-9876-5432" not in sent  # the asker's stays masked
    assert "[전화번호]" in str(request.json["messages"][-1]["content"]).rsplit("질문: ", 1)[-1]
    assert answer.used_llm and answer.kind is AnswerKind.ANSWER
    shown = policy_for(service.kb_links).answer(answer.text)
    assert "02-3456-7890" in shown and "[전화번호]" not in shown
    assert "evil.example" not in shown and "<!channel>" not in shown  # the output policy still holds
