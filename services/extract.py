"""Extractive answers: the useful blocks of the best section (whole tables, complete steps), in reading order.

The extract is Markdown (the section's own); each door renders it (Slack mrkdwn, terminal text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.knowledge import Section, SectionKind
from services.tokenizer import KoreanTokenizer

MAX_EXTRACT_CHARS = 700
# A table or a list of steps is kept whole even past the limit, up to this many characters.
MAX_BLOCK_CHARS = 1400
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。])\s+|(?<=요\.)\s*|(?<=다\.)\s*")
_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s")
_TABLE = re.compile(r"^\s*\|")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


@dataclass(frozen=True, slots=True)
class _Block:
    text: str
    whole: bool  # a table or a numbered list: never cut


def _blocks(text: str) -> list[_Block]:
    """Tables and numbered lists as whole blocks; other lines (long ones split into sentences) one by one."""
    blocks: list[_Block] = []
    group: list[str] = []
    kind = ""

    def close() -> None:
        nonlocal kind
        if group:
            blocks.append(_Block("\n".join(group), True))
            group.clear()
        kind = ""

    for line in text.splitlines():
        if not line.strip() or _RULE.match(line):
            if kind != "steps":  # a blank line inside a list of steps does not end it
                close()
            continue
        line_kind = "table" if _TABLE.match(line) else "steps" if _NUMBERED.match(line) else ""
        if line_kind == "" and kind == "steps" and line.startswith((" ", "\t")):
            group.append(line.rstrip())  # a step's indented continuation
            continue
        if line_kind != kind:
            close()
        if line_kind:
            kind = line_kind
            group.append(line.rstrip())
        elif len(line) <= 160 or line.lstrip().startswith(("-", "*", "+")):
            blocks.append(_Block(line.rstrip(), False))
        else:
            blocks += [_Block(s.strip(), False) for s in _SENTENCE_SPLIT.split(line) if s.strip()]
    close()
    return blocks


def _score(block: _Block, weights: dict[str, float], strong: set[str], tokenizer: KoreanTokenizer) -> float:
    """Weighted overlap with the question; a block matching only generic words scores nothing."""
    tokens = set(tokenizer.tokenize(block.text))
    return sum(weights[t] for t in tokens if t in weights) if tokens & strong else 0.0


def extract_answer(
    section: Section,
    weights: dict[str, float],
    strong: set[str],
    tokenizer: KoreanTokenizer,
    limit: int = MAX_EXTRACT_CHARS,
) -> str:
    """The section itself when short; otherwise its blocks that best match the question, in order."""
    text = section.text.strip()
    head = f"**{section.heading}**\n"
    if section.kind is SectionKind.FAQ or len(text) <= limit:
        return head + text
    blocks = _blocks(text)
    scored = sorted(((_score(b, weights, strong, tokenizer), -i) for i, b in enumerate(blocks)), reverse=True)
    chosen: set[int] = {0}  # the opening line usually states the rule; keep it for context
    used = len(blocks[0].text)
    for score, neg in scored:
        i = -neg
        if score == 0 and len(chosen) > 2:
            break
        size = len(blocks[i].text)
        fits = used + size <= limit or (blocks[i].whole and score > 0 and used + size <= MAX_BLOCK_CHARS)
        if i in chosen or not fits:
            continue
        chosen.add(i)
        used += size + 1
    picked = [blocks[i].text for i in sorted(chosen)]
    if len(chosen) < len(blocks):
        picked.append("…")
    return head + "\n".join(picked)
