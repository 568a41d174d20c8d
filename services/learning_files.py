"""Learned knowledge as the files a company already keeps: faq.yaml entries and kb.yaml synonym groups.

Curated entries are written as they are; a learned phrasing is written as a FAQ entry whose answer is its
section's own text and whose `section` names that heading (what the loader links). Read back either way —
put in the knowledge folder, or imported into PostgreSQL — nothing is doubled (see services/learning_merge.py
and the unique keys of migrations/0004_learning.sql).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from services.errors import KnowledgeError
from services.kb_config import parse_config
from services.kb_model import KnowledgeBase, Section, SectionKind
from services.knowledge import parse_faq
from services.learning_merge import is_learned
from services.learning_types import LearnedSnapshot

FAQ_FILE = "faq.yaml"
KB_FILE = "kb.yaml"
_HEADER = "# Learned in Slack (endy kb export-learned): review, then commit to the knowledge folder.\n"


def export_files(learned: LearnedSnapshot, kb: KnowledgeBase, directory: Path) -> tuple[Path, Path]:
    """Write faq.yaml and kb.yaml into `directory` (created); returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = [_faq_entry(f) for f in learned.faq]
    by_id = {s.id: s for s in kb.sections if not is_learned(s)}
    for p in learned.phrasings:
        section = by_id.get(p.section_id)
        if section is not None and section.kind is SectionKind.DOC:
            entries.append(_phrasing_entry(p.text, section))
    groups: dict[str, list[str]] = defaultdict(list)
    for word, target in learned.synonyms:
        groups[target].append(word)
    faq_path, kb_path = directory / FAQ_FILE, directory / KB_FILE
    faq_path.write_text(_HEADER + _dump(entries), encoding="utf-8")
    kb_path.write_text(_HEADER + _dump({"synonyms": [[t, *ws] for t, ws in groups.items()]}), encoding="utf-8")
    return faq_path, kb_path


def _dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _faq_entry(f: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"question": f.question, "answer": f.answer}
    for key in ("category", "department", "link"):
        if getattr(f, key):
            entry[key] = getattr(f, key)
    if f.keywords:
        entry["keywords"] = list(f.keywords)
    return entry


def _phrasing_entry(text: str, section: Section) -> dict[str, Any]:
    entry: dict[str, Any] = {"question": text, "answer": section.text, "section": section.heading}
    for key in ("category", "department"):
        if getattr(section, key):
            entry[key] = getattr(section, key)
    return entry


def read_files(
    directory: Path, kb: KnowledgeBase
) -> tuple[list[Section], list[tuple[str, Section]], list[tuple[str, str]]]:
    """Parse exported files: (curated FAQ sections, (phrasing, handbook section) pairs, (word, knowledge word))."""
    errors: list[KnowledgeError] = []
    faq_path, kb_path = directory / FAQ_FILE, directory / KB_FILE
    faqs = parse_faq(FAQ_FILE, faq_path.read_text(encoding="utf-8"), errors) if faq_path.is_file() else []
    docs = {s.heading: s for s in kb.sections if s.kind is SectionKind.DOC}
    curated: list[Section] = []
    phrasings: list[tuple[str, Section]] = []
    for entry in faqs:
        doc = docs.get(entry.related_heading or "")
        if doc is not None and doc.text.strip() == entry.text.strip():
            phrasings.append((entry.question or entry.heading, doc))
        else:
            curated.append(entry)
    synonyms: list[tuple[str, str]] = []
    if kb_path.is_file():
        for group in parse_config(KB_FILE, kb_path.read_text(encoding="utf-8"), errors).synonyms:
            synonyms += [(word, group[0]) for word in group[1:]]
    return curated, phrasings, synonyms
