"""`endy doctor` against the fake Slack, the fake OpenAI and the machine's real PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from config import problems
from config.settings import MIN_SECRET_KEY_CHARS, Settings
from endy_bot.doctor import diagnose, exit_code, render
from endy_bot.doctor_model import Finding, Mark, Row
from handlers.texts import DOCTOR_DETAIL
from services.migrate import migrate
from tests.conftest import HOST_ENV
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.timeout(90)
Doctor = Callable[..., Any]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token="xoxb-right") as fake:
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def migrated_url(pg_url: str) -> str:
    conn = await asyncpg.connect(pg_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return pg_url


@pytest.fixture
def healthy(
    make_settings: Callable[..., Settings], slack: FakeSlack, llm: FakeOpenAI, migrated_url: str, redis_url: str
) -> Callable[..., Settings]:
    """Settings under which every check passes; overrides break one thing at a time."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": "xoxb-right",
            "slack_api_url": slack.api_url,
            "database_url": migrated_url,
            "redis_url": redis_url,
            "openai_api_key": "sk-test",
            "openai_base_url": llm.base_url,
            "health_min_free_mb": 0,
        }
        return make_settings(**{**values, **overrides})

    return factory


def by_check(rows: list[Row]) -> dict[str, Row]:
    return {row.check: row for row in rows}


async def test_everything_green_is_exit_0_in_order(healthy: Callable[..., Settings], slack: FakeSlack) -> None:
    rows = await diagnose(healthy())
    text = render(rows)
    assert [r.check for r in rows] == [
        "settings",
        "token",
        "scopes",
        "channels",
        "postgres",
        "migrations",
        "redis",
        "llm",
        "embeddings",
        "knowledge",
        "disk",
    ]
    assert all(r.mark is Mark.OK for r in rows), text
    assert exit_code(rows) == 0
    assert "✅ Slack 토큰: Endy Test 워크스페이스의 @endy(으)로 연결돼요" in text
    assert "채널 4개 모두에 @엔디가 들어가 있어요" in text
    assert "결과: ✅ 11개 · ⚠️ 0개 · ❌ 0개" in text
    assert slack.calls_to("conversations.list"), "names like #ask-pnc are resolved through conversations.list"


async def test_a_refused_token_is_a_fail_with_its_fix_and_the_dependent_checks_skipped(
    healthy: Callable[..., Settings],
) -> None:
    rows = await diagnose(healthy(slack_bot_token="xoxb-wrong"))
    text, found = render(rows), by_check(rows)
    assert found["token"].mark is Mark.FAIL
    assert "❌ Slack 토큰: Slack이 SLACK_BOT_TOKEN을(를) 거부했어요 (auth.test: invalid_auth)" in text
    assert "Bot User OAuth Token" in found["token"].finding.summary  # where to find the right one
    assert found["scopes"].mark is Mark.WARN
    assert found["channels"].mark is Mark.WARN
    assert exit_code(rows) == 2


async def test_a_missing_scope_is_a_fail_naming_it(healthy: Callable[..., Settings], slack: FakeSlack) -> None:
    slack.scopes.discard("commands")
    rows = await diagnose(healthy())
    text = render(rows)
    assert "❌ Slack 권한(scope): 허용되지 않은 봇 권한이 있어요: commands" in text
    assert "Bot Token Scopes에 추가" in text
    assert "다시 설치" in text
    assert exit_code(rows) == 2


async def test_a_channel_the_bot_is_not_in_is_a_fail_with_the_invite(
    healthy: Callable[..., Settings], slack: FakeSlack
) -> None:
    slack.channel("ask-pnc").is_member = False
    rows = await diagnose(healthy())
    text = render(rows)
    assert "❌ 담당 팀 채널: 채널 1개에 글을 쓸 수 없어요" in text
    assert "   · #ask-pnc (P&C팀): @엔디가 채널에 없어요 → `/invite @엔디`" in text
    assert "   → 각 채널에서 `/invite @엔디`로 초대해 주세요" in text
    assert exit_code(rows) == 2


async def test_a_failing_llm_is_a_fail(healthy: Callable[..., Settings], llm: FakeOpenAI) -> None:
    llm.fail_next(1, status=500, path="/chat/completions")
    rows = await diagnose(healthy())
    found = by_check(rows)
    assert found["llm"].mark is Mark.FAIL
    assert "gpt-4o-mini 호출이 실패했어요" in found["llm"].finding.summary
    assert found["embeddings"].mark is Mark.OK
    assert exit_code(rows) == 2


async def test_a_wrong_llm_key_says_to_check_it(healthy: Callable[..., Settings], llm: FakeOpenAI) -> None:
    llm.fail_next(1, status=401, path="/embeddings")
    found = by_check(await diagnose(healthy()))
    assert found["embeddings"].mark is Mark.FAIL
    assert found["embeddings"].finding.fix == "OPENAI_API_KEY가 맞는지 확인해 주세요"


async def test_no_llm_key_is_a_warning_and_exit_1(healthy: Callable[..., Settings], llm: FakeOpenAI) -> None:
    rows = await diagnose(healthy(openai_api_key=None))
    text = render(rows)
    assert "⚠️ LLM: OPENAI_API_KEY가 없어서 비활성화" in text
    assert by_check(rows)["embeddings"].mark is Mark.WARN
    assert exit_code(rows) == 1
    assert llm.requests == []


async def test_unreachable_storage_and_pending_migrations(
    healthy: Callable[..., Settings], pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    conn = await asyncpg.connect(pg_url)  # the test's own database, migrated by `healthy`: forget the last one
    try:
        await conn.execute("DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)")
    finally:
        await conn.close()
    found = by_check(await diagnose(healthy(redis_url="redis://127.0.0.1:1/0")))
    assert found["migrations"].mark is Mark.WARN
    assert "적용되지 않은 마이그레이션" in found["migrations"].finding.summary
    assert found["redis"].mark is Mark.FAIL
    assert "REDIS_URL" in found["redis"].finding.fix
    found = by_check(await diagnose(make_settings(database_url="postgresql://u:secret@127.0.0.1:1/x")))
    assert found["postgres"].mark is Mark.FAIL
    assert "secret" not in found["postgres"].finding.summary
    assert found["migrations"].finding.summary == "PostgreSQL에 연결하지 못해서 건너뛰었어요"
    found = by_check(await diagnose(make_settings(redis_url="localhost:6379")))
    assert found["redis"].mark is Mark.FAIL  # malformed: one line with the variable and the fix, no extra fix line
    assert found["redis"].finding == Finding(Mark.FAIL, problems.url_wrong_form("REDIS_URL", "localhost:6379"))


async def test_knowledge_problems_have_file_and_line_and_low_disk_fails(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "kb.yaml").write_text("departments: [it, pnc]\n", encoding="utf-8")
    (kb / "guide.md").write_text("# 안내\n\n내용\n", encoding="utf-8")
    rows = await diagnose(make_settings(knowledge_dir=kb, health_min_free_mb=10**12))
    found = by_check(rows)
    assert found["knowledge"].mark is Mark.FAIL
    assert any(d.startswith("kb.yaml:1") for d in found["knowledge"].finding.details), found["knowledge"]
    assert found["disk"].mark is Mark.FAIL
    assert "HEALTH_MIN_FREE_MB" in found["disk"].finding.fix
    assert found["postgres"].finding.summary.startswith("임베디드 사용")
    assert exit_code(rows) == 2


async def test_a_hanging_check_is_bounded(healthy: Callable[..., Settings], slack: FakeSlack) -> None:
    slack.slow_next("auth.test", 3)
    found = by_check(await diagnose(healthy(), bound=0.5))
    assert found["token"].mark is Mark.FAIL
    assert "0.5초 안에" in found["token"].finding.summary


def test_the_command_lists_every_settings_problem_without_a_traceback(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
    env = {**clean, "ENVIRONMENT": "production", "PORT": "nope", "RELOAD": "true", "ALLOWED_ORIGINS": "*"}
    result = subprocess.run(
        [sys.executable, "-m", "endy_bot", "doctor"],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "❌ 설정: 문제" in result.stdout
    # Each problem on its own line, as config/problems.py words it: the variable, what is wrong, the fix.
    for problem in (
        problems.INVALID_INTEGER.format(name="PORT", default=8000),
        problems.RELOAD_IN_PRODUCTION,
        problems.ORIGINS_WILDCARD,
        problems.token_missing("SLACK_BOT_TOKEN"),
        problems.url_unset_in_production("DATABASE_URL"),
        problems.secret_key_placeholder(MIN_SECRET_KEY_CHARS),
    ):
        assert DOCTOR_DETAIL.format(detail=problem) in result.stdout.splitlines(), problem
