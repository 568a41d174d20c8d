"""Reading knowledge files leniently: text decoding with a reported fallback, YAML with file:line findings.

YAML is read as a node tree, not as Python values, so every wrong type can be reported with its line and the
rest of the file still loads; string fields keep the text as written (`answer: no` stays "no", `09:00` stays
"09:00" instead of YAML 1.1's 540).
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Collection

import yaml

from services import kb_texts as t
from services.errors import KnowledgeError

_NULL_TAG = "tag:yaml.org,2002:null"
_LIST_ITEM = re.compile(r"^-(?:[ \t]|$)")
_TOP_KEY = re.compile(r"^[^\s#%{\[-][^:]*:(?:[ \t]|$)")  # `key:` at column 0 (not a comment, list or flow)
_PREAMBLE = re.compile(r"^\s*(?:#.*)?$|^---\s*$|^%")

Fields = dict[str, yaml.Node]


def decode_text(rel: str, raw: bytes, errors: list[KnowledgeError]) -> str | None:
    """UTF-8 (BOM or not), else UTF-16 with a BOM, else cp949/EUC-KR (warned); newlines become "\\n"."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        decoded = _fallback(raw)
        if decoded is None:
            errors.append(KnowledgeError(rel, line, t.UNDECODABLE))
            return None
        text, message = decoded
        errors.append(KnowledgeError.warning(rel, line, message))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fallback(raw: bytes) -> tuple[str, str] | None:
    encodings = [("utf-16", t.DECODED_UTF16)] if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else []
    for encoding, message in [*encodings, ("cp949", t.DECODED_CP949)]:
        try:
            return raw.decode(encoding).lstrip("\ufeff"), message
        except UnicodeDecodeError:
            continue
    return None


def syntax_error(rel: str, err: yaml.YAMLError, template: str = t.YAML_SYNTAX) -> KnowledgeError:
    """A YAML syntax error as a Korean problem at the line to fix (an unclosed quote: where it opens)."""
    problem = str(getattr(err, "problem", "") or err)
    context = str(getattr(err, "context", "") or "")
    mark = getattr(err, "problem_mark", None)
    if "quoted scalar" in context or "flow" in context:
        mark = getattr(err, "context_mark", None) or mark
    detail = next((text for key, text in t.YAML_DETAILS.items() if key in f"{context} {problem}"), t.YAML_GENERIC)
    return KnowledgeError(rel, mark.line + 1 if mark is not None else None, template.format(detail=detail))


def compose_mapping(rel: str, text: str, errors: list[KnowledgeError]) -> yaml.Node | None:
    """The node tree of a mapping file (kb.yaml); on a syntax error each top-level key is parsed on its own.

    The keys that parse are kept and each broken one is reported; when nothing can be recovered the syntax
    error is raised as a Korean KnowledgeError with its line.
    """
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        chunks = _top_level_chunks(rel, text, errors, _TOP_KEY, err)
        pairs = [pair for _, node in chunks or [] if isinstance(node, yaml.MappingNode) for pair in node.value]
        if not pairs:
            raise syntax_error(rel, err) from None
        return yaml.MappingNode("tag:yaml.org,2002:map", pairs, pairs[0][0].start_mark, pairs[-1][1].end_mark)


def list_items(rel: str, text: str, errors: list[KnowledgeError]) -> list[tuple[int, yaml.Node]] | None:
    """The (index, node) items of a YAML list file, or None when the file is not a list (reported).

    On a syntax error every top-level `- ` item is parsed on its own, so the entries that parse survive and
    each broken one is reported with its line.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        chunks = _top_level_chunks(rel, text, errors, _LIST_ITEM, err)
        if chunks is None:  # not a plain top-level list: nothing to recover safely
            errors.append(syntax_error(rel, err))
            return []
        return [(i, item) for i, node in chunks if isinstance(node, yaml.SequenceNode) for item in node.value]
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        errors.append(KnowledgeError(rel, line_of(root), t.FAQ_NOT_LIST.format(actual=kind_of(root))))
        return None
    return list(enumerate(root.value))


def _top_level_chunks(
    rel: str, text: str, errors: list[KnowledgeError], start: re.Pattern[str], first: yaml.YAMLError
) -> list[tuple[int, yaml.Node]] | None:
    """Each top-level item (a line matching `start` up to the next one) parsed on its own; None if not split.

    When every item parses on its own, the file's own syntax error is still reported.
    """
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if start.match(line)]
    if not starts or not all(_PREAMBLE.match(line) for line in lines[: starts[0]]):
        return None
    found = len(errors)
    chunks: list[tuple[int, yaml.Node]] = []
    for index, (begin, end) in enumerate(zip(starts, [*starts[1:], len(lines)], strict=True)):
        chunk = "\n" * begin + "\n".join(lines[begin:end])  # leading newlines keep the file's line numbers
        try:
            node = yaml.compose(chunk, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            errors.append(syntax_error(rel, err, t.YAML_SKIPPED))
            continue
        if node is not None:
            chunks.append((index, node))
    if len(errors) == found:
        errors.append(syntax_error(rel, first))
    return chunks


def line_of(node: yaml.Node) -> int:
    """The 1-based line where a node starts."""
    return int(node.start_mark.line) + 1


def is_null(node: yaml.Node) -> bool:
    """An empty value (`key:`, `~`, `null`)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def kind_of(node: yaml.Node) -> str:
    """The Korean name of a node's type, for "must be … (now …)"."""
    if isinstance(node, yaml.MappingNode):
        return t.TYPE_MAPPING
    if isinstance(node, yaml.SequenceNode):
        return t.TYPE_LIST
    if node.tag == _NULL_TAG:
        return t.TYPE_NULL
    if node.tag.endswith(":bool"):
        return t.TYPE_BOOL
    return t.TYPE_NUMBER if node.tag.endswith((":int", ":float")) else t.TYPE_TEXT


def kind_of_value(value: object) -> str:
    """The Korean name of a loaded value's type (front matter is read as values, not nodes)."""
    if isinstance(value, dict):
        return t.TYPE_MAPPING
    if isinstance(value, list):
        return t.TYPE_LIST
    if isinstance(value, bool):
        return t.TYPE_BOOL
    return t.TYPE_NUMBER if isinstance(value, int | float) else t.TYPE_OTHER


def to_python(node: yaml.Node) -> object:
    """A node as the Python value yaml.safe_load would give."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


class NodeReader:
    """Typed reads from a YAML node tree: a wrong type is a problem with file:line and the value is ignored."""

    def __init__(self, rel: str, errors: list[KnowledgeError]) -> None:
        self.rel = rel
        self.errors = errors

    def problem(self, node: yaml.Node, message: str) -> None:
        """Record a problem at the node's line."""
        self.errors.append(KnowledgeError(self.rel, line_of(node), message))

    def warn(self, node: yaml.Node, message: str) -> None:
        """Record a warning at the node's line."""
        self.errors.append(KnowledgeError.warning(self.rel, line_of(node), message))

    def wrong_type(self, node: yaml.Node, key: str, expected: str, hint: str = "", *, skipped: bool = False) -> None:
        """Report that `key` holds the wrong type of value."""
        template = t.WRONG_TYPE_SKIPPED if skipped else t.WRONG_TYPE
        self.problem(node, template.format(key=key, expected=expected, actual=kind_of(node), hint=hint))

    def fields(self, node: yaml.Node, key: str, known: Collection[str], *, skipped: bool = True) -> Fields | None:
        """A mapping's values by key (unknown keys warned, with a likely spelling); None if not a mapping."""
        if not isinstance(node, yaml.MappingNode):
            self.wrong_type(node, key, t.TYPE_MAPPING, skipped=skipped)
            return None
        out: Fields = {}
        for key_node, value in node.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
                hint = t.DID_YOU_MEAN.format(known=close[0]) if close else ""
                self.warn(key_node, t.UNKNOWN_KEY.format(key=name or kind_of(key_node), hint=hint))
                continue
            out[name] = value
        return out

    def pairs(self, node: yaml.Node, key: str, hint: str = "") -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        """A mapping with free keys (department keys, route patterns) as (key node, value node) pairs."""
        if not isinstance(node, yaml.MappingNode):
            self.wrong_type(node, key, t.TYPE_MAPPING, hint)
            return []
        out: list[tuple[yaml.ScalarNode, yaml.Node]] = []
        for key_node, value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and not is_null(key_node) and str(key_node.value).strip():
                out.append((key_node, value))
            else:
                self.wrong_type(key_node, key, t.TYPE_TEXT)
        return out

    def items(self, node: yaml.Node, key: str, hint: str = "") -> list[yaml.Node]:
        """A list's item nodes; anything else is reported and read as empty."""
        if is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.wrong_type(node, key, t.TYPE_LIST, hint)
            return []
        return list(node.value)

    def text(self, node: yaml.Node | None, key: str) -> str | None:
        """A scalar as written (stripped); empty → None; a list or mapping is reported and ignored."""
        if node is None or is_null(node):
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.wrong_type(node, key, t.TYPE_TEXT)
            return None
        return str(node.value).strip() or None

    def texts(self, node: yaml.Node | None, key: str) -> tuple[str, ...]:
        """A list of scalars (`[a, b]`); a string or mapping is reported and ignored."""
        if node is None:
            return ()
        words = (self.text(item, key) for item in self.items(node, key, t.HINT_TEXT_LIST.format(key=key)))
        return tuple(w for w in words if w)
