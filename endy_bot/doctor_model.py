"""What `endy doctor`'s checks share: a result per check, and what earlier checks learned for the later ones."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import IntEnum

from slack_sdk.web.async_client import AsyncWebClient

from config.settings import Settings, redact_credentials
from endy_bot.deps import knowledge_root
from services.errors import KnowledgeError
from services.knowledge import KnowledgeBase, load_knowledge_base

SLACK_TIMEOUT_SECONDS = 5  # one Web API call (the check as a whole has its own bound)
CONNECT_TIMEOUT_SECONDS = 5.0
ERROR_MAX_CHARS = 160


class Mark(IntEnum):
    """A check's result; the exit code of `endy doctor` is the worst one."""

    OK = 0
    WARN = 1
    FAIL = 2

    @property
    def symbol(self) -> str:
        """✅, ⚠️ or ❌."""
        return ("✅", "⚠️", "❌")[self]


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check found: a one-line summary, the fix (empty when none is needed) and detail lines."""

    mark: Mark
    summary: str
    fix: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the checklist: the check's key (see texts.DOCTOR_CHECKS) and its finding."""

    check: str
    finding: Finding

    @property
    def mark(self) -> Mark:
        """The finding's mark."""
        return self.finding.mark


@dataclass(slots=True)
class Probe:
    """The settings under test, and what earlier checks learned (granted scopes, a reachable database)."""

    settings: Settings
    scopes: frozenset[str] | None = None  # auth.test's x-oauth-scopes, once the token was accepted
    database_url: str | None = None  # DATABASE_URL, once a connection succeeded
    _kb: KnowledgeBase | KnowledgeError | None = field(default=None, repr=False)
    _kb_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def slack(self) -> AsyncWebClient | None:
        """A Web API client on SLACK_API_URL with SLACK_BOT_TOKEN (None: no token is set)."""
        token = self.settings.slack_bot_token.get_secret_value().strip() if self.settings.slack_bot_token else ""
        if not token:
            return None
        return AsyncWebClient(token=token, base_url=self.settings.slack_api_url, timeout=SLACK_TIMEOUT_SECONDS)

    async def knowledge(self) -> KnowledgeBase:
        """The knowledge folder, loaded once (off the event loop); KnowledgeError when it cannot be read at all."""
        async with self._kb_lock:
            if self._kb is None:
                try:
                    self._kb = await asyncio.to_thread(load_knowledge_base, knowledge_root(self.settings))
                except KnowledgeError as err:
                    self._kb = err
        if isinstance(self._kb, KnowledgeError):
            raise self._kb
        return self._kb


def short_error(err: BaseException) -> str:
    """`Type: message` on one line, credentials masked, at most ERROR_MAX_CHARS."""
    text = redact_credentials(" ".join(f"{type(err).__name__}: {err}".split()))
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"
