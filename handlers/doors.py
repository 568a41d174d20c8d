"""Endy's Slack doors and their counting: the one place api_requests_total{kind, endpoint, status} is labelled.

A listener returns the status of what it did (None: nothing to count, e.g. an event that is not for Endy);
`counted` and `once_per_delivery` (handlers/common.py) count it; questions are counted by handlers/reply.py.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from services.metrics import Metrics

if TYPE_CHECKING:  # the terminal imports this module (through handlers/outcomes.py): no Slack services at run time
    from handlers.context import SlackServices


class Door(NamedTuple):
    """Where a request came in: Slack's kind of payload and the endpoint (event type, command, action)."""

    kind: str
    endpoint: str


class Status(StrEnum):
    """How a request ended, as counted."""

    OK = "ok"
    INVALID = "invalid"
    DENIED = "denied"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


MENTION = Door("event", "app_mention")
DM = Door("event", "message.im")
THREAD = Door("event", "message.thread")
REACTION_ADDED = Door("event", "reaction_added")
REACTION_REMOVED = Door("event", "reaction_removed")
ENDY = Door("command", "/endy")
ADMIN = Door("command", "/endy-admin")
FEEDBACK = Door("action", "feedback")
FEEDBACK_REASONS = Door("view", "feedback")
ESCALATE = Door("action", "escalate")
SHARE = Door("action", "share")
RELATED = Door("action", "related")
LEARNING = Door("action", "learning")  # a knowledge gap's buttons, removing a learned entry (handlers/learning.py)
NOTIFY = Door("action", "notify")  # "답이 생기면 알려 주세요"
LEARN_SECTION = Door("view", "learn_section")  # the teaching modals (handlers/learning_modals.py)
LEARN_FAQ = Door("view", "learn_faq")
LEARN_SYNONYM = Door("view", "learn_synonym")


def count(metrics: Metrics, door: Door, status: Status, seconds: float | None = None) -> None:
    """Count one request at a door (and, when given, how long its answer took)."""
    metrics.api_requests.labels(door.kind, door.endpoint, status.value).inc()
    if seconds is not None:
        metrics.api_response.labels(door.kind, door.endpoint).observe(seconds)


Listener = Callable[..., Awaitable[Status | None]]


def counted(door: Door, listener: Listener) -> Callable[..., Awaitable[None]]:
    """A Bolt listener whose returned status is counted at `door` (the listener must ask for `services`)."""

    @functools.wraps(listener)  # Bolt reads the wrapped listener's parameters (inspect.unwrap)
    async def run(**kwargs: Any) -> None:
        status = await listener(**kwargs)
        if status is not None:
            services: SlackServices = kwargs["services"]
            count(services.metrics, door, status)

    return run
