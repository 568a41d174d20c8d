"""Terminal rendering of answers and knowledge-base summaries (for `endy ask`, `chat`, `kb`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterable, Callable

from handlers import texts
from services.answer_types import Answer, AnswerKind
from services.knowledge import KnowledgeBase

# services.markup (markdown-it) is imported by the functions that render answers: `endy kb stats` needs none.

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
        from services.markup import to_plain

        shown = to_plain(ready, self._links)
        return shown + "\n\n" if shown else ""

    def flush(self) -> str:
        """Terminal text for whatever is left at the end of the stream."""
        rest, self._pending = self._pending, ""
        from services.markup import to_plain

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
    from services.markup import to_plain

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


def kb_stats(kb: KnowledgeBase) -> str:
    """A short summary of what was loaded, the team each section goes to, and every problem and warning (file:line)."""
    routes = f", 라우트 {len(kb.routes)}개" if kb.routes else ""
    lines = [
        f"지식 베이스: {kb.name}  (버전 {kb.version})",
        f"  위치: {kb.root}",
        f"  문서 {kb.documents}개, 섹션 {kb.doc_section_count}개, FAQ {kb.faq_count}개",
        f"  부서 {len(kb.departments)}곳{routes}, 카테고리 {len(kb.categories)}개, 동의어 묶음 {len(kb.synonyms)}개",
    ]
    for cat in kb.categories:
        count = sum(1 for s in kb.sections if s.category == cat.id)
        dep = kb.department(cat.department)
        lines.append(f"    - {cat.name}: {count}개" + (f" (문의: {dep.name} {dep.channel})" if dep else ""))
    lines += _team_counts(kb) + _findings(kb)
    return "\n".join(lines)


def _team_counts(kb: KnowledgeBase) -> list[str]:
    """How many sections and FAQ entries each team is named for when Endy cannot answer (routes included)."""
    counts = Counter(dep.name for dep in (kb.department(s.department) for s in kb.sections) if dep)
    if not counts:
        return []
    return ["  문의 팀별 섹션: " + " · ".join(f"{name} {n}개" for name, n in counts.most_common())]


def _findings(kb: KnowledgeBase) -> list[str]:
    if not kb.errors and not kb.warnings:
        return ["  ✅ 문제도 경고도 없어요"]
    lines: list[str] = []
    if kb.errors:
        lines.append(f"  ❌ 문제 {len(kb.errors)}개 (이 부분은 읽지 못했거나 무시했어요):")
        lines += [f"    - {err}" for err in kb.errors]
    if kb.warnings:
        lines.append(f"  ⚠️ 경고 {len(kb.warnings)}개:")
        lines += [f"    - {err}" for err in kb.warnings]
    return lines


def write_stream_line(write: Callable[[str], object], text: str) -> None:
    """Write text and make sure it ends with a newline."""
    write(text if text.endswith("\n") else text + "\n")
