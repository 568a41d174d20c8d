"""Feedback on answers: votes (buttons and reactions) and their retraction, 👎 reasons, escalation and sharing.

Who may act: anyone may vote on an answer they see; only the asker, or an admin, may escalate or share a question.
Writes go through the write-behind recorder (services/persist.py): a vote never waits for PostgreSQL. Button votes
and thumbs reactions also teach (services/learning.py), called by the handler after the ack.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.admin import AdminService
from services.answer_types import Answer, AnswerKind, Source
from services.dedupe import EventDeduper
from services.knowledge import Department, KnowledgeBase
from services.learning import LearningService, Taught
from services.metrics import Metrics
from services.persist import MessageRef, Recorder, RecordFeedback, RemoveFeedback
from services.privacy import mask_pii
from services.storage import Storage

# The recorder's queue may still hold an exchange answered moments ago on this replica: waited for this long.
SHARE_FLUSH_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Actor:
    """Who pressed or reacted: the workspace and the user."""

    team_id: str
    user_id: str


class Verdict(StrEnum):
    """What became of an escalation or a share."""

    GRANTED = "granted"
    NOT_OWNER = "not_owner"  # neither the asker nor an admin
    UNKNOWN_TEAM = "unknown_team"  # the department is no longer in the knowledge base
    ALREADY_SENT = "already_sent"  # the question was handed to its team before (any replica)
    EXPIRED = "expired"  # no stored answer (never recorded, or deleted)
    NOTHING_TO_SHARE = "nothing_to_share"  # a "not found" reply


@dataclass(frozen=True, slots=True)
class Escalating:
    """The verdict on an escalation and the team it goes to (None when unknown)."""

    verdict: Verdict
    department: Department | None = None


@dataclass(frozen=True, slots=True)
class Sharing:
    """The verdict on a share and the stored answer to post (only when granted)."""

    verdict: Verdict
    answer: Answer | None = None


class FeedbackService:
    """Records votes and reasons, and decides on escalations and shares."""

    def __init__(
        self,
        recorder: Recorder,
        storage: Storage,
        admin: AdminService,
        escalations: EventDeduper,
        metrics: Metrics,
        learning: LearningService | None = None,
    ) -> None:
        self._recorder = recorder
        self._storage = storage
        self._admin = admin
        self._escalations = escalations  # questions already handed to their team, across replicas
        self._metrics = metrics
        self._learning = learning  # votes teach (issue 16)

    def vote(self, actor: Actor, request_id: str, rating: int) -> None:
        """A 👍 (+1) or 👎 (-1) button on an answer (one vote per user per answer; the last one counts)."""
        ref = MessageRef(request_id=request_id)
        self._recorder.submit(RecordFeedback(ref, actor.team_id, actor.user_id, rating, "button"))
        self._metrics.feedback.labels(_rating_label(rating), "button").inc()

    def react(self, actor: Actor, channel: str | None, reply_ts: str | None, rating: int) -> None:
        """A thumbs reaction on Endy's reply message: a vote (a new reaction replaces the old vote)."""
        ref = MessageRef(channel_id=channel, reply_ts=reply_ts)
        self._recorder.submit(RecordFeedback(ref, actor.team_id, actor.user_id, rating, "reaction"))
        self._metrics.feedback.labels(_rating_label(rating), "reaction").inc()

    def retract(self, actor: Actor, channel: str | None, reply_ts: str | None, rating: int) -> None:
        """The reaction was removed: retract the vote it made."""
        ref = MessageRef(channel_id=channel, reply_ts=reply_ts)
        self._recorder.submit(RemoveFeedback(ref, actor.team_id, actor.user_id, rating))

    def explain(self, actor: Actor, request_id: str, reasons: Sequence[str], comment: str | None) -> None:
        """The 👎 modal's reasons and comment, stored with the vote (the comment masked before anything stores it)."""
        masked = mask_pii(comment) if comment else None
        ref = MessageRef(request_id=request_id)
        self._recorder.submit(RecordFeedback(ref, actor.team_id, actor.user_id, -1, "button", tuple(reasons), masked))

    async def teach(self, actor: Actor, request_id: str, rating: int, reasons: Sequence[str] = ()) -> Taught | None:
        """After a button vote (or the 👎 modal's reasons) is queued: votes teach — enough 👍 make the question a
        learned phrasing of the cited section, "다른 문서가 필요해요" demotes it. What was learned, else None (also
        when the answer is not stored yet: the vote itself is still recorded)."""
        if self._learning is None:
            return None
        return await self._learning.record_vote_for(request_id, actor.team_id, actor.user_id, rating, reasons)

    async def teach_reaction(
        self, actor: Actor, channel: str | None, reply_ts: str | None, rating: int
    ) -> Taught | None:
        """After a thumbs reaction is queued: it teaches as a button vote does (the answer found by its message)."""
        if self._learning is None or not channel or not reply_ts:
            return None
        return await self._learning.record_vote_on_reply(channel, reply_ts, actor.team_id, actor.user_id, rating)

    async def may_act_for(self, actor: Actor, owner: str) -> bool:
        """Only the asker, or an admin, may escalate or share a question."""
        return actor.user_id == owner or await self._admin.is_admin(actor.team_id, actor.user_id)

    async def escalate(self, kb: KnowledgeBase, request_id: str, department: str) -> Escalating:
        """Claim the hand-over of a question to its team, once across replicas (release it if the post fails)."""
        team = kb.department(department)
        if team is None:
            return Escalating(Verdict.UNKNOWN_TEAM)
        if not await self._escalations.first_time(request_id):
            return Escalating(Verdict.ALREADY_SENT, team)
        return Escalating(Verdict.GRANTED, team)

    async def escalation_failed(self, request_id: str) -> None:
        """The post did not reach the team: the asker may press again."""
        await self._escalations.forget(request_id)

    async def share(self, request_id: str) -> Sharing:
        """The stored answer a private /endy reply may share into its channel."""
        await self._recorder.flush(SHARE_FLUSH_SECONDS, set_aside=False)  # queued moments ago on this replica
        rid = uuid.UUID(request_id)
        stored = await self._storage.stored_answer(rid)
        if stored is None:
            return Sharing(Verdict.EXPIRED)
        question, text, kind, sources = stored
        if kind != AnswerKind.ANSWER:  # a "not found" reply has nothing to share (and offers no share button)
            return Sharing(Verdict.NOTHING_TO_SHARE)
        cited = [
            Source(str(s.get("title")), s.get("link"), str(s.get("source")), str(s.get("section_id"))) for s in sources
        ]
        return Sharing(Verdict.GRANTED, Answer(AnswerKind(kind), text, question, sources=cited, request_id=rid))


def _rating_label(rating: int) -> str:
    return "up" if rating > 0 else "down"
