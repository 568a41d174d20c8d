"""Which Socket Mode envelope a Bolt request came in, so handlers/replay.py runs a redelivered one once.

Bolt's Socket Mode handler does not pass the envelope id on. slack_sdk runs the request listeners of one message one
after another, in a task of the message's own; a listener placed before Bolt's records the id in a context
variable, which the Bolt middleware, running in that same task, reads.
"""

from __future__ import annotations

from contextvars import ContextVar

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

_ENVELOPE_ID: ContextVar[str | None] = ContextVar("endy_socket_mode_envelope_id", default=None)


async def _remember(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
    _ENVELOPE_ID.set(request.envelope_id)


def track_envelopes(handler: AsyncSocketModeHandler) -> None:
    """Make each request's envelope id available to the Bolt app (current_envelope_id)."""
    handler.client.socket_mode_request_listeners.insert(0, _remember)


def current_envelope_id() -> str | None:
    """The id of the Socket Mode envelope being dispatched (None outside Socket Mode)."""
    return _ENVELOPE_ID.get()
