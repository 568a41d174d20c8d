"""Slack's two primitives for output safety: escaping what Endy did not build, and the links Endy builds itself.

Everything a surface posts goes through services/output_policy.py, which is built on these.
"""

from __future__ import annotations

from services.markup_links import valid_link


def escape(text: str) -> str:
    """Escape Slack's control characters (&, <, >): `<!channel>` or `<@U1>` become inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A Slack link Endy builds itself; a URL that is not plain http(s) is refused and only the label is shown.

    The label is escaped and its `|` replaced, so neither the URL nor the label can break out of the link.
    """
    shown = escape(label).replace("|", "¦")
    return f"<{url}|{shown}>" if valid_link(url) else shown
