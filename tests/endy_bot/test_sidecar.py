"""The sidecar as an operator and Prometheus see it: /health, /readiness, /liveness, /metrics on a running Endy.

Health semantics (what these tests pin down):
  - every check true → "healthy", 200; no OPENAI_API_KEY → `"llm_service": "disabled"`, still healthy
    (extractive answers are a supported way to run);
  - Redis down or stalled, LLM configured but failing (circuit open), Slack disconnected or < 1 GB free in
    LOG_DIR → "degraded", 200 (Endy still answers: the limiter fails open, the cache is bypassed, answers are
    extractive);
  - an empty knowledge base → "unhealthy", 503 (Endy cannot answer usefully); a database outage is
    "degraded", 200 (answers keep flowing, writes are buffered and replayed).
"""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy
from prometheus_client.parser import text_string_to_metric_families

from endy_bot import __version__
from services.answer_types import Asker
from tests.endy import Endy, StartEndy
from tests.fakes.redis_process import RedisProcess

pytestmark = pytest.mark.timeout(90)
USER = "U0ALICE"
CHECKS = {"llm_service", "database", "redis", "slack", "knowledge_base", "disk_space"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
ORIGIN = "https://ops.example.com"
PROBE_BOUND = 15.0  # generous: a probe must come back, however slow the dependency (CHECK_TIMEOUT is 2 s)


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    def json(self) -> Any:
        """The body as JSON (the test fails if it is not)."""
        return json.loads(self.text)


async def get(endy: Endy, path: str, **headers: str) -> Reply:
    """GET a sidecar path on a fresh connection, bounded so a hang fails the test instead of stalling it."""
    url = f"http://127.0.0.1:{endy.deps.settings.port}{path}"
    timeout = aiohttp.ClientTimeout(total=PROBE_BOUND)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, headers=headers) as resp:
        return Reply(resp.status, resp.headers, await resp.text())


def checks_off(body: dict[str, Any]) -> set[str]:
    """The names of the failing checks ("disabled" is a choice, not a failure)."""
    return {name for name, ok in body["checks"].items() if ok is not True and ok != "disabled"}


# ------------------------------------------------------------------------------------------------ /health


async def test_health_with_everything_up_is_healthy(start_endy: StartEndy) -> None:
    endy = await start_endy(llm=True)
    reply = await get(endy, "/health")
    body = reply.json()
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(body) == {"status", "timestamp", "version", "checks"}
    assert body["status"] == "healthy"
    assert body["version"] == __version__
    assert set(body["checks"]) == CHECKS
    assert checks_off(body) == set()
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


async def test_llm_not_configured_is_disabled_not_degraded_and_low_disk_is_degraded(
    start_endy: StartEndy, monkeypatch: pytest.MonkeyPatch
) -> None:
    endy = await start_endy()  # no OPENAI_API_KEY: extractive answers only, a supported way to run
    reply = await get(endy, "/health")
    assert reply.json()["checks"]["llm_service"] == "disabled"
    assert (reply.status, reply.json()["status"], checks_off(reply.json())) == (200, "healthy", set())
    low_disk = await start_endy(health_min_free_mb=1 << 42)  # "less than 4 EiB free": the disk check fails
    reply = await get(low_disk, "/health")
    assert (reply.status, reply.json()["status"], checks_off(reply.json())) == (200, "degraded", {"disk_space"})


async def test_a_configured_llm_that_keeps_failing_is_degraded(start_endy: StartEndy) -> None:
    endy = await start_endy(llm=True, llm_circuit_failures=1, llm_max_retries=0)
    assert (await get(endy, "/health")).json()["checks"]["llm_service"] is True
    assert endy.llm is not None
    endy.llm.fail_next(5, status=500)
    answer = await endy.deps.answers.answer("연차는 어떻게 신청하나요?", Asker(user_id="U1"))
    assert answer.llm_failed  # the extractive answer still went out
    reply = await get(endy, "/health")
    assert (reply.status, reply.json()["status"], checks_off(reply.json())) == (200, "degraded", {"llm_service"})


async def test_an_empty_knowledge_base_is_unhealthy(start_endy: StartEndy, tmp_path: Path) -> None:
    (tmp_path / "empty-kb").mkdir()
    endy = await start_endy(llm=True, knowledge_dir=tmp_path / "empty-kb")
    reply = await get(endy, "/health")
    assert (reply.status, reply.json()["status"], checks_off(reply.json())) == (503, "unhealthy", {"knowledge_base"})
    assert (await get(endy, "/readiness")).status == 503


async def test_redis_down_is_degraded_and_recovers(redis_server: RedisProcess, start_endy: StartEndy) -> None:
    endy = await start_endy(llm=True, redis_url=redis_server.url)
    assert (await get(endy, "/health")).json()["status"] == "healthy"
    await redis_server.stop()
    reply = await get(endy, "/health")
    assert (reply.status, reply.json()["status"], checks_off(reply.json())) == (200, "degraded", {"redis"})
    assert (await get(endy, "/readiness")).status == 200  # Redis is optional: the pod stays in service
    await redis_server.start()
    assert (await get(endy, "/health")).json()["status"] == "healthy"


async def test_a_frozen_redis_cannot_hang_the_probes(redis_server: RedisProcess, start_endy: StartEndy) -> None:
    endy = await start_endy(llm=True, redis_url=redis_server.url)
    redis_server.pause()  # SIGSTOP: connections are accepted, nothing answers
    try:
        health_task = asyncio.create_task(get(endy, "/health"))
        ready, live = await get(endy, "/readiness"), await get(endy, "/liveness")
        # readiness does not depend on Redis, so it must not wait for it (kubelet's default probe timeout is 1 s)
        assert ready.status == 200
        assert live.status == 200
        assert not health_task.done()
        health = await health_task  # bounded: it comes back, with Redis marked down
    finally:
        redis_server.resume()
    assert (health.status, health.json()["status"], checks_off(health.json())) == (200, "degraded", {"redis"})


def _start_pg(pgdata: Path) -> Any:
    import pgserver

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        return pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]


@pytest.fixture
def throwaway_pg(tmp_path: Path) -> Iterator[Any]:
    """Our own PostgreSQL (never the machine's shared one): the test may stop it."""
    server = _start_pg(tmp_path / "pg")
    yield server
    server.cleanup()


async def test_database_down_is_degraded_and_still_ready(throwaway_pg: Any, start_endy: StartEndy) -> None:
    endy = await start_endy(llm=True, database_url=throwaway_pg.get_uri())
    assert [(await get(endy, p)).status for p in ("/health", "/readiness", "/liveness")] == [200, 200, 200]
    await asyncio.to_thread(throwaway_pg.cleanup)  # the outage
    health = await get(endy, "/health")
    # answers keep flowing and writes are buffered, so the pod stays in service and only reports degraded
    assert (health.status, health.json()["status"], checks_off(health.json())) == (200, "degraded", {"database"})
    assert (await get(endy, "/readiness")).status == 200
    live = await get(endy, "/liveness")  # a dead database must not restart every pod
    assert live.status == 200
    assert live.json()["alive"] is True


# --------------------------------------------------------------------------------------- /readiness


async def test_readiness_follows_shutdown_and_migrations(start_endy: StartEndy) -> None:
    endy = await start_endy()
    ready = await get(endy, "/readiness")
    assert (ready.status, ready.json()) == (200, {"ready": True, "shutting_down": False})
    # A second replica that leaves migrations to the `endy migrate` job: ready, the schema is already there.
    replica = await start_endy(migrate_on_start=False)
    assert (await get(replica, "/readiness")).status == 200
    endy.server.state.shutting_down = True
    draining = await get(endy, "/readiness")
    assert (draining.status, draining.json()) == (503, {"ready": False, "shutting_down": True})
    assert (await get(endy, "/liveness")).status == 200
    assert (await get(endy, "/health")).status == 200


async def test_not_ready_until_the_schema_is_migrated(start_endy: StartEndy) -> None:
    endy = await start_endy(migrate_on_start=False)  # a brand-new database nobody migrated
    assert (await get(endy, "/readiness")).status == 503
    assert (await get(endy, "/health")).status == 200  # /health reports dependencies, not the schema


async def test_not_ready_while_the_slack_socket_is_down(start_endy: StartEndy) -> None:
    endy = await start_endy()
    assert (await get(endy, "/readiness")).status == 200
    endy.slack.fail_next("apps.connections.open", status=500)  # the immediate reconnect fails …
    await endy.slack.disconnect_all()
    await endy.slack.wait_for("apps.connections.open", 2)
    ready, health = await get(endy, "/readiness"), await get(endy, "/health")
    assert ready.status == 503
    assert ready.json()["ready"] is False
    assert (health.status, checks_off(health.json())) == (200, {"slack"})
    await endy.slack.wait_for_connections(1, timeout=30)  # … the client's monitor retries (every 5 s) and succeeds
    assert (await get(endy, "/readiness")).status == 200


# ------------------------------------------------------------------------------- headers, CORS, routes


@pytest.mark.parametrize("path", ["/health", "/readiness", "/liveness", "/metrics", "/nope"])
async def test_security_headers_on_every_response(start_endy: StartEndy, path: str) -> None:
    endy = await start_endy(allowed_origins=[ORIGIN])
    reply = await get(endy, path, Origin=ORIGIN)
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, name
    assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    assert not re.search(r"\d|aiohttp|python", reply.headers.get("Server", ""), re.IGNORECASE)
    assert reply.headers.get("Access-Control-Allow-Origin") == ORIGIN


async def test_unknown_paths_get_json_404_without_internals(start_endy: StartEndy) -> None:
    endy = await start_endy()
    reply = await get(endy, "/admin/../../etc/passwd")
    assert reply.status == 404
    assert reply.json() == {"error": "Not Found"}
    assert "Traceback" not in reply.text
    assert "aiohttp" not in reply.text


async def test_cors_only_for_allowed_origins(start_endy: StartEndy) -> None:
    endy = await start_endy(allowed_origins=[ORIGIN])
    allowed = await get(endy, "/health", Origin=ORIGIN)
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    for origin in ("https://evil.example.com", "https://ops.example.com.evil.io", "null"):
        assert "Access-Control-Allow-Origin" not in (await get(endy, "/health", Origin=origin)).headers
    nobody = await start_endy()  # ALLOWED_ORIGINS unset: no cross-origin access at all
    assert "Access-Control-Allow-Origin" not in (await get(nobody, "/health", Origin=ORIGIN)).headers


async def test_enable_flags_remove_the_routes(start_endy: StartEndy) -> None:
    no_metrics = await start_endy(enable_metrics=False)
    assert [(await get(no_metrics, p)).status for p in ("/metrics", "/health", "/liveness")] == [404, 200, 200]
    no_health = await start_endy(enable_health_check=False)
    statuses = [(await get(no_health, p)).status for p in ("/health", "/readiness", "/liveness", "/metrics")]
    assert statuses == [404, 404, 404, 200]


# ------------------------------------------------------------------------------------------- /metrics


async def _scripted_conversation(endy: Endy) -> None:
    """A DM answered, a 👍 on it, then questions until the 11th in a minute is refused."""
    await endy.slack.send_event(endy.slack.event_message_im(USER, "와이파이 비번 뭐야?"))
    (reply,) = await endy.slack.wait_for_messages(1)
    up = reply.blocks[-1]["elements"][0]["positive_button"]["value"]  # type: ignore[index]
    action = endy.slack.block_actions(USER, "feedback", up, reply.channel, reply.ts, action_type="feedback_buttons")
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))
    for _ in range(10):
        await endy.slack.send_event(endy.slack.event_message_im(USER, "와이파이 비번 뭐야?"))
    messages = await endy.slack.wait_for_messages(11)
    assert sum("질문이 너무 많이 들어왔어요" in m.text for m in messages) == 1


async def test_metrics_after_a_conversation_use_the_guide_names_and_no_user_ids(start_endy: StartEndy) -> None:
    endy = await start_endy()
    await _scripted_conversation(endy)
    reply = await get(endy, "/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    dm = {"method": "event", "endpoint": "message.im"}
    assert value("api_requests_total", **dm, status="ok") == 10
    assert value("api_requests_total", **dm, status="rate_limited") == 1
    assert value("api_requests_total", method="action", endpoint="feedback", status="ok") == 1
    assert value("api_response_seconds_bucket", **dm, le="30.0") == value("api_response_seconds_count", **dm) == 10
    assert value("feedback_total", rating="up", via="button") == 1
    assert value("rate_limited_total") == 1
    assert value("cache_operations_total", operation="miss") == 1
    assert value("cache_operations_total", operation="hit")
    assert (value("process_resident_memory_bytes") or 0) > 0
    for declared in ("llm_requests_total counter", "errors_total counter", "llm_tokens_total counter"):
        assert f"# TYPE {declared}" in reply.text  # exported even before the first increment
    assert value("ratelimit_fallback_active") == 0
    assert {tuple(k for k, _ in key) for name, key in samples if name == "api_requests_total"} == {
        ("endpoint", "method", "status")
    }
    label_values = {v for _, key in samples for _, v in key}
    assert not [v for v in label_values if re.fullmatch(r"[UW][A-Z0-9]{6,}", v)]
    assert USER not in reply.text
