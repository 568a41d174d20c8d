"""Terminal rendering of answers (`endy ask`, `chat`); summaries shared with Slack: handlers/admin_view.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Callable

from handlers import texts
from services.answer_types import Answer, AnswerKind
from services.markup import to_plain

_FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)


class PlainStream:
    """A streamed Markdown answer as terminal text, one finished block (paragraph, list, table) at a time."""

    def __init__(self, allowed_links: frozenset[str] = frozenset()) -> None:
        self._links = allowed_links
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Terminal text for the blocks completed so far (a blank line outside code ends a block)."""
        self._pending += chunk
        cut = _last_block_end(self._pending)
        if cut <= 0:
            return ""
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        shown = to_plain(ready, self._links)
        return shown + "\n\n" if shown else ""

    def flush(self) -> str:
        """Terminal text for whatever is left at the end of the stream."""
        rest, self._pending = self._pending, ""
        shown = to_plain(rest, self._links)
        return shown + "\n" if shown else ""


def _last_block_end(text: str) -> int:
    """Just past the last blank line that is not inside a fenced code block, or 0."""
    cut = text.rfind("\n\n")
    while cut > 0 and len(_FENCE_LINE.findall(text, 0, cut)) % 2:
        cut = text.rfind("\n\n", 0, cut)
    return cut + 2 if cut > 0 else 0


async def write_answer(chunks: AsyncIterable[str], write: Callable[[str], object], links: frozenset[str]) -> None:
    """Write a streamed answer as terminal text (to_plain), each block as soon as it is complete."""
    plain = PlainStream(links)
    async for chunk in chunks:
        shown = plain.feed(chunk)
        if shown:
            write(shown)
    write(plain.flush())


def answer_text(answer: Answer, links: frozenset[str] = frozenset()) -> str:
    """A finished answer's body as terminal text."""
    return to_plain(answer.text, links)


def answer_footer(answer: Answer) -> str:
    """What follows the streamed text: the not-found message, fallback note, sources, related questions."""
    english = answer.language == "en" and not answer.used_llm
    if answer.kind is AnswerKind.NOT_FOUND:
        found = [texts.ENGLISH_NOT_FOUND] if english else []
        found.append(texts.not_found(answer.department))
        if answer.suggestions:
            found.append(f"\n{texts.SUGGESTIONS_LABEL}")
            found += [f"  • {src.title}" + (f" — {src.link}" if src.link else "") for src in answer.suggestions]
        return "\n".join(found)
    lines: list[str] = [f"({texts.ENGLISH_NOTE})"] if english else []
    if answer.hedged:
        lines.append(f"💡 {texts.HEDGE_FOOTER}")
        if answer.suggestions:
            shown = (" > ".join(s.title.split(" > ")[-2:]) for s in answer.suggestions)
            lines.append(f"   {texts.HEDGE_OTHERS}: " + " · ".join(shown))
    if answer.llm_failed:
        lines.append(f"({texts.LLM_FALLBACK_NOTE})")
    if answer.sources:
        lines.append(f"\n📄 {texts.SOURCES_LABEL}")
        for i, src in enumerate(answer.sources, 1):
            lines.append(f"  [{i}] {src.title}" + (f" — {src.link}" if src.link else ""))
    if answer.related_questions:
        lines.append(f"\n💬 {texts.RELATED_LABEL}")
        lines += [f"  • {q}" for q in answer.related_questions]
    return "\n".join(lines)
