"""What storage takes and returns: the Exchange to record, report rows, and the text limits."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

TRUNCATED = "…[truncated]"
MAX_QUESTION_CHARS = 4_000
MAX_ANSWER_CHARS = 20_000
MAX_COMMENT_CHARS = 3_000
MAX_REASONS = 10
MAX_REASON_CHARS = 100
MAX_FIELD_CHARS = 500  # ids, model, category, department, source titles and links
MAX_SOURCES = 20
INT32_MAX = 2**31 - 1

ROLES = ("admin", "user")
SURFACES = ("dm", "mention", "slash", "cli")
KINDS = ("answer", "not_found")
VIAS = ("reaction", "button")
RATINGS = (-1, 1)

# PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One answered question, already PII-masked, ready to be recorded."""

    request_id: uuid.UUID
    surface: str
    team_id: str
    channel_id: str | None
    thread_ts: str | None
    user_id: str
    question: str
    answer: str
    kind: str
    sources: list[dict[str, str | None]]
    confidence: float
    used_llm: bool
    llm_failed: bool
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    category: str | None
    department: str | None
    kb_version: str
    created_at: datetime | None = None  # None: the database's now()


@dataclass(frozen=True, slots=True)
class Summary:
    """Headline figures for a period; helpful_pct is None when nobody voted."""

    questions: int
    unique_askers: int
    answered: int
    not_found: int
    up: int
    down: int
    helpful_pct: float | None


@dataclass(frozen=True, slots=True)
class DailyStat:
    """One day of a period (days without questions are present with zeros)."""

    day: date
    questions: int
    unique_users: int
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class LowConfidence:
    """A question Endy could not answer, or answered with low confidence."""

    message_id: int
    created_at: datetime
    question: str
    kind: str
    confidence: float
    top_source: str | None
    department: str | None


@dataclass(frozen=True, slots=True)
class NegativeFeedback:
    """A 👎 vote with its reasons and the exchange it is about."""

    message_id: int
    asked_at: datetime
    voted_at: datetime
    reasons: list[str]
    comment: str | None
    question: str
    answer_snippet: str


def storable(text: str) -> str:
    """The text without what PostgreSQL refuses (NUL) or UTF-8 cannot encode (lone surrogates)."""
    return _UNSTORABLE.sub("\ufffd", text)


def clip(text: str, limit: int) -> str:
    """Storable text of at most `limit` characters, ending in TRUNCATED when it was cut."""
    text = storable(text)
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


def clip_optional(text: str | None, limit: int = MAX_FIELD_CHARS) -> str | None:
    """clip() that passes None through."""
    return None if text is None else clip(text, limit)


def clip_reasons(reasons: Sequence[str]) -> list[str]:
    """At most MAX_REASONS reasons of MAX_REASON_CHARS each; a cut list ends in a TRUNCATED item."""
    cleaned = [clip(reason, MAX_REASON_CHARS) for reason in reasons]
    if len(cleaned) <= MAX_REASONS:
        return cleaned
    return [*cleaned[: MAX_REASONS - 1], TRUNCATED]


def sources_json(sources: Sequence[Mapping[str, str | None]]) -> str:
    """The sources as a JSON array, each value clipped; a cut list ends in a {"title": TRUNCATED} item."""
    items: list[dict[str, str | None]] = [
        {clip(key, MAX_FIELD_CHARS): clip_optional(value) for key, value in source.items()}
        for source in sources[:MAX_SOURCES]
    ]
    if len(sources) > MAX_SOURCES:
        items[-1] = {"title": TRUNCATED}
    return json.dumps(items, ensure_ascii=False)


def count(value: int) -> int:
    """A non-negative integer that fits PostgreSQL's integer column."""
    return min(max(int(value), 0), INT32_MAX)


def check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    """Raise ValueError when value is not one of allowed (before the database's CHECK would)."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
