"""kb.yaml: the knowledge folder's name, departments, categories, synonyms and routes, each part checked on its own.

A wrong type or an incomplete entry is a problem (file:line) and only that part is skipped; a reference to a
department that kb.yaml does not define is a warning (a route to one is a problem: it would never apply).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from services import kb_texts as t
from services.errors import KnowledgeError
from services.kb_yaml import NodeReader, compose_mapping, is_null, kind_of, line_of

CONFIG_NAMES = frozenset({"kb.yaml", "kb.yml"})
_TOP_KEYS = ("name", "default_department", "departments", "categories", "synonyms", "routes")
_DEPARTMENT_KEYS = ("name", "channel", "description")
_CATEGORY_KEYS = ("id", "name", "department", "emoji", "examples")


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


@dataclass(frozen=True, slots=True)
class Route:
    """kb.yaml `routes`: sections whose heading (or category id) matches `pattern` go to `department`."""

    pattern: str
    department: str
    path: str
    line: int


@dataclass(slots=True)
class KbConfig:
    """What one kb.yaml defines (only the parts that were valid)."""

    name: str | None = None
    default_department: str | None = None
    departments: dict[str, Department] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)


def parse_config(rel: str, text: str, errors: list[KnowledgeError]) -> KbConfig:
    """Read kb.yaml; every finding goes into errors (KnowledgeError only when nothing of it can be read)."""
    root = compose_mapping(rel, text, errors)
    config = KbConfig()
    if root is None:
        return config
    reader = NodeReader(rel, errors)
    if not isinstance(root, yaml.MappingNode):
        reader.problem(root, t.KB_NOT_MAPPING.format(actual=kind_of(root)))
        return config
    top = reader.fields(root, "kb.yaml", _TOP_KEYS) or {}
    config.name = reader.text(top.get("name"), "name")
    if "departments" in top:
        config.departments = _departments(reader, top["departments"])
    if "categories" in top:
        config.categories = _categories(reader, top["categories"], config.departments)
    if "synonyms" in top:
        config.synonyms = _synonyms(reader, top["synonyms"])
    if "routes" in top:
        config.routes = _routes(reader, top["routes"], config.departments)
    default = top.get("default_department")
    config.default_department = reader.text(default, "default_department")
    if default is not None and config.default_department and config.default_department not in config.departments:
        reader.warn(default, t.UNKNOWN_DEFAULT_DEPARTMENT.format(key=config.default_department))
    return config


def _departments(reader: NodeReader, node: yaml.Node) -> dict[str, Department]:
    out: dict[str, Department] = {}
    for key_node, value in reader.pairs(node, "departments", t.HINT_DEPARTMENTS):
        key = str(key_node.value).strip()
        fields = reader.fields(value, f"departments.{key}", _DEPARTMENT_KEYS)
        if fields is None:
            continue
        name = reader.text(fields.get("name"), "name")
        channel = reader.text(fields.get("channel"), "channel")
        if name and channel:
            out[key] = Department(key, name, channel, reader.text(fields.get("description"), "description") or "")
        elif "channel" in fields and is_null(fields["channel"]) and name:
            reader.problem(fields["channel"], t.CHANNEL_EMPTY.format(key=key))
        else:
            missing = " · ".join(k for k, v in (("name", name), ("channel", channel)) if not v)
            reader.problem(key_node, t.DEPARTMENT_INCOMPLETE.format(key=key, missing=missing))
    return out


def _categories(reader: NodeReader, node: yaml.Node, departments: dict[str, Department]) -> list[Category]:
    out: list[Category] = []
    for item in reader.items(node, "categories"):
        fields = reader.fields(item, "categories", _CATEGORY_KEYS)
        if fields is None:
            continue
        cid, name = reader.text(fields.get("id"), "id"), reader.text(fields.get("name"), "name")
        if not cid or not name:
            missing = " · ".join(k for k, v in (("id", cid), ("name", name)) if not v)
            reader.problem(item, t.CATEGORY_INCOMPLETE.format(missing=missing))
            continue
        department = reader.text(fields.get("department"), "department")
        if department and department not in departments:
            reader.warn(fields["department"], t.UNKNOWN_DEPARTMENT.format(key=department))
        emoji = reader.text(fields.get("emoji"), "emoji") or ""
        out.append(Category(cid, name, department, emoji, reader.texts(fields.get("examples"), "examples")))
    return out


def _synonyms(reader: NodeReader, node: yaml.Node) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for group in reader.items(node, "synonyms", t.HINT_SYNONYMS):
        if not isinstance(group, yaml.SequenceNode):
            reader.wrong_type(group, "synonyms", t.TYPE_LIST, t.HINT_SYNONYMS)
            continue
        words = reader.texts(group, "synonyms")
        if len(words) >= 2:
            out.append(words)
        else:
            reader.problem(group, t.SYNONYM_TOO_SHORT)
    return out


def _routes(reader: NodeReader, node: yaml.Node, departments: dict[str, Department]) -> list[Route]:
    out: list[Route] = []
    for key_node, value in reader.pairs(node, "routes", t.HINT_ROUTES):
        pattern = str(key_node.value).strip()
        department = reader.text(value, f"routes.{pattern}")
        if department is None:
            if is_null(value):
                reader.wrong_type(value, f"routes.{pattern}", t.TYPE_TEXT, t.HINT_ROUTES)
            continue
        if department not in departments:
            reader.problem(value, t.ROUTE_UNKNOWN_DEPARTMENT.format(pattern=pattern, key=department))
            continue
        out.append(Route(pattern, department, reader.rel, line_of(key_node)))
    return out


@dataclass(frozen=True, slots=True)
class Reference:
    """A department or category named in front matter or a FAQ entry, checked against kb.yaml after loading."""

    path: str
    line: int | None
    kind: str  # "department" | "category"
    key: str


def check_references(
    refs: list[Reference], departments: dict[str, Department], categories: list[Category]
) -> list[KnowledgeError]:
    """Warnings for references kb.yaml does not define (categories only when kb.yaml defines some)."""
    category_ids = {c.id for c in categories}
    out: list[KnowledgeError] = []
    for ref in refs:
        if ref.kind == "department" and ref.key not in departments:
            out.append(KnowledgeError.warning(ref.path, ref.line, t.UNKNOWN_DEPARTMENT.format(key=ref.key)))
        elif ref.kind == "category" and category_ids and ref.key not in category_ids:
            out.append(KnowledgeError.warning(ref.path, ref.line, t.UNKNOWN_CATEGORY.format(key=ref.key)))
    return out
