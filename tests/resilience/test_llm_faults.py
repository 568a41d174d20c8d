"""LLM outage patterns against the fake OpenAI: bounded retries, the extractive fallback, the circuit breaker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from loguru import logger

from config.settings import Settings
from services.answer_types import Answer, AnswerKind, Asker
from services.answering import FALLBACK_SEPARATOR, AnswerService
from services.errors import LlmUnavailable
from services.knowledge import KnowledgeBase
from services.llm import LlmClient, Message, StreamUsage
from services.metrics import Metrics
from services.retrieval import Retriever
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.timeout(60)
QUESTION = "연차는 어떻게 신청하나요?"
ASKER = Asker(user_id="U123", surface="cli")
MESSAGES: list[Message] = [{"role": "user", "content": "연차 신청 방법 알려줘"}]
STATUSES = ("success", "error", "timeout", "rate_limited", "connection_error", "circuit_open", "empty")
HANG_SECONDS = 45.0  # far past every timeout: a client that waited for it would be seen finishing it
LONG_REPLY = "연차 신청은 e-HR에서 할 수 있고, 팀장 결재가 필요합니다. 자세한 건 [1]을 보세요."


class FakeClock:
    """The circuit breaker's clock, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StallingOpenAI(FakeOpenAI):
    """Like FakeOpenAI, but a cut stream keeps its socket open and silent: a stream that stalls midway."""

    @staticmethod
    async def _hang_up(request: web.Request) -> None:
        await asyncio.sleep(HANG_SECONDS)


class DrippingOpenAI(FakeOpenAI):
    """After the cut, every chunk comes late but within the read timeout: a stream that never quite stalls."""

    @staticmethod
    async def _hang_up(request: web.Request) -> None:
        await asyncio.sleep(0.9)


@dataclass
class Rig:
    """One fake OpenAI and the real AnswerService/LlmClient pointed at it."""

    fake: FakeOpenAI
    service: AnswerService
    llm: LlmClient
    metrics: Metrics
    clock: FakeClock
    settings: Settings

    def count(self, status: str) -> float:
        return self.metrics.registry.get_sample_value("llm_requests_total", {"status": status}) or 0.0

    def counts(self) -> dict[str, float]:
        return {status: self.count(status) for status in STATUSES if self.count(status)}

    def circuit(self, which: str = "chat") -> str:
        """The state of the chat or embeddings circuit (typed str: mypy must not narrow it between calls)."""
        return (self.llm.chat_circuit if which == "chat" else self.llm.embed_circuit).state

    def chats(self) -> int:
        return len(self.fake.chat_requests())

    async def ask(self) -> tuple[str, Answer]:
        """Ask QUESTION; return what the user was shown and the final Answer."""
        stream = await self.service.stream(QUESTION, ASKER)
        shown = "".join([chunk async for chunk in stream])
        return shown, stream.result


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rigs(
    make_settings: Callable[..., Settings], sample_kb: KnowledgeBase, retriever: Retriever
) -> AsyncIterator[MakeRig]:
    async with AsyncExitStack() as stack:

        async def factory(fake_cls: type[FakeOpenAI] = FakeOpenAI, **overrides: Any) -> Rig:
            fake = await stack.enter_async_context(fake_cls())
            values: dict[str, Any] = {"llm_max_retries": 1, "llm_timeout_seconds": 2.0, **overrides}
            settings = make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url, **values)
            metrics, clock = Metrics(), FakeClock()
            llm = LlmClient(settings, metrics=metrics, clock=clock)
            stack.push_async_callback(llm.aclose)
            service = AnswerService(sample_kb, retriever, llm, min_confidence=settings.answer_min_confidence)
            return Rig(fake, service, llm, metrics, clock, settings)

        yield factory


@pytest.fixture
async def extractive(make_settings: Callable[..., Settings], sample_kb: KnowledgeBase, retriever: Retriever) -> str:
    """The handbook answer to QUESTION, as the service gives it with no LLM at all."""
    service = AnswerService(sample_kb, retriever, None, min_confidence=make_settings().answer_min_confidence)
    answer = await service.answer(QUESTION, ASKER)
    assert answer.kind is AnswerKind.ANSWER
    assert "e-HR" in answer.text
    return answer.text


@pytest.fixture
def circuit_logs() -> Iterator[list[str]]:
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(m.record["message"]), level="DEBUG", filter="services.llm")
    yield messages
    logger.remove(sink)


def _retry_count(rig: Rig, index: int) -> str | None:
    headers = {k.lower(): v for k, v in rig.fake.chat_requests()[index].headers.items()}
    return headers.get("x-stainless-retry-count")


# fault, chat requests the fake must see, the one llm_requests_total status counted, whether the LLM answered
FAULTS = [
    pytest.param(lambda f: None, 1, "success", True, id="healthy"),
    pytest.param(lambda f: f.fail_next(5, status=500), 2, "error", False, id="500s-retries-bounded"),
    pytest.param(lambda f: f.fail_next(1, status=429, retry_after=0.2), 2, "success", True, id="429-retry-after"),
    pytest.param(lambda f: f.fail_next(5, status=429, retry_after=0.1), 2, "rate_limited", False, id="429s"),
    pytest.param(lambda f: f.disconnect_next(5), 2, "connection_error", False, id="disconnects"),
    pytest.param(lambda f: f.stream_cut_next(1, after_chunks=3), 1, "connection_error", False, id="stream-cut"),
    pytest.param(lambda f: f.slow_next(5, HANG_SECONDS), 2, "timeout", False, id="hang-past-timeout"),
]


@pytest.mark.parametrize(("inject", "requests", "status", "llm_answered"), FAULTS)
async def test_each_fault_is_bounded_labelled_and_falls_back(
    rigs: MakeRig,
    extractive: str,
    inject: Callable[[FakeOpenAI], None],
    requests: int,
    status: str,
    llm_answered: bool,
) -> None:
    rig = await rigs()
    inject(rig.fake)
    shown, answer = await rig.ask()
    assert rig.fake.faults_completed == 0  # answered before the fake finished its fault: nobody waited it out
    assert rig.chats() == requests
    if requests == 2:  # the second one is the client's own bounded retry, not another question
        assert _retry_count(rig, 1) == "1"
    assert rig.counts() == {status: 1}
    assert answer.used_llm is llm_answered
    assert answer.llm_failed is not llm_answered
    if llm_answered:
        assert shown == answer.text == rig.fake.reply
    else:
        assert answer.text == extractive
        assert shown.endswith(extractive)


@pytest.mark.parametrize(
    ("fake_cls", "status"),
    [(FakeOpenAI, "connection_error"), (StallingOpenAI, "timeout"), (DrippingOpenAI, "timeout")],
    ids=["cut", "stall", "slow-drip"],
)
async def test_stream_that_stops_halfway_keeps_the_partial_text_then_the_handbook(
    rigs: MakeRig, extractive: str, fake_cls: type[FakeOpenAI], status: str
) -> None:
    rig = await rigs(fake_cls, llm_max_retries=0)  # the read timeout is then the whole deadline: the budget must act
    rig.fake.reply = LONG_REPLY
    rig.fake.stream_cut_next(1, after_chunks=3)  # the role chunk and two text chunks, then the fault
    shown, answer = await rig.ask()
    assert rig.fake.faults_completed == 0  # the stall (or the slow drip) was not waited out
    partial, separator, rest = shown.partition(FALLBACK_SEPARATOR)
    assert separator
    assert rest == extractive
    assert LONG_REPLY.startswith(partial)
    assert 2 * rig.fake.chunk_size <= len(partial) < len(LONG_REPLY)
    assert answer.text == extractive
    assert answer.llm_failed
    assert not answer.used_llm
    assert rig.chats() == 1  # text was already shown: no retry once the stream started
    assert rig.counts() == {status: 1}


async def test_breaker_opens_skips_the_llm_then_one_probe_closes_it(
    rigs: MakeRig, extractive: str, circuit_logs: list[str]
) -> None:
    rig = await rigs(llm_circuit_failures=3, llm_circuit_open_seconds=30, llm_max_retries=0)
    rig.fake.fail_next(3, status=500)
    for _ in range(3):
        _, answer = await rig.ask()
        assert answer.llm_failed
    assert rig.chats() == 3
    assert rig.circuit() == "open"
    assert rig.counts() == {"error": 3}

    for step in (0.0, 29.9):  # open: answered from the handbook without touching the LLM
        rig.clock.advance(step)
        shown, answer = await rig.ask()
        assert shown == answer.text == extractive
        assert answer.llm_failed
    assert rig.chats() == 3
    assert rig.counts() == {"error": 3, "circuit_open": 2}

    rig.clock.advance(0.2)
    assert rig.circuit() == "half_open"
    _, answer = await rig.ask()  # the probe
    assert rig.chats() == 4
    assert answer.used_llm
    assert rig.circuit() == "closed"
    _, answer = await rig.ask()
    assert rig.chats() == 5
    assert answer.used_llm
    assert rig.counts() == {"error": 3, "circuit_open": 2, "success": 2}
    opened = [m for m in circuit_logs if m.startswith("LLM circuit opened")]
    closed = [m for m in circuit_logs if m == "LLM circuit closed"]
    assert len(opened) == 1
    assert len(closed) == 1


async def test_a_failed_probe_opens_the_circuit_again(rigs: MakeRig, extractive: str) -> None:
    rig = await rigs(llm_circuit_failures=2, llm_circuit_open_seconds=30, llm_max_retries=0)
    rig.fake.fail_next(3, status=503)
    for _ in range(2):
        await rig.ask()
    rig.clock.advance(31)
    _, answer = await rig.ask()  # the probe fails
    assert rig.chats() == 3
    assert answer.text == extractive
    assert rig.circuit() == "open"
    _, answer = await rig.ask()
    assert rig.chats() == 3
    assert rig.count("circuit_open") == 1
    rig.clock.advance(31)
    _, answer = await rig.ask()
    assert rig.chats() == 4
    assert answer.used_llm
    assert rig.circuit() == "closed"


async def test_breaker_counts_calls_not_retries_and_a_success_resets_it(rigs: MakeRig) -> None:
    rig = await rigs(llm_circuit_failures=2, llm_max_retries=1)
    rig.fake.fail_next(2, status=500)  # one call: a request and its retry
    await rig.ask()
    assert rig.chats() == 2
    assert rig.circuit() == "closed"
    await rig.ask()  # success: the consecutive count starts again
    rig.fake.fail_next(2, status=500)
    await rig.ask()
    assert rig.circuit() == "closed"
    rig.fake.fail_next(2, status=500)
    await rig.ask()
    assert rig.chats() == 7
    assert rig.circuit() == "open"


async def test_one_probe_at_a_time_and_an_abandoned_probe_frees_the_slot(rigs: MakeRig) -> None:
    rig = await rigs(llm_circuit_failures=1, llm_circuit_open_seconds=30, llm_max_retries=0)
    rig.fake.reply = LONG_REPLY
    rig.fake.fail_next(1, status=500)
    await rig.ask()
    rig.clock.advance(31)
    probe = rig.llm.stream(MESSAGES, StreamUsage())
    assert await anext(probe) == LONG_REPLY[: rig.fake.chunk_size]
    with pytest.raises(LlmUnavailable, match="circuit open"):  # a second caller while the probe runs
        await rig.llm.complete(MESSAGES)
    assert rig.chats() == 2
    assert rig.count("circuit_open") == 1
    await probe.aclose()  # the user went away mid-answer: no verdict, the next call probes
    assert rig.circuit() == "half_open"
    result = await rig.llm.complete(MESSAGES)
    assert result.text == LONG_REPLY
    assert rig.chats() == 3
    assert rig.circuit() == "closed"


async def test_embeddings_trip_their_own_circuit(rigs: MakeRig) -> None:
    rig = await rigs(llm_circuit_failures=1, llm_circuit_open_seconds=30, llm_max_retries=0)
    rig.fake.fail_next(1, status=500, path="/embeddings")
    for _ in range(2):
        with pytest.raises(LlmUnavailable):
            await rig.llm.embed(["연차 신청"])
    assert len(rig.fake.embedding_requests()) == 1
    assert rig.counts() == {"error": 1, "circuit_open": 1}
    _, answer = await rig.ask()  # chat is healthy and unaffected
    assert answer.used_llm
    assert rig.circuit() == "closed"
    rig.clock.advance(31)
    (vector,) = await rig.llm.embed(["연차 신청"])
    assert len(vector) == rig.fake.embedding_dim
    assert rig.circuit("embeddings") == "closed"
