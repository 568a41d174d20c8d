"""Settings: the deployment guide's defaults, production refusals, .env.example kept in sync."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from config import problems as texts
from config.settings import (
    MIN_SECRET_KEY_CHARS,
    PLACEHOLDER_SECRET_KEY,
    ConfigError,
    Settings,
    SlackMode,
    load_settings,
    mask_url,
)

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
    assert info.value.problems == [
        texts.secret_key_short(5, MIN_SECRET_KEY_CHARS),
        texts.token_prefix("SLACK_BOT_TOKEN", "xoxb-", "xoxp-user-token"),
        texts.token_missing("SLACK_APP_TOKEN"),
        texts.url_unset_in_production("DATABASE_URL"),
        texts.url_unset_in_production("REDIS_URL"),
        texts.ORIGINS_WILDCARD,
        texts.RELOAD_IN_PRODUCTION,
    ]
    assert str(info.value).splitlines() == [f"  - {p}" for p in info.value.problems]


def test_a_problem_is_one_korean_line_naming_the_variable_and_the_fix(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(environment="production", secret_key="s3cr3t-value", slack_bot_token="xapp-1-A1-zz9")
    short, swapped, *_ = s.production_problems()
    assert short.startswith("SECRET_KEY가 12자예요.")
    assert "`openssl rand -hex 32`" in short  # the fix, as a command
    assert "s3cr3t-value" not in short  # never the secret itself
    assert swapped.startswith("SLACK_BOT_TOKEN 값이 `xoxb-`로 시작하지 않아요")
    assert "`xapp-`로 시작하는 앱 토큰" in swapped  # the kind given is named by its (public) prefix …
    assert "A1-zz9" not in swapped  # … never the rest of the token
    for line in s.production_problems():
        assert "\n" not in line
        assert re.search(r"[가-힣]", line), line
        assert "주세요" in line and line.endswith("."), line  # what to do, in one sentence-ended line


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"secret_key": PLACEHOLDER_SECRET_KEY}, texts.secret_key_placeholder(MIN_SECRET_KEY_CHARS)),
        ({"secret_key": "y" * 31}, texts.secret_key_short(31, MIN_SECRET_KEY_CHARS)),
        ({"slack_app_token": "xoxb-wrong"}, texts.token_prefix("SLACK_APP_TOKEN", "xapp-", "xoxb-")),
        ({"slack_bot_token": None}, texts.token_missing("SLACK_BOT_TOKEN")),
        ({"database_url": None}, texts.url_unset_in_production("DATABASE_URL")),
        ({"redis_url": ""}, texts.url_unset_in_production("REDIS_URL")),
        (
            {"slack_mode": "http", "slack_app_token": None},
            texts.token_missing("SLACK_SIGNING_SECRET", mode="http"),
        ),
    ],
    ids=["placeholder", "short-key", "app-token-prefix", "no-bot-token", "no-db", "empty-redis", "http-secret"],
)
def test_each_production_refusal(
    make_settings: Callable[..., Settings], override: dict[str, object], message: str
) -> None:
    s = make_settings(**{**GOOD_PRODUCTION, **override})
    assert s.production_problems() == [message]


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
    assert first == texts.INVALID_INTEGER.format(name="PORT", default=8000)
    assert "abc" not in first  # values are not echoed
    for expected in (
        texts.secret_key_short(5, MIN_SECRET_KEY_CHARS),
        texts.token_missing("SLACK_BOT_TOKEN"),
        texts.url_unset_in_production("DATABASE_URL"),
        texts.RELOAD_IN_PRODUCTION,
    ):
        assert expected in refusals


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("RATE_LIMIT_PER_MINUTE", "many", texts.INVALID_INTEGER.format(name="RATE_LIMIT_PER_MINUTE", default=10)),
        ("RELOAD", "maybe", texts.INVALID_BOOL.format(name="RELOAD")),
        ("SLACK_MODE", "websocket", texts.INVALID_CHOICE.format(name="SLACK_MODE", choices="`socket` 또는 `http`")),
        ("PORT", "70000", texts.INVALID_MAX.format(name="PORT", bound=65535, default=8000)),
        ("RATE_LIMIT_PER_HOUR", "0", texts.INVALID_MIN.format(name="RATE_LIMIT_PER_HOUR", bound=1, default=100)),
        ("LLM_TIMEOUT_SECONDS", "soon", texts.INVALID_NUMBER.format(name="LLM_TIMEOUT_SECONDS", default=20.0)),
        ("LLM_TIMEOUT_SECONDS", "0", texts.INVALID_ABOVE.format(name="LLM_TIMEOUT_SECONDS", bound=0, default=20.0)),
    ],
)
def test_an_invalid_value_is_one_korean_line_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.problems == [expected]
    assert f"`{value}`" not in expected  # the value given is not echoed (it may be a secret)
