"""The one output policy for everything Endy posts into Slack: answers (streamed or posted), shares, escalations,
the greeting, App Home, admin views and file comments.

- Links: only the ones Endy builds from validated knowledge-base links survive. Any other link, whatever its form
  (services/markup_links.py lists them), is removed and its label kept.
- Pings: none. `&`, `<` and `>` are escaped, so `<!channel>`, `<!here>`, `<!subteam^…>`, `<@U…>` and `<#C…>` are
  text, and a plain `@channel`, `@here` or `@everyone` gets a full-width `＠`.
- Sources: a source line in an answer (`출처: …`, `Sources:`, a `📄` line) is dropped. Endy cites the retrieved
  sections itself, through `link`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from services.markup import link_index, to_mrkdwn
from services.markup_links import NO_LINKS, Links, clean, scan, strip_links
from services.slack_safety import escape
from services.slack_safety import link as slack_link

MAX_HELD_CHARS = 4000  # a table, link or source line longer than this is let through (made safe) as it comes
_SOURCE_WORDS = (
    r"출처|참고\s*(?:자료|문서|링크)|근거\s*(?:자료|문서)|관련\s*(?:문서|링크)|(?:참고|근거)(?=[\s*_]*[:：])"
    r"|sources?|references?|citations?"
)
_LIST_MARK = r"[^\w\n]*(?:\d{1,2}[.)][^\w\n]*)?"
_SOURCE_LINE = re.compile(rf"{_LIST_MARK}(?:{_SOURCE_WORDS})[\s*_~`\])]*(?:$|[^\w\s])|\s*📄", re.IGNORECASE)
_SOURCE_SEP = r"[*_~]{0,3}\s*(?:[:：\-–—]|(?=[\[<(📄]))"  # "출처:", "**출처** -", "출처 [공지](…)"
_INLINE_SOURCE = re.compile(
    rf"(?:📄\s*)?[*_~]{{0,3}}(?<!\w)(?:{_SOURCE_WORDS}){_SOURCE_SEP}(?P<rest>.*)$", re.IGNORECASE
)
_SOURCE_HEADING_END = re.compile(rf"(?<!\w)(?:{_SOURCE_WORDS})[\s*_~:：\-–—]*$", re.IGNORECASE)
_LIST_ITEM = re.compile(r"\s*(?:[-*+•◦]|\d{1,2}[.)]|\[\d{1,2}\])\s")
_WORD = re.compile(r"\w")
_REFERENCE_DEFINITION = re.compile(r" {0,3}\[[^\]\n]+\]:")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_ENDY_TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")  # in rendered mrkdwn every `<` opens a link Endy built
_MD_LINK = re.compile(
    r"!?\[(?P<label>[^\[\]\n]*)\]\(\s*(?:<(?P<angled>[^<>\n]*)>|(?P<target>[^()\s]*))"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
_Keep = Callable[[str, str], str]  # stores a link Endy builds, returns its placeholder
_PLACEHOLDER = re.compile("\ue010([\ue100-\uf8ff])")  # private use: clean() removes any from the input
_TABLE_ROW = re.compile(r"[ \t]{0,3}\|")
_RULE_LIKE = re.compile(r"[ \t]*[-*_][-*_ \t]*")
_HELD_SOURCE = re.compile(  # where an inline source may start, its separator not yet seen
    rf"[*_~]{{0,3}}(?<!\w)(?:(?:{_SOURCE_WORDS})(?=[*_~]{{0,3}}\s*(?:[:：\-–—\[<(📄]|$))|(?:참고|근거|관련)\s*$)",
    re.IGNORECASE,
)
_HELD_LINE = re.compile(
    rf"{_LIST_MARK}(?:(?:출처|참고|근거|관련|sources?|references?|citations?)\b|$)|\s*(?:📄|\[)", re.IGNORECASE
)


def drop_source_lines(md: str) -> str:
    """Markdown without the source lines a model made up (and the list under a "Sources:" heading): sources come
    only from the retrieved sections."""
    return _drop_sources(md, listing=False)[0]


def _drop_sources(md: str, *, listing: bool) -> tuple[str, bool]:
    """drop_source_lines, starting inside (listing=True) or outside a source list; also whether it ends in one."""
    kept: list[str] = []
    for line in md.split("\n"):
        if listing and _LIST_ITEM.match(line):
            continue
        if not line.strip():  # a blank line (or the start of the next one) neither ends nor starts the list
            kept.append(line)
            continue
        source = _SOURCE_LINE.match(line) or _INLINE_SOURCE.search(line)
        listing = source is not None and _SOURCE_HEADING_END.search(line) is not None
        if source is None:
            kept.append(line)
        elif source.re is _INLINE_SOURCE and source.start() > 0:
            kept.append(line[: source.start()].rstrip())
    return "\n".join(kept), listing


def _defuse(text: str) -> str:
    return _BROADCAST.sub("＠", text)


def _inert(text: str) -> str:
    """No broadcast, and nothing left that a Markdown renderer could still read as a link (`[t](`)."""
    return _defuse(text).replace("](", "] (")


def _guard_mrkdwn(rendered: str) -> str:
    """Rendered mrkdwn with any link left outside Endy's own `<url|label>` removed (and out of their labels)."""
    out, pos = [], 0
    for token in _ENDY_TOKEN.finditer(rendered):
        out.append(strip_links(rendered[pos : token.start()]))
        written = token.group(2) or ""  # a bare host the handbook writes is its own label (markup_links._bare_host)
        label = written if written == token.group(1).split("://", 1)[-1] else strip_links(written)
        out.append(f"<{token.group(1)}|{label}>" if label else f"<{token.group(1)}>")
        pos = token.end()
    out.append(strip_links(rendered[pos:]))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class OutputPolicy:
    """What may reach Slack, given the knowledge base's validated links."""

    allowed: frozenset[str]
    links: Links

    def answer(self, md: str) -> str:
        """An answer's Markdown (generated, extracted or stored) as Slack mrkdwn."""
        return _inert(_guard_mrkdwn(to_mrkdwn(drop_source_lines(md), self.allowed)))

    def text(self, text: str, keep: Iterable[str] = ()) -> str:
        """Text Endy did not write (titles, questions, examples, names, comments) for a mrkdwn field; the strings in
        `keep` (Endy's own, e.g. knowledge file paths such as `docs/it.md`) are only escaped, never taken for links."""
        shielded, kept = clean(text), sorted({k for k in keep if k}, key=len, reverse=True)
        for i, own in enumerate(kept):
            shielded = shielded.replace(own, "\ue010" + chr(0xE100 + i))
        pieces = scan(shielded, NO_LINKS)
        safe = _inert(strip_links("".join(escape(p if isinstance(p, str) else p.label) for p in pieces)))
        return _PLACEHOLDER.sub(lambda m: escape(kept[ord(m.group(1)) - 0xE100]), safe)

    def plain(self, text: str) -> str:
        """Text Endy did not write for a plain_text field or a suggested prompt: no links, no `<…>` Slack parses."""
        return _defuse(strip_links(clean(text))).replace("<", "＜").replace(">", "＞")

    def link(self, url: str | None, label: str) -> str:
        """A link Endy builds to a knowledge-base page; any other URL leaves only the (safe) label."""
        shown = _defuse(" ".join(strip_links(clean(label)).split()))
        return slack_link(url, shown) if url and self.links.find(url) == url else escape(shown)

    def user(self, user_id: str) -> str:
        """A mention of the Slack user who acted (from Slack's own payload), or their id as text."""
        return f"<@{user_id}>" if _SLACK_USER.fullmatch(user_id) else self.text(user_id)

    def stream(self) -> MarkdownStream:
        """A chunk-safe filter for a streamed Markdown answer."""
        return MarkdownStream(self)

    def markdown(self, text: str) -> str:
        """A complete piece of answer Markdown made safe as Markdown (for Slack's streamed `markdown_text`)."""
        endy: list[str] = []

        def keep(url: str, label: str) -> str:
            endy.append(f"[{_defuse(label)}]({url})" if label else url)
            return "\ue010" + chr(0xE100 + len(endy) - 1)

        source = "\n".join(line for line in clean(text).split("\n") if not _REFERENCE_DEFINITION.match(line))
        source, out, pos = drop_source_lines(source), [], 0
        for match in _MD_LINK.finditer(source):
            out.append(self._md_text(source[pos : match.start()], keep))
            url = self.links.find(match.group("angled") or match.group("target") or "")
            label = self._md_text(match.group("label"), None)
            out.append(keep(url, label) if url else label)
            pos = match.end()
        out.append(self._md_text(source[pos:], keep))
        safe = _inert(strip_links("".join(out)))
        return _PLACEHOLDER.sub(lambda m: endy[ord(m.group(1)) - 0xE100], safe)

    def _md_text(self, text: str, keep: _Keep | None) -> str:
        """Escaped text; its allowed links kept as placeholders (when keep is given), other links' labels only."""
        out = []
        for piece in scan(text, self.links if keep else NO_LINKS):
            if isinstance(piece, str):
                out.append(escape(piece))
            elif piece.url and keep:
                out.append(keep(piece.url, escape(piece.label).replace("[", "").replace("]", "")))
            else:
                out.append(escape(piece.label))
        return "".join(out)


@lru_cache(maxsize=8)
def policy_for(links: frozenset[str]) -> OutputPolicy:
    """The policy for a knowledge base's links (each validated again: only plain http(s) links qualify)."""
    index = link_index(links)
    return OutputPolicy(frozenset(index.longest_first), index)


WITHOUT_LINKS = policy_for(frozenset())  # for surfaces that never link: help, greeting, App Home, admin views


class MarkdownStream:
    """A streamed Markdown answer made safe piece by piece, never splitting what could still become a link.

    Slack renders the streamed `markdown_text` itself, so it stays Markdown. A word, a `[label](url)`, a `<u|t>`,
    a line that may be a source line, a table or a rule line each wait until they are complete.
    """

    def __init__(self, policy: OutputPolicy) -> None:
        self._policy = policy
        self._pending = ""
        self._last = ""  # the last character sent
        self._listing = False  # under a made-up "Sources:" heading: its list is dropped, whole lines at a time

    def feed(self, chunk: str) -> str:
        """Safe Markdown for everything that can no longer change how it renders."""
        self._pending += chunk
        cut = _ready_until(self._pending)
        if self._listing and len(self._pending) <= MAX_HELD_CHARS:
            cut = min(cut, self._pending.rfind("\n") + 1)
        if cut <= 0:
            return ""
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self._send(ready)

    def flush(self) -> str:
        """Whatever is left at the end of the stream, made safe."""
        rest, self._pending = self._pending, ""
        return self._send(rest) if rest else ""

    def _send(self, ready: str) -> str:
        kept, self._listing = _drop_sources(ready, listing=self._listing)
        out = self._policy.markdown(kept) if kept else ""
        if self._last == " " and out.startswith(" ") and not ready.startswith(" "):
            out = out[1:]  # a link removed at the start of this piece leaves no double space behind
        self._last = out[-1:] or self._last
        return out


def _ready_until(text: str) -> int:
    """How much of text may go out: whole words, outside an unfinished table, rule, link or source line."""
    line_start = text.rfind("\n") + 1
    partial = text[line_start:]
    table_start = _table_run_start(text, line_start)
    waits = _TABLE_ROW.match(partial) or _RULE_LIKE.fullmatch(partial) or (not partial and table_start < line_start)
    if waits and len(text) - table_start <= MAX_HELD_CHARS:
        return table_start
    cut = max(text.rfind(" "), text.rfind("\n")) + 1
    if len(text) - line_start <= MAX_HELD_CHARS and cut > line_start:
        if _HELD_LINE.match(text, line_start, cut):
            cut = line_start
        inline = _HELD_SOURCE.search(text, line_start, cut)
        cut = inline.start() if inline else cut  # "… 출처: …" waits for its line to end, then goes as a whole
    opened = _open_link_start(text, cut)
    return opened if opened is not None and len(text) - opened <= MAX_HELD_CHARS else cut


def _open_link_start(text: str, cut: int) -> int | None:
    """Where a `[label](url)` or `<u|t>` begins that the first cut characters leave unfinished."""
    start = max(text.rfind("[", 0, cut), text.rfind("<", 0, cut))
    if start < 0 or "\n" in text[start:cut]:
        return None
    if text[start] == "<":
        return None if ">" in text[start:cut] else start
    close = text.find("]", start, cut)
    if close < 0:
        return start
    return start if text.startswith("(", close + 1) and ")" not in text[close:cut] else None


def _table_run_start(text: str, end: int) -> int:
    """Start of the run of complete table rows that ends at end (end itself when the line before is no row)."""
    start = end
    while start > 0:
        prev = text.rfind("\n", 0, start - 1) + 1
        if not _TABLE_ROW.match(text, prev, start - 1):
            break
        start = prev
    return start
