"""`endy doctor`: every setting and every service Endy needs, checked in order, as a ✅/⚠️/❌ checklist in Korean.

Each check is a small async function of a Probe returning a Finding, bounded by a timeout; a check that crashes or
hangs is a ❌ line, never a traceback. The exit code is the worst mark: 0 all ✅, 1 any ⚠️, 2 any ❌.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import openai
from loguru import logger
from redis.exceptions import RedisError

from config.settings import ConfigError, Settings, load_settings, mask_url
from endy_bot.doctor_model import CONNECT_TIMEOUT_SECONDS, Finding, Mark, Probe, Row, short_error
from endy_bot.doctor_slack import check_channels, check_scopes, check_token
from handlers import texts
from services import kb_texts
from services.db import check_database_url
from services.errors import KnowledgeError
from services.migrate import MigrationError, migration_status
from services.redis_conn import check_redis_url, make_client

CHECK_TIMEOUT_SECONDS = 20.0
MB = 1024 * 1024
Check = Callable[[Probe], Awaitable[Finding]]
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _unset(probe: Probe, variable: str) -> Finding:
    """A storage URL that is not set: the embedded server outside production, a refusal in production."""
    if probe.settings.is_production:
        fix = texts.DOCTOR_UNSET_PRODUCTION_FIX.format(variable=variable)
        return Finding(Mark.FAIL, texts.DOCTOR_UNSET_PRODUCTION.format(variable=variable), fix)
    fix = texts.DOCTOR_EMBEDDED_FIX.format(variable=variable)
    return Finding(Mark.WARN, texts.DOCTOR_EMBEDDED.format(variable=variable), fix)


def _connect_failed(variable: str, url: str, err: BaseException) -> Finding:
    summary = texts.DOCTOR_CONNECT_FAILED.format(url=mask_url(url), error=short_error(err))
    return Finding(Mark.FAIL, summary, texts.DOCTOR_CONNECT_FIX.format(variable=variable))


async def check_postgres(probe: Probe) -> Finding:
    """DATABASE_URL accepts a connection."""
    url = probe.settings.database_url.get_secret_value().strip() if probe.settings.database_url else ""
    if not url:
        return _unset(probe, "DATABASE_URL")
    try:
        check_database_url(url)
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_SECONDS)
    except ConfigError as err:
        return Finding(Mark.FAIL, "; ".join(err.problems))  # the line names the variable and its fix
    except _DB_ERRORS as err:
        return _connect_failed("DATABASE_URL", url, err)
    await conn.close()
    probe.database_url = url
    return Finding(Mark.OK, texts.DOCTOR_CONNECTED.format(url=mask_url(url)))


def _migrations_finding(pending: list[str], changed: list[str], newer: list[str], *, auto: bool) -> Finding | None:
    if changed:
        names = ", ".join(changed)
        return Finding(
            Mark.FAIL, texts.DOCTOR_MIGRATIONS_CHANGED.format(names=names), texts.DOCTOR_MIGRATIONS_CHANGED_FIX
        )
    if pending:
        summary = texts.DOCTOR_MIGRATIONS_PENDING.format(count=len(pending), names=", ".join(pending))
        if auto:
            return Finding(Mark.WARN, summary, texts.DOCTOR_MIGRATIONS_PENDING_AUTO)
        return Finding(Mark.FAIL, summary, texts.DOCTOR_MIGRATIONS_PENDING_FIX)
    if newer:
        names = ", ".join(newer)
        return Finding(Mark.WARN, texts.DOCTOR_MIGRATIONS_NEWER.format(names=names), texts.DOCTOR_MIGRATIONS_NEWER_FIX)
    return None


async def check_migrations(probe: Probe) -> Finding:
    """Every migration of this release is applied, none was edited after it was applied."""
    if probe.database_url is None:
        embedded = probe.settings.database_url is None and not probe.settings.is_production
        return Finding(Mark.WARN, texts.DOCTOR_MIGRATIONS_EMBEDDED if embedded else texts.DOCTOR_MIGRATIONS_NO_DB)
    try:
        conn = await asyncpg.connect(probe.database_url, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            states = await migration_status(conn)
        finally:
            await conn.close()
    except MigrationError as err:
        return Finding(Mark.FAIL, texts.DOCTOR_MIGRATIONS_BROKEN.format(error=short_error(err)))
    except _DB_ERRORS as err:
        return _connect_failed("DATABASE_URL", probe.database_url, err)
    found = _migrations_finding(
        [s.name for s in states if s.applied_at is None],
        [s.name for s in states if not s.checksum_ok],
        [s.name for s in states if not s.in_directory],
        auto=probe.settings.migrate_on_start,
    )
    return found or Finding(Mark.OK, texts.DOCTOR_MIGRATIONS_OK.format(count=len(states)))


async def check_redis(probe: Probe) -> Finding:
    """REDIS_URL answers PING."""
    url = probe.settings.redis_url.get_secret_value().strip() if probe.settings.redis_url else ""
    if not url:
        return _unset(probe, "REDIS_URL")
    try:
        check_redis_url(url)
    except ConfigError as err:
        return Finding(Mark.FAIL, "; ".join(err.problems))  # the line names the variable and its fix
    client = make_client(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await client.ping()
    except (RedisError, OSError) as err:
        return _connect_failed("REDIS_URL", url, err)
    finally:
        await client.aclose()
    return Finding(Mark.OK, texts.DOCTOR_CONNECTED.format(url=mask_url(url)))


def _llm_failed(probe: Probe, err: openai.APIError, variable: str, model: str) -> Finding:
    summary = texts.DOCTOR_LLM_FAILED.format(model=model, error=short_error(err))
    status = err.status_code if isinstance(err, openai.APIStatusError) else None
    if status in (401, 403):
        return Finding(Mark.FAIL, summary, texts.DOCTOR_LLM_AUTH_FIX)
    if status == 404:
        return Finding(Mark.FAIL, summary, texts.DOCTOR_LLM_MODEL_FIX.format(variable=variable, model=model))
    if isinstance(err, openai.APIConnectionError):  # APITimeoutError too
        url = probe.settings.openai_base_url or "https://api.openai.com/v1"
        return Finding(Mark.FAIL, summary, texts.DOCTOR_LLM_CONNECT_FIX.format(url=url))
    return Finding(Mark.FAIL, summary, texts.DOCTOR_RETRY_FIX)


def _openai(probe: Probe) -> openai.AsyncOpenAI | None:
    settings = probe.settings
    if not settings.llm_enabled or settings.openai_api_key is None:
        return None
    key = settings.openai_api_key.get_secret_value()
    timeout = min(settings.llm_timeout_seconds, CHECK_TIMEOUT_SECONDS / 2)
    return openai.AsyncOpenAI(api_key=key, base_url=settings.openai_base_url, max_retries=0, timeout=timeout)


async def check_llm(probe: Probe) -> Finding:
    """A one-token chat completion with OPENAI_MODEL."""
    client, model = _openai(probe), probe.settings.openai_model
    if client is None:
        return Finding(Mark.WARN, texts.DOCTOR_LLM_DISABLED, texts.DOCTOR_LLM_DISABLED_FIX)
    async with client:
        try:
            await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=1
            )
        except openai.APIError as err:
            return _llm_failed(probe, err, "OPENAI_MODEL", model)
    return Finding(Mark.OK, texts.DOCTOR_LLM_OK.format(model=model))


async def check_embeddings(probe: Probe) -> Finding:
    """One embedding with OPENAI_EMBEDDING_MODEL."""
    client, model = _openai(probe), probe.settings.openai_embedding_model
    if client is None:
        return Finding(Mark.WARN, texts.DOCTOR_LLM_DISABLED, texts.DOCTOR_LLM_DISABLED_FIX)
    async with client:
        try:
            await client.embeddings.create(model=model, input="연차 신청")
        except openai.APIError as err:
            return _llm_failed(probe, err, "OPENAI_EMBEDDING_MODEL", model)
    return Finding(Mark.OK, texts.DOCTOR_LLM_OK.format(model=model))


async def check_knowledge(probe: Probe) -> Finding:
    """The knowledge folder loads; its problems (❌) and warnings (⚠️) with file:line."""
    try:
        kb = await probe.knowledge()
    except KnowledgeError as err:
        return Finding(Mark.FAIL, f"{err.path}: {err.message}", kb_texts.HINT_KNOWLEDGE_DIR)
    details = tuple(str(e) for e in [*kb.errors, *kb.warnings])
    if kb.errors:
        summary = texts.DOCTOR_KB_PROBLEMS.format(name=kb.name, errors=len(kb.errors), warnings=len(kb.warnings))
        return Finding(Mark.FAIL, summary, texts.DOCTOR_KB_FIX, details)
    if kb.warnings:
        summary = texts.DOCTOR_KB_WARNINGS.format(name=kb.name, warnings=len(kb.warnings))
        return Finding(Mark.WARN, summary, texts.DOCTOR_KB_FIX, details)
    counts = {"documents": kb.documents, "sections": kb.doc_section_count, "faq": kb.faq_count}
    return Finding(Mark.OK, texts.DOCTOR_KB_OK.format(name=kb.name, **counts))


async def check_disk(probe: Probe) -> Finding:
    """Free space where LOG_DIR is (or would be created) against HEALTH_MIN_FREE_MB, as /health measures it."""
    path = probe.settings.log_dir.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    free, need = shutil.disk_usage(path).free // MB, probe.settings.health_min_free_mb
    if free < need:
        return Finding(Mark.FAIL, texts.DOCTOR_DISK_LOW.format(path=path, free=free, need=need), texts.DOCTOR_DISK_FIX)
    return Finding(Mark.OK, texts.DOCTOR_DISK_OK.format(path=path, free=free, need=need))


async def check_settings(probe: Probe) -> Finding:
    """What production refuses, every problem at once (invalid values never get this far: see run)."""
    problems = probe.settings.production_problems()
    if problems:
        summary = texts.DOCTOR_SETTINGS_BAD.format(count=len(problems))
        return Finding(Mark.FAIL, summary, texts.DOCTOR_SETTINGS_FIX, tuple(problems))
    return Finding(Mark.OK, texts.DOCTOR_SETTINGS_OK.format(environment=probe.settings.environment))


CHECKS: tuple[tuple[str, Check], ...] = (
    ("settings", check_settings),
    ("token", check_token),
    ("scopes", check_scopes),
    ("channels", check_channels),
    ("postgres", check_postgres),
    ("migrations", check_migrations),
    ("redis", check_redis),
    ("llm", check_llm),
    ("embeddings", check_embeddings),
    ("knowledge", check_knowledge),
    ("disk", check_disk),
)


async def _bounded(check: Check, probe: Probe, seconds: float) -> Finding:
    try:
        return await asyncio.wait_for(check(probe), seconds)
    except TimeoutError:
        return Finding(Mark.FAIL, texts.DOCTOR_TIMEOUT.format(seconds=seconds), texts.DOCTOR_TIMEOUT_FIX)
    except Exception as err:  # a bug in one check must not hide the others; the log file keeps the traceback
        logger.opt(exception=err).bind(check=check.__name__).error("endy doctor: a check crashed")
        return Finding(Mark.FAIL, texts.DOCTOR_CRASHED.format(error=short_error(err)))


async def diagnose(settings: Settings, *, bound: float = CHECK_TIMEOUT_SECONDS) -> list[Row]:
    """Run every check in order, each bounded by `bound` seconds."""
    probe = Probe(settings)
    return [Row(name, await _bounded(check, probe, bound)) for name, check in CHECKS]


def exit_code(rows: Sequence[Row]) -> int:
    """The worst mark: 0 all ✅, 1 any ⚠️, 2 any ❌."""
    return int(max((row.mark for row in rows), default=Mark.OK))


def render(rows: Sequence[Row]) -> str:
    """The checklist as printed: one line per check, then its fix and details, then the totals."""
    lines = [texts.DOCTOR_TITLE]
    for row in rows:
        lines.append(f"{row.mark.symbol} {texts.DOCTOR_CHECKS[row.check]}: {row.finding.summary}")
        lines += [texts.DOCTOR_DETAIL.format(detail=d) for d in row.finding.details]
        if row.finding.fix and row.mark is not Mark.OK:
            lines.append(texts.DOCTOR_FIX.format(fix=row.finding.fix))
    counts = {
        key: sum(1 for r in rows if r.mark is mark) for key, mark in zip(("ok", "warn", "fail"), Mark, strict=True)
    }
    lines.append(texts.DOCTOR_TOTAL.format(**counts))
    return "\n".join(lines)


def unreadable_settings(err: ConfigError) -> list[Row]:
    """The checklist when the settings themselves do not load: every problem, the other checks skipped."""
    summary = texts.DOCTOR_SETTINGS_BAD.format(count=len(err.problems))
    rows = [Row("settings", Finding(Mark.FAIL, summary, texts.DOCTOR_SETTINGS_FIX, tuple(err.problems)))]
    return rows + [Row(name, Finding(Mark.WARN, texts.DOCTOR_SKIPPED_SETTINGS)) for name, _ in CHECKS[1:]]


async def doctor(settings: Settings, *, bound: float = CHECK_TIMEOUT_SECONDS) -> int:
    """Print the checklist for `settings`; return the exit code."""
    rows = await diagnose(settings, bound=bound)
    print(render(rows))
    return exit_code(rows)


def run(*, load: Callable[[], Settings] = load_settings) -> int:
    """`endy doctor` from the command line: settings that do not load are the first ❌, not a refusal to run."""
    try:
        settings = load()
    except (ConfigError, ValueError) as err:
        rows = unreadable_settings(err if isinstance(err, ConfigError) else ConfigError([str(err)]))
        print(render(rows))
        return exit_code(rows)
    from endy_bot.signals import cancel_on_signals
    from services.logging import configure_logging

    configure_logging(settings, console_level="CRITICAL")  # the checklist says it all; details go to the log file
    return asyncio.run(cancel_on_signals(doctor(settings)))
