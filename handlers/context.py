"""What the Slack listeners receive: the services they call, typed (injected into the Bolt context by endy_bot/app.py).

The handlers know nothing of the composition root: endy_bot/deps.py builds these services and hands them over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from services.admin import AdminService
from services.answering import AnswerService
from services.channels import ChannelDirectory
from services.conversation import ConversationService
from services.dedupe import EventDeduper
from services.feedback import FeedbackService
from services.kb_reload import KnowledgeReloader
from services.knowledge import KnowledgeBase
from services.learning import LearningService
from services.metrics import Metrics
from services.signing import Keyring


class Spawner(Protocol):
    """Runs work after Slack's ack, tracked so shutdown waits for it (endy_bot/tasks.py's TaskTracker)."""

    def spawn(self, coro: Coroutine[Any, Any, object], *, context: dict[str, Any] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class SlackServices:
    """The services behind Endy's Slack door, built once per process."""

    answers: AnswerService  # the one pipeline every door calls
    feedback: FeedbackService  # votes (which also teach), reasons, escalations, shares
    learning: LearningService  # knowledge gaps and what admins (and votes) teach (issue 16)
    conversation: ConversationService  # thread history, greetings, which message carries which answer
    admin: AdminService  # roles and reports
    reload_knowledge: Callable[[], Awaitable[KnowledgeBase]]  # re-read KNOWLEDGE_DIR on this replica
    reloader: KnowledgeReloader  # and ask the other replicas to do the same
    keys: Keyring  # SECRET_KEY's signers for button values
    channels: ChannelDirectory  # kb.yaml's team channels, resolved
    deliveries: EventDeduper  # Events API deliveries already handled (Slack redelivers what it thinks lost)
    replays: EventDeduper  # signed slash commands and interactions seen in Slack's 5-minute window
    metrics: Metrics
    streams: bool  # answers stream into threads as they are written (an LLM is configured)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served (it changes on `/endy-admin kb reload`)."""
        return self.answers.kb
