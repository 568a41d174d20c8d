"""Endy's one Settings object: every variable Endy reads, from the environment and `.env`."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config import problems as texts

# The value .env.example ships with; production refuses it even though it is long enough.
PLACEHOLDER_SECRET_KEY = "change-me-to-a-long-random-string-of-64-characters-or-more"
MIN_SECRET_KEY_CHARS = 32


class SlackMode(StrEnum):
    """How Endy connects to Slack."""

    SOCKET = "socket"
    HTTP = "http"


class ConfigError(Exception):
    """Start-up configuration is unusable; the message lists every problem at once, one line each (Korean, from
    config/problems.py: the variable, what is wrong, the fix). The caller prints its own heading above them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"  - {p}" for p in problems))


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Credentials in text (log lines, URLs): `name=value` pairs whose name ends in a secret word (a DSN's ?password=,
# an OPENAI_BASE_URL's ?api-key=, libpq's `password=` key/value form, quoted or not), `scheme://user:password@`,
# and any userinfo of an http(s)/ws(s) URL (`https://<token>@host`: the HTTP client logs each request's URL, and
# an OPENAI_BASE_URL may carry a bare key there). Every repetition is bounded, so the cost is linear in the text.
_PARAM = re.compile(r"(?<![\w.-])([\w.-]{1,64})=('[^'\n]{0,2048}'|\"[^\"\n]{0,2048}\"|[^&;#\s'\"]{1,2048})")
_SECRET_NAME = re.compile(
    r".*(?:pass|passwd|password|pwd|secret|token|key|sig|signature|auth|authorization|credentials?)", re.I
)
_USERINFO = re.compile(r"(?<![\w+.-])([a-zA-Z][\w+.-]{0,30}://)([^\s/@:]{0,256}):([^\s/]{1,256})@")
_HTTP_USERINFO = re.compile(r"(?<![\w+.-])((?:https?|wss?)://)[^\s/@]{1,512}@", re.IGNORECASE)


def _secret_param(match: re.Match[str]) -> str:
    return f"{match[1]}=***" if _SECRET_NAME.fullmatch(match[1]) else match[0]


def redact_credentials(text: str) -> str:
    """Replace URL userinfo passwords (an http(s) URL's whole userinfo) and the values of password/key/token/secret
    parameters by `***`."""
    if "=" in text:
        text = _PARAM.sub(_secret_param, text)
    if "@" in text:
        text = _HTTP_USERINFO.sub(r"\1***@", _USERINFO.sub(r"\1\2:***@", text))
    return text


def mask_url(url: str | None, *, keep_user: bool = True) -> str:
    """The URL with its password (and with keep_user=False any userinfo: a bare token) and secret query
    parameters replaced by `***` (for logs and error messages)."""
    if not url:
        return "(unset)"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if "@" in parts.netloc:
        userinfo, host = parts.netloc.rsplit("@", 1)
        shown = "***"
        if keep_user:
            shown = f"{parts.username or ''}:***" if ":" in userinfo else userinfo
        url = urlunsplit(parts._replace(netloc=f"{shown}@{host}"))
    return redact_credentials(url)


class Settings(BaseSettings):
    """Every configuration variable of Endy (names from the deployment guide and DESIGN.md)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # From the deployment guide.
    openai_api_key: SecretStr | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65535)
    environment: str = "development"
    log_level: str = "info"
    # Signs what Endy trusts later (services/signing.py): cached answers, reload requests, button values.
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET_KEY)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=10, ge=1)
    rate_limit_per_hour: int = Field(default=100, ge=1)
    enable_metrics: bool = True
    enable_health_check: bool = True
    reload: bool = False
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_backup_count: int = Field(default=5, ge=0)

    # Slack.
    slack_mode: SlackMode = SlackMode.SOCKET
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_http_port: int = Field(default=3000, ge=1, le=65535)
    slack_api_url: str = "https://slack.com/api/"

    # Storage.
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    db_pool_size: int = Field(default=10, ge=1, le=100)
    migrate_on_start: bool = True
    redis_key_prefix: str = "endy:"
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    cache_ttl_seconds: int = Field(default=3600, ge=0)

    # LLM.
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_embedding_model: str = "text-embedding-3-small"
    llm_timeout_seconds: float = Field(default=20.0, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    llm_circuit_failures: int = Field(default=5, ge=1)
    llm_circuit_open_seconds: float = Field(default=30.0, gt=0)

    # Knowledge and answering.
    knowledge_dir: Path | None = None
    max_question_chars: int = Field(default=500, ge=10)
    answer_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    # Between this and ANSWER_MIN_CONFIDENCE Endy answers with a hedge (or lets the LLM decide).
    answer_hedge_confidence: float = Field(default=0.4, ge=0.0, le=1.0)
    # Knowledge learned in Slack (issue 16): 👍 from this many distinct people teach a question to its section;
    # a section keeps at most this many learned phrasings (the newest).
    learn_min_upvotes: int = Field(default=2, ge=1, le=100)
    learned_phrasings_per_section: int = Field(default=20, ge=1, le=200)

    # Operations.
    admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    health_min_free_mb: int = Field(default=1024, ge=0)
    shutdown_grace_seconds: float = Field(default=20.0, gt=0, le=300)
    log_dir: Path = Path("logs")
    data_dir: Path = Path(".endy")

    _split = field_validator("allowed_origins", "admin_user_ids", mode="before")(_split_csv)

    @field_validator("environment", "log_level")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def is_production(self) -> bool:
        """True when ENVIRONMENT=production."""
        return self.environment == "production"

    @property
    def llm_enabled(self) -> bool:
        """True when an OpenAI(-compatible) key is configured."""
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value().strip())

    def production_problems(self) -> list[str]:
        """Everything that makes this configuration unfit for production (empty when fit)."""
        if not self.is_production:
            return []
        problems = _secret_key_problems(self.secret_key.get_secret_value())
        problems += _slack_problems(self)
        for name, value in (("DATABASE_URL", self.database_url), ("REDIS_URL", self.redis_url)):
            if value is None or not value.get_secret_value().strip():
                problems.append(texts.url_unset_in_production(name))
        if "*" in self.allowed_origins:
            problems.append(texts.ORIGINS_WILDCARD)
        if self.reload:
            problems.append(texts.RELOAD_IN_PRODUCTION)
        return problems

    def check_startup(self) -> None:
        """Raise ConfigError listing every problem when this configuration cannot start."""
        problems = self.production_problems()
        if problems:
            raise ConfigError(problems)


def load_settings() -> Settings:
    """Settings from the environment and `.env`; invalid values and, in production, every refusal of the rest in
    one ConfigError (one round of fixes, not one per restart)."""
    try:
        return Settings()
    except ValidationError as err:
        errors = err.errors()
    problems = [_invalid(e) for e in errors]
    invalid = {str(e["loc"][0]) for e in errors if e["loc"] and str(e["loc"][0]) in Settings.model_fields}
    defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True) for name in invalid}
    try:
        rest = Settings(**defaults)  # the valid variables as given, the invalid ones at their defaults
    except ValidationError:
        rest = None
    raise ConfigError(problems + (rest.production_problems() if rest is not None else [])) from None


def _invalid(error: Any) -> str:
    """One invalid variable as a Korean line (the value is never echoed)."""
    loc = error.get("loc") or ()
    field = Settings.model_fields.get(str(loc[0])) if loc else None
    name = str(loc[0]).upper() if loc else "SETTINGS"
    default = field.get_default(call_default_factory=True) if field is not None else None
    secret = field is not None and "SecretStr" in str(field.annotation)
    return texts.invalid_value(name, str(error.get("type", "")), error.get("ctx") or {}, default, secret=secret)


def _secret_key_problems(key: str) -> list[str]:
    if key == PLACEHOLDER_SECRET_KEY:
        return [texts.secret_key_placeholder(MIN_SECRET_KEY_CHARS)]
    if len(key) < MIN_SECRET_KEY_CHARS:
        return [texts.secret_key_short(len(key), MIN_SECRET_KEY_CHARS)]
    return []


def _token_problem(name: str, value: SecretStr | None, prefix: str) -> list[str]:
    if value is None or not value.get_secret_value():
        return [texts.token_missing(name)]
    if not value.get_secret_value().startswith(prefix):
        return [texts.token_prefix(name, prefix, value.get_secret_value())]
    return []


def _slack_problems(settings: Settings) -> list[str]:
    problems = _token_problem("SLACK_BOT_TOKEN", settings.slack_bot_token, "xoxb-")
    if settings.slack_mode is SlackMode.SOCKET:
        problems += _token_problem("SLACK_APP_TOKEN", settings.slack_app_token, "xapp-")
    elif not settings.slack_signing_secret or not settings.slack_signing_secret.get_secret_value():
        problems.append(texts.token_missing("SLACK_SIGNING_SECRET", mode=SlackMode.HTTP.value))
    return problems
