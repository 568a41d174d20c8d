"""PostgreSQL connection: DATABASE_URL, or an embedded server (pgserver) under DATA_DIR outside production."""

from __future__ import annotations

from contextlib import AsyncExitStack
from functools import partial
from urllib.parse import urlsplit

import asyncpg
from loguru import logger

from config import problems
from config.settings import ConfigError, Settings, mask_url, redact_credentials
from services.embedded import start_in_thread
from services.embedded_pg import EmbeddedPostgres, start_embedded_postgres

_SCHEMES = {"postgres", "postgresql"}


def check_database_url(url: str) -> None:
    """Raise ConfigError (password masked) when DATABASE_URL is not a PostgreSQL URL."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ConfigError([problems.url_unparseable("DATABASE_URL", mask_url(url))]) from None
    if parts.scheme not in _SCHEMES or not (parts.hostname or "host=" in parts.query):
        raise ConfigError([problems.url_wrong_form("DATABASE_URL", mask_url(url))])


async def database_url(settings: Settings, stack: AsyncExitStack) -> str:
    """The URL to use: DATABASE_URL, or an embedded server started (and stopped on exit) for this process."""
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        check_database_url(url)
        logger.bind(database=mask_url(url)).info("using PostgreSQL from DATABASE_URL")
        return url
    if settings.is_production:
        raise ConfigError([problems.url_unset_in_production("DATABASE_URL")])
    # A signal during the start still stops the server (start_in_thread); afterwards the exit stack does.
    server = await start_in_thread(partial(start_embedded_postgres, settings.data_dir.resolve()), EmbeddedPostgres.stop)
    stack.callback(server.stop)
    url = server.url
    logger.bind(database=mask_url(url), data=str(settings.data_dir / "postgres")).info(
        "using embedded PostgreSQL (pgserver)"
    )
    return url


async def open_pool(settings: Settings, stack: AsyncExitStack) -> asyncpg.Pool:
    """Open an asyncpg pool; connection problems become a ConfigError naming DATABASE_URL."""
    url = await database_url(settings, stack)
    try:
        pool = await asyncpg.create_pool(
            url, min_size=1, max_size=settings.db_pool_size, command_timeout=30, timeout=10
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as err:
        why = redact_credentials(f"{type(err).__name__}: {err}")
        raise ConfigError([problems.url_unreachable("DATABASE_URL", mask_url(url), why)]) from None
    stack.push_async_callback(pool.close)
    return pool
