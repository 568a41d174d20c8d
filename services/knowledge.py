"""Knowledge base: Markdown handbook chunked by headings, a FAQ file and kb.yaml, loaded leniently.

Every finding names its file and line in Korean; problems (something skipped or wrong) and warnings are kept
apart so `endy kb stats` can fail a CI job on the first (and, with --strict, on both).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from loguru import logger

from services import kb_texts as t
from services.errors import KnowledgeError
from services.kb_config import CONFIG_NAMES, Reference, check_references, parse_config
from services.kb_config import Category as Category  # re-exported: the model lives in kb_config and kb_model
from services.kb_config import Department as Department
from services.kb_faq import FaqFields, read_faq_entry
from services.kb_model import FAQ_TITLE as FAQ_TITLE
from services.kb_model import KnowledgeBase as KnowledgeBase
from services.kb_model import Section as Section
from services.kb_model import SectionKind as SectionKind
from services.kb_routes import apply_routes
from services.kb_yaml import NodeReader, decode_text, kind_of_value, line_of, list_items, syntax_error, to_python
from services.markup_links import valid_link

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def sample_kb_dir() -> Path:
    """The bundled sample handbook ("엔카 생활 가이드")."""
    return Path(str(resources.files("endy_bot") / "sample_kb"))


def require_folder(root: Path) -> Path:
    """The knowledge folder, resolved; KnowledgeError (Korean) when it does not exist or is a file."""
    root = root.resolve()
    if not root.is_dir():
        raise KnowledgeError(str(root), None, t.NOT_A_FOLDER if root.exists() else t.FOLDER_MISSING)
    return root


def load_knowledge_base(root: Path) -> KnowledgeBase:
    """Load a knowledge folder; every finding has its file and line, and a broken part never stops the rest.

    Problems end up in `errors`, warnings in `warnings`; a folder that does not exist raises KnowledgeError.
    """
    root = require_folder(root)
    loader = _Loader(KnowledgeBase(name=root.name, root=root))
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".md", ".yaml", ".yml"})
    for path in files:
        raw = path.read_bytes()
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0" + raw + b"\0")
        loader.load(path, rel, raw)
    kb = loader.finish()
    kb.version = digest.hexdigest()[:12]
    return kb


class _Loader:
    """One folder being loaded: the findings so far, and the references to check once kb.yaml is known."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.findings: list[KnowledgeError] = []
        self.refs: list[Reference] = []
        self.config_broken = False

    def load(self, path: Path, rel: str, raw: bytes) -> None:
        """Decode and load one file; a problem with the file as a whole is recorded and the file skipped."""
        text = decode_text(rel, raw, self.findings)
        if text is None:
            return
        try:
            if path.suffix == ".md":
                self._markdown(rel, text)
            elif path.name in CONFIG_NAMES:
                self._config(rel, text)
            elif path.stem == "faq" or path.parent.name == "faq":
                self.kb.sections.extend(parse_faq(rel, text, self.findings, self.refs))
        except KnowledgeError as err:
            self.config_broken |= path.name in CONFIG_NAMES
            self.findings.append(err)
            logger.bind(file=rel, line=err.line).info("knowledge file skipped")

    def _markdown(self, rel: str, text: str) -> None:
        sections = parse_markdown(rel, text, self.findings)
        self.kb.documents += 1
        lines = text.lstrip("\ufeff").splitlines()
        meta, end = _front_matter(rel, lines)
        if not sections:
            body = any(line.strip() and not _HEADING.match(line) for line in lines[end:])
            self.findings.append(KnowledgeError.warning(rel, None, t.NO_HEADINGS if body else t.EMPTY_DOCUMENT))
        names = {
            key: self._front_matter_name(rel, key, meta.get(key), lines, end) for key in ("department", "category")
        }
        if any(names[key] != meta.get(key) for key in names):  # a wrong type or stray spaces: the checked name wins
            sections = [
                dataclasses.replace(s, department=names["department"], category=names["category"]) for s in sections
            ]
        self.kb.sections += sections

    def _front_matter_name(self, rel: str, key: str, value: object, lines: list[str], end: int) -> str | None:
        """A front-matter department/category as text, its reference kept for checking; a wrong type is a problem."""
        if value is None or value == "":
            return None
        line, name = _front_matter_line(lines, key, end), _meta_text(value)
        if name is None:
            wrong = t.WRONG_TYPE.format(key=key, expected=t.TYPE_TEXT, actual=kind_of_value(value), hint="")
            self.findings.append(KnowledgeError(rel, line, wrong))
        else:
            self.refs.append(Reference(rel, line, key, name))
        return name

    def _config(self, rel: str, text: str) -> None:
        config = parse_config(rel, text, self.findings)
        kb = self.kb
        kb.name = config.name or kb.name
        kb.default_department = config.default_department or kb.default_department
        kb.departments.update(config.departments)
        kb.categories += config.categories
        kb.synonyms += config.synonyms
        kb.routes += config.routes

    def finish(self) -> KnowledgeBase:
        """Resolve every section's team (routes), check references, and split problems from warnings."""
        kb = self.kb
        kb.sections, unused = apply_routes(kb.sections, kb.routes, kb.categories)
        self.findings += [
            KnowledgeError.warning(r.path, r.line, t.ROUTE_UNUSED.format(pattern=r.pattern)) for r in unused
        ]
        if not self.config_broken:  # a broken kb.yaml is reported once, not as every name it defined
            self.findings += check_references(self.refs, kb.departments, kb.categories)
        if not kb.sections:
            self.findings.append(KnowledgeError.warning(str(kb.root), None, t.NO_SECTIONS))
        findings = sorted(self.findings, key=lambda f: (f.path, f.line or 0))
        kb.errors = [f for f in findings if not f.is_warning]
        kb.warnings = [f for f in findings if f.is_warning]
        return kb


def _meta_text(value: object) -> str | None:
    """A front-matter name as text (`department: 7` → "7"); a list, mapping or true/false is not a name."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _yaml(rel: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise syntax_error(rel, err) from None


def _front_matter(rel: str, lines: list[str]) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            meta = _yaml(rel, "\n" + "\n".join(lines[1:i])) or {}  # "\n": YAML errors keep the file's lines
            if not isinstance(meta, dict):
                raise KnowledgeError(rel, 2, t.FRONT_MATTER_NOT_MAPPING)
            return meta, i + 1
    raise KnowledgeError(rel, 1, t.FRONT_MATTER_NOT_CLOSED)


def _checked_link(rel: str, line: int | None, value: object, errors: list[KnowledgeError] | None) -> str | None:
    """A knowledge link that Endy may build (see valid_link), else None with the problem reported (file:line)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and valid_link(value.strip()):
        return value.strip()
    message = t.LINK_IGNORED.format(value=str(value)[:80])
    if errors is not None:
        errors.append(KnowledgeError(rel, line, message))
    logger.bind(file=rel, line=line).info("knowledge link ignored: not a plain http(s) URL")
    return None


def _front_matter_line(lines: list[str], key: str, end: int) -> int | None:
    """The 1-based line of a top-level front-matter key."""
    pattern = re.compile(rf"{re.escape(key)}\s*:")
    return next((i + 1 for i in range(1, end) if pattern.match(lines[i])), None)


def parse_markdown(rel: str, text: str, errors: list[KnowledgeError] | None = None) -> list[Section]:
    """Chunk one Markdown document by headings of every level; each chunk keeps its full heading path.

    A parent's own text (before its first sub-heading) is a section of its own; a skipped level
    (`##` then `####`) simply nests under the nearest shallower heading. A bad front-matter `link`
    is reported into errors and the sections load without it.
    """
    lines = text.lstrip("\ufeff").splitlines()
    meta, start = _front_matter(rel, lines)
    doc_link = _checked_link(rel, _front_matter_line(lines, "link", start), meta.get("link"), errors)
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
                    link=doc_link,
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


def parse_faq(rel: str, text: str, errors: list[KnowledgeError], refs: list[Reference] | None = None) -> list[Section]:
    """Parse a FAQ YAML list entry by entry: whatever is wrong is recorded with its line, only that part is lost.

    A YAML syntax error loses only the entry it is in, a wrong type only that field, an entry without
    question/answer only itself. A bad `link` is recorded (with its line) and the entry loads without it.
    """
    found = len(errors)
    items = list_items(rel, text, errors)
    if items == [] and len(errors) == found:
        errors.append(KnowledgeError.warning(rel, None, t.EMPTY_FAQ))
    reader = NodeReader(rel, errors)
    sections = []
    for i, node in items or []:
        entry = read_faq_entry(reader, node, refs)
        if entry is None:
            logger.bind(file=rel, line=line_of(node)).info("FAQ entry skipped")
            continue
        link_value = to_python(entry.link) if entry.link is not None else None
        link = _checked_link(rel, _key_line(node, "link") or line_of(node), link_value, errors)
        sections.append(_faq_section(rel, i, entry, link))
    return sections


def _key_line(item: yaml.Node, key: str) -> int | None:
    """The 1-based line of a key's value in a YAML mapping node."""
    if not isinstance(item, yaml.MappingNode):
        return None
    return next((v.start_mark.line + 1 for k, v in item.value if getattr(k, "value", None) == key), None)


def _faq_section(rel: str, i: int, entry: FaqFields, link: str | None) -> Section:
    return Section(
        id=f"{rel}#{i}",
        kind=SectionKind.FAQ,
        title_path=(FAQ_TITLE, entry.question),
        text=entry.answer,
        source=rel,
        link=link,
        category=entry.category,
        department=entry.department,
        question=entry.question,
        keywords=entry.keywords,
        related_heading=entry.section,
    )
