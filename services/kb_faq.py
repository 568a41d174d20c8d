"""One FAQ entry read from its YAML node: required question and answer, typed optional fields, each checked."""

from __future__ import annotations

from typing import NamedTuple

import yaml

from services import kb_texts as t
from services.kb_config import Reference
from services.kb_yaml import NodeReader, kind_of, line_of

FAQ_KEYS = ("question", "answer", "category", "keywords", "department", "link", "section")


class FaqFields(NamedTuple):
    """The typed fields of one FAQ entry (`link` is checked by the loader's link rules)."""

    question: str
    answer: str
    category: str | None
    keywords: tuple[str, ...]
    department: str | None
    section: str | None
    link: yaml.Node | None


def read_faq_entry(reader: NodeReader, node: yaml.Node, refs: list[Reference] | None = None) -> FaqFields | None:
    """The entry's fields, or None (reported with its line) when it is not a mapping or lacks question/answer.

    A wrong-typed optional field is reported and ignored; department and category names go into refs.
    """
    if not isinstance(node, yaml.MappingNode):
        reader.problem(node, t.FAQ_ENTRY_NOT_MAPPING.format(actual=kind_of(node)))
        return None
    fields = reader.fields(node, "faq", FAQ_KEYS) or {}
    question, answer = reader.text(fields.get("question"), "question"), reader.text(fields.get("answer"), "answer")
    if not question or not answer:
        missing = " · ".join(k for k, v in (("question", question), ("answer", answer)) if not v)
        reader.problem(node, t.FAQ_ENTRY_INCOMPLETE.format(missing=missing))
        return None
    entry = FaqFields(
        question,
        answer,
        reader.text(fields.get("category"), "category"),
        reader.texts(fields.get("keywords"), "keywords"),
        reader.text(fields.get("department"), "department"),
        reader.text(fields.get("section"), "section"),
        fields.get("link"),
    )
    if refs is not None:
        for kind, value in (("department", entry.department), ("category", entry.category)):
            if value:
                refs.append(Reference(reader.rel, line_of(fields[kind]), kind, value))
    return entry
