"""The aiohttp sidecar on PORT: /health, /readiness, /liveness, /metrics, with security headers and CORS."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from endy_bot import __version__
from endy_bot.deps import Deps
from services.migrate import migration_status

CHECK_TIMEOUT = 2.0
MIN_FREE_BYTES = 1024**3  # the deployment guide alerts below 1 GB (HEALTH_MIN_FREE_MB's default)
# Only an empty knowledge base leaves Endy unable to answer → unhealthy (503). A database outage is degraded
# (200): answers keep flowing and writes are buffered (services/persist.py) until it returns.
CRITICAL = ("knowledge_base",)
CHECKS = ("llm_service", "database", "redis", "slack", "knowledge_base", "disk_space")
# only what readiness decides on: a stalled Redis must not push /readiness past kubelet's default 1 s probe timeout
READINESS_CHECKS = ("knowledge_base", "slack")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def _not_yet() -> bool:
    return False  # until Server.start() hands over its link to Slack (endy_bot/slack_link.py)


@dataclass(slots=True)
class State:
    """What the probes report beyond dependency checks."""

    migrated: bool = False
    slack_connected: Callable[[], Awaitable[bool]] = field(default=_not_yet)  # endy_bot.slack_link.SlackLink.connected
    shutting_down: bool = False


async def _bounded(check: Callable[[], Awaitable[bool]]) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await check()
    except Exception as err:  # any failure of a dependency check just means "not OK"
        logger.bind(error=type(err).__name__).debug("health check failed")
        return False


Check = bool | str
DISABLED = "disabled"  # the LLM is optional: extractive answers are a supported way to run, not a degradation


async def run_checks(deps: Deps, state: State, names: tuple[str, ...] = CHECKS) -> dict[str, Check]:
    """The named checks (default: every one), concurrently, each bounded by CHECK_TIMEOUT."""

    async def database() -> bool:
        return bool(await deps.pool.fetchval("SELECT 1") == 1)

    async def redis() -> bool:
        return bool(await deps.redis.ping())

    async def disk() -> bool:
        deps.settings.log_dir.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(deps.settings.log_dir).free >= deps.settings.health_min_free_mb * 1024 * 1024

    async def constant(value: bool) -> bool:
        return value

    async def llm() -> bool:
        # Configured: healthy unless its circuit is open (recent calls failed; answers fall back meanwhile).
        return deps.llm is not None and deps.llm.chat_circuit.state != "open"

    checks: dict[str, Callable[[], Awaitable[bool]]] = {
        "llm_service": llm,
        "database": database,
        "redis": redis,
        "slack": state.slack_connected,
        "knowledge_base": lambda: constant(bool(deps.kb.sections)),
        "disk_space": disk,
    }
    results: list[Check] = list(await asyncio.gather(*(_bounded(checks[name]) for name in names)))
    out = dict(zip(names, results, strict=True))
    if "llm_service" in out and deps.llm is None:
        out["llm_service"] = DISABLED
    return out


async def schema_ready(deps: Deps, state: State) -> bool:
    """Every migration applied; with MIGRATE_ON_START=false the `endy migrate` job applies them, so look."""
    if not state.migrated:

        async def applied() -> bool:
            async with deps.pool.acquire() as conn:
                return all(m.applied_at is not None for m in await migration_status(conn))

        state.migrated = await _bounded(applied)  # once true it stays true: no query per probe
    return state.migrated


def _headers_middleware(origins: set[str]) -> Any:
    """Security headers, JSON errors without traces, and CORS for ALLOWED_ORIGINS on every response."""

    @web.middleware
    async def headers(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.json_response({"error": exc.reason}, status=exc.status)
            if "Allow" in exc.headers:  # a 405 says which methods are allowed
                response.headers["Allow"] = exc.headers["Allow"]
        response.headers.update(SECURITY_HEADERS)
        response.headers["Server"] = "endy"  # no framework or version disclosure
        origin = request.headers.get("Origin")
        if origin and (origin in origins or "*" in origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return headers


def build_sidecar(deps: Deps, state: State) -> web.Application:
    """The sidecar app (ENABLE_HEALTH_CHECK / ENABLE_METRICS decide which routes exist)."""
    origins = set(deps.settings.allowed_origins)

    async def health(_: web.Request) -> web.Response:
        checks = await run_checks(deps, state)
        ok = [value is True or value == DISABLED for value in checks.values()]
        status = "unhealthy" if not all(checks[c] is True for c in CRITICAL) else "healthy" if all(ok) else "degraded"
        body: dict[str, Any] = {
            "status": status,
            "timestamp": datetime.now(UTC).isoformat(),
            "version": __version__,
            "checks": checks,
        }
        return web.json_response(body, status=503 if status == "unhealthy" else 200)

    async def readiness(_: web.Request) -> web.Response:
        checks = await run_checks(deps, state, READINESS_CHECKS)
        ready = (
            not state.shutting_down
            and await schema_ready(deps, state)  # needs the database once, until the schema is confirmed
            and checks["knowledge_base"]
            and checks["slack"]
        )
        return web.json_response({"ready": ready, "shutting_down": state.shutting_down}, status=200 if ready else 503)

    async def liveness(_: web.Request) -> web.Response:
        started = time.perf_counter()
        await asyncio.sleep(0)  # the loop turned: it is responsive
        return web.json_response({"alive": True, "loop_ms": round((time.perf_counter() - started) * 1000, 2)})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(deps.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(middlewares=[_headers_middleware(origins)])
    if deps.settings.enable_health_check:
        app.router.add_get("/health", health)
        app.router.add_get("/readiness", readiness)
        app.router.add_get("/liveness", liveness)
    if deps.settings.enable_metrics:
        app.router.add_get("/metrics", metrics)
    return app
