"""Make streamed model output safe chunk by chunk (URLs can straddle chunks, so hold back the last word)."""

from __future__ import annotations

from collections.abc import Iterable

from handlers import texts
from services.slack_safety import safe_generated


class StreamSanitizer:
    """Escapes generated text and drops non-knowledge-base links, emitting only complete words."""

    def __init__(self, allowed_links: Iterable[str | None]) -> None:
        self._allowed = list(allowed_links)
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Safe text for everything up to the last whitespace seen so far."""
        self._pending += chunk
        cut = max(self._pending.rfind(" "), self._pending.rfind("\n"))
        if cut < 0:
            return ""
        ready, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
        return safe_generated(ready, self._allowed, texts.OTHER_LINKS_REMOVED)

    def flush(self) -> str:
        """Whatever is left at the end of the stream, made safe."""
        rest, self._pending = self._pending, ""
        return safe_generated(rest, self._allowed, texts.OTHER_LINKS_REMOVED)
