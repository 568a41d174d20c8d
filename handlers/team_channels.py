"""The teams' channels as the asker and the admin see them: `<#C…>` links, and "invite @엔디 to #…" in the log."""

from __future__ import annotations

from typing import Protocol

from loguru import logger
from slack_sdk.web.async_client import AsyncWebClient

from handlers import texts
from services.channels import CHANNEL_ID, Channel, ChannelDirectory
from services.knowledge import Department, KnowledgeBase
from services.output_policy import WITHOUT_LINKS

# chat.postMessage's answers when Endy is not in the channel: public → not_in_channel, private → channel_not_found.
NOT_MEMBER_ERRORS = frozenset({"not_in_channel", "channel_not_found"})


def shown(channel: Channel) -> str:
    """The channel in a message: Slack's `<#C…>` link when its id is known, its name as inert text otherwise."""
    if channel.id and CHANNEL_ID.fullmatch(channel.id):
        return f"<#{channel.id}>"
    return WITHOUT_LINKS.text(channel.label)


def team_notice(template: str, department: Department, channel: Channel) -> str:
    """A notice to the asker naming the team (inert text) and its channel (linked)."""
    return template.format(team=WITHOUT_LINKS.text(department.name), channel=shown(channel))


def log_not_member(department: Department, channel: Channel, error: str) -> None:
    """The one line an admin needs when Endy cannot post into a team's channel."""
    logger.bind(department=department.key, channel=channel.label, channel_id=channel.id, error=error).warning(
        "invite @{} to {}: Endy is not a member of this escalation channel ({})", texts.BOT_NAME, channel.label, error
    )


class TeamChannels(Protocol):
    """The knowledge base served and the directory its teams' channels are resolved in."""

    @property
    def kb(self) -> KnowledgeBase: ...

    @property
    def channels(self) -> ChannelDirectory: ...


async def warm_team_channels(where: TeamChannels, client: AsyncWebClient) -> None:
    """Resolve every department's channel once (after Slack accepted the token); log the ones Endy cannot post to."""
    departments = list(where.kb.departments.values())
    channels = await where.channels.warm(client, [d.channel for d in departments])
    by_ref = {c.ref: c for c in channels}
    for department in departments:
        channel = by_ref[department.channel]
        if channel.id is None:
            logger.bind(department=department.key, channel=channel.label).warning(
                "escalation channel {} not found in Slack (a private one shows only once @{} is in it): "
                "invite @{} or fix kb.yaml; escalations post to it by name meanwhile",
                channel.label,
                texts.BOT_NAME,
                texts.BOT_NAME,
            )
        elif channel.is_member is False:
            log_not_member(department, channel, "not a member")
    resolved = sum(1 for c in channels if c.id is not None)
    logger.bind(channels=len(channels), resolved=resolved).info("escalation channels resolved")
