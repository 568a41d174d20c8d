"""The number finders behind services.privacy, and what every finder shares (services.pii_words has the rest).

Every quantifier is bounded and every number pattern starts with the character it consumes (the boundary
look-behind comes after it), so the regex engine skips ahead cheaply and no attempt runs long: the cost is
linear in the input. A finder gets its rule's label words and, in the second pass, what the first found.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import lru_cache
from typing import Protocol

Span = tuple[int, int]


class Labelled(Protocol):
    """What a finder reads from its rule."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Words that introduce a value a few characters later."""
        ...

    @property
    def near(self) -> tuple[str, ...]:
        """Words that count only right next to the value."""
        ...


Finder = Callable[[str, Labelled, tuple[Span, ...]], Iterator[Span]]


@lru_cache(maxsize=64)
def compiled(pattern: str) -> re.Pattern[str]:
    """The pattern compiled once (ASCII classes, case-insensitive)."""
    return re.compile(pattern, re.ASCII | re.IGNORECASE)


GLUE = "\ue000"  # our placeholders become runs of this in the view: opaque, glued to their neighbours
AN = "0-9A-Za-z\ue000"  # a character a number or name may not touch: alphanumeric, or a placeholder
HG = "가-힣\ue000"
# \b is useless next to Hangul (a word character), so numbers are delimited explicitly; _B goes right after a
# number's first character: it must not continue a date, version, IP or order number such as ORD-20240315-0001.
_B = rf"(?<![{AN}].)(?<![{AN}][-._].)"
_POST = rf"(?![{AN}])(?![-._][{AN}])"
_S = r"(?:\s?[-._/]\s?|\s{1,2})"  # one separator inside a number: - . _ / (spaced or not), a space or two
_HS = r"\s?[-._]\s?"
_AMOUNT = r"(?!\s?(?:원|만원|만(?![가-힣])|억|천|%|달러|불|엔))"  # 만 of 만들다 is no amount
_NO_AMOUNT_AFTER = compiled(_AMOUNT)
COUNT = (  # a count or an amount follows: not a building number or a plate
    r"(?!\s?(?:원|만|억|천|%|명|개|건|회|번(?!지)|년|월|일|시|분|초|배|위|등|대|주|호|층|가지|개월|달|박|살|세|인|부"
    r"|점|장|차|권|평|km|kg|cm|mm|m\b|GB|MB))"
)
REGIONS = "서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
_REGION_BEFORE = compiled(rf"(?<![{HG}])(?:{REGIONS})\s?\Z")
# label → value: no digits, letters or placeholder between, except a log key's suffix (acct_no=, card_no:)
_GAP = compiled(
    rf"(?:\s?[_-]?(?:no|num|number)(?![A-Za-z])\.?)?(?:\s?\((?=[^()\n]{{0,9}}[가-힣]|[A-Za-z\s]{{1,10}}\))[^()\n\[\]@]{{1,10}}\))?[^{AN}@\[\]\n]{{0,16}}+"
)  # also a note in brackets after the label: "사원번호(8자리) 20230417", "여권번호(영문 포함): …"
_NEAR_GAP = compiled(r"\s?[:(/,|\t]?\s?")  # also a CSV or table cell: "국민,004501-…", "| 국민 | …"
_LIST_SEP = compiled(r"\s?(?:[,/&]|및|와|과|또는)\s?")
_AFTER_GLUE = r"\s?\(?\s?(?:으로|로|은|는|이|가|에|:)?\s?"
_MAX_LISTED = 8
_DIGITS = compiled(r"[0-9]+")
NON_DIGIT = compiled(r"[^0-9]")
HINT = compiled(r"[0-9@]|[(\[{]\s?at\s?[)\]}]")  # every finder needs a digit or an at-sign
EMAIL_HINT = compiled(r"[0-9@]|[(\[{]\s?at\s?[)\]}]|골뱅이|앳|\sat\s")  # or an e-mail's spelled-out at
_AT_WORD = compiled(r"[(\[{]\s?at\s?[)\]}]")


def _words(words: tuple[str, ...]) -> str:
    """An alternation of label words; English ones case-insensitive after a first letter given in both cases."""
    # Every branch starts with a literal, so the engine can skip to a possible first character: ~4x faster than
    # a global IGNORECASE. No (?<!\[) for our own placeholders: a gap never crosses "]" ("[사번] 123").
    english = [w for w in words if w[:1].isascii() and w[:1].isalpha()]
    cased = [f"{w[0].lower()}(?i:{w[1:]})|{w[0].upper()}(?i:{w[1:]})" for w in english]
    return "(?:" + "|".join([w for w in words if w not in english] + cased) + ")"


@lru_cache(maxsize=32)
def label_regex(words: tuple[str, ...], tail: str = "") -> re.Pattern[str]:
    """Any of the label words (then ``tail``), compiled once."""
    return re.compile(_words(words) + tail, re.ASCII)


def label_spans(view: str, words: tuple[str, ...]) -> list[Span]:
    """Where the label words stand in the view, in order."""
    return [label.span() for label in label_regex(words).finditer(view)]


_VALUE_WINDOW = 96  # longer than any item and the look-ahead after it


def _match_after_label(item: re.Pattern[str], view: str, pos: int) -> Span | None:
    """The item at ``pos`` right after its label. A label glued to its value by a dot or dash ("사원 No.E255050",
    "여권no.M44202910") would read as one longer code to the item's own boundary check, so the item is then matched
    as if the label were not there."""
    if pos >= 2 and view[pos - 1] in "-._" and view[pos - 2].isascii() and view[pos - 2].isalnum():
        m = item.match(view[pos - 1 : pos + _VALUE_WINDOW], 1)
        return None if m is None else (pos - 1 + m.start(), pos - 1 + m.end())
    m = item.match(view, pos)
    return None if m is None else m.span()


def _listed(view: str, pos: int, item: re.Pattern[str]) -> Iterator[Span]:
    """The item at ``pos`` and those listed right after it (``A1, A2 / A3``)."""
    first = _match_after_label(item, view, pos)
    if first is None:
        return
    yield first
    pos = first[1]
    for _ in range(_MAX_LISTED - 1):
        sep = _LIST_SEP.match(view, pos)
        if sep is None:
            return
        m = item.match(view, sep.end())
        if m is None:
            return
        yield m.span()
        pos = m.end()


def _introduced(view: str, rule: Labelled, item: re.Pattern[str]) -> Iterator[Span]:
    """Items after one of the rule's labels (a short gap allowed) or near words (right after), and the items in
    the columns labels head in a pasted table or CSV."""
    for words, gap in ((rule.labels, _GAP), (rule.near, _NEAR_GAP)):
        if words:
            labels = label_spans(view, words)
            for _, end in labels:
                skipped = gap.match(view, end)
                yield from _listed(view, skipped.end() if skipped else end, item)
            if words is rule.labels and labels:
                for cell in _column_cells(view, labels):
                    m = item.match(view, cell)
                    if m is not None:
                        yield m.span()


_CELL_SEPARATORS = "|\t,"
_HEADER_CELL = 16  # a header cell holds the label and little else ("여권번호", "사번(8자리)")
_HEADER_LINE = 200  # a longer line is prose (or a log), not a header row
_MAX_ROWS = 50
_TEXT_PER_HEADER = 128
# What may follow the label in its header cell: a number word, a note in brackets ("사번(8자리)"), not another
# word ("여권 만료일" heads the expiry dates, not passports)
_HEADER_REST = compiled(r"\s?[_-]?(?:번호|no\.?|num|number|#|id)?\s?(?:\([^()\n]{0,10}\))?\s?")


def _column_cells(view: str, labels: list[Span]) -> Iterator[int]:
    """Where the cells below header cells holding a label begin, row by row, while the rows keep the header's
    separator (``|`` of a pasted table, a tab, or a CSV comma) and hold no label themselves. Each header line is
    read once for all its label cells, and a row with a label ends the rows above it: linear in the view."""
    starts = [start for start, _ in labels]
    for line_end, sep, columns in _headers(view, labels):
        row = line_end + 1
        for _ in range(_MAX_ROWS):
            row_end = view.find("\n", row, row + _HEADER_LINE)
            row_end = min(len(view), row + _HEADER_LINE) if row_end < 0 else row_end
            k = bisect_left(starts, row)
            if sep not in view[row:row_end] or (k < len(starts) and starts[k] < row_end):
                break
            yield from _cells(view, row, row_end, sep, columns)
            row = row_end + 1


def _headers(view: str, labels: list[Span]) -> Iterator[tuple[int, str, set[int]]]:
    """(line end, separator, columns) of each line where labels stand alone in cells, as a table's header."""
    headers: dict[int, tuple[int, str, set[int]]] = {}  # line start -> (line end, separator, label columns)
    line = line_end = -1
    # Labels looked at, at most: plenty for real text (72 in an 8 KiB log record), bounded for a flood of labels
    budget = 8 + len(view) // _TEXT_PER_HEADER
    for start, end in labels[:budget]:
        if start > line_end:  # labels come in order: a line's bounds are looked up once
            line = view.rfind("\n", max(0, start - _HEADER_LINE), start) + 1
            line_end = view.find("\n", end, end + _HEADER_LINE)
            if line_end < 0 or (line == 0 and start > _HEADER_LINE):
                line_end = end  # no line break close by: not a header line
                continue
            header = view[line:line_end]
            headers[line] = (line_end, next((c for c in _CELL_SEPARATORS if c in header), ""), set())
        if line not in headers or not headers[line][1]:
            continue
        _, sep, columns = headers[line]
        cell_start = view.rfind(sep, line, start) + 1 or line
        cell_end = view.find(sep, end, line_end)
        cell_end = line_end if cell_end < 0 else cell_end
        if cell_end - cell_start <= _HEADER_CELL and _HEADER_REST.fullmatch(view, end, cell_end) is not None:
            columns.add(view.count(sep, line, start))
    return (header for header in headers.values() if header[2])


def _cells(view: str, row: int, row_end: int, sep: str, columns: set[int]) -> Iterator[int]:
    """Where the row's cells in ``columns`` begin (leading spaces skipped)."""
    cells = [row]
    last = max(columns)
    while len(cells) <= last and (at := view.find(sep, cells[-1], row_end)) >= 0:
        cells.append(at + 1)
    for column in columns:
        if column < len(cells):
            cell = cells[column]
            while cell < row_end and view[cell] == " ":
                cell += 1
            yield cell


@lru_cache(maxsize=16)
def _follower(labels: tuple[str, ...], near: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_AFTER_GLUE + _words(labels + near), re.ASCII)


def _followed(view: str, end: int, rule: Labelled) -> bool:
    """Whether one of the rule's words comes right after ``end`` (``… 카드로``, ``… (카카오뱅크)``)."""
    return _follower(rule.labels, rule.near).match(view, end) is not None


def _preceding(view: str, rule: Labelled, tail: re.Pattern[str]) -> Iterator[Span]:
    """Group ``n`` of ``tail`` (anchored at the end) right before each of the rule's words: one look per word."""
    for label in label_regex(rule.labels + rule.near).finditer(view):
        m = tail.search(view, max(0, label.start() - 40), label.start())
        if m is not None:
            yield m.span("n")


def _with_region(view: str, start: int, end: int) -> Span:
    """The span, widened to a region name written just before it (서울 12가3456)."""
    region = _REGION_BEFORE.search(view, max(0, start - 3), start)
    return (region.start() if region else start), end


def pattern_finder(pattern: re.Pattern[str], region: bool = False) -> Finder:
    """A finder yielding every match of ``pattern`` (widened to a region name before it when asked)."""

    def find(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
        for m in pattern.finditer(view):
            yield _with_region(view, *m.span()) if region else m.span()

    return find


# "E20419 아니고 E20491", "M20384756 → M593B1048", "(구) M60451182 (신) M604F1182"
_CORRECTION = r"아니|말고|→|->|=>|정정|수정|바뀌|바뀜|바뀐|변경|오타|틀렸|\(신\)|새\s?번호"


@lru_cache(maxsize=16)
def _correction(item: str) -> re.Pattern[str]:
    """A correction word, then another item, on the same line shortly after an item."""
    return compiled(rf"[^\n\ue000]{{0,16}}?(?:{_CORRECTION})[^\n\ue000]{{0,24}}?(?P<next>{item})")  # not over a mask


@lru_cache(maxsize=16)
def _changed_to(item: str) -> re.Pattern[str]:
    """ "X 에서 Y 로": the next item right after 에서 and right before 로 (에서 alone is the commonest particle)."""
    return compiled(rf"\s{{0,2}}에서\s{{0,2}}(?P<next>{item})\s?(?:으로|로)(?![가-힣])")


@lru_cache(maxsize=16)
def _next_item(item: str) -> re.Pattern[str]:
    """The next item on the same line, shortly after."""
    return compiled(rf"[^\n\ue000]{{1,24}}?(?P<next>{item})")


_SHAPE = str.maketrans("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "9" * 10 + "A" * 52)
_NOT_SHAPE = compiled(r"[^0-9A-Za-z]")


def _shape(text: str) -> str:
    """Letters as A and digits as 9, separators dropped: K20190024 and K20190042 share one."""
    return _NOT_SHAPE.sub("", text).translate(_SHAPE)


def _corrected(view: str, span: Span, item: re.Pattern[str]) -> Iterator[Span]:
    """The identifier that corrects one (close after a correction word: "PT20-067 아니고 2004325", "M22392159 →
    R667C6425"), and the next one of the very same shape on the line ("K20190024? 아 K20190042 였나"), repeatedly."""
    for _ in range(_MAX_LISTED):
        m = _correction(item.pattern).match(view, span[1]) or _changed_to(item.pattern).match(view, span[1])
        if m is not None:
            yield m.span("next")
            span = m.span("next")
            continue
        m = _next_item(item.pattern).match(view, span[1])
        if m is None or _shape(m["next"]) != _shape(view[span[0] : span[1]]):
            return
        yield m.span("next")
        span = m.span("next")


def _with_corrections(view: str, spans: Iterable[Span], item: re.Pattern[str]) -> list[Span]:
    """The spans (each once) and the items correcting or repeating each; a chain stops at a span of the list (its
    own chain goes on from there), so each item is looked at a bounded number of times."""
    introduced = list(dict.fromkeys(spans))
    starts = {start for start, _ in introduced}
    out = list(introduced)
    for span in introduced:
        for more in _corrected(view, span, item):
            if more[0] in starts:
                break
            starts.add(more[0])
            out.append(more)
    return out


@lru_cache(maxsize=16)
def _before_label(item: str, labels: tuple[str, ...]) -> re.Pattern[str]:
    return compiled(rf"(?P<item>{item}){_AFTER_GLUE}(?:(?:←|<-|<=)\s?)?(?:(?:새|신규|변경된|바뀐)\s?)?{_words(labels)}")


def labelled_finder(
    item: re.Pattern[str], alone: re.Pattern[str] | None = None, before: re.Pattern[str] | None = None
) -> Finder:
    """``item`` after a label (and the one correcting it), ``alone`` wherever it stands, or ``before`` right before
    a label."""

    def find(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
        yield from _with_corrections(view, _introduced(view, rule, item), item)
        if alone is not None:
            yield from (m.span() for m in alone.finditer(view))
        if before is not None:
            yield from (m.span("item") for m in _before_label(before.pattern, rule.labels).finditer(view))

    return find


# ------------------------------------------------------------------------------------------------ patterns


_SSH_PATH = compiled(r":[A-Za-z0-9_.~-]+/")  # git@gitlab.example.com:platform/auth.git is a remote, not a mailbox


def emails(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """E-mail addresses, also spaced or spelled out: ``a @ b . com``, (at) / [at], 골뱅이 / 앳, at … dot."""
    if "@" in view or _AT_WORD.search(view):
        yield from (m.span() for m in EMAIL.finditer(view) if _SSH_PATH.match(view, m.end()) is None)
    if "골뱅이" in view or "앳" in view or _SPELLED_AT.search(view):
        yield from (m.span() for m in EMAIL_SPELLED.finditer(view))


_LOCAL = r"[A-Za-z0-9._%+-]"
_LOCAL_OR_GLUE = r"[A-Za-z0-9._%+\ue000-]"
_LOCAL_PART = rf"{_LOCAL}(?<!{_LOCAL_OR_GLUE}.){_LOCAL}{{0,63}}+(?:\s\.\s{_LOCAL}{{1,63}}+){{0,3}}"  # "nayeon . jang"
_AT = r"(?:\s{0,2}@\s{0,2}|\s?[(\[{]\s?at\s?[)\]}]\s?)"  # also "hong (at) encar.com", "hong[at]encar.com"
# also a comma typed for the last dot before a common top-level domain ("hong@naver,com")
_DOT = r"(?:\.|\s\.\s|\s?[(\[{]\s?dot\s?[)\]}]\s?|,(?=(?:com|net|org|kr)(?![A-Za-z0-9])))"
_LABEL = r"[A-Za-z0-9-]{1,63}"
EMAIL = compiled(rf"{_LOCAL_PART}{_AT}{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}{_DOT}[A-Za-z]{{2,24}}(?![A-Za-z0-9\ue000-])")
# Spelled out: "jiho.han 골뱅이 gmail.com", "song 앳 naver 닷 com"; a bare English "at" only with a spelled "dot"
# too or a mail host ("look at google.com" is no address).
_MAIL_HOSTS = "naver|gmail|daum|hanmail|kakao|nate|outlook|hotmail|yahoo|icloud"  # "hong at naver.com"
_SPELLED_AT = compiled(r"\sat\s")
_SPELLED_DOT = r"\s?(?:닷|쩜|점)\s?|\s(?:dot)\s"
_SPELLED_COM = r"\s?(?:닷컴|쩜컴|점컴)(?![가-힣])"  # "gmail 닷컴"
EMAIL_SPELLED = compiled(
    rf"{_LOCAL_PART}(?:\s?(?:골뱅이|앳)\s?{_LABEL}(?:(?:{_DOT}|{_SPELLED_DOT}){_LABEL}){{0,8}}(?:{_SPELLED_COM})?"
    rf"|\sat\s{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}?\sdot\s{_LABEL}(?:(?:{_DOT}|\sdot\s){_LABEL}){{0,8}}"
    rf"|\sat\s(?:{_MAIL_HOSTS})(?:\.[A-Za-z]{{2,6}}){{1,2}})"
    rf"(?:(?<=[A-Za-z]{{2}})|(?<=컴))(?![A-Za-z0-9\ue000-])"
)
_NSN = r"(?:1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|50[2-8])"  # mobile, Seoul, area codes, VoIP, 050X
_PHONE_TAIL = rf"(?:{_S})?\d{{3,4}}(?:{_S})?\d{{4}}(?![{AN}])(?![-._][0-9\ue000])"
_INTL = rf"(?:{_S})?(?:\(0\)\s?|0)?{_NSN}{_PHONE_TAIL}"
# "8210-4456-2213": +82 without the plus, glued to a mobile prefix with its leading 0 dropped; only grouped 2-4-4
# (an ungrouped 82… run is an order or a reference number as often).
_GLUED_82 = rf"8(?<![{AN}+.-]8)21[016789]{_S}\d{{3,4}}{_S}\d{{4}}(?![{AN}])(?![-._][0-9\ue000])"
# Company representative numbers (1588-xxxx, 1644-xxxx …) are not personal: no branch for them.
# "01O-…": a letter O typed for a zero in a mobile number (only there: 0 and O share a key's look, not its place).
_O = "(?-i:[0O])"  # capital O only: a lower-case o is a letter in English text, and every one would be tried
_TYPO_MOBILE = rf"(?-i:O)(?<![{AN}].)1{_O}|0{_B}1(?-i:O)"
PHONE = compiled(  # each branch starts with a literal character, so the engine skips ahead to one
    rf"\((?<![{AN}]\()\+82\){_INTL}|\+(?<![{AN}+]\+)82{_INTL}|8(?<![{AN}+.-]8)2(?={_S}){_INTL}|{_GLUED_82}"
    rf"|\((?<![{AN}]\()0{_NSN}\){_PHONE_TAIL}|0{_B}{_NSN}\)?{_PHONE_TAIL}"
    rf"|(?:{_TYPO_MOBILE}){_PHONE_TAIL}"
)
# "0105 123 9987": a mobile number grouped wrongly (a slipped space or dash); its digits still count: 11 after
# 010, 10 or 11 after the older 011/016-019 prefixes. Each group holds two digits at least.
_REGROUPED_MOBILE = compiled(  # only groupings PHONE does not take: digits glued to the prefix, or a group of 2, 5 or 6
    rf"0{_B}1[016789](?:\d{{1,3}}(?:{_S}\d{{2,6}}){{1,3}}|{_S}(?:\d{{2}}|\d{{5,6}})(?:{_S}\d{{2,6}}){{0,2}})"
    rf"(?![{AN}])(?![-._][0-9\ue000])"
)
# "앞은 010이고 뒤는 3928-5571": a mobile number told in two halves (both masked).
_PHONE_SPLIT = compiled(
    rf"0(?<![{AN}].)1[016789](?![0-9\ue000])[^0-9\n\[\]\ue000]{{1,12}}?(?:뒤|뒷)[^0-9\n\[\]\ue000]{{0,6}}?"
    rf"(?P<back>\d{{3,4}}-?\d{{4}})(?![{AN}])"
)
_KO_DIGIT = "[공영일이삼사오육칠팔구]"
# "공일공 팔팔이삼 사사칠일": a mobile number in Korean digit words (it always starts 공일공/공일육 …).
_PHONE_WORDS = compiled(
    rf"[공영](?<![가-힣].)일[공영육칠팔구](?:{_S})?{_KO_DIGIT}{{3,4}}(?:{_S})?{_KO_DIGIT}{{4}}(?![가-힣])"
)
PHONE_HINT = compiled(r"[0-9]|[공영]일")


# A signature's "M.010 9497 1307", "T.02-…", "H.P.010…": the letter and dot are no identifier the number continues
_SIGNATURE_PHONE = compiled(rf"[MTPH](?<![A-Za-z0-9].)(?:\.P)?\.\s?(?P<n>0{_NSN}\)?{_PHONE_TAIL})")


def phones(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """Phone numbers (also with an O typed for a zero), a mobile number told in halves, or in digit words."""
    for m in PHONE.finditer(view):  # a bare run right after a reference label is that reference: 태그번호 0180768980
        mobile = len(m.group()) == 11 and m.group().startswith("010")  # 현금영수증 01012345678 is a phone
        if mobile or not (m.group().isdigit() and _right_after_reference(view, m.start())):
            yield m.span()
    yield from (m.span("n") for m in _SIGNATURE_PHONE.finditer(view))
    for m in _REGROUPED_MOBILE.finditer(view):
        digits = len(NON_DIGIT.sub("", m.group()))
        if digits == 11 or (digits == 10 and m.group()[2] != "0"):
            yield m.span()
    for m in _PHONE_SPLIT.finditer(view):
        yield m.start(), m.start() + 3
        yield m.span("back")
    if "공일" in view or "영일" in view:
        yield from (m.span() for m in _PHONE_WORDS.finditer(view))


CARD = compiled(
    rf"[0-9]{_B}(?:\d{{3}}(?:{_S}\d{{4}}){{3}}(?:{_S}\d{{3}})?|\d{{3}}{_S}\d{{6}}{_S}\d{{4,5}}|\d{{12,18}}){_POST}"
)
_ACCOUNT = rf"[0-9]{_B}(?:\d{{1,5}}(?P<sep>{_S})\d{{1,7}}(?:(?P=sep)\d{{1,7}}){{0,2}}|\d{{9,13}}){_POST}"
ACCOUNT = compiled(_ACCOUNT)
_ACCOUNT_TAIL = compiled(rf"(?P<n>{_ACCOUNT}){_AFTER_GLUE}\Z")
LICENCE = compiled(rf"(?:1{_B}[1-9]|2{_B}[0-8]){_HS}\d{{2}}{_HS}\d{{6}}{_HS}\d{{2}}{_POST}")  # 2-2-6-2, region 11-28
_LICENCE_OLD = compiled(  # 서울 12-345678-90, 경기-24-315590-59; glued to its label too: 면허번호경남 90-…
    rf"(?:{REGIONS})(?:(?<![{HG}]..)|(?<=면허..)|(?<=번호..))[-\s]?\d{{2}}{_HS}\d{{6}}{_HS}\d{{2}}{_POST}"
)
LICENCE_ANY = compiled(rf"[0-9]{_B}\d(?:{_S})?(?:\d{{2}}(?:{_S})?)?\d{{6}}(?:{_S})?\d{{2}}{_POST}")
_SP = r"[-\s]?"  # other countries' shapes too; also read out in groups: "M 2938 4710", "M-4829-1038", "M 384 A 2019"
# The document type printed before the number (PM 복수, PS 단수, PO 관용, PD 외교): "PM3021948", "PM M12345678".
_DOC_TYPE = r"(?<=[Pp])[MSODmsod][-\s]?(?:[A-Za-z]\d{8}|[A-Za-z]\d{3}[A-Za-z]\d{4}|\d{7,8})"
PASSPORT = compiled(
    rf"[A-Za-z]{_B}(?:{_SP}\d{{4}}{_SP}\d{{4}}|\d{{7}}[A-Za-z]|{_SP}\d{{3}}{_SP}[A-Za-z]{_SP}\d{{4}}"
    rf"|[A-Za-z]?\d{{7,9}}|{_DOC_TYPE}){_POST}"
)
PASSPORT_LABELLED = compiled(  # after a label only: other countries' digits-only and two-letter shapes
    rf"{PASSPORT.pattern}|[0-9]{_B}\d{{6,8}}{_POST}|[A-Za-z]{_B}[A-Za-z]\d{{6,7}}{_POST}"
)
_PARTICLE = (
    r"(?:이|가|을|를|은|는|의|에|도|만|과|와|로|으로|에서|에게|까지|부터|씩|째|쯤|짜리|정도|입니다|이에요|예요|요)"
)
EMPLOYEE = compiled(  # also with a slipped space inside: "k2019 0042", "K2021 -0388"; a letter inside: "P64K289"
    rf"(?:[A-Za-z]{_B}[A-Za-z]{{0,3}}(?:-[A-Za-z]{{1,3}})?[-\s]?(?:\d{{2}}[A-Za-z]\d{{3,4}}|\d{{3,10}}|\d{{2}}(?=-\d))"
    rf"(?:-\d{{2,6}}|\s-?\s?\d{{2,6}}){{0,2}}"
    rf"|[0-9]{_B}(?:\d{{3}}{_S}\d{{4}}|\d{{4,11}}(?:-\d{{2,6}}){{0,2}}|\d-\d{{3,6}}))"
    # a count only where the counter ends its word, or a particle follows it: "12시간", "30분이면" are counts, "명찰",
    # "분실", "시스템" are words after an ID
    rf"{_POST}(?!\s?(?:년|월|일|원|만|명|개|시|분)(?:간|월|원|분|초|반|말|경|{_PARTICLE}|(?![가-힣])))(?!\s?%)"
)
EMPLOYEE_ALONE = re.compile(rf"E(?<![{AN}-]E)N(?:C-?\d{{5,6}}|\d{{6}}|-\d{{4}}-\d{{3,4}})(?![{AN}])", re.ASCII)
# A staff code, whatever its label, where only a person's can stand: in brackets right after a title ("탁유진
# 파트장(LC77698)", "김하늘 캐셔 (sd174410)"), or right before an attendance event ("SD-2025-5587 지각 3회").
_TITLES = "팀장|파트장|부장|차장|과장|실장|점장|반장|조장|센터장|본부장|대리|주임|사원|매니저|책임|선임|수석|님"
_TITLE_END = rf"(?:{_TITLES}|그룹장|캐셔|기사|프로|인턴)"
_STAFF_CODE = r"[A-Za-z]{1,4}[-_]?\d{2,4}(?:-\d{2,6}){0,2}(?![0-9A-Za-z])|[A-Za-z]{1,4}\d{5,10}(?![0-9A-Za-z])"
_CODE_IN_BRACKETS = re.compile(rf"\(\s?(?P<item>{_STAFF_CODE})\s?\)")
# ... or in the next cell of a table row whose cell is a name and a title ("| 임승훈 부장 | TR69-653")
_CELL_TITLE = rf"(?:{_TITLES}|씨)"  # not 프로 or 기사 in a cell: | 맥북 프로 | A2338 |
_CODE_IN_CELL = re.compile(
    # starts at the cell separator (a literal class: the engine skips to the next one fast)
    rf"[|\t\n]\s?[가-힣]{{2,4}}\s?{_CELL_TITLE}\s?[|\t]\s?(?P<item>{_STAFF_CODE})\s?(?=[|\t\n]|\Z)"
)
_TITLE_BEFORE = re.compile(rf"(?<![가-힣]){_TITLE_END}\s?\Z|[가-힣]{{2,4}}\s{_TITLE_END}\s?\Z")
_ATTENDANCE = re.compile(r"(?:지각|결근|조퇴|무단\s?결근)")
_CODE_BEFORE_EVENT = re.compile(rf"(?<![0-9A-Za-z\ue000-])(?P<item>{_STAFF_CODE}|\d{{6,10}}(?![0-9]))\s?\Z")


def _a_day(code: str) -> bool:
    """A date written as digits (240531, 20240531): a day's attendance, not a person's number."""
    return code.isdigit() and (
        (len(code) == 6 and _a_date(code)) or (len(code) == 8 and code[:2] in ("19", "20") and _a_date(code[2:]))
    )


def employee_ids(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """Staff numbers after a label (and corrections), the ENC-… shape anywhere, and codes only a person has."""
    yield from _with_corrections(view, _introduced(view, rule, EMPLOYEE), EMPLOYEE)
    yield from (m.span() for m in EMPLOYEE_ALONE.finditer(view))
    for m in _CODE_IN_BRACKETS.finditer(view):  # each found from its bracket: the look back is bounded
        if _TITLE_BEFORE.search(view, max(0, m.start() - 8), m.start()) is not None:
            yield m.span("item")
    if "|" in view or "\t" in view:
        yield from (m.span("item") for m in _CODE_IN_CELL.finditer(view))
    for event in _ATTENDANCE.finditer(view):
        code = _CODE_BEFORE_EVENT.search(view, max(0, event.start() - 24), event.start())
        if code is not None and not _after_reference(view, code.start()) and not _a_day(code["item"]):
            yield code.span("item")


CORPORATE = compiled(rf"[0-9]{_B}(?:\d{{5}}(?:{_S})?\d{{7}}|\d{{2}}(?:{_S})?\d{{2}}(?:{_S})?\d{{5}}){_POST}")
_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
# A counter ends its word, or only a particle follows it: "3456명이 왔다" is a count, "12가3456 명의이전" (a title
# transfer), "… 대여", "… 회수", "… 일괄" are a plate and the word after it.
_PLATE_COUNT = rf"(?!\s?(?:원|만(?=\s?원)|억|천|명|개|건|년|월|일|회|대){_PARTICLE}?(?![가-힣]))(?!\s?%)"
PLATE = compiled(  # also "69소-2038", read out digit by digit, "12 가 3 4 5 6", and glued to its region: "서울12가3456"
    rf"[0-9](?<![{AN}].)\d{{1,2}}[-\s]?[{_PLATE_LETTERS}](?:[-\s]?\d{{4}}|\s?\d(?:\s\d){{3}})(?![{AN}]){_PLATE_COUNT}"
)


def driver_licences(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """2-2-6-2 numbers anywhere, the old 2-6-2 after a region name, and any grouping after a label."""
    yield from (m.span() for m in LICENCE.finditer(view))
    yield from (m.span() for m in _LICENCE_OLD.finditer(view))
    yield from _with_corrections(view, _introduced(view, rule, LICENCE_ANY), LICENCE_ANY)


# ------------------------------------------------------------------------------------------------ validated numbers

_REGNO = compiled(rf"(?P<birth>[0-9]{_B}\d{{5}})(?:{_S})?(?P<back>\d{{7}}){_POST}")
_SPLIT_GAP = r"[^0-9\n\[\]\ue000]"
_REG_LABEL = r"(?:주민|외국인|주번|a(?<![A-Za-z].)rc(?![A-Za-z]))(?:\s?(?:등록)?\s?(?:번호|증))?"
_FRONT = r"앞\s?(?:6\s?)?(?:자리|번호)?"
_BACK = r"(?:뒤|뒷)\s?(?:7\s?)?(?:자리|번호)?"
# After the label (one scan): 뒷자리 … 앞자리 told apart; only the front told ("주민번호 앞자리가 900101 이고 …",
# a birth date the label makes a registration number's); only the back ("주민번호 뒷자리는 1929581"). 앞 … 뒤 in
# that order is _REGNO_COUNTED's, label or not.
_PART_GAP = rf"{_SPLIT_GAP}{{0,6}}+"
_REGNO_TOLD = compiled(
    rf"(?P<label>{_REG_LABEL}){_SPLIT_GAP}{{0,8}}?(?:"
    rf"{_BACK}{_PART_GAP}(?P<back2>\d{{7}})(?![0-9\ue000]){_SPLIT_GAP}{{1,12}}?{_FRONT}{_PART_GAP}(?P<birth2>\d{{6}})"
    rf"(?![0-9\ue000])|{_FRONT}{_PART_GAP}(?P<birth>\d{{6}})(?![0-9\ue000])|{_BACK}{_PART_GAP}(?P<back>[1-8]\d{{6}})"
    rf"(?![0-9\ue000]))"
)
# "뒷자리 1846103 이요": the back part alone, no label: seven digits told as a number's 뒷자리 (a phone's or a card's
# are four).
_BACK_ALONE = compiled(rf"(?<![가-힣])뒷\s?(?:7\s?)?자리{_PART_GAP}(?P<back>[1-8]\d{{6}})(?![0-9\ue000])")
# ... unless another number's word stands before it ("계좌 뒷자리 1234567", "휴대폰 뒷자리 …")
_OTHER_NUMBER_BEFORE = compiled(
    r"(?:계좌|통장|카드|휴대폰|핸드폰|전화|폰|사번|차량|여권|면허|송장|주문|접수|티켓|회원|학번|군번)\s?(?:번호)?\s?\Z"
)
# "앞 6자리: 820207 / 뒤 7자리: 1282045", "앞 820215 / 뒤 2385171": with or without a label, a birth date and its 7th
# digit (or an FRN check digit) vouch; the parts may be on two lines.
_REGNO_COUNTED = compiled(
    rf"{_FRONT}{_SPLIT_GAP}{{0,6}}+(?P<birth>\d{{6}})(?![0-9\ue000])(?:{_SPLIT_GAP}|\n){{1,12}}?"
    rf"{_BACK}{_SPLIT_GAP}{{0,6}}+(?P<back>\d{{7}})(?![0-9\ue000])"
)
# "주민번호 840606-2******": the writer hid the rest; the birth date and the 7th digit are still theirs (only after
# a label: a number someone else already redacted is left as it is).
_REGNO_HIDDEN = compiled(
    rf"{_REG_LABEL}{_SPLIT_GAP}{{0,12}}?(?P<n>(?P<birth>[0-9]{_B}\d{{5}})(?:{_S})?(?P<g>\d))[*xX●○•#]{{4,8}}"
    rf"(?![{AN}*])"
)
_CENTURY = dict.fromkeys("1256", 1900) | dict.fromkeys("3478", 2000)  # 9/0 (born in the 1800s): nobody at work


def _born(birth: str, gender: str) -> bool:
    """A real past birth date in the century the 7th digit gives (no checksum: not used since Oct 2020)."""
    if gender not in _CENTURY:
        return False
    try:
        day = date(_CENTURY[gender] + int(birth[:2]), int(birth[2:4]), int(birth[4:6]))
    except ValueError:
        return False
    return day <= date.today()


def _a_date(birth: str) -> bool:
    """Whether YYMMDD is a date in some century (a label or a check digit vouches for the rest)."""
    for century in (1900, 2000):
        try:
            date(century + int(birth[:2]), int(birth[2:4]), int(birth[4:6]))
        except ValueError:
            continue
        return True
    return False


_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def _frn_checked(digits: str) -> bool:
    """The 외국인등록번호 check digit: (13 - weighted sum mod 11) mod 10. 법인등록번호 use another scheme (weights
    1,2,1,2…, mod 10) and an RRN's is (11 - sum mod 11) mod 10, so one in ten corporate numbers passes by chance: a
    법인/사업자 label before a number wins over this rule (services.privacy ranks it first)."""
    total = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=False))
    return (13 - total % 11) % 10 == int(digits[12])


# 7th digit, span, and what makes it count: WHOLE (a whole number: unless a business reference label stands before
# it), LABEL (only after its kind's label) or TOLD (told after a label or by its parts' digit counts: as it is)
_Registration = tuple[str, Span, int]
WHOLE, LABEL, TOLD = 0, 1, 2


def _labelled_parts(view: str, found: list[_Registration]) -> list[_Registration]:
    """After a 주민/외국인 label: a front or a back told alone, 뒤 … 앞, a number its writer hid; and 앞 … 뒤 with or
    without a label (not inside a number already found)."""
    parts = _told(view)
    if "앞" in view:
        for m in _REGNO_COUNTED.finditer(view):
            if _born(m["birth"], m["back"][0]) or (m["back"][0] in "5678" and _frn_checked(m["birth"] + m["back"])):
                parts += [(m["back"][0], m.span("birth"), TOLD), (m["back"][0], m.span("back"), TOLD)]
    if not found:
        return parts
    taken = sorted(span for _, span, _ in found)
    starts = [start for start, _ in taken]
    return [part for part in parts if not _inside_any(part[1][0], taken, starts)]


def _told(view: str) -> list[_Registration]:
    """The parts told after a label, and numbers their writers hid."""
    parts: list[_Registration] = []
    if "뒷" in view:
        parts += [
            (m["back"][0], m.span("back"), TOLD)
            for m in _BACK_ALONE.finditer(view)
            if _OTHER_NUMBER_BEFORE.search(view, max(0, m.start() - 12), m.start()) is None
        ]
    for m in _REGNO_TOLD.finditer(view):
        if m["back2"] and _born(m["birth2"], m["back2"][0]):
            parts += [(m["back2"][0], m.span("birth2"), TOLD), (m["back2"][0], m.span("back2"), TOLD)]
        elif m["birth"] and _a_date(m["birth"]):
            parts.append(("5" if m["label"][0] in "외aA" else "1", m.span("birth"), TOLD))  # 외국인, ARC
        elif m["back"]:
            parts.append((m["back"][0], m.span("back"), TOLD))
    for m in _REGNO_HIDDEN.finditer(view):
        if _born(m["birth"], m["g"]):
            parts.append((m["g"], m.span("n"), TOLD))
    return parts


def _inside_any(at: int, spans: list[Span], starts: list[int]) -> bool:
    """Whether ``at`` lies inside one of the sorted, non-overlapping spans."""
    k = bisect_right(starts, at) - 1
    return k >= 0 and at < spans[k][1]


_last_registrations: tuple[str, list[_Registration]] = ("", [])


def _registrations(view: str) -> list[_Registration]:
    """Every registration number (whole, split or hidden); the RRN and FRN rows share one scan per view."""
    global _last_registrations
    last = _last_registrations  # one read: another thread may replace it, never half-way
    if last[0] is view:
        return last[1]
    found: list[_Registration] = []
    for m in _REGNO.finditer(view):
        birth, back = m["birth"], m["back"]
        # A 7th digit 5-8 with a valid check digit is an FRN whatever the century says (960804-8721597: the
        # numbers issued before 2020 put 7/8 on people born in the 1900s too).
        if _born(birth, back[0]) or (back[0] in "5678" and _a_date(birth) and _frn_checked(birth + back)):
            found.append((back[0], m.span(), WHOLE))
        elif _a_date(birth):
            found.append((back[0], m.span(), LABEL))
    found += _labelled_parts(view, found)
    _last_registrations = (view, found)
    return found


_KEY_GAP = rf"(?:\s?[_-]?(?i:no|num|number)\.?)?[^{AN}@\[\]\n]{{0,16}}\Z"  # _GAP, read backwards from the value
# A business reference number's label right before a number ("주문일자-순번 240601-3000112", "문서번호
# 240611-0000123", "이체 거래번호 0012-2411-9981"): no registration number (unless its own label says so), no account.
_REFERENCE_WORDS = (
    r"(?:주문|문서|접수|결재|품의|발주|견적|계약|티켓|요청|예약|거래|승인|관리|전표|상품|품목|청구|증권|가맹점)\s?(?:번호|일자|코드|no|#)"
    r"|순번|일련번호|운?송장|등기(?:\s?번호)?|영수증|인보이스|바코드|품번|invoice|order|ticket|ref|barcode|sku|ean"
    r"|(?<![가-힣])항공권\s?번호|etkt(?:\s?nbr)?|e-?ticket|수하물\s?태그(?:\s?번호)?|(?<![가-힣])태그\s?번호|bag\s?tag"
)
_REFERENCE_BEFORE = compiled(rf"(?:{_REFERENCE_WORDS})[^{AN}@\[\]\n]{{0,12}}\Z")


def _after_reference(view: str, start: int) -> bool:
    """Whether a business reference label stands right before ``start``."""
    return _REFERENCE_BEFORE.search(view, max(0, start - 30), start) is not None


_REFERENCE_TIGHT = compiled(rf"(?:{_REFERENCE_WORDS})\s?[:#.]?\s?\Z")


def _right_after_reference(view: str, start: int) -> bool:
    """Whether a business reference label stands directly before ``start`` (``가맹점번호 026479871``)."""
    return _REFERENCE_TIGHT.search(view, max(0, start - 24), start) is not None


# A bank or account word right before a number: "새마을금고 9002085734515" is an account, whatever date it starts with.
# Only the account rule's own labels, so what the registration finder leaves the account finder takes.
_ACCOUNT_BEFORE = compiled(
    rf"(?:계좌|통장|은행|뱅크|새마을금고|신협|농협|수협|카뱅|케뱅|account|acct)(?:\s?번호)?[^{AN}@\[\]\n]{{0,6}}\Z"
)


def _after_account(view: str, start: int) -> bool:
    """Whether a bank or account word stands right before ``start``."""
    return _ACCOUNT_BEFORE.search(view, max(0, start - 16), start) is not None


def registration_numbers(genders: str) -> Finder:
    """주민/외국인등록번호 whose 7th digit is one of ``genders``, written whole or as 앞자리 … 뒷자리."""

    def find(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
        label = label_regex(rule.labels, _KEY_GAP) if rule.labels else None
        columns: set[int] | None = None  # cells under a header cell holding the label ("국적,성명,외국인등록번호")
        for gender, (start, end), counts in _registrations(view):
            if gender not in genders:
                continue
            if counts != TOLD and rule.labels and "\n" in view:
                if columns is None:
                    columns = set(_column_cells(view, label_spans(view, rule.labels)))
                if start in columns:
                    yield start, end
                    continue
            # After the kind's own label or log key (arc_no=, rrn=), a date in any century is enough. Looked up
            # only behind such numbers (rare), not over the view: "a", "r", "s" start half the words in English.
            if counts == TOLD or (
                counts == WHOLE and not _after_reference(view, start) and not _after_account(view, start)
            ):
                yield start, end
            elif label is not None and label.search(view, max(0, start - 40), start) is not None:
                yield start, end

    return find


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def cards(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """Luhn-valid card numbers, and 15-16 digit ones next to a card word."""
    # An ungrouped run must also start like an international card (3-6) and hold 14 digits or more: 13-digit
    # millisecond timestamps, claim and registered-mail numbers and date-prefixed order numbers pass Luhn one time
    # in ten.
    for m in CARD.finditer(view):
        digits = NON_DIGIT.sub("", m.group())
        luhn = _luhn_ok(digits) and (digits != m.group() or (digits[0] in "3456" and len(digits) >= 14))
        if digits == m.group() and _after_reference(view, m.start()):
            continue
        if luhn or (len(digits) in (15, 16) and _followed(view, m.end(), rule)):
            yield m.span()
    for start, end in _introduced(view, rule, CARD):
        if len(NON_DIGIT.sub("", view[start:end])) in (15, 16):
            yield start, end


def _account_span(view: str, start: int, end: int) -> Span | None:
    """The longest leading run of digit groups holding 10-14 digits, unless an amount unit follows."""
    best, count = None, 0
    for group in _DIGITS.finditer(view, start, end):
        count += group.end() - group.start()
        if 10 <= count <= 14:
            best = (start, group.end())
    if best is None or _NO_AMOUNT_AFTER.match(view, best[1]) is None:
        return None
    return best


def accounts(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """10-14 digit numbers after a bank word, or followed by one (``… 우리``, ``… (카카오뱅크)``)."""
    candidates = _with_corrections(view, _introduced(view, rule, ACCOUNT), ACCOUNT)
    candidates += _preceding(view, rule, _ACCOUNT_TAIL)
    for start, end in candidates:
        span = _account_span(view, start, end)
        if span is not None and not _after_reference(view, start):
            yield span
