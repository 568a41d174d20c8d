"""👍/👎 reactions on Endy's answers record (and, when removed, retract) a vote; a new vote teaches as a button does."""

from __future__ import annotations

from typing import Any, NamedTuple

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import doors, learning
from handlers.common import once_per_delivery
from handlers.context import SlackServices
from handlers.doors import Status
from services.feedback import Actor

RATINGS = {"+1": 1, "thumbsup": 1, "-1": -1, "thumbsdown": -1}


class Reaction(NamedTuple):
    """A thumbs reaction on one of Endy's messages."""

    actor: Actor
    channel: str | None
    ts: str | None
    rating: int


def rating_of(reaction: str) -> int | None:
    """+1 / -1 for thumbs reactions (any skin tone), None for every other emoji."""
    return RATINGS.get(reaction.split("::", 1)[0])


def _reaction(event: dict[str, Any], context: AsyncBoltContext) -> Reaction | None:
    item, user = event.get("item"), event.get("user")
    rating = rating_of(str(event.get("reaction") or ""))
    if rating is None or not isinstance(item, dict) or not isinstance(user, str):
        return None
    if item.get("type") != "message" or event.get("item_user") != context.bot_user_id:
        return None
    team = str(context.team_id or event.get("team") or "")
    return Reaction(Actor(team, user), item.get("channel"), item.get("ts"), rating)


async def on_reaction_added(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient, services: SlackServices
) -> Status | None:
    """Record the vote (one per user per answer; a new reaction replaces the old vote), then let it teach."""
    r = _reaction(event, context)
    if r is None:
        return None
    services.feedback.react(r.actor, r.channel, r.ts, r.rating)
    await learning.count_reaction(client, services, r.actor, r.channel, r.ts, r.rating)  # already after the ack
    return Status.OK


async def on_reaction_removed(
    event: dict[str, Any], context: AsyncBoltContext, services: SlackServices
) -> Status | None:
    """Retract the vote the reaction made."""
    r = _reaction(event, context)
    if r is None:
        return None
    services.feedback.retract(r.actor, r.channel, r.ts, r.rating)
    return Status.OK


def register(app: AsyncApp) -> None:
    """Listen to reaction_added / reaction_removed."""
    app.event("reaction_added")(once_per_delivery(on_reaction_added, doors.REACTION_ADDED))
    app.event("reaction_removed")(once_per_delivery(on_reaction_removed, doors.REACTION_REMOVED))
