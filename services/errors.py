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


class Severity(StrEnum):
    """How bad a knowledge-folder finding is: a problem (something was dropped or is wrong) or a warning."""

    PROBLEM = "problem"
    WARNING = "warning"


class KnowledgeError(EndyError):
    """A knowledge-base finding with its file and line; the message is Korean (shown by `endy kb stats`)."""

    def __init__(self, path: str, line: int | None, message: str, severity: Severity = Severity.PROBLEM) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.message = message
        self.severity = severity

    @classmethod
    def warning(cls, path: str, line: int | None, message: str) -> KnowledgeError:
        """A finding that does not lose content (an unknown reference, an empty file, a fallback encoding)."""
        return cls(path, line, message, Severity.WARNING)

    @property
    def is_warning(self) -> bool:
        """Whether this is only a warning (`endy kb stats` fails on it only with --strict)."""
        return self.severity is Severity.WARNING


class LlmUnavailable(EndyError):
    """The LLM failed, timed out or is disabled; callers fall back to the extractive answer."""
