"""Shared set-up for the learning tests: a learning service over the sample handbook on a fresh database.

Its fixtures are imported by tests/services/test_learning*.py; a module sets PER_SECTION to cap phrasings lower.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from services.admin import AdminService
from services.answer_types import AnswerKind, Asker
from services.answering import AnswerService
from services.kb_model import KnowledgeBase
from services.knowledge import load_knowledge_base, sample_kb_dir
from services.learning import Actor, LearningService
from services.learning_store import LearningStore
from services.metrics import Metrics
from services.migrate import migrate
from services.retrieval import Retriever
from services.storage import Exchange, Storage
from services.tokenizer import KoreanTokenizer

ADMIN = "UADMIN"
ME = Actor("T1", ADMIN)
FRIDGE = "사무실 냉장고 청소 언제 해요?"
LOUNGE_ID, LOUNGE = "docs/office.md#12", "총무/사무실 가이드 > 라운지와 탕비실 이용"


@pytest.fixture(scope="module")
def own_tokenizer() -> KoreanTokenizer:
    """A tokenizer of its own: learned synonyms add compounds, which must not leak into other test modules."""
    return KoreanTokenizer()


@pytest.fixture(scope="module")
def base_kb() -> KnowledgeBase:
    """The bundled sample handbook."""
    return load_knowledge_base(sample_kb_dir())


@pytest.fixture(scope="module")
def token_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The token cache the module's replicas share."""
    return tmp_path_factory.mktemp("learning-cache")


@pytest.fixture
async def rig(
    request: pytest.FixtureRequest,
    pg_url: str,
    base_kb: KnowledgeBase,
    own_tokenizer: KoreanTokenizer,
    token_cache: Path,
) -> AsyncIterator[Rig]:
    """One replica on a fresh database (phrasings capped at the module's PER_SECTION, default 20)."""
    per_section = getattr(request.module, "PER_SECTION", 20)
    made = await open_rig(pg_url, base_kb, own_tokenizer, token_cache, per_section=per_section)
    yield made
    await made.pool.close()


@dataclass
class Rig:
    """One replica: its learning service, the answer service it swaps, the pool it owns, and its metrics."""

    svc: LearningService
    answers: AnswerService
    pool: asyncpg.Pool
    metrics: Metrics
    base: KnowledgeBase
    cache: Path | None = None
    rebuilds: int = 0

    async def rebuild(self) -> None:
        """What a reload does on this replica: merge the learned layer into the folder's knowledge again."""
        kb = await self.svc.merged(self.base)
        self.answers.swap(kb, Retriever(kb, self.answers.retriever.tokenizer, cache_dir=self.cache))
        self.rebuilds += 1

    async def ask(self, question: str) -> tuple[AnswerKind, str | None]:
        """What this replica answers now: the kind and the first cited section's title."""
        answer = await self.answers.answer(question, Asker("U-asker"))
        return answer.kind, answer.sources[0].title if answer.sources else None


async def open_rig(
    url: str, base: KnowledgeBase, tokenizer: KoreanTokenizer, cache: Path | None = None, *, per_section: int = 20
) -> Rig:
    """A migrated database, an answer service over `base`, and a learning service that rebuilds it in place."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    storage, metrics = Storage(pool), Metrics()
    answers = AnswerService(base, Retriever(base, tokenizer, cache_dir=cache), None)
    admin = AdminService(storage, [ADMIN], tokenizer)
    rig = Rig(None, answers, pool, metrics, base, cache)  # type: ignore[arg-type]
    rig.svc = LearningService(
        LearningStore(pool),
        storage,
        answers,
        admin,
        metrics=metrics,
        rebuild=rig.rebuild,
        phrasings_per_section=per_section,
    )
    return rig


async def asked(
    storage: Storage,
    question: str,
    *,
    user: str = "U1",
    kind: str = "not_found",
    section: tuple[str, str] | None = None,
    hours_ago: float = 1,
    request_id: uuid.UUID | None = None,
) -> int:
    """Record an exchange as the bot would (masked question), returning its message id."""
    sources = [{"title": section[1], "link": None, "source": "x.md", "section_id": section[0]}] if section else []
    return await storage.record_exchange(
        Exchange(
            request_id=request_id or uuid.uuid4(),
            surface="dm",
            team_id="T1",
            channel_id="D1",
            thread_ts=None,
            user_id=user,
            question=question,
            answer="" if kind == "not_found" else "답",
            kind=kind,
            sources=sources,
            confidence=0.1 if kind == "not_found" else 0.9,
            used_llm=False,
            llm_failed=False,
            model=None,
            prompt_tokens=0,
            completion_tokens=0,
            latency_ms=5,
            category=None,
            department=None,
            kb_version="v1",
            created_at=datetime.now(UTC) - timedelta(hours=hours_ago),
        )
    )
