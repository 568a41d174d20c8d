"""Turning retrieval results into answers: extractive text, sources, related questions, honest "not found"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from services.answer_types import Answer, AnswerKind, Source, Turn
from services.extract import extract_answer
from services.knowledge import KnowledgeBase, Section, SectionKind
from services.privacy import PLACEHOLDERS
from services.ranking import (
    CLOSE_SCORE,
    MIN_MARGIN,
    RELATED,
    SINGLE_TERM_CONFIDENCE,
    SUGGEST_COVERAGE,
)
from services.ranking import GROUNDING_SECTIONS as GROUNDING_SECTIONS  # re-exported: answering reads it here
from services.retrieval import Retrieval, Retriever
from services.retrieval import token_factor as _token_factor

# Words that point back to the previous turn ("그거", "거기", "그럼 반차는요?"): the follow-up carries its subject.
_ANAPHORA = re.compile(
    r"(^|\s)(그거|그걸|그건|그게|그것|거기|그럼|그러면|그렇다면|그때|그 때|그 ?다음|그 ?사람|그 ?팀|저거|이거|그쪽|"
    r"그 ?경우|그것도|그건요|얘|걔)|(^|\s)\S{1,8}(은|는)요\??$|^(그리고|또|그럼|그러면|아)\b|(도요|는요|은요)\s*\??$"
)
_HANGUL = re.compile(r"[가-힣]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


class Verdict(StrEnum):
    """How sure retrieval is: answer, answer with a hedge (or let the LLM decide), or say it was not found."""

    CLEAR = "clear"
    GREY = "grey"
    NONE = "none"


def is_follow_up(question: str) -> bool:
    """Whether the question leans on the previous turn (anaphora or ellipsis)."""
    return bool(_ANAPHORA.search(question.strip()))


def is_english(question: str) -> bool:
    """An English question: Latin words and no Hangul."""
    return not _HANGUL.search(question) and len(_LATIN_WORD.findall(question)) >= 2


def source_of(section: Section) -> Source:
    """The citation for a section."""
    return Source(section.title, section.link, section.source, section.id)


def sources_of(sections: Sequence[Section], besides: Section | None = None) -> list[Source]:
    """Citations, one per original section: a learned phrasing carries its section's source and heading path, so it
    and that section (or two phrasings of one section) are cited once, as the first of them ranked (never again
    when it is `besides`, the section already cited)."""
    seen = {(besides.source, besides.title_path)} if besides else set()
    out = []
    for s in sections:
        if (s.source, s.title_path) not in seen:
            seen.add((s.source, s.title_path))
            out.append(source_of(s))
    return out


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

    def __init__(
        self, kb: KnowledgeBase, retriever: Retriever, min_confidence: float, hedge_confidence: float | None = None
    ) -> None:
        self.kb = kb
        self.retriever = retriever
        self.min_confidence = min_confidence
        self.hedge_confidence = min(min_confidence, hedge_confidence if hedge_confidence is not None else 1.0)

    async def retrieve(self, masked: str, history: Sequence[Turn], standalone: str | None = None) -> Retrieval:
        """Retrieve for the question; a follow-up always carries the previous question's subject with it.

        `standalone` is the LLM's rewrite of a follow-up (or an English question) into one Korean question.
        """
        query = without_placeholders(standalone or masked)
        result = await self.retriever.search(query, k=5)
        if not history or standalone:
            return result
        combined = await self.retriever.search(f"{without_placeholders(history[-1].question)} {query}", k=5)
        if (
            is_follow_up(masked)
            or combined.confidence > result.confidence
            and self.verdict(result) is not Verdict.CLEAR
        ):
            return combined
        return result

    def verdict(self, result: Retrieval) -> Verdict:
        """Clear, grey or none: coverage, evidence beyond one incidental word, and a margin over the runner-up."""
        best = result.best
        if best is None or result.confidence < self.hedge_confidence:
            return Verdict.NONE
        # One matched word out of several (서울, 카드, 추천) is incidental, not evidence, unless it carries the weight.
        if result.concepts >= 2 and best.matched < 2 and result.confidence < SINGLE_TERM_CONFIDENCE:
            return Verdict.NONE
        if result.confidence >= self.min_confidence and result.margin >= MIN_MARGIN:
            return Verdict.CLEAR
        return Verdict.GREY

    def compose(self, masked: str, result: Retrieval) -> Answer:
        """The extractive answer (hedged in the grey zone), or "not found" when retrieval is not sure enough."""
        verdict = self.verdict(result)
        if result.best is None or verdict is Verdict.NONE:
            return self.not_found(masked, result)
        best = result.hits[0].section
        weights = self._weights(result)
        strong = {t for t in result.query_tokens if _token_factor(t) >= 1.0}
        text = extract_answer(best, weights, strong, self.retriever.tokenizer)
        return Answer(
            AnswerKind.ANSWER,
            text,
            masked,
            sources=self.sources(result),
            confidence=result.confidence,
            related_questions=self.related(result),
            department=self.kb.department(best.department),
            category=best.category,
            hedged=verdict is Verdict.GREY,
            suggestions=sources_of([h.section for h in result.hits[1:RELATED] if verdict is Verdict.GREY], best),
            language="en" if is_english(masked) else "ko",
        )

    def _weights(self, result: Retrieval) -> dict[str, float]:
        """Evidence weight per question token (idf × factor), for picking the lines of an extract."""
        return {t: self.retriever.idf(t) * _token_factor(t) for t in result.query_tokens}

    def not_found(self, masked: str, result: Retrieval) -> Answer:
        """The honest "not in the handbook" answer, naming the team to ask."""
        best = result.best
        # Only a hit holding a topic word of the question is a lead: one that matched generic words alone ("오늘 병원
        # 근처 날씨": 병원 is in every section) suggests nothing and names no team.
        dep_key = best.section.department if best and best.matched and best.coverage >= SUGGEST_COVERAGE else None
        # Partial matches are offered as "maybe this helps" links, never presented as the answer.
        near = [
            h.section
            for h in result.hits[:RELATED]
            if best and h.matched and h.coverage >= SUGGEST_COVERAGE and h.score >= CLOSE_SCORE * best.score
        ]
        return Answer(
            AnswerKind.NOT_FOUND,
            "",
            masked,
            confidence=result.confidence,
            department=self.kb.department(dep_key),
            suggestions=sources_of(near),
            category=best.section.category if dep_key and best else None,
            language="en" if is_english(masked) else "ko",
        )

    def sources(self, result: Retrieval) -> list[Source]:
        """The sections an answer is grounded on (the best, its linked section, close runners-up)."""
        top = result.hits[0]
        chosen = [
            h.section
            for h in result.hits[:GROUNDING_SECTIONS]
            if h is top
            or h.section.heading == top.section.related_heading
            or (h.score >= CLOSE_SCORE * top.score and h.coverage >= self.min_confidence)
        ]
        return sources_of(chosen)

    def related(self, result: Retrieval) -> list[str]:
        """FAQ questions near this one (not the one already answered)."""
        best = result.hits[0].section
        out: list[str] = []
        for hit in result.hits[1:]:
            q = hit.section.question
            related = hit.coverage >= self.min_confidence and hit.matched >= 1
            if related and hit.section.kind is SectionKind.FAQ and q and q != best.question and q not in out:
                out.append(q)
        return out[:RELATED]
