"""`endy kb eval`: the production pipeline on a JSONL question set — ranking and what was actually answered."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.answer_types import Answer, AnswerKind, Asker
from services.answering import AnswerService
from services.knowledge import Section
from services.privacy import mask_pii

_RANK_DEPTH = 10
_EVAL_ASKER = Asker(user_id="eval", team_id="local", surface="eval")


class EvalError(Exception):
    """The question file is unusable; names the file and line."""


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One question and the section heading (or part of its title path) that should answer it."""

    question: str
    expected_section: str


@dataclass(slots=True)
class EvalReport:
    """Ranking quality and answer quality; `misses` are the questions not answered correctly.

    The JSON keys are a contract (scripts outside the repository read them).
    """

    n: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr: float = 0.0
    answered_correctly: float = 0.0
    refused_but_found: int = 0
    false_accept_rate: float | None = None
    out_of_scope_n: int = 0
    misses: list[dict[str, object]] = field(default_factory=list)
    false_accepts: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The JSON form printed by `endy kb eval --json`."""
        return asdict(self)


def load_devset(path: Path) -> list[EvalCase]:
    """Read `{"question", "expected_section"}` lines; a bad line is an error naming its number."""
    cases = []
    for no, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            cases.append(EvalCase(str(obj["question"]), str(obj["expected_section"])))
        except (ValueError, KeyError, TypeError):
            raise EvalError(f"{path}:{no}: expected a JSON object with question and expected_section") from None
    if not cases:
        raise EvalError(f"{path}: no questions")
    return cases


def load_out_of_scope(path: Path) -> list[str]:
    """One out-of-scope question per line (blank lines ignored)."""
    questions = [line.strip() for line in _lines(path) if line.strip()]
    if not questions:
        raise EvalError(f"{path}: no questions")
    return questions


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EvalError(f"{path}: cannot read ({getattr(err, 'strerror', None) or err})") from None


async def evaluate(service: AnswerService, cases: list[EvalCase], out_of_scope: list[str] | None = None) -> EvalReport:
    """Ask every question through the answer pipeline and score the ranking and the answer shown."""
    report = EvalReport(n=len(cases))
    rr = h1 = h3 = correct = 0.0
    for case in cases:
        result = await service.composer.retrieve(mask_pii(service.validate(case.question)), [])
        hits = result.hits
        if len(hits) < _RANK_DEPTH:
            hits = service.retriever.search_lexical(mask_pii(case.question), k=_RANK_DEPTH).hits
        rank = next((i for i, h in enumerate(hits, 1) if matches(h.section, case.expected_section)), None)
        answer = await service.answer(case.question, _EVAL_ASKER)
        ok = answer.kind is AnswerKind.ANSWER and _first_source_matches(service, answer, case.expected_section)
        if rank is not None:
            rr += 1 / rank
            h1 += rank == 1
            h3 += rank <= 3
        correct += ok
        report.refused_but_found += answer.kind is AnswerKind.NOT_FOUND and rank == 1
        if not ok:
            report.misses.append(_miss(case, rank, [h.section.title for h in hits[:3]], answer))
    n = len(cases)
    report.hit_at_1, report.hit_at_3, report.mrr, report.answered_correctly = h1 / n, h3 / n, rr / n, correct / n
    if out_of_scope:
        await _score_out_of_scope(service, out_of_scope, report)
    return report


async def _score_out_of_scope(service: AnswerService, questions: list[str], report: EvalReport) -> None:
    accepted = 0
    for question in questions:
        answer = await service.answer(question, _EVAL_ASKER)
        if answer.kind is AnswerKind.ANSWER:  # a hedged answer is an answer too
            accepted += 1
            report.false_accepts.append({"question": question, "shown": _shown(answer)})
    report.out_of_scope_n = len(questions)
    report.false_accept_rate = accepted / len(questions)


def _shown(answer: Answer) -> str:
    if answer.kind is AnswerKind.NOT_FOUND:
        return "not_found"
    first = answer.sources[0].title if answer.sources else ""
    return f"{'hedged' if answer.hedged else 'answer'}: {first}"


def _miss(case: EvalCase, rank: int | None, got: list[str], answer: Answer) -> dict[str, object]:
    return {
        "question": case.question,
        "expected_section": case.expected_section,
        "rank": rank,
        "got": got,
        "shown": _shown(answer),
        "confidence": round(answer.confidence, 3),
    }


def _first_source_matches(service: AnswerService, answer: Answer, expected: str) -> bool:
    if not answer.sources:
        return False
    section = next((s for s in service.kb.sections if s.id == answer.sources[0].section_id), None)
    return section is not None and matches(section, expected)


def matches(section: Section, expected: str) -> bool:
    """The expected section itself (a heading at any level of its path), or a FAQ entry declaring it answers it."""
    return expected in section.title or bool(section.related_heading and expected in section.related_heading)


def format_report(report: EvalReport) -> str:
    """Human-readable summary with the misses."""
    lines = [
        f"n={report.n}  hit@1={report.hit_at_1:.3f}  hit@3={report.hit_at_3:.3f}  MRR={report.mrr:.3f}  "
        f"answered_correctly={report.answered_correctly:.3f}  refused_but_found={report.refused_but_found}"
    ]
    if report.false_accept_rate is not None:
        lines.append(f"out_of_scope n={report.out_of_scope_n}  false_accept_rate={report.false_accept_rate:.3f}")
    for miss in report.misses:
        lines.append(f"  ✗ {miss['question']}  (기대: {miss['expected_section']}, 순위: {miss['rank']})")
        lines.append(f"      보여준 답: {miss['shown']}")
        got = miss["got"]
        if isinstance(got, list):
            lines += [f"      {i}. {title}" for i, title in enumerate(got, 1)]
    lines += [f"  ⚠ 범위 밖인데 답함: {fa['question']}  → {fa['shown']}" for fa in report.false_accepts]
    return "\n".join(lines)
