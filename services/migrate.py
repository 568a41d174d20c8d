"""Forward-only SQL migrations: numbered files applied once each, in order, under an advisory lock."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from loguru import logger

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# One fixed key for every replica and every release: "EndyMigr" read as a big-endian 64-bit integer.
LOCK_KEY = int.from_bytes(b"EndyMigr", "big")

_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text        PRIMARY KEY,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
_APPLIED = "SELECT name, checksum, applied_at FROM schema_migrations"
_RECORD = "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)"


class MigrationError(Exception):
    """A migration cannot run: a misnamed file, an applied file that was edited, or a failing statement."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file and the checksum of its text."""

    name: str
    sql: str
    checksum: str


@dataclass(frozen=True, slots=True)
class MigrationState:
    """A migration's state: applied when, and whether the file still matches what was applied."""

    name: str
    applied_at: datetime | None
    checksum_ok: bool
    in_directory: bool = True  # False: applied by a newer release whose file this one does not have


@dataclass(frozen=True, slots=True)
class _Applied:
    checksum: str
    applied_at: datetime


def checksum(sql: str) -> str:
    """sha256 of the file's text (line endings normalised, so a CRLF checkout is not an edit)."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Read `NNNN_name.sql` files in order; a misnamed or duplicate-numbered file is an error."""
    folder = directory or MIGRATIONS_DIR
    if not folder.is_dir():
        raise MigrationError(f"migrations folder not found: {folder}")
    found: list[Migration] = []
    numbers: dict[str, str] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files must be named NNNN_lower_case_name.sql")
        if match[1] in numbers:
            raise MigrationError(f"{path.name} and {numbers[match[1]]} share the number {match[1]}")
        numbers[match[1]] = path.name
        try:
            sql = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise MigrationError(f"{path.name}: cannot read it ({err})") from err
        found.append(Migration(path.name, sql, checksum(sql)))
    return found


async def migrate(conn: asyncpg.Connection, directory: Path | None = None) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied."""
    migrations = load_migrations(directory)
    async with _migration_lock(conn):
        await conn.execute(_CREATE_TABLE)
        applied = await _applied(conn)
        for migration in migrations:
            _check_unchanged(migration, applied.get(migration.name))
        done: list[str] = []
        for migration in migrations:
            if migration.name not in applied:
                await _apply(conn, migration)
                done.append(migration.name)
        return done


async def migration_status(conn: asyncpg.Connection, directory: Path | None = None) -> list[MigrationState]:
    """Every known migration (files and applied rows), in name order."""
    migrations = load_migrations(directory)
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = await _applied(conn) if exists else {}
    states = [
        MigrationState(m.name, row.applied_at if row else None, row is None or row.checksum == m.checksum)
        for m in migrations
        for row in [applied.get(m.name)]
    ]
    files = {m.name for m in migrations}
    states += [
        MigrationState(name, row.applied_at, True, in_directory=False)
        for name, row in applied.items()
        if name not in files
    ]
    return sorted(states, key=lambda state: state.name)


@asynccontextmanager
async def _migration_lock(conn: asyncpg.Connection) -> AsyncIterator[None]:
    # A session-level lock: it spans the per-file transactions, and a crashed runner's lock dies with it.
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
        logger.bind(lock_key=LOCK_KEY).info("another process is migrating; waiting for it to finish")
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        yield
    finally:
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def _applied(conn: asyncpg.Connection) -> dict[str, _Applied]:
    rows = await conn.fetch(_APPLIED)
    return {row["name"]: _Applied(row["checksum"], row["applied_at"]) for row in rows}


def _check_unchanged(migration: Migration, applied: _Applied | None) -> None:
    if applied is not None and applied.checksum != migration.checksum:
        raise MigrationError(
            f"{migration.name} was changed after it was applied (applied sha256 {applied.checksum[:12]}…, "
            f"file now {migration.checksum[:12]}…); restore it and add a new migration instead"
        )


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    started = time.perf_counter()
    try:
        async with conn.transaction():
            await conn.execute(migration.sql)
            if not conn.is_in_transaction():
                raise MigrationError(f"{migration.name} ended the runner's transaction: remove its BEGIN/COMMIT")
            await conn.execute(_RECORD, migration.name, migration.checksum)
    except asyncpg.PostgresError as err:
        raise MigrationError(
            f"{migration.name} failed{_where(migration.sql, err)}: {err} "
            f"(rolled back: the database is as it was before this file)"
        ) from err
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.bind(migration=migration.name, elapsed_ms=elapsed_ms).info("applied migration")


def _where(sql: str, err: asyncpg.PostgresError) -> str:
    """' at line N' when the server reported a position in the file's text."""
    position = getattr(err, "position", None)
    if not position or not str(position).isdigit():
        return ""
    return f" at line {sql[: int(position) - 1].count(chr(10)) + 1}"
