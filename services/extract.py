"""Extractive answers: the useful part of the best section, trimmed and kept in reading order."""

from __future__ import annotations

import re

from services.knowledge import Section, SectionKind
from services.tokenizer import KoreanTokenizer

MAX_EXTRACT_CHARS = 700
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。])\s+|(?<=요\.)\s*|(?<=다\.)\s*")


def _units(text: str) -> list[str]:
    """Split a section into lines (bullets, steps) and long lines into sentences."""
    units: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if len(line) <= 160 or line.lstrip().startswith(("-", "*", "|")) or line.lstrip()[:2].rstrip(".").isdigit():
            units.append(line.rstrip())
        else:
            units += [s.strip() for s in _SENTENCE_SPLIT.split(line) if s.strip()]
    return units


def extract_answer(
    section: Section, query_tokens: set[str], tokenizer: KoreanTokenizer, limit: int = MAX_EXTRACT_CHARS
) -> str:
    """The section itself when short; otherwise its lines that best match the question, in order."""
    text = section.text.strip()
    if section.kind is SectionKind.FAQ or len(text) <= limit:
        return f"[{section.heading}]\n{text}"
    units = _units(text)
    scored = []
    for i, unit in enumerate(units):
        overlap = len(query_tokens & set(tokenizer.tokenize(unit)))
        scored.append((overlap, -i, i))
    chosen: set[int] = {0}  # the opening line usually states the rule; keep it for context
    used = len(units[0])
    for overlap, _, i in sorted(scored, reverse=True):
        if overlap == 0 and len(chosen) > 2:
            break
        if used + len(units[i]) > limit:
            continue
        chosen.add(i)
        used += len(units[i]) + 1
    picked = [units[i] for i in sorted(chosen)]
    if len(chosen) < len(units):
        picked.append("…")
    return f"[{section.heading}]\n" + "\n".join(picked)
