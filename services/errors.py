"""Endy's error hierarchy: what a door catches and turns into a kind Korean reply."""

from __future__ import annotations

from enum import StrEnum


class EndyError(Exception):
    """Base of every error Endy expects and handles on purpose."""


class InvalidReason(StrEnum):
    """Why a question was not accepted."""

    EMPTY = "empty"
    TOO_LONG = "too_long"


class InvalidQuestion(EndyError):
    """The question cannot be answered as given (empty, or over MAX_QUESTION_CHARS)."""

    def __init__(self, reason: InvalidReason, limit: int = 0, length: int = 0) -> None:
        super().__init__(f"invalid question: {reason}")
        self.reason = reason
        self.limit = limit
        self.length = length


class RateLimited(EndyError):
    """The asker used up their question budget; retry_after is in seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class PermissionDenied(EndyError):
    """The caller lacks the role an operation needs (error code insufficient_permissions)."""

    code = "insufficient_permissions"


class AnswerUnavailable(EndyError):
    """No answer could be produced at all (not even the extractive fallback)."""


class KnowledgeError(EndyError):
    """A knowledge-base file is malformed; names the file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.message = message


class LlmUnavailable(EndyError):
    """The LLM failed, timed out or is disabled; callers fall back to the extractive answer."""
