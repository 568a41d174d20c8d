"""Render answer Markdown for a door: Slack mrkdwn (nothing pings, only allowed links) or plain terminal text.

Answer.text stays Markdown; each door converts it here. Parsing is markdown-it-py's CommonMark parser (plus GFM
tables and strikethrough), so emphasis follows CommonMark's flanking rules (`snake_case` stays text, `**연차**는`
is bold) with one exception for prose: a lone `*` between ASCII letters or digits (`3*4`) is just a star.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_inline.state_inline import Delimiter, StateInline
from markdown_it.tree import SyntaxTreeNode

from services.markup_links import Hit, Links, clean, display_width, layout_table, scan
from services.slack_safety import escape, link


def _emphasis_delimiters(state: StateInline, silent: bool) -> bool:
    """markdown-it's emphasis scanner, except that a lone `*` between ASCII letters or digits (`3*4`) is a star."""
    start, marker = state.pos, state.src[state.pos]
    if silent or marker not in "*_":
        return False
    scanned = state.scanDelims(start, marker == "*")
    end = start + scanned.length
    before, after = state.src[start - 1 : start] or " ", state.src[end : end + 1] or " "
    star = marker == "*" and scanned.length == 1 and (before + after).isascii() and (before + after).isalnum()
    for _ in range(scanned.length):
        state.push("text", "", 0).content = marker
        opens, closes = scanned.can_open and not star, scanned.can_close and not star
        token = len(state.tokens) - 1
        state.delimiters.append(
            Delimiter(marker=ord(marker), length=scanned.length, token=token, end=-1, open=opens, close=closes)
        )
    state.pos = end
    return True


_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
_MD.inline.ruler.at("emphasis", _emphasis_delimiters)
# Emphasis is first written as private-use sentinels (clean() removes any from the input), so headings, labels
# and table cells can drop it, and the last pass sees each marker's neighbours: Slack honours `*x*` only at word
# boundaries, so a zero-width space separates a marker from a touching letter (`*연차*\u200b는`).
_OPEN = {"strong": "\ue000", "em": "\ue002", "s": "\ue004"}
_CLOSE = {"strong": "\ue001", "em": "\ue003", "s": "\ue005"}
_SENTINEL = re.compile("[\ue000-\ue005]")
_MARKER = dict(zip("\ue000\ue001\ue002\ue003\ue004\ue005", "**__~~", strict=True))
_ZWSP = "\u200b"
_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")  # left where a dropped link stood
_BLANK = re.compile(r"[\s>]*")
_SENTENCE_END = re.compile(r"[.!?。](?=\s)")


@dataclass(frozen=True, slots=True)
class _Style:
    """How one door spells each construct (labels and urls arrive unescaped)."""

    escape: Callable[[str], str]
    markers: bool
    link: Callable[[str, str], str]
    label_link: Callable[[str, str], str]  # a link inside a table cell, label or alt text
    heading: Callable[[str], str]
    table: Callable[[str], str]
    fence: Callable[[str], str]


def _plain_link(url: str, label: str) -> str:
    return url if not label or label == url else f"{label} ({url})"


def _mrkdwn_link(url: str, label: str) -> str:
    return link(url, label) if label and label != url else f"<{url}>"


def _mrkdwn_fence(code: str) -> str:
    return "```\n" + escape(code.rstrip("\n")).replace("```", "`\u200b`\u200b`") + "\n```"


def _mrkdwn_table(lines: str) -> str:
    return "```\n" + lines.replace("```", "`\u200b`\u200b`") + "\n```"


def _plain_fence(code: str) -> str:
    return "\n".join("    " + line for line in code.rstrip("\n").split("\n"))


_MRKDWN = _Style(
    escape, True, _mrkdwn_link, lambda url, label: label or url, "\ue000{}\ue001".format, _mrkdwn_table, _mrkdwn_fence
)
_PLAIN = _Style(lambda text: text, False, _plain_link, _plain_link, str, str, _plain_fence)


def to_mrkdwn(md: str, allowed_links: frozenset[str]) -> str:
    """Slack mrkdwn for Markdown: escaped, no pings, links only to allowed_links, tables as aligned code blocks."""
    return _Renderer(_MRKDWN, link_index(allowed_links)).render(md)


def to_plain(md: str, allowed_links: frozenset[str] = frozenset()) -> str:
    """Terminal text for Markdown: no markers, plain headings, aligned tables, allowed links as "t (u)"."""
    return _Renderer(_PLAIN, link_index(allowed_links)).render(md)


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """Rendered text cut at its last line (else sentence) end within limit, links and code blocks whole; True if cut."""
    if len(text) <= limit:
        return text, False
    cut = text.rfind("\n", 0, limit + 1)
    if cut < limit // 2:
        ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit)]
        cut = max(cut, ends[-1] if ends else -1, text.rfind(" ", 0, limit + 1) if cut < limit // 4 else -1)
    head = text[: cut if cut > 0 else limit]
    if head.rfind("<") > head.rfind(">"):  # every "<" left in rendered text opens a link Endy built
        head = head[: head.rfind("<")]
    head = head.rstrip()
    return (head + "\n```" if head.count("```") % 2 else head), True


@lru_cache(maxsize=8)
def link_index(allowed: frozenset[str]) -> Links:
    """The valid links among allowed, findable as written or as markdown-it normalises a link target."""
    return Links.of(allowed, _MD.normalizeLink)


class _Renderer:
    """One rendering pass over a markdown-it syntax tree."""

    def __init__(self, style: _Style, links: Links) -> None:
        self._style, self._links = style, links
        self._lines: list[str] = []
        self._raw = False  # inside a label or table cell: unescaped (escaped later, once), links as their label
        self._spans: dict[str, Callable[[SyntaxTreeNode], str]] = {
            "softbreak": lambda n: "\n",
            "hardbreak": lambda n: "\n",
            "code_inline": lambda n: n.content if self._raw else f"`{self._esc(n.content)}`",
            "strong": self._emphasis,
            "em": self._emphasis,
            "s": self._emphasis,
            "link": self._link,
            "image": lambda n: self._esc(self._label(n.children)),
        }

    def render(self, md: str) -> str:
        """The whole document."""
        source = clean(md)
        self._lines = source.split("\n")
        out = self._blocks(SyntaxTreeNode(_MD.parse(source)).children, 0)
        out = re.sub(r"\n{3,}", "\n\n", out).strip("\n")
        return _SENTINEL.sub(_marker, out) if self._style.markers else _strip(out)

    def _esc(self, text: str) -> str:
        return text if self._raw else self._style.escape(text)

    def _blocks(self, nodes: Sequence[SyntaxTreeNode], depth: int) -> str:
        """Blocks in order: a blank line between them where the source (or a removed rule) had one."""
        out, after_rule = "", False
        for node in nodes:
            text = self._block(node, depth)
            if not text.strip():
                after_rule = after_rule or node.type == "hr"
                continue
            start = node.map[0] if node.map else 0
            loose = after_rule or (0 < start <= len(self._lines) and _BLANK.fullmatch(self._lines[start - 1]))
            out += (("\n\n" if loose else "\n") + text) if out else text
            after_rule = False
        return out

    def _block(self, node: SyntaxTreeNode, depth: int) -> str:
        kind = node.type
        if kind in ("paragraph", "heading"):
            text = _tidy(self._inline(node.children[0].children if node.children else []))
            return self._style.heading(_strip(text).strip()) if kind == "heading" and text.strip() else text
        if kind in ("bullet_list", "ordered_list"):
            return self._list(node, depth)
        if kind == "blockquote":
            return "\n".join("> " + line for line in self._blocks(node.children, depth).split("\n"))
        if kind in ("fence", "code_block"):
            return self._style.fence(node.content)
        if kind == "table":
            return self._style.table(self._table(node))
        return "" if kind == "hr" else self._esc(node.content)

    def _list(self, node: SyntaxTreeNode, depth: int) -> str:
        ordered = node.type == "ordered_list"
        start = int(str(node.attrs.get("start", 1))) if ordered else 1
        items = []
        for i, item in enumerate(node.children):
            marker = f"{start + i}." if ordered else ("•" if depth == 0 else "◦")
            first, *rest = self._blocks(item.children, depth + 1).split("\n")
            pad = " " * (display_width(marker) + 1)
            items.append("\n".join([f"{marker} {first}".rstrip(), *(pad + line if line else "" for line in rest)]))
        return "\n".join(items)

    def _table(self, node: SyntaxTreeNode) -> str:
        """The table as aligned lines, escaped after aligning (escapes change length, not what is shown)."""
        rows: list[list[str]] = []
        aligns: list[str] = []
        for part in node.children:
            for tr in part.children:
                rows.append([self._label(c.children[0].children if c.children else []) for c in tr.children])
                aligns = aligns or [_align(c.attrs.get("style")) for c in tr.children]
        return self._esc(layout_table(rows, aligns)) if rows else ""

    def _inline(self, nodes: Sequence[SyntaxTreeNode]) -> str:
        return "".join(self._spans[n.type](n) if n.type in self._spans else self._text(n.content) for n in nodes)

    def _label(self, nodes: Sequence[SyntaxTreeNode]) -> str:
        """Inline content as one unescaped, unformatted line (link labels, alt text, table cells)."""
        raw, self._raw = self._raw, True
        try:
            return " ".join(_strip(self._inline(nodes)).split())
        finally:
            self._raw = raw

    def _emphasis(self, node: SyntaxTreeNode) -> str:
        inner = self._inline(node.children)
        return _OPEN[node.type] + inner + _CLOSE[node.type] if inner.strip() == inner != "" else inner

    def _link(self, node: SyntaxTreeNode) -> str:
        raw = "".join(child.content for child in node.children)
        if node.markup == "autolink":  # <u>, or Slack's <u|t> when t has no spaces
            return self._text(f"<{raw}>" if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", raw) else raw)
        url = self._links.find(str(node.attrs.get("href", "")))
        return self._inline(node.children) if url is None else self._emit(Hit(url, self._label(node.children)))

    def _emit(self, hit: Hit) -> str:
        if hit.url is None:
            return self._esc(hit.label)
        return self._style.label_link(hit.url, hit.label) if self._raw else self._style.link(hit.url, hit.label)

    def _text(self, text: str) -> str:
        return "".join(
            self._esc(piece) if isinstance(piece, str) else self._emit(piece) for piece in scan(text, self._links)
        )


def _align(style: object) -> str:
    text = str(style or "")
    return "right" if "right" in text else "center" if "center" in text else "left"


def _tidy(text: str) -> str:
    """Inline text without the spaces a dropped link leaves behind."""
    return "\n".join(line.strip(" ") for line in _SPACES.sub(" ", text).split("\n"))


def _strip(text: str) -> str:
    return _SENTINEL.sub("", text)


def _marker(match: re.Match[str]) -> str:
    """A sentinel as its mrkdwn marker, with a zero-width space where a letter or digit touches it."""
    text, ch = match.string, match.group(0)
    if ch in "\ue000\ue002\ue004":
        before = text[match.start() - 1] if match.start() else " "
        return (_ZWSP if before.isalnum() else "") + _MARKER[ch]
    after = text[match.end()] if match.end() < len(text) else " "
    return _MARKER[ch] + (_ZWSP if after.isalnum() else "")
