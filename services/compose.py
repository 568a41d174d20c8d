"""Turning retrieval results into answers: extractive text, sources, related questions, honest "not found"."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.answer_types import Answer, AnswerKind, Source, Turn
from services.extract import extract_answer
from services.knowledge import KnowledgeBase, Section, SectionKind
from services.privacy import PLACEHOLDERS
from services.retrieval import Retrieval, Retriever

GROUNDING_SECTIONS = 3
_RELATED = 3
_SUGGEST_COVERAGE = 0.25
_CLOSE_SCORE = 0.8


def source_of(section: Section) -> Source:
    """The citation for a section."""
    return Source(section.title, section.link, section.source, section.id)


_PLACEHOLDER = "|".join(re.escape(p) for p in PLACEHOLDERS.values())
# "제 번호는 [전화번호]": the label that introduces masked PII is no more about the topic than the PII itself.
_LABELLED_PII = re.compile(
    r"(?:(?:제|내|저의|나의)\s*)?(?:전화\s*|휴대폰\s*|핸드폰\s*|연락\s*)?"
    r"(?:번호|연락처|이메일|메일|주소|사번|계좌|카드|주민번호)?\s*(?:은|는|이|가|:|로|으로)?\s*"
    rf"(?:{_PLACEHOLDER})(?:\s*(?:이에요|예요|입니다|이고|이야|로|으로))?"
)


def without_placeholders(text: str) -> str:
    """Masked PII (and the words that introduce it) says nothing about the topic; keep it out of retrieval."""
    return " ".join(_LABELLED_PII.sub(" ", text).split())


class Composer:
    """Retrieval plus the rules that make an answer (or an honest refusal) out of it."""

    def __init__(self, kb: KnowledgeBase, retriever: Retriever, min_confidence: float) -> None:
        self.kb = kb
        self.retriever = retriever
        self.min_confidence = min_confidence

    async def retrieve(self, masked: str, history: Sequence[Turn]) -> Retrieval:
        """Retrieve for the question; a follow-up also searches together with the previous question."""
        query = without_placeholders(masked)
        result = await self.retriever.search(query, k=5)
        if history and result.confidence < self.min_confidence:
            combined = await self.retriever.search(f"{without_placeholders(history[-1].question)} {query}", k=5)
            if combined.confidence > result.confidence:
                return combined
        return result

    def compose(self, masked: str, result: Retrieval) -> Answer:
        """The extractive answer, or "not found" when confidence is below the threshold."""
        if result.best is None or result.confidence < self.min_confidence:
            return self.not_found(masked, result)
        best = result.hits[0].section
        text = extract_answer(best, set(result.query_tokens), self.retriever.tokenizer)
        return Answer(
            AnswerKind.ANSWER,
            text,
            masked,
            sources=self.sources(result),
            confidence=result.confidence,
            related_questions=self.related(result),
            department=self.kb.department(best.department),
            category=best.category,
        )

    def not_found(self, masked: str, result: Retrieval) -> Answer:
        """The honest "not in the handbook" answer, naming the team to ask."""
        best = result.best
        dep_key = best.section.department if best and best.coverage >= _SUGGEST_COVERAGE else None
        # Partial matches are offered as "maybe this helps" links, never presented as the answer.
        near = [
            h.section
            for h in result.hits[:_RELATED]
            if best and h.coverage >= _SUGGEST_COVERAGE and h.score >= _CLOSE_SCORE * best.score
        ]
        return Answer(
            AnswerKind.NOT_FOUND,
            "",
            masked,
            confidence=result.confidence,
            department=self.kb.department(dep_key),
            suggestions=[source_of(s) for s in near],
            category=best.section.category if dep_key and best else None,
        )

    def sources(self, result: Retrieval) -> list[Source]:
        """The sections an answer is grounded on (the best, its linked section, close runners-up)."""
        top = result.hits[0]
        chosen = [
            h.section
            for h in result.hits[:GROUNDING_SECTIONS]
            if h is top
            or h.section.heading == top.section.related_heading
            or (h.score >= _CLOSE_SCORE * top.score and h.coverage >= self.min_confidence)
        ]
        return [source_of(s) for s in chosen]

    def related(self, result: Retrieval) -> list[str]:
        """FAQ questions near this one (not the one already answered)."""
        best = result.hits[0].section
        out: list[str] = []
        for hit in result.hits[1:]:
            q = hit.section.question
            if hit.section.kind is SectionKind.FAQ and q and q != best.question and q not in out:
                out.append(q)
        return out[:_RELATED]
