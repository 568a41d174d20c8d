"""Output safety for Slack: escape what Endy did not build, so nothing can ping or link unexpectedly."""

from __future__ import annotations

import re
from collections.abc import Iterable

_URL = re.compile(r"https?://[^\s<>|)\]]+")


def escape(text: str) -> str:
    """Escape Slack's control characters (&, <, >): `<!channel>` or `<@U1>` become inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_generated(text: str, allowed_links: Iterable[str | None], replacement: str) -> str:
    """Escape generated text and drop any URL that is not one of the knowledge base's own links."""
    allowed = {link for link in allowed_links if link}

    def keep(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,")
        tail = match.group(0)[len(url) :]
        return (url if url in allowed else replacement) + tail

    return _URL.sub(keep, escape(text))


def link(url: str, label: str) -> str:
    """A Slack link Endy builds itself (label escaped; `|` and `>` cannot break out)."""
    return f"<{url}|{escape(label).replace('|', '¦')}>"
