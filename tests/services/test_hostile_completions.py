"""≥ 1,000 hypothesis-generated hostile completions from the fake OpenAI, through the real pipeline and every door's
renderer (no Slack: fast). End to end through the fake Slack: tests/handlers/test_hostile_completions.py.

A door's renderer is exactly what its handler calls: the streamed path's MarkdownStream and final blocks (DM and
@mention with an LLM), answer_body + answer_blocks (/endy ephemeral, posted answers), shared_message (the share
button re-renders the stored text), escalation_text (what reaches the team's channel when the model declines).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config.settings import Settings
from handlers.blocks import answer_blocks
from handlers.buttons import Seal
from handlers.escalation import escalation_text, shared_message
from handlers.reply import answer_body
from services.answer_types import Answer, AnswerKind, Asker, Source
from services.answering import AnswerService
from services.knowledge import KnowledgeBase
from services.llm import LlmClient
from services.output_policy import OutputPolicy, policy_for
from services.prompts import NOT_IN_HANDBOOK
from services.retrieval import Retriever
from services.signing import Keyring
from tests.fakes.hostile_llm import KB_LINK, Outcome, has_kb_link, hostile_completion, inspect, shown_texts
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.timeout(600)
CORPUS = settings(
    max_examples=int(os.environ.get("ENDY_HOSTILE_EXAMPLES", "1000")),
    deadline=None,
    # The same corpus on every run (CI stays reproducible); ENDY_HOSTILE_RANDOM=1 explores new examples.
    derandomize=os.environ.get("ENDY_HOSTILE_RANDOM") != "1",
    database=None,  # no .hypothesis/ directory in the repository
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
QUESTION = "연차는 어떻게 신청하나요?"
ASKER = Asker(user_id="U0ASKER", surface="slash")
SHARER = "U0ASKER"
SEAL = Seal(Keyring("k" * 64), SHARER)
PERMALINK = "https://endy-test.slack.com/archives/C0GENERAL/p1600000000000100"
DOORS = ("streamed (DM, @mention)", "posted (/endy ephemeral)", "share button", "escalation")


@pytest.fixture
async def service(
    make_settings: Callable[..., Settings], sample_kb: KnowledgeBase, retriever: Retriever
) -> AsyncIterator[tuple[AnswerService, FakeOpenAI]]:
    async with FakeOpenAI() as fake:
        llm = LlmClient(make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url))
        try:
            yield AnswerService(sample_kb, retriever, llm), fake
        finally:
            await llm.aclose()


def _as_stored(answer: Answer) -> Answer:
    """The answer as the share button rebuilds it from PostgreSQL (text and sources' JSON only)."""
    rows = [s.to_dict() for s in answer.sources]
    sources = [Source(str(r["title"]), r["link"], str(r["source"]), str(r["section_id"])) for r in rows]
    return Answer(AnswerKind(answer.kind.value), answer.text, answer.question, sources=sources)


class Doors:
    """Runs one completion through every door's renderer and keeps the tally."""

    def __init__(self, service: AnswerService, fake: FakeOpenAI) -> None:
        self.service, self.fake = service, fake
        self.policy: OutputPolicy = policy_for(service.kb_links)
        self.allowed = service.kb_links | {PERMALINK}
        self.tried: Counter[str] = Counter()
        self.leaks: Counter[str] = Counter()
        self.raw_flagged = 0  # completions the detector flags as they are: it does see what it looks for

    async def run(self, completion: str, chunk_size: int) -> None:
        """All doors for one completion; raises (so hypothesis shrinks) on the first leak."""
        self.raw_flagged += bool(inspect([completion], allowed=self.allowed).leaks)
        self.fake.reply, self.fake.chunk_size = completion, chunk_size
        stream = await self.service.stream(QUESTION, ASKER)
        safe, pieces = self.policy.stream(), []
        async for chunk in stream:
            pieces.append(safe.feed(chunk))
        pieces.append(safe.flush())
        answer = stream.result
        assert answer.used_llm, "the completion was shown"
        assert answer.kind is AnswerKind.ANSWER, "the completion was shown"
        final = shown_texts(answer_blocks(answer, "", self.policy, seal=SEAL))
        self.check(DOORS[0], completion, pieces, final)
        body = answer_body(answer, self.policy)
        self.check(DOORS[1], completion, [body], shown_texts(answer_blocks(answer, body, self.policy, seal=SEAL)))
        rendered, shared = shared_message(_as_stored(answer), SHARER, self.policy, SEAL)
        self.check(DOORS[2], completion, [rendered], shown_texts(shared)[1:], header=shown_texts(shared)[0])
        await self.escalation(completion)

    async def escalation(self, completion: str) -> None:
        """The model declines with the hostile text after NOT_IN_HANDBOOK; the question carries it to the team."""
        self.fake.reply = f"{NOT_IN_HANDBOOK} {completion}"
        question = " ".join(f"{QUESTION} {completion}".split())[: self.service.max_question_chars]
        answer = await self.service.answer(question, ASKER)
        assert answer.kind is AnswerKind.NOT_FOUND
        body = answer_body(answer, self.policy)
        shown = [body, *shown_texts(answer_blocks(answer, body, self.policy, seal=SEAL))]
        self.check(DOORS[3], completion, [], shown)
        quoted = inspect([escalation_text(answer.question, PERMALINK)], allowed=self.allowed, generated=False)
        self.leaks[DOORS[3]] += len(quoted.leaks)
        assert not quoted.leaks, f"escalated question: {quoted.leaks[:3]}"

    def check(self, door: str, completion: str, body: list[str], rest: list[str], header: str = "") -> None:
        """No leak anywhere; the KB link survives where the completion wrote it; sources cite the KB's links."""
        self.tried[door] += 1
        outcome: Outcome = inspect([*body, *rest, header], allowed=self.allowed, actors=frozenset({f"<@{SHARER}>"}))
        self.leaks[door] += len(outcome.leaks)
        assert not outcome.leaks, f"{door}: {outcome.leaks[:3]}"
        if body and has_kb_link(completion):
            assert KB_LINK in "".join(body), f"{door}: the knowledge base's own link was lost"
        if door != DOORS[3]:
            assert any(f"<{link}|" in t for t in rest for link in self.service.kb_links), f"{door}: no cited link"


async def test_a_thousand_hostile_completions_leak_nothing_through_any_door(
    service: tuple[AnswerService, FakeOpenAI],
) -> None:
    doors = Doors(*service)
    loop = asyncio.get_running_loop()

    @CORPUS
    @given(completion=hostile_completion(), chunk_size=st.integers(1, 24))
    @example(completion="출처: 📄 [인사팀 공식 공지](https://evil.example/md) HTTPS://EVIL.EXAMPLE/x", chunk_size=3)
    @example(completion="[공지](https://evil.example/md) www.evil-hr.example x.com/path //evil.example", chunk_size=5)
    @example(completion="<https://evil.example|클릭> <!channel> mailto:a@evil.example slack://open", chunk_size=1)
    @example(completion=f"ht\u200btps://evil\u2060.example/\u202ex 자세한 건 [근태 가이드]({KB_LINK})", chunk_size=2)
    # Found by the fuzzer: full-width scheme and host, a Cyrillic е, a combining grapheme joiner after the TLD.
    @example(completion="ｈｔｔｐｓ：／／еｖｉｌ－ｈｒ．ｅｘａｍｐｌｅ\u034f", chunk_size=1)
    @example(completion="[여기를 클릭][r1]\n\n[r1]: ｈｔｔｐｓ：／／еｖｉｌ－ｈｒ．ｅｘａｍｐｌｅ\u034f", chunk_size=1)
    def case(completion: str, chunk_size: int) -> None:
        asyncio.run_coroutine_threadsafe(doors.run(completion, chunk_size), loop).result(timeout=60)

    await asyncio.to_thread(case)
    assert min(doors.tried.values()) >= CORPUS.max_examples
    assert doors.raw_flagged >= 0.8 * doors.tried[DOORS[0]], "the raw completions are hostile, as the detector sees"
    for door in DOORS:
        print(f"[trust] hostile completions through {door}: {doors.tried[door]} tried, {doors.leaks[door]} leaks")
    assert sum(doors.leaks.values()) == 0


def test_policy_keeps_kb_link_but_nothing_else(sample_kb: KnowledgeBase) -> None:
    """A direct sanity check of the figures' premise: the KB link is allowed, a look-alike is not."""
    policy = policy_for(frozenset({KB_LINK}))
    out = policy.answer(f"[근태]({KB_LINK}) [가짜]({KB_LINK}.evil.example) {KB_LINK}@evil.example")
    assert inspect([out], allowed=frozenset({KB_LINK})).leaks == []
    assert f"<{KB_LINK}|근태>" in out
