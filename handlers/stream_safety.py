"""Make streamed model output safe chunk by chunk, in pieces Slack can render as they arrive.

Slack renders the streamed `markdown_text` as Markdown itself, so it stays Markdown here. URLs can straddle chunks,
so the last word waits; a table or a rule line waits until it is complete, so neither ever shows as raw `|`/`-`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from handlers import texts
from services.slack_safety import safe_generated

MAX_HELD_CHARS = 4000  # a "table" longer than this is let through as it comes
_TABLE_ROW = re.compile(r"[ \t]{0,3}\|")
_RULE_LIKE = re.compile(r"[ \t]*[-*_][-*_ \t]*")


class StreamSanitizer:
    """Escapes generated text and drops non-knowledge-base links, emitting only complete words and tables."""

    def __init__(self, allowed_links: Iterable[str | None]) -> None:
        self._allowed = list(allowed_links)
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Safe text for everything that can no longer change how it renders."""
        self._pending += chunk
        cut = _ready_until(self._pending)
        if cut <= 0:
            return ""
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return safe_generated(ready, self._allowed, texts.OTHER_LINKS_REMOVED)

    def flush(self) -> str:
        """Whatever is left at the end of the stream, made safe."""
        rest, self._pending = self._pending, ""
        return safe_generated(rest, self._allowed, texts.OTHER_LINKS_REMOVED)


def _ready_until(text: str) -> int:
    """How much of text may go out: up to the last whitespace, but not into an unfinished table or rule line."""
    line_start = text.rfind("\n") + 1
    partial = text[line_start:]
    table_start = _table_run_start(text, line_start)
    waits = _TABLE_ROW.match(partial) or _RULE_LIKE.fullmatch(partial) or (not partial and table_start < line_start)
    if waits and len(text) - table_start <= MAX_HELD_CHARS:
        return table_start
    return max(text.rfind(" "), text.rfind("\n")) + 1


def _table_run_start(text: str, end: int) -> int:
    """Start of the run of complete table rows that ends at end (end itself when the line before is no row)."""
    start = end
    while start > 0:
        prev = text.rfind("\n", 0, start - 1) + 1
        if not _TABLE_ROW.match(text, prev, start - 1):
            break
        start = prev
    return start
