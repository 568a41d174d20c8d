"""The terminal door counts its answers in the metric the Slack doors use: api_requests_total{method="cli"}."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import Settings
from endy_bot import cli
from endy_bot.deps import Deps, open_deps
from handlers import texts
from services.answer_types import Turn
from services.knowledge import sample_kb_dir

pytestmark = pytest.mark.timeout(180)


def _count(deps: Deps, endpoint: str, status: str) -> float:
    labels = {"method": "cli", "endpoint": endpoint, "status": status}
    return deps.metrics.registry.get_sample_value("api_requests_total", labels) or 0.0


async def test_every_outcome_of_a_terminal_question_is_counted(
    make_settings: Callable[..., Settings],
    pg_url: str,
    redis_url: str,
    key_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(
        database_url=pg_url, redis_url=redis_url, redis_key_prefix=key_prefix, rate_limit_per_minute=2
    )
    async with open_deps(settings) as deps:
        history: list[Turn] = []
        asker = cli._cli_asker(thread_ts="t1")
        await cli._respond(deps, "연차는 어떻게 신청하나요?", history, asker, endpoint="chat")
        await cli._respond(deps, "   ", history, asker, endpoint="chat")  # empty: the help, not the pipeline
        await cli._respond(deps, "와이파이 비번", history, asker, endpoint="chat")
        await cli._respond(deps, "VPN 접속", history, asker, endpoint="chat")  # the third in a minute of two
        await cli._respond(deps, "연차", [], cli._cli_asker(), endpoint="ask")
        assert _count(deps, "chat", "ok") == 2
        assert _count(deps, "chat", "invalid") == 1
        assert _count(deps, "chat", "rate_limited") == 1
        assert _count(deps, "ask", "rate_limited") == 1  # the same terminal user
        latency = deps.metrics.registry.get_sample_value(
            "api_response_seconds_count", {"method": "cli", "endpoint": "chat"}
        )
        assert latency == 2  # answered questions only, as in Slack
    out = capsys.readouterr().out
    assert texts.rate_limited(1).split(".")[0] in out  # the sentence before the wait, which varies
    assert len(history) == 2


async def test_knowledge_problems_are_counted_as_bad_input_at_load_and_reload(
    make_settings: Callable[..., Settings], pg_url: str, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(sample_kb_dir(), kb_dir)
    office = kb_dir / "docs" / "office.md"
    forged = 'link: "https://wiki.example.com/guide|근태 가이드> <!channel> <https://evil.example/login"'
    office.write_text(office.read_text(encoding="utf-8").replace("link: https://wiki.example.com/guide/office", forged))
    settings = make_settings(
        database_url=pg_url, redis_url=redis_url, redis_key_prefix=key_prefix, knowledge_dir=kb_dir
    )
    async with open_deps(settings) as deps:

        def counted() -> float:
            return deps.metrics.registry.get_sample_value("errors_total", {"type": "knowledge_problem"}) or 0.0

        assert [e.line for e in deps.kb.errors if "office.md" in str(e)] == [4]  # reported with its file and line
        assert counted() == 1
        await deps.reload_knowledge()  # what `/endy-admin kb reload` and a reload request run
        assert counted() == 2
