"""`endy serve` refusing to run, as an admin sees it: one round of configuration problems, and a token Slack refuses
as one line with exit code 2 — with nothing left running (the embedded PostgreSQL and Redis stopped; tests/leaks.py
reads /proc)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from config import problems as texts
from config.settings import MIN_SECRET_KEY_CHARS, ConfigError, Settings
from endy_bot.runtime import check_serve_settings
from handlers.texts import CONFIG_ERROR
from tests.conftest import HOST_ENV
from tests.endy import TokenizerPool
from tests.fakes.slack import FakeSlack
from tests.helpers import free_port
from tests.leaks import kill_leftovers, leftovers

pytestmark = pytest.mark.timeout(180)
RUN_BOUND = 150.0  # initdb, migrations, Kiwi and the knowledge base, then the refusal and the stop


@pytest.fixture
def root() -> Iterator[Path]:
    """The run's folder, outside pytest's tmp tree (as root, pgserver opens up the parent folders)."""
    path = Path(tempfile.mkdtemp(prefix="endy-serve-"))
    try:
        yield path
    finally:
        kill_leftovers(path)
        shutil.rmtree(path, ignore_errors=True)


def env_for(root: Path, **values: str) -> dict[str, str]:
    """The machine's environment without any Endy variable (so: embedded servers), plus the run's own."""
    env = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
    env |= {"DATA_DIR": str(root / "data"), "LOG_DIR": str(root / "logs"), "HOST": "127.0.0.1"}
    return env | {"PORT": str(free_port())} | values


async def serve(root: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """`python -m endy_bot serve` to its end: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "endy_bot", "serve", cwd=root, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_BOUND)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(), err.decode()


BOT, APP = "xoxb-1-2-abc", "xapp-1-A0001-1-abc"


@pytest.mark.parametrize(
    ("tokens", "revoked", "variable", "error"),
    [
        ({"SLACK_BOT_TOKEN": APP, "SLACK_APP_TOKEN": BOT}, None, "SLACK_BOT_TOKEN", "not_allowed_token_type"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP}, APP, "SLACK_APP_TOKEN", "token_revoked"),
    ],
    ids=["tokens-swapped", "app-token-revoked"],
)
async def test_a_refused_token_is_one_line_exit_2_and_nothing_left_running(
    root: Path, tokenizers: TokenizerPool, tokens: dict[str, str], revoked: str | None, variable: str, error: str
) -> None:
    tokenizers.seed_child(root / "data")  # the handbook's caches (tests/endy.py): its analysis is not the point
    async with FakeSlack() as slack:
        if revoked:
            slack.revoke_token(revoked)
        code, out, err = await serve(root, env_for(root, SLACK_MODE="socket", SLACK_API_URL=slack.api_url, **tokens))
    assert code == 2, err
    about = [line for line in err.splitlines() if variable in line]
    assert len(about) == 1, err
    assert about[0].startswith("❌"), err
    assert error in about[0], err
    assert "Traceback" not in err
    assert out == ""
    log = (root / "logs" / "endy.log").read_text(encoding="utf-8")
    assert "using embedded PostgreSQL" in log
    assert "embedded" in log  # they were started …
    assert leftovers(root / "data") == []  # … and stopped
    assert slack.connects == 0


async def test_production_lists_every_problem_in_one_round(root: Path) -> None:
    env = env_for(
        root, ENVIRONMENT="production", SECRET_KEY="short", ALLOWED_ORIGINS="*", RELOAD="true",
        DATABASE_URL="mysql://endy:secret@db/endy",
    )  # fmt: skip
    code, _, err = await serve(root, env)
    assert code == 2
    heading, *lines = err.strip().splitlines()
    assert heading == CONFIG_ERROR  # one Korean heading, then one line per problem with its own fix
    assert lines == [
        f"  - {p}"
        for p in (
            texts.secret_key_short(5, MIN_SECRET_KEY_CHARS),
            texts.token_missing("SLACK_BOT_TOKEN"),
            texts.token_missing("SLACK_APP_TOKEN"),
            texts.url_unset_in_production("REDIS_URL"),
            texts.ORIGINS_WILDCARD,
            texts.RELOAD_IN_PRODUCTION,
            texts.url_wrong_form("DATABASE_URL", "mysql://endy:***@db/endy"),
        )
    ], err
    assert "secret@" not in err
    assert "Traceback" not in err
    assert not (root / "data").exists()
    assert leftovers(root / "data") == []  # refused before anything started


def test_serve_names_every_missing_or_malformed_setting_at_once(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(slack_mode="http", redis_url="localhost:6379", database_url="postgresql://db/endy")
    with pytest.raises(ConfigError) as info:
        check_serve_settings(settings)
    assert info.value.problems == [
        texts.token_missing("SLACK_BOT_TOKEN", suggest_chat=True),
        texts.token_missing("SLACK_SIGNING_SECRET", mode="http"),
        texts.url_wrong_form("REDIS_URL", "localhost:6379"),
    ]
