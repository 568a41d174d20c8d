"""The knowledge-base summary (`endy kb stats`, `/endy-admin kb stats`): imports nothing heavy, so the terminal
command stays fast (no Kiwi, markdown-it, asyncpg or openai)."""

from __future__ import annotations

from collections import Counter

from services.knowledge import KnowledgeBase


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
