"""The pipeline's edge, shared by every door (Slack and the terminal): outcome → status and what the asker reads.

Outcomes: an answer, not found (both rendered by the door from the Answer), an invalid question and a rate limit
(a notice, below), an error (the door's error hook: an apology with a reference id). Pure: no Slack, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from handlers import texts
from handlers.doors import Status
from services.answer_types import Answer, AnswerKind, Asker, Turn
from services.answering import AnswerService, AnswerStream
from services.errors import InvalidQuestion, InvalidReason, RateLimited
from services.knowledge import Category


class Outcome(StrEnum):
    """How one question ended."""

    ANSWER = "answer"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


STATUS = {  # what each outcome counts as, at every door
    Outcome.ANSWER: Status.OK,
    Outcome.NOT_FOUND: Status.OK,
    Outcome.INVALID: Status.INVALID,
    Outcome.RATE_LIMITED: Status.RATE_LIMITED,
    Outcome.ERROR: Status.ERROR,
}


@dataclass(frozen=True, slots=True)
class Notice:
    """A question the pipeline turned away: the outcome, what the asker reads, and whether only they should."""

    outcome: Outcome
    text: str
    private: bool


def outcome_of(answer: Answer) -> Outcome:
    """A finished answer's outcome."""
    return Outcome.NOT_FOUND if answer.kind is AnswerKind.NOT_FOUND else Outcome.ANSWER


def notice_for(error: InvalidQuestion | RateLimited, categories: Sequence[Category]) -> Notice:
    """The notice for a question the pipeline refused (empty: the help; too long: the limit; rate limited)."""
    if isinstance(error, RateLimited):
        return Notice(Outcome.RATE_LIMITED, texts.rate_limited(error.retry_after), private=True)
    if error.reason is InvalidReason.EMPTY:
        return Notice(Outcome.INVALID, texts.help_text(categories), private=False)
    return Notice(Outcome.INVALID, texts.too_long(error.limit, error.length), private=False)


async def ask(answers: AnswerService, question: str, asker: Asker, history: Sequence[Turn]) -> AnswerStream | Notice:
    """Start answering a question: the answer's stream, or the notice for a question refused at the door."""
    try:
        return await answers.stream(question, asker, history)
    except (InvalidQuestion, RateLimited) as err:
        return notice_for(err, answers.kb.categories)
