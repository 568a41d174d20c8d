"""Knowledge base: Markdown handbook chunked by headings, a FAQ file and kb.yaml, loaded leniently."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from loguru import logger

from services.errors import KnowledgeError

FAQ_TITLE = "자주 묻는 질문"
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


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


@dataclass(frozen=True, slots=True)
class Department:
    """A team that owns questions, and where to ask it in Slack."""

    key: str
    name: str
    channel: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    """A question category shown in help texts and suggested prompts."""

    id: str
    name: str
    department: str | None = None
    emoji: str = ""
    examples: tuple[str, ...] = ()


@dataclass(slots=True)
class KnowledgeBase:
    """Everything loaded from one knowledge folder, plus the problems found while loading it."""

    name: str
    root: Path
    sections: list[Section] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    default_department: str | None = None
    documents: int = 0
    version: str = ""
    errors: list[KnowledgeError] = field(default_factory=list)

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


def sample_kb_dir() -> Path:
    """The bundled sample handbook ("엔카 생활 가이드")."""
    return Path(str(resources.files("endy_bot") / "sample_kb"))


def load_knowledge_base(root: Path) -> KnowledgeBase:
    """Load a knowledge folder; a malformed file is recorded (file and line) and the rest still loads."""
    root = root.resolve()
    if not root.is_dir():
        raise KnowledgeError(str(root), None, "knowledge folder does not exist")
    kb = KnowledgeBase(name=root.name, root=root)
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".md", ".yaml", ".yml"})
    for path in files:
        raw = path.read_bytes()
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0" + raw + b"\0")
        try:
            _load_file(kb, path, rel, raw.decode("utf-8-sig"))
        except KnowledgeError as err:
            kb.errors.append(err)
            logger.bind(file=rel, line=err.line).warning("knowledge file skipped: {}", err.message)
        except UnicodeDecodeError as err:
            kb.errors.append(KnowledgeError(rel, None, f"not UTF-8 text ({err.reason})"))
    kb.version = digest.hexdigest()[:12]
    return kb


def _load_file(kb: KnowledgeBase, path: Path, rel: str, text: str) -> None:
    if path.suffix == ".md":
        sections = parse_markdown(rel, text)
        kb.sections.extend(sections)
        kb.documents += 1
    elif path.name in {"kb.yaml", "kb.yml"}:
        _apply_config(kb, rel, _yaml(rel, text))
    elif path.stem == "faq" or path.parent.name == "faq":
        kb.sections.extend(parse_faq(rel, text, kb.errors))


def _yaml(rel: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else None
        raise KnowledgeError(rel, line, f"invalid YAML: {err.problem}") from None
    except yaml.YAMLError as err:
        raise KnowledgeError(rel, None, f"invalid YAML: {err}") from None


def _apply_config(kb: KnowledgeBase, rel: str, data: Any) -> None:
    if not isinstance(data, dict):
        raise KnowledgeError(rel, 1, "kb.yaml must be a mapping")
    kb.name = str(data.get("name") or kb.name)
    kb.default_department = data.get("default_department")
    for key, dep in (data.get("departments") or {}).items():
        if not isinstance(dep, dict) or not dep.get("name") or not dep.get("channel"):
            raise KnowledgeError(rel, None, f"department '{key}' needs a name and a channel")
        kb.departments[str(key)] = Department(
            str(key), str(dep["name"]), str(dep["channel"]), str(dep.get("description") or "")
        )
    for cat in data.get("categories") or []:
        if not isinstance(cat, dict) or not cat.get("id") or not cat.get("name"):
            raise KnowledgeError(rel, None, "every category needs an id and a name")
        kb.categories.append(
            Category(
                str(cat["id"]),
                str(cat["name"]),
                cat.get("department"),
                str(cat.get("emoji") or ""),
                tuple(str(e) for e in cat.get("examples") or []),
            )
        )
    for group in data.get("synonyms") or []:
        if isinstance(group, list) and len(group) >= 2:
            kb.synonyms.append(tuple(str(w).strip() for w in group if str(w).strip()))


def _front_matter(rel: str, lines: list[str]) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            meta = _yaml(rel, "\n".join(lines[1:i])) or {}
            if not isinstance(meta, dict):
                raise KnowledgeError(rel, 2, "front matter must be a mapping")
            return meta, i + 1
    raise KnowledgeError(rel, 1, "front matter is not closed with '---'")


def parse_markdown(rel: str, text: str) -> list[Section]:
    """Chunk one Markdown document by headings of every level; each chunk keeps its full heading path.

    A parent's own text (before its first sub-heading) is a section of its own; a skipped level
    (`##` then `####`) simply nests under the nearest shallower heading.
    """
    lines = text.lstrip("\ufeff").splitlines()
    meta, start = _front_matter(rel, lines)
    doc_title = Path(rel).stem
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    sections: list[Section] = []
    in_fence = False

    def flush() -> None:
        content = "\n".join(body).strip()
        body.clear()
        if content and stack:
            path = [h for _, h in stack]
            if stack[0][0] != 1:  # no H1 above: the document's title heads the path
                path.insert(0, doc_title)
            sections.append(
                Section(
                    id=f"{rel}#{len(sections)}",
                    kind=SectionKind.DOC,
                    title_path=tuple(path),
                    text=content,
                    source=rel,
                    link=meta.get("link"),
                    category=meta.get("category"),
                    department=meta.get("department"),
                )
            )

    for line in lines[start:]:
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if not match:
            body.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), _plain_heading(match.group(2))
        if level == 1:
            doc_title = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
    flush()
    return sections


def _plain_heading(raw: str) -> str:
    """A heading without Markdown emphasis or link syntax (`**연차**` → 연차, `[VPN](u)` → VPN)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    return re.sub(r"(\*\*|__|`)", "", text).strip()


_FAQ_REQUIRED = ("question", "answer")


def parse_faq(rel: str, text: str, errors: list[KnowledgeError]) -> list[Section]:
    """Parse a FAQ YAML list; an entry missing question/answer is recorded (with its line) and skipped."""
    data = _yaml(rel, text)
    if not isinstance(data, list):
        raise KnowledgeError(rel, 1, "the FAQ file must be a YAML list of entries")
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = [item.start_mark.line + 1 for item in node.value] if node is not None else []
    sections = []
    for i, entry in enumerate(data):
        line = lines[i] if i < len(lines) else None
        if not isinstance(entry, dict) or any(not entry.get(k) for k in _FAQ_REQUIRED):
            errors.append(KnowledgeError(rel, line, "a FAQ entry needs 'question' and 'answer'"))
            logger.bind(file=rel, line=line).warning("FAQ entry skipped: missing question or answer")
            continue
        category = str(entry.get("category") or "")
        keywords = entry.get("keywords") or []
        sections.append(
            Section(
                id=f"{rel}#{i}",
                kind=SectionKind.FAQ,
                title_path=(FAQ_TITLE, str(entry["question"]).strip()),
                text=str(entry["answer"]).strip(),
                source=rel,
                link=entry.get("link"),
                category=category or None,
                department=entry.get("department"),
                question=str(entry["question"]).strip(),
                keywords=tuple(str(k) for k in keywords) if isinstance(keywords, list) else (),
                related_heading=entry.get("section"),
            )
        )
    return sections
