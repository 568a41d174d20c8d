"""Retrieval evaluation on a JSONL dev set: hit@1, hit@3, MRR and the misses."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.knowledge import Section
from services.retrieval import Retriever

_RANK_DEPTH = 10


class EvalError(Exception):
    """The dev set file is unusable; names the file and line."""


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One dev-set question and the section title (or part of it) that should answer it."""

    question: str
    expected_section: str


@dataclass(slots=True)
class EvalReport:
    """Aggregate retrieval quality; misses are questions whose expected section is not in the top 3."""

    n: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr: float = 0.0
    misses: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The JSON form printed by `endy kb eval --json`."""
        return asdict(self)


def load_devset(path: Path) -> list[EvalCase]:
    """Read `{"question", "expected_section"}` lines; a bad line is an error naming its number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise EvalError(f"{path}: cannot read ({err.strerror})") from None
    cases = []
    for no, line in enumerate(lines, 1):
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


def evaluate(retriever: Retriever, cases: list[EvalCase]) -> EvalReport:
    """Rank every question and score where the expected section lands."""
    report = EvalReport(n=len(cases))
    rr = h1 = h3 = 0.0
    for case in cases:
        hits = retriever.search_lexical(case.question, k=_RANK_DEPTH).hits
        rank = next((i for i, h in enumerate(hits, 1) if _matches(h.section, case.expected_section)), None)
        if rank is not None:
            rr += 1 / rank
            h1 += rank == 1
            h3 += rank <= 3
        if rank is None or rank > 3:
            report.misses.append(
                {
                    "question": case.question,
                    "expected_section": case.expected_section,
                    "rank": rank,
                    "got": [h.section.title for h in hits[:3]],
                }
            )
    report.hit_at_1, report.hit_at_3, report.mrr = h1 / len(cases), h3 / len(cases), rr / len(cases)
    return report


def _matches(section: Section, expected: str) -> bool:
    """A hit is the expected section itself, or a FAQ entry that declares it answers that section."""
    return expected in section.title or bool(section.related_heading and expected in section.related_heading)


def format_report(report: EvalReport) -> str:
    """Human-readable summary with the misses."""
    lines = [f"n={report.n}  hit@1={report.hit_at_1:.3f}  hit@3={report.hit_at_3:.3f}  MRR={report.mrr:.3f}"]
    for miss in report.misses:
        lines.append(f"  ✗ {miss['question']}  (기대: {miss['expected_section']}, 순위: {miss['rank']})")
        got = miss["got"]
        if isinstance(got, list):
            lines += [f"      {i}. {title}" for i, title in enumerate(got, 1)]
    return "\n".join(lines)
