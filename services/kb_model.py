"""The knowledge base's data model: sections (handbook or FAQ), and everything one knowledge folder holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from services.errors import KnowledgeError
from services.kb_config import Category, Department, Route

FAQ_TITLE = "자주 묻는 질문"


class SectionKind(StrEnum):
    """Where a retrievable item comes from."""

    DOC = "doc"
    FAQ = "faq"


@dataclass(frozen=True, slots=True)
class Section:
    """One retrievable unit: a handbook section (by heading) or one FAQ entry."""

    id: str
    kind: SectionKind
    title_path: tuple[str, ...]
    text: str
    source: str
    link: str | None = None
    category: str | None = None
    department: str | None = None
    question: str | None = None
    keywords: tuple[str, ...] = ()
    related_heading: str | None = None

    @property
    def title(self) -> str:
        """The heading path joined for display, e.g. "근태·휴가 가이드 > 연차 신청 방법"."""
        return " > ".join(self.title_path)

    @property
    def heading(self) -> str:
        """The innermost heading (or the FAQ question)."""
        return self.title_path[-1]


@dataclass(slots=True)
class KnowledgeBase:
    """Everything loaded from one knowledge folder, plus what was found wrong while loading it."""

    name: str
    root: Path
    sections: list[Section] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    default_department: str | None = None
    routes: list[Route] = field(default_factory=list)
    documents: int = 0
    version: str = ""
    errors: list[KnowledgeError] = field(default_factory=list)  # problems: something was skipped or is wrong
    warnings: list[KnowledgeError] = field(default_factory=list)  # nothing was lost, but it needs a look
    # Learned demotions: normalised masked question → the section ids ranked lower for its cluster (demotion.py).
    demoted: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def faq_count(self) -> int:
        """Number of FAQ entries loaded."""
        return sum(1 for s in self.sections if s.kind is SectionKind.FAQ)

    @property
    def doc_section_count(self) -> int:
        """Number of handbook sections loaded."""
        return sum(1 for s in self.sections if s.kind is SectionKind.DOC)

    def department(self, key: str | None) -> Department | None:
        """The department for a key, falling back to the default department."""
        if key and key in self.departments:
            return self.departments[key]
        if self.default_department:
            return self.departments.get(self.default_department)
        return None
