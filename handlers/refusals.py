"""Refusing a button press kindly: counted in errors_total{type}, logged as one short line, and a private Korean
note to the person who pressed it (never a post others see)."""

from __future__ import annotations

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
    "not_owner": (Status.DENIED, texts.NOT_YOUR_QUESTION),
}


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
    client: AsyncWebClient, metrics: Metrics, body: dict[str, Any], respond: AsyncRespond, reason: str, endpoint: str
) -> Status:
    """Count, log and explain one refused press (reason: a key of REFUSALS); the status is counted at its door."""
    status, text = REFUSALS[reason]
    metrics.errors.labels(type=f"button_{reason}").inc()
    logger.bind(reason=reason, endpoint=endpoint).info("button press refused")
    await tell(client, body, respond, text)
    return status
