"""👍/👎 reactions on Endy's answers record (and, when removed, retract) a vote."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from endy_bot.deps import Deps
from handlers.common import once_per_delivery
from services.persist import MessageRef, RecordFeedback, RemoveFeedback

RATINGS = {"+1": 1, "thumbsup": 1, "-1": -1, "thumbsdown": -1}


def rating_of(reaction: str) -> int | None:
    """+1 / -1 for thumbs reactions (any skin tone), None for every other emoji."""
    return RATINGS.get(reaction.split("::", 1)[0])


def _vote(event: dict[str, Any], context: AsyncBoltContext) -> tuple[MessageRef, str, str, int] | None:
    item, user = event.get("item"), event.get("user")
    rating = rating_of(str(event.get("reaction") or ""))
    if rating is None or not isinstance(item, dict) or not isinstance(user, str):
        return None
    if item.get("type") != "message" or event.get("item_user") != context.bot_user_id:
        return None
    team = str(context.team_id or event.get("team") or "")
    return MessageRef(channel_id=item.get("channel"), reply_ts=item.get("ts")), team, user, rating


async def on_reaction_added(event: dict[str, Any], context: AsyncBoltContext, deps: Deps) -> None:
    """Record the vote (one per user per answer; a new reaction replaces the old vote)."""
    vote = _vote(event, context)
    if vote is None:
        return
    ref, team, user, rating = vote
    deps.recorder.submit(RecordFeedback(ref, team, user, rating, "reaction"))
    deps.metrics.feedback.labels("up" if rating > 0 else "down", "reaction").inc()
    deps.metrics.api_requests.labels("event", "reaction_added", "ok").inc()


async def on_reaction_removed(event: dict[str, Any], context: AsyncBoltContext, deps: Deps) -> None:
    """Retract the vote the reaction made."""
    vote = _vote(event, context)
    if vote is None:
        return
    ref, team, user, rating = vote
    deps.recorder.submit(RemoveFeedback(ref, team, user, rating))
    deps.metrics.api_requests.labels("event", "reaction_removed", "ok").inc()


def register(app: AsyncApp) -> None:
    """Listen to reaction_added / reaction_removed."""
    app.event("reaction_added")(once_per_delivery(on_reaction_added))
    app.event("reaction_removed")(once_per_delivery(on_reaction_removed))
