"""Migrations on a real, empty PostgreSQL database: order, idempotence, locking, refusals, rollback."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.migrate import LOCK_KEY, MIGRATIONS_DIR, MigrationError, checksum, migrate, migration_status

SHIPPED = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
TABLES = {"schema_migrations", "slack_users", "role_changes", "conversations", "messages", "feedback"}
TABLES |= {"usage_daily", "daily_votes"}
TABLES |= {"learning_gaps", "learning_question_states", "learned_phrasings", "learned_faq", "learned_synonyms"}
TABLES |= {"learning_audit", "learning_votes", "learning_demotions", "learning_subscriptions"}


@pytest.fixture
async def conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(pg_url)
    yield connection
    await connection.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped migrations that a test may add files to."""
    return Path(shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations"))


async def tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    return {row["table_name"] for row in rows}


async def applied_names(conn: asyncpg.Connection) -> list[str]:
    return [row["name"] for row in await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")]


async def test_empty_database_gets_every_file_and_a_rerun_does_nothing(conn: asyncpg.Connection) -> None:
    assert SHIPPED
    assert SHIPPED[0] == "0001_initial.sql"
    assert await migrate(conn) == SHIPPED
    assert TABLES <= await tables(conn)
    row = await conn.fetchrow("SELECT checksum, applied_at FROM schema_migrations WHERE name = '0001_initial.sql'")
    assert row is not None
    assert row["applied_at"] is not None
    assert row["checksum"] == checksum((MIGRATIONS_DIR / "0001_initial.sql").read_text(encoding="utf-8"))

    assert await migrate(conn) == []
    assert await applied_names(conn) == SHIPPED


async def test_two_runners_starting_together_apply_each_file_once(pg_url: str, folder: Path) -> None:
    # A slow file widens the window in which the second runner would race the first without the lock.
    (folder / "0900_slow.sql").write_text("SELECT pg_sleep(0.3);\nCREATE TABLE slow_marker (id int);\n")
    first, second = await asyncpg.connect(pg_url), await asyncpg.connect(pg_url)
    try:
        results = await asyncio.gather(migrate(first, folder), migrate(second, folder))
        assert sorted(results, key=len) == [[], [*SHIPPED, "0900_slow.sql"]]
        assert await applied_names(first) == [*SHIPPED, "0900_slow.sql"]
        # Both runners released the lock.
        assert await first.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
    finally:
        await first.close()
        await second.close()


async def test_an_applied_file_that_was_edited_is_refused_by_name(conn: asyncpg.Connection, folder: Path) -> None:
    await migrate(conn, folder)
    edited = folder / "0001_initial.sql"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nALTER TABLE messages ADD COLUMN sneaky int;\n")

    with pytest.raises(MigrationError) as caught:
        await migrate(conn, folder)
    message = str(caught.value)
    assert "0001_initial.sql was changed after it was applied" in message
    assert "add a new migration" in message
    assert "sneaky" not in {
        row["column_name"]
        for row in await conn.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'messages'")
    }
    state = {s.name: s for s in await migration_status(conn, folder)}["0001_initial.sql"]
    assert state.applied_at is not None
    assert not state.checksum_ok


async def test_a_crlf_checkout_is_not_an_edit(conn: asyncpg.Connection, folder: Path) -> None:
    await migrate(conn, folder)
    path = folder / "0001_initial.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert await migrate(conn, folder) == []


async def test_a_failing_file_is_rolled_back_and_named_with_the_database_message(
    conn: asyncpg.Connection, folder: Path
) -> None:
    (folder / "0901_good.sql").write_text("CREATE TABLE good (id int);\n")
    (folder / "0902_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\n\nINSERT INTO half_done SELECT 1 FROM no_such_table;\n"
    )
    with pytest.raises(MigrationError) as caught:
        await migrate(conn, folder)
    message = str(caught.value)
    assert message.startswith("0902_broken.sql failed at line 3")
    assert 'relation "no_such_table" does not exist' in message
    assert "rolled back" in message
    assert isinstance(caught.value.__cause__, asyncpg.UndefinedTableError)

    # The broken file left nothing behind; the files before it in the same run stay applied.
    assert await tables(conn) == TABLES | {"good"}
    assert await applied_names(conn) == [*SHIPPED, "0901_good.sql"]
    assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
    await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)

    # A file that never applied may be fixed in place.
    (folder / "0902_broken.sql").write_text("CREATE TABLE half_done (id int);\n")
    assert await migrate(conn, folder) == ["0902_broken.sql"]


async def test_a_file_must_not_commit_the_runners_transaction(conn: asyncpg.Connection, folder: Path) -> None:
    (folder / "0903_commits.sql").write_text("CREATE TABLE committed_early (id int);\nCOMMIT;\n")
    with pytest.raises(MigrationError, match=r"0903_commits\.sql ended the runner's transaction"):
        await migrate(conn, folder)
    assert await applied_names(conn) == SHIPPED


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (["0905_Bad-Name.sql"], r"0905_Bad-Name\.sql: migration files must be named"),
        (["2_short.sql"], r"2_short\.sql: migration files must be named"),
        (["0001_again.sql"], r"0001_initial\.sql and 0001_again\.sql share the number 0001"),
    ],
)
async def test_misnamed_files_are_refused_before_anything_runs(
    conn: asyncpg.Connection, folder: Path, names: list[str], error: str
) -> None:
    for name in names:
        (folder / name).write_text("CREATE TABLE never (id int);\n")
    with pytest.raises(MigrationError, match=error):
        await migrate(conn, folder)
    assert await tables(conn) == set()


async def test_files_that_are_not_sql_are_ignored(conn: asyncpg.Connection, folder: Path) -> None:
    (folder / "README.md").write_text("notes")
    assert await migrate(conn, folder) == SHIPPED


async def test_a_missing_folder_is_an_error(conn: asyncpg.Connection, tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="migrations folder not found"):
        await migrate(conn, tmp_path / "nope")


async def test_status_lists_pending_applied_and_unknown_migrations(conn: asyncpg.Connection, folder: Path) -> None:
    before = await migration_status(conn, folder)
    assert [(s.name, s.applied_at, s.checksum_ok, s.in_directory) for s in before] == [
        (name, None, True, True) for name in SHIPPED
    ]
    await migrate(conn, folder)
    (folder / "0904_next.sql").write_text("CREATE TABLE next_one (id int);\n")
    # A newer release (rolling deploy) applied a file this release does not ship: not an error.
    await conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ('0999_future.sql', 'x')")

    states = {s.name: s for s in await migration_status(conn, folder)}
    assert list(states) == [*SHIPPED, "0904_next.sql", "0999_future.sql"]
    assert states["0001_initial.sql"].applied_at is not None
    assert states["0001_initial.sql"].checksum_ok
    assert states["0904_next.sql"].applied_at is None
    assert states["0999_future.sql"].applied_at is not None
    assert not states["0999_future.sql"].in_directory
    assert await migrate(conn, folder) == ["0904_next.sql"]
