"""Learned knowledge merged into a KnowledgeBase before its retriever is built (the layer above kb.yaml).

- A curated FAQ entry becomes a FAQ section (`learned-faq:<id>`).
- A learned phrasing becomes a FAQ-like section (`learned:<id>`) that carries the phrasing as its only keyword
  and its section's own heading path, text, source and link: the handbook's text is never changed, an answer
  found through it quotes and cites that section, and it is no rival of the section (same heading path).
  It has no `question`, so a phrasing (someone's question) is never offered as a "related question".
- A synonym pair joins the group its knowledge word is in (the company's, else a copy of the lexicon's).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import asyncpg
from loguru import logger

from services.cache import normalise_question
from services.kb_model import FAQ_TITLE, KnowledgeBase, Section, SectionKind
from services.learning_store import LearningStore
from services.learning_types import LearnedFaq, LearnedPhrasing, LearnedSnapshot
from services.lexicon import builtin_lexicon

PHRASING_PREFIX = "learned:"
FAQ_PREFIX = "learned-faq:"
LEARNED_SOURCE = "learned"


def is_learned(section: Section) -> bool:
    """Whether a section was merged from learned knowledge (not the handbook or faq.yaml)."""
    return section.id.startswith((PHRASING_PREFIX, FAQ_PREFIX))


def target_of(section: Section, kb: KnowledgeBase) -> Section:
    """The section a learned phrasing stands for (the section itself for every other one)."""
    if not section.id.startswith(PHRASING_PREFIX):
        return section
    own = (s for s in kb.sections if not is_learned(s) and s.source == section.source)
    return next((s for s in own if s.title_path == section.title_path), section)


def merge_learned(kb: KnowledgeBase, learned: LearnedSnapshot, per_section: int) -> KnowledgeBase:
    """A new KnowledgeBase: the folder's sections, then learned FAQ entries and phrasings; synonyms merged."""
    if not (learned.faq or learned.phrasings or learned.synonyms or learned.demoted):
        return kb
    by_id = {s.id: s for s in kb.sections}
    taken = {normalise_question(s.question or s.heading) for s in kb.sections}
    extra = [_faq_section(f) for f in learned.faq if normalise_question(f.question) not in taken]
    extra += _phrasing_sections(learned.phrasings, by_id, taken, per_section)
    return dataclasses.replace(
        kb,
        sections=[*kb.sections, *extra],
        synonyms=merge_pairs(kb.synonyms, learned.synonyms),
        version=f"{kb.version}+{learned.version}",
        demoted=_demoted(learned.demoted, by_id, extra),
    )


def _demoted(
    pairs: set[tuple[str, str]], by_id: dict[str, Section], extra: Sequence[Section]
) -> dict[str, frozenset[str]]:
    """Question key → demoted section ids, each with its learned copies (a phrasing stands for its section)."""
    copies: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for s in extra:
        if s.id.startswith(PHRASING_PREFIX):
            copies[(s.source, s.title_path)].append(s.id)
    found: dict[str, set[str]] = defaultdict(set)
    for key, section_id in pairs:
        section = by_id.get(section_id)
        if section is not None:  # a section the handbook no longer has demotes nothing
            found[key] |= {section_id, *copies.get((section.source, section.title_path), ())}
    return {key: frozenset(ids) for key, ids in found.items()}


def _faq_section(f: LearnedFaq) -> Section:
    return Section(
        id=f"{FAQ_PREFIX}{f.id}",
        kind=SectionKind.FAQ,
        title_path=(FAQ_TITLE, f.question),
        text=f.answer,
        source=LEARNED_SOURCE,
        link=f.link,
        category=f.category,
        department=f.department,
        question=f.question,
        keywords=f.keywords,
    )


def _phrasing_sections(
    phrasings: Sequence[LearnedPhrasing], by_id: dict[str, Section], taken: set[str], per_section: int
) -> list[Section]:
    """One section per phrasing, newest `per_section` per target; a target that is gone is skipped."""
    grouped: dict[str, list[LearnedPhrasing]] = defaultdict(list)
    for p in phrasings:
        if p.section_id in by_id and normalise_question(p.text) not in taken:
            grouped[p.section_id].append(p)
    out = []
    for section_id, items in grouped.items():
        target = by_id[section_id]
        for p in sorted(items, key=lambda p: -p.id)[:per_section]:
            out.append(
                dataclasses.replace(
                    target,
                    id=f"{PHRASING_PREFIX}{p.id}",
                    kind=SectionKind.FAQ,
                    question=None,
                    keywords=(p.text, *p.keywords),
                    related_heading=None,
                )
            )
    return out


def _key(word: str) -> str:
    return "".join(word.split()).lower()


def merge_pairs(company: Sequence[tuple[str, ...]], pairs: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
    """Company groups with the learned pairs added: a word joins the group of its knowledge word.

    A company group replaces every lexicon group it shares a word with (services/lexicon.merge_synonyms), so a
    pair whose words sit in lexicon groups adds those groups whole (nothing the lexicon knew is lost).
    """
    groups = [list(g) for g in company]
    lexicon = builtin_lexicon()
    for word, target in pairs:
        home = _find(groups, target) or _find(groups, word)
        if home is None:
            home = []
            groups.append(home)
        for member in (*_lexicon_group(lexicon, target), *_lexicon_group(lexicon, word), target, word):
            if _key(member) not in {_key(m) for m in home}:
                home.append(member)
    return [tuple(g) for g in groups]


def _find(groups: list[list[str]], word: str) -> list[str] | None:
    return next((g for g in groups if any(_key(m) == _key(word) for m in g)), None)


def _lexicon_group(lexicon: Sequence[tuple[str, ...]], word: str) -> tuple[str, ...]:
    return next((g for g in lexicon if any(_key(m) == _key(word) for m in g)), ())


async def merged_knowledge(store: LearningStore, per_section: int, kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base with the learned layer merged in; unchanged while migration 0004 is not applied yet."""
    try:
        learned = await store.snapshot()
    except asyncpg.UndefinedTableError:
        logger.warning("learned knowledge not merged: migration 0004_learning is not applied (run `endy migrate`)")
        return kb
    merged = merge_learned(kb, learned, per_section)
    if merged is not kb:
        logger.bind(learned_sections=len(merged.sections) - len(kb.sections), synonyms=len(learned.synonyms)).info(
            "learned knowledge merged"
        )
    return merged


def learning_parts(
    pool: asyncpg.Pool, per_section: int
) -> tuple[LearningStore, Callable[[KnowledgeBase], Awaitable[KnowledgeBase]]]:
    """The store and the merge hook the composition root passes to the knowledge loader (start and reload)."""
    store = LearningStore(pool)
    return store, partial(merged_knowledge, store, per_section)
