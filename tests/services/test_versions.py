"""Cache versions derive from the code and settings that shape what is cached."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from services import versions
from services.cache import AnswerCache
from services.metrics import Metrics
from services.signing import Keyring

SIGNER = Keyring("k" * 64).signer("answer-cache")


def test_the_engine_covers_the_answer_pipeline() -> None:
    modules = versions.module_closure(["services.answering"])
    for shaping in ("services.retrieval", "services.ranking", "services.compose", "services.extract"):
        assert shaping in modules
    assert "services.tokenizer" in versions.module_closure(["services.tokenizer", "services.knowledge"])


def test_a_code_digest_changes_with_the_code() -> None:
    def one() -> int:
        return 1

    def two() -> int:
        return 2

    assert versions.function_digest(one) != versions.function_digest(two)
    assert versions.code_digest(["services.ranking"]) != versions.code_digest(["services.compose"])
    # Stable across processes (string hashing is randomised per process; a digest must not be).
    fresh = subprocess.run(
        [sys.executable, "-c", "from services import versions; print(versions.code_digest(['services.ranking']))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    ).stdout.strip()
    assert fresh == versions.code_digest(["services.ranking"])


@pytest.mark.parametrize(
    "change",
    [
        {"answer_min_confidence": 0.6},
        {"answer_hedge_confidence": 0.3},
        {"openai_model": "gpt-4o"},
        {"openai_embedding_model": "text-embedding-3-large"},
        {"openai_api_key": "sk-test"},
    ],
)
def test_a_shaping_setting_changes_the_engine_version(
    make_settings: Callable[..., Settings], change: dict[str, Any]
) -> None:
    before = versions.engine_version(versions.answer_shaping(make_settings()))
    after = versions.engine_version(versions.answer_shaping(make_settings(**change)))
    assert before != after


def test_a_setting_that_does_not_shape_answers_keeps_the_version(make_settings: Callable[..., Settings]) -> None:
    before = versions.engine_version(versions.answer_shaping(make_settings()))
    assert versions.engine_version(versions.answer_shaping(make_settings(cache_ttl_seconds=60))) == before


async def test_the_answer_cache_key_changes_with_a_shaping_setting(
    redis_client: aioredis.Redis, key_prefix: str, make_settings: Callable[..., Settings]
) -> None:
    def cache(settings: Settings) -> AnswerCache:
        engine = versions.engine_version(versions.answer_shaping(settings))
        return AnswerCache(
            redis_client, key_prefix=key_prefix, ttl_seconds=60, metrics=Metrics(), signer=SIGNER, engine=engine
        )

    default, stricter = cache(make_settings()), cache(make_settings(answer_min_confidence=0.7))
    assert default.key("연차 신청", "v1") != stricter.key("연차 신청", "v1")
    await default.set("연차 신청", "v1", {"text": "답"})
    assert await stricter.get("연차 신청", "v1") is None
    assert await cache(make_settings()).get("연차 신청", "v1") == {"text": "답"}
