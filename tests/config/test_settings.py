"""Settings: the deployment guide's defaults, production refusals, .env.example kept in sync."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import PLACEHOLDER_SECRET_KEY, ConfigError, Settings, SlackMode, load_settings, mask_url

ROOT = Path(__file__).resolve().parents[2]
GOOD_PRODUCTION = {
    "environment": "production",
    "secret_key": "x" * 64,
    "slack_bot_token": "xoxb-1-2-abc",
    "slack_app_token": "xapp-1-A1-abc",
    "database_url": "postgresql://endy:pw@db:5432/endy",
    "redis_url": "redis://redis:6379/0",
}


def test_defaults_follow_the_deployment_guide(make_settings: Callable[..., Settings]) -> None:
    s = make_settings()
    assert (s.host, s.port, s.rate_limit_per_minute, s.rate_limit_per_hour) == ("0.0.0.0", 8000, 10, 100)
    assert s.max_question_chars == 500
    assert s.slack_http_port == 3000
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.slack_mode is SlackMode.SOCKET
    assert not s.llm_enabled
    assert s.production_problems() == []


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "20")
    monkeypatch.setenv("ADMIN_USER_IDS", "U01, U02 ,")
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example.com,https://b.example.com")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    s = Settings(_env_file=None)
    assert s.rate_limit_per_minute == 20
    assert s.admin_user_ids == ["U01", "U02"]
    assert s.allowed_origins == ["https://a.example.com", "https://b.example.com"]
    assert s.llm_enabled
    assert "sk-test" not in repr(s)


def test_good_production_configuration_starts(make_settings: Callable[..., Settings]) -> None:
    make_settings(**GOOD_PRODUCTION).check_startup()


def test_production_lists_every_problem_at_once(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(
        environment="production",
        secret_key="short",
        slack_bot_token="xoxp-user-token",
        allowed_origins=["*"],
        reload=True,
    )
    with pytest.raises(ConfigError) as info:
        s.check_startup()
    problems = "\n".join(info.value.problems)
    for expected in (
        "SECRET_KEY is 5 characters",
        "SLACK_BOT_TOKEN must start with 'xoxb-'",
        "SLACK_APP_TOKEN is missing",
        "DATABASE_URL is unset",
        "REDIS_URL is unset",
        "ALLOWED_ORIGINS",
        "RELOAD",
    ):
        assert expected in problems
    assert len(info.value.problems) == 7
    assert str(info.value).count("\n  - ") == 7


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"secret_key": PLACEHOLDER_SECRET_KEY}, "placeholder"),
        ({"secret_key": "y" * 31}, "at least 32"),
        ({"slack_app_token": "xoxb-wrong"}, "SLACK_APP_TOKEN must start with 'xapp-'"),
        ({"slack_bot_token": None}, "SLACK_BOT_TOKEN is missing"),
        ({"database_url": None}, "DATABASE_URL is unset"),
        ({"redis_url": ""}, "REDIS_URL is unset"),
        ({"slack_mode": "http", "slack_app_token": None}, "SLACK_SIGNING_SECRET is missing"),
    ],
    ids=["placeholder", "short-key", "app-token-prefix", "no-bot-token", "no-db", "empty-redis", "http-secret"],
)
def test_each_production_refusal(
    make_settings: Callable[..., Settings], override: dict[str, object], message: str
) -> None:
    s = make_settings(**{**GOOD_PRODUCTION, **override})
    problems = s.production_problems()
    assert len(problems) == 1
    assert message in problems[0]


def test_http_mode_with_signing_secret_needs_no_app_token(make_settings: Callable[..., Settings]) -> None:
    make_settings(
        **{**GOOD_PRODUCTION, "slack_mode": "http", "slack_app_token": None, "slack_signing_secret": "abc123"}
    ).check_startup()


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_env_example_loads_as_a_valid_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.knowledge_dir is None
    assert s.openai_base_url is None
    assert s.database_url is None
    assert s.secret_key.get_secret_value() == PLACEHOLDER_SECRET_KEY


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://endy:s3cret@db:5432/endy", "postgresql://endy:***@db:5432/endy"),
        ("redis://:pw@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        (None, "(unset)"),
        (
            "postgresql://endy@db/endy?password=s3cret&sslmode=require",
            "postgresql://endy@db/endy?password=***&sslmode=require",
        ),
        ("postgresql://db/endy?user=endy&PASSWORD=s3cret", "postgresql://db/endy?user=endy&PASSWORD=***"),
        ("postgresql://endy:p@ss@db/endy", "postgresql://endy:***@db/endy"),  # an unescaped @ in the password
        ("host=db user=endy password=s3cret dbname=endy", "host=db user=endy password=*** dbname=endy"),  # libpq form
        ("rediss://default:pw@cache:6380/0?ssl_cert_reqs=none", "rediss://default:***@cache:6380/0?ssl_cert_reqs=none"),
        (
            "https://llm.example/v1?api-key=sk-1&api-version=2024-06-01",
            "https://llm.example/v1?api-key=***&api-version=2024-06-01",
        ),
        ("https://llm.example/v1#access_token=sk-1", "https://llm.example/v1#access_token=***"),
        # near-misses: parameters that are not credentials are shown as they are
        (
            "postgresql://endy@db/endy?sslmode=require&application_name=endy",
            "postgresql://endy@db/endy?sslmode=require&application_name=endy",
        ),
        ("postgresql://db/endy?keepalives=1&passfile_hint=no", "postgresql://db/endy?keepalives=1&passfile_hint=no"),
        ("http://[::1", "(unparseable URL)"),
    ],
)
def test_mask_url_hides_passwords(url: str | None, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://sk-bare-token@llm.example/v1", "https://***@llm.example/v1"),
        ("https://proxy:hunter2@llm.example/v1", "https://***@llm.example/v1"),
        ("https://llm.example/v1", "https://llm.example/v1"),
    ],
)
def test_mask_url_can_hide_the_whole_userinfo(url: str, shown: str) -> None:
    assert mask_url(url, keep_user=False) == shown  # OPENAI_BASE_URL: a bare user part may be an API key


def test_invalid_values_and_production_refusals_come_in_one_round(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name, value in {"ENVIRONMENT": "production", "PORT": "abc", "SECRET_KEY": "short", "RELOAD": "true"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    first, *refusals = info.value.problems
    assert first.startswith("PORT: ")
    assert "integer" in first
    assert "abc" not in first  # values are not echoed
    for expected in ("SECRET_KEY is 5", "SLACK_BOT_TOKEN is missing", "DATABASE_URL is unset", "RELOAD"):
        assert any(expected in p for p in refusals), expected
