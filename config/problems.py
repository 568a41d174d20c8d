"""Every settings problem as the admin reads it: one Korean 해요체 line naming the variable, what is wrong and the
fix. The single source of these texts (config/settings.py, endy serve, endy doctor and their tests use it).

Variable names, values that are not secrets and commands stay as they are; a secret value is never part of a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GENERATE_KEY = "`openssl rand -hex 32`"

_NEW_KEY = "{min}자 이상의 임의 문자열로 바꿔 주세요 (예: " + GENERATE_KEY + ")."
SECRET_KEY_PLACEHOLDER = "SECRET_KEY가 .env.example의 예시 값 그대로예요. " + _NEW_KEY
SECRET_KEY_SHORT = "SECRET_KEY가 {length}자예요. " + _NEW_KEY

# Where each Slack credential lives in the app's settings (api.slack.com/apps → the app).
TOKEN_HOME = {
    "SLACK_BOT_TOKEN": "OAuth & Permissions의 Bot User OAuth Token(xoxb-…)",
    "SLACK_APP_TOKEN": "Basic Information › App-Level Tokens에서 connections:write 범위로 만든 토큰(xapp-…)",
    "SLACK_SIGNING_SECRET": "Basic Information › App Credentials의 Signing Secret",
}
# Prefixes of Slack's token kinds: naming the kind that was given is safe (a prefix is not the secret).
TOKEN_KINDS = {"xoxb-": "봇 토큰", "xapp-": "앱 토큰", "xoxp-": "사용자 토큰", "xoxe-": "교체용(refresh) 토큰"}

TOKEN_MISSING = "{name} 값이 없어요. Slack 앱 설정 › {home}을 넣어 주세요."
TOKEN_MISSING_NO_SLACK = "{name} 값이 없어요. Slack 앱 설정 › {home}을 넣어 주세요 (Slack 없이 써 보려면 `endy chat`)."
TOKEN_MISSING_FOR_MODE = "{name} 값이 없어요. SLACK_MODE={mode}에는 꼭 필요하니 Slack 앱 설정 › {home}을 넣어 주세요."
TOKEN_PREFIX = "{name} 값이 `{prefix}`로 시작하지 않아요{given}. Slack 앱 설정 › {home}을 넣어 주세요."
TOKEN_GIVEN_KIND = " (넣은 값은 `{prefix}`로 시작하는 {kind}이에요)"

URL_UNSET_IN_PRODUCTION = (
    "{name} 값이 없어요. 운영 환경(ENVIRONMENT=production)에서는 내장 {server} 서버를 쓰지 않으니 `{example}` 형식으로 "
    "넣어 주세요."
)
URL_UNPARSEABLE = (
    "{name} 값({shown})을 주소로 읽을 수 없어요 (포트가 숫자인지 확인해 주세요). `{example}` 형식으로 고쳐 주세요."
)
URL_UNREACHABLE = (
    "{name}의 {shown}에 연결하지 못했어요 ({error}). 서버가 켜져 있는지, 주소·사용자·비밀번호가 맞는지 확인해 주세요."
)
URL_WRONG_FORM = "{name} 값({shown})이 {server} 주소가 아니에요. `{example}` 형식으로 고쳐 주세요."
URL_EXAMPLES = {
    "DATABASE_URL": ("PostgreSQL", "postgresql://user:password@host:5432/endy"),
    "REDIS_URL": ("Redis", "redis://:password@host:6379/0"),
}

ORIGINS_WILDCARD = (
    "ALLOWED_ORIGINS에 `*`가 있어요. 운영 환경에서는 허용할 주소만 쉼표로 나눠 적어 주세요 "
    "(예: `ALLOWED_ORIGINS=https://intranet.example.com`)."
)
RELOAD_IN_PRODUCTION = "RELOAD가 `true`예요. 운영 환경에서는 `RELOAD=false`로 바꾸거나 지워 주세요."

# Invalid values (pydantic's error types). The value itself is never echoed: it may be a secret.
INVALID_INTEGER = "{name} 값이 정수가 아니에요. 숫자로 적어 주세요 (기본값: `{name}={default}`)."
INVALID_NUMBER = "{name} 값이 숫자가 아니에요. 숫자로 적어 주세요 (기본값: `{name}={default}`)."
INVALID_BOOL = "{name} 값이 참/거짓이 아니에요. `{name}=true` 또는 `{name}=false`로 적어 주세요."
INVALID_CHOICE = "{name} 값이 허용된 값이 아니에요. {choices} 중 하나로 적어 주세요."
INVALID_MIN = "{name} 값이 너무 작아요. {bound} 이상으로 적어 주세요 (기본값: `{name}={default}`)."
INVALID_ABOVE = "{name} 값이 너무 작아요. {bound}보다 큰 값으로 적어 주세요 (기본값: `{name}={default}`)."
INVALID_MAX = "{name} 값이 너무 커요. {bound} 이하로 적어 주세요 (기본값: `{name}={default}`)."
EMBEDDED_FAILED = (
    "내장 {server} 서버를 시작하지 못했어요 ({why}; 로그: `{log}`). {name}에 쓸 {server} 주소를 넣어 주세요."
)

INVALID_OTHER = "{name} 값을 읽을 수 없어요. .env.example의 설명대로 고쳐 주세요."
INVALID_OTHER_DEFAULT = "{name} 값을 읽을 수 없어요. .env.example의 설명대로 고쳐 주세요 (기본값: `{name}={default}`)."

_BOUNDS = {
    "greater_than_equal": (INVALID_MIN, "ge"),
    "greater_than": (INVALID_ABOVE, "gt"),
    "less_than_equal": (INVALID_MAX, "le"),
    "less_than": (INVALID_MAX, "lt"),
}
_PARSING = {"int_parsing": INVALID_INTEGER, "int_from_float": INVALID_INTEGER, "float_parsing": INVALID_NUMBER}


def secret_key_placeholder(minimum: int) -> str:
    return SECRET_KEY_PLACEHOLDER.format(min=minimum)


def secret_key_short(length: int, minimum: int) -> str:
    return SECRET_KEY_SHORT.format(length=length, min=minimum)


def token_missing(name: str, *, mode: str | None = None, suggest_chat: bool = False) -> str:
    """A Slack credential that is unset; `mode` when only that SLACK_MODE needs it."""
    home = TOKEN_HOME[name]
    if mode is not None:
        return TOKEN_MISSING_FOR_MODE.format(name=name, mode=mode, home=home)
    return (TOKEN_MISSING_NO_SLACK if suggest_chat else TOKEN_MISSING).format(name=name, home=home)


def token_prefix(name: str, prefix: str, value: str) -> str:
    """A Slack token that does not start with `prefix`; the kind given is named when its prefix is a known one."""
    given = next((TOKEN_GIVEN_KIND.format(prefix=p, kind=k) for p, k in TOKEN_KINDS.items() if value.startswith(p)), "")
    return TOKEN_PREFIX.format(name=name, prefix=prefix, given=given, home=TOKEN_HOME[name])


def url_unset_in_production(name: str) -> str:
    server, example = URL_EXAMPLES[name]
    return URL_UNSET_IN_PRODUCTION.format(name=name, server=server, example=example)


def url_unparseable(name: str, shown: str) -> str:
    """`shown` is the URL with its password masked (config.settings.mask_url)."""
    return URL_UNPARSEABLE.format(name=name, shown=f"`{shown}`", example=URL_EXAMPLES[name][1])


def url_unreachable(name: str, shown: str, error: str) -> str:
    """`shown` masked as above; `error` the driver's short reason (credentials already redacted)."""
    return URL_UNREACHABLE.format(name=name, shown=f"`{shown}`", error=error)


def url_wrong_form(name: str, shown: str) -> str:
    """`shown` is the URL with its password masked (config.settings.mask_url)."""
    server, example = URL_EXAMPLES[name]
    return URL_WRONG_FORM.format(name=name, shown=f"`{shown}`", server=server, example=example)


def embedded_failed(name: str, why: str, log: object) -> str:
    """The embedded server for `name` (DATABASE_URL / REDIS_URL unset) did not start."""
    return EMBEDDED_FAILED.format(server=URL_EXAMPLES[name][0], why=why, log=log, name=name)


def invalid_value(name: str, error_type: str, ctx: Mapping[str, Any], default: object, *, secret: bool) -> str:
    """One invalid variable from pydantic's error (`type`, `ctx`); `default` shown unless the variable is secret."""
    shown = "" if secret or default is None or isinstance(default, list) else str(default)
    if isinstance(default, bool):
        shown = shown.lower()
    if error_type in _PARSING:
        return _PARSING[error_type].format(name=name, default=shown)
    if error_type == "bool_parsing":
        return INVALID_BOOL.format(name=name)
    if error_type == "enum" and "expected" in ctx:
        return INVALID_CHOICE.format(
            name=name, choices=str(ctx["expected"]).replace("'", "`").replace(" or ", " 또는 ")
        )
    if error_type in _BOUNDS and shown:
        template, key = _BOUNDS[error_type]
        bound = ctx.get(key, "?")
        return template.format(name=name, bound=f"{bound:g}" if isinstance(bound, float) else bound, default=shown)
    return (INVALID_OTHER_DEFAULT if shown else INVALID_OTHER).format(name=name, default=shown)
