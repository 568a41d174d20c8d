"""Refusing a button press kindly: counted in errors_total{type}, logged as one short line, and a private Korean
note to the person who pressed it (never a post others see)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import texts
from handlers.doors import Status
from services.metrics import Metrics

# reason -> (api_requests status, what the presser reads)
REFUSALS = {
    "forged": (Status.INVALID, texts.BUTTON_REFUSED),
    "not_owner": (Status.DENIED, texts.NOT_YOUR_QUESTION),  # escalate / share: the asker or an admin only
    "not_asker": (Status.DENIED, texts.NOTIFY_NOT_YOURS),  # the opt-in: the asker only
    "not_admin": (Status.DENIED, texts.ADMIN_DENIED),  # the learning buttons: admins only (re-checked per press)
}
Note = Callable[[AsyncWebClient, dict[str, Any], AsyncRespond, str], Awaitable[None]]


async def tell(client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond, text: str) -> None:
    """A private note to the presser, where they pressed (best effort: a note that cannot be delivered is logged)."""
    container = body.get("container") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    try:
        if container.get("is_ephemeral") or not channel:
            if body.get("response_url"):
                await respond(response_type="ephemeral", replace_original=False, text=text)
            return
        await client.chat_postEphemeral(
            channel=channel,
            user=str((body.get("user") or {}).get("id") or ""),
            text=text,
            thread_ts=container.get("thread_ts") or container.get("message_ts"),
        )
    except SlackApiError as err:
        logger.bind(error=err.response.get("error")).info("refusal note not delivered")


async def refuse(
    client: AsyncWebClient,
    metrics: Metrics,
    body: dict[str, Any],
    respond: AsyncRespond,
    reason: str,
    endpoint: str,
    say: Note = tell,
) -> Status:
    """Count, log and explain one refused press (reason: a key of REFUSALS); the status is counted at its door."""
    status, text = REFUSALS[reason]
    metrics.errors.labels(type=f"button_{reason}").inc()
    logger.bind(reason=reason, endpoint=endpoint).info("button press refused")
    await say(client, body, respond, text)
    return status


async def guard(
    client: AsyncWebClient,
    metrics: Metrics,
    body: dict[str, Any],
    respond: AsyncRespond,
    endpoint: str,
    signed: bool,
    may: Callable[[], Awaitable[bool]],
    denied: str = "not_owner",
    say: Note = tell,
) -> Status | None:
    """The one check of every guarded button: None when its value is Endy's (`signed`) and the presser `may` act;
    otherwise the refusal (forged, else `denied`) is counted, logged and told, and its status returned."""
    if not signed:
        return await refuse(client, metrics, body, respond, "forged", endpoint, say)
    if not await may():
        return await refuse(client, metrics, body, respond, denied, endpoint, say)
    return None
