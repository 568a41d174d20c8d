"""Terminal rendering of answers and knowledge-base summaries (for `endy ask`, `chat`, `kb`)."""

from __future__ import annotations

from collections.abc import Callable

from handlers import texts
from services.answer_types import Answer, AnswerKind
from services.knowledge import KnowledgeBase


def answer_footer(answer: Answer) -> str:
    """What follows the streamed text: the not-found message, fallback note, sources, related questions."""
    if answer.kind is AnswerKind.NOT_FOUND:
        found = [texts.not_found(answer.department)]
        if answer.suggestions:
            found.append(f"\n{texts.SUGGESTIONS_LABEL}")
            found += [f"  • {src.title}" + (f" — {src.link}" if src.link else "") for src in answer.suggestions]
        return "\n".join(found)
    lines: list[str] = []
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
    """A short summary of what was loaded, including every file problem (file:line)."""
    lines = [
        f"지식 베이스: {kb.name}  (버전 {kb.version})",
        f"  위치: {kb.root}",
        f"  문서 {kb.documents}개, 섹션 {kb.doc_section_count}개, FAQ {kb.faq_count}개",
        f"  부서 {len(kb.departments)}곳, 카테고리 {len(kb.categories)}개, 동의어 묶음 {len(kb.synonyms)}개",
    ]
    for cat in kb.categories:
        count = sum(1 for s in kb.sections if s.category == cat.id)
        dep = kb.department(cat.department)
        lines.append(f"    - {cat.name}: {count}개" + (f" (문의: {dep.name} {dep.channel})" if dep else ""))
    if kb.errors:
        lines.append(f"  ⚠️ 읽지 못한 부분 {len(kb.errors)}개:")
        lines += [f"    - {err}" for err in kb.errors]
    return "\n".join(lines)


def write_stream_line(write: Callable[[str], object], text: str) -> None:
    """Write text and make sure it ends with a newline."""
    write(text if text.endswith("\n") else text + "\n")
