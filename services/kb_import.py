"""Turn a FAQ kept in a spreadsheet (CSV) or JSON file into the knowledge folder's `faq.yaml`."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from services.errors import EndyError

FIELDS = ("category", "question", "answer", "keywords", "department", "link", "section")
MAX_QUESTION_CHARS = 300
_ALIASES = {
    "question": "question", "질문": "question",
    "answer": "answer", "답변": "answer", "답": "answer",
    "category": "category", "분류": "category", "카테고리": "category",
    "keywords": "keywords", "keyword": "keywords", "키워드": "keywords",
    "department": "department", "담당": "department", "부서": "department", "담당부서": "department",
    "link": "link", "링크": "link",
    "section": "section", "섹션": "section", "문서": "section",
}  # fmt: skip
_DELIMITERS = ",;\t"
_SNIFF_CHARS = 64 * 1024
_KEYWORD_SEPARATORS = re.compile(r"[,;·|]")
# Slack renders links as <url|text>: these characters would break the link Endy shows.
_LINK_FORBIDDEN = re.compile(r"[\s|<>]")
_READABLE = {".csv": "csv", ".tsv": "csv", ".json": "json"}

_Row = tuple[int, dict[str, object]]


class FaqImportError(EndyError):
    """The file cannot be imported at all (unsupported, unreadable, no question/answer columns); Korean message."""


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A skipped row: its number (CSV: spreadsheet row, header = 1; JSON: index + 1) and why, in Korean."""

    row: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The usable FAQ entries (faq.yaml keys, empty ones omitted), the skipped rows and the text encoding used."""

    entries: list[dict[str, object]]
    problems: list[ImportProblem]
    encoding: str


def import_faq(path: Path) -> ImportResult:
    """Read a CSV or JSON FAQ file; bad rows become problems, an unusable file raises FaqImportError."""
    kind = _READABLE.get(path.suffix.lower())
    if kind is None:
        raise FaqImportError(_unsupported_message(path))
    text, encoding = _read_text(path)
    rows, problems = _csv_rows(text) if kind == "csv" else _json_rows(text)
    entries, row_problems = _validate(rows)
    problems = sorted(problems + row_problems, key=lambda p: p.row)
    return ImportResult(entries=entries, problems=problems, encoding=encoding)


def _unsupported_message(path: Path) -> str:
    """Why this file type is refused, with what to do instead."""
    if path.suffix.lower() in {".xlsx", ".xls", ".xlsm", ".ods"}:
        return (
            f"{path.name}: 엑셀 파일은 바로 읽을 수 없어요. 'CSV UTF-8(쉼표로 분리)' 형식으로 저장한 뒤 가져와 주세요."
        )
    return f"{path.name}: 지원하지 않는 파일 형식이에요. .csv 또는 .json 파일을 주세요."


def _read_text(path: Path) -> tuple[str, str]:
    """The file's text and the encoding that decoded it: UTF-8 (with or without BOM), then cp949 (EUC-KR)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise FaqImportError(f"{path}: 파일을 읽을 수 없어요 ({err.strerror}).") from None
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not text.strip():
            raise FaqImportError(f"{path.name}: 파일이 비어 있어요.")
        if encoding == "utf-8-sig" and not raw.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
        return text, encoding
    raise FaqImportError(
        f"{path.name}: 글자 인코딩을 알 수 없어요. 엑셀에서 'CSV UTF-8(쉼표로 분리)' 형식으로 다시 저장해 주세요."
    )


def _column(name: object) -> str | None:
    """The faq.yaml key a column or JSON key stands for (case-, space- and BOM-insensitive)."""
    return _ALIASES.get("".join(str(name).replace("\ufeff", "").split()).casefold())


def _csv_rows(text: str) -> tuple[list[_Row], list[ImportProblem]]:
    """Data rows keyed by faq.yaml key; the first non-blank record is the header and numbering follows the sheet."""
    for delimiter in _delimiters(text):
        records = _records(text, delimiter)
        start = next((i for i, record in enumerate(records) if any(cell.strip() for cell in record)), 0)
        header = [_column(cell) for cell in records[start]] if records else []
        if "question" in header and "answer" in header:
            rows = [(number, _by_header(header, record)) for number, record in enumerate(records, start=1)]
            return rows[start + 1 :], []
    raise FaqImportError(
        "질문과 답변 열을 찾지 못했어요. 첫 행에 '질문'과 '답변'(또는 question, answer) 제목을 넣어 주세요."
    )


def _delimiters(text: str) -> list[str]:
    """The delimiter csv.Sniffer guesses first (comma if it cannot), then the others; the header decides."""
    try:
        sniffed = csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    return [sniffed, *(d for d in _DELIMITERS if d != sniffed)]


def _records(text: str, delimiter: str) -> list[list[str]]:
    """Every CSV record; only the delimiter is taken from the sniffer, quoting stays Excel's."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), dialect="excel", delimiter=delimiter))
    except csv.Error as err:
        raise FaqImportError(f"CSV를 읽을 수 없어요 ({err}).") from None


def _by_header(header: list[str | None], record: list[str]) -> dict[str, object]:
    """A record's cells under their faq.yaml keys; the first column of a key wins, unknown columns are ignored."""
    row: dict[str, object] = {}
    for key, cell in zip(header, record, strict=False):
        if key is not None and key not in row:
            row[key] = cell
    return row


def _json_rows(text: str) -> tuple[list[_Row], list[ImportProblem]]:
    """Objects of a JSON list (or of {"faq": [...]}) keyed by faq.yaml key, numbered index + 1."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FaqImportError(f"JSON 형식이 올바르지 않아요 ({err.lineno}행 {err.colno}열: {err.msg}).") from None
    items = data.get("faq") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FaqImportError('JSON은 FAQ 항목의 목록이거나 {"faq": [...]} 형태여야 해요.')
    rows: list[_Row] = []
    problems: list[ImportProblem] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            rows.append((number, _by_keys(item)))
        else:
            problems.append(ImportProblem(number, "항목이 객체({...})가 아니에요"))
    return rows, problems


def _by_keys(item: Mapping[str, object]) -> dict[str, object]:
    """A JSON object's values under their faq.yaml keys (first spelling wins)."""
    row: dict[str, object] = {}
    for name, value in item.items():
        key = _column(name)
        if key is not None and key not in row:
            row[key] = value
    return row


def _validate(rows: list[_Row]) -> tuple[list[dict[str, object]], list[ImportProblem]]:
    """Clean every row; rows with a problem are reported and skipped, entirely blank rows are skipped silently."""
    entries: list[dict[str, object]] = []
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        entry = _clean(raw)
        if not entry:
            continue
        reasons = _reasons(entry, seen)
        if reasons:
            problems.append(ImportProblem(number, "; ".join(reasons)))
            continue
        seen[str(entry["question"])] = number
        entries.append(entry)
    return entries, problems


def _clean(raw: Mapping[str, object]) -> dict[str, object]:
    """faq.yaml keys in order, values trimmed, the question on one line, keywords split; empty values omitted."""
    entry: dict[str, object] = {}
    for key in FIELDS:
        value = raw.get(key)
        cleaned: object
        if key == "keywords":
            cleaned = _keywords(value)
        elif key == "question":
            cleaned = " ".join(_text(value).split())
        else:
            cleaned = _multiline(_text(value))
        if cleaned:
            entry[key] = cleaned
    return entry


def _text(value: object) -> str:
    """A cell or JSON value as text (None is empty)."""
    return "" if value is None else str(value)


def _multiline(text: str) -> str:
    """Unix line ends and no trailing spaces (both would keep YAML from writing a readable `|` block)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _keywords(value: object) -> list[str]:
    """Keywords from a list or from one cell separated by , ; · or |, trimmed and without repeats."""
    parts = [_text(v) for v in value] if isinstance(value, list) else _KEYWORD_SEPARATORS.split(_text(value))
    return list(dict.fromkeys(" ".join(part.split()) for part in parts if part.strip()))


def _reasons(entry: Mapping[str, object], seen: Mapping[str, int]) -> list[str]:
    """Why a cleaned row cannot be used (empty when it can)."""
    question = _text(entry.get("question"))
    reasons = []
    if not question:
        reasons.append("질문이 비어 있어요")
    elif len(question) > MAX_QUESTION_CHARS:
        reasons.append(f"질문이 너무 길어요 ({len(question)}자, 최대 {MAX_QUESTION_CHARS}자)")
    if not entry.get("answer"):
        reasons.append("답변이 비어 있어요")
    link_problem = _link_problem(_text(entry.get("link")))
    if link_problem:
        reasons.append(link_problem)
    if question in seen:
        reasons.append(f"{seen[question]}행과 같은 질문이에요")
    return reasons


def _link_problem(link: str) -> str | None:
    """Why a link cannot be shown in Slack (None when it is fine or absent)."""
    if not link:
        return None
    if _LINK_FORBIDDEN.search(link):
        return "링크에 공백이나 |, <, > 문자가 들어 있어요"
    try:
        parts = urlsplit(link)
    except ValueError:
        return "링크 주소 형식이 올바르지 않아요"
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return "링크는 http:// 또는 https://로 시작하는 주소여야 해요"
    return None


class _FlowList(list[str]):
    """A keyword list, written inline as `[a, b]` like the hand-written faq.yaml."""


class _FaqDumper(yaml.SafeDumper):
    """SafeDumper writing multi-line text as `|` blocks and keyword lists inline."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text as a `|` block (PyYAML falls back to quotes when a block cannot hold it)."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def _represent_flow(dumper: yaml.SafeDumper, value: _FlowList) -> yaml.SequenceNode:
    """Keywords inline."""
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)


_FaqDumper.add_representer(str, _represent_str)
_FaqDumper.add_representer(_FlowList, _represent_flow)


def dump_faq_yaml(entries: list[dict[str, object]]) -> str:
    """The faq.yaml text: keys in FIELDS order, empty ones omitted, multi-line answers as `|` blocks."""
    blocks = []
    for entry in entries:
        item = {key: entry[key] for key in FIELDS if entry.get(key) not in (None, "", [])}
        keywords = item.get("keywords")
        if isinstance(keywords, list):
            item["keywords"] = _FlowList(_text(k) for k in keywords)
        block: str = yaml.dump([item], Dumper=_FaqDumper, allow_unicode=True, sort_keys=False, width=1 << 30)
        blocks.append(block)
    return "\n".join(blocks) or "[]\n"  # a blank line between entries, as in the hand-written file


def write_faq_yaml(entries: list[dict[str, object]], out: Path, *, force: bool = False) -> None:
    """Write faq.yaml atomically (temporary file + replace); an existing file is kept unless force is set."""
    if out.exists() and not force:
        raise FaqImportError(f"{out} 파일이 이미 있어요. 덮어쓰려면 --force를 붙여 주세요.")
    text = dump_faq_yaml(entries)
    try:
        _atomic_write(out, text)
    except OSError as err:
        raise FaqImportError(f"{out}에 쓸 수 없어요 ({err.strerror}).") from None


def _atomic_write(out: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of it; the mode of a replaced file is kept."""
    out.parent.mkdir(parents=True, exist_ok=True)
    mode = out.stat().st_mode & 0o777 if out.is_file() else 0o644  # mkstemp's 0600 would hide it from the bot
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
