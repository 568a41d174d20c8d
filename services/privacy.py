"""Pattern-based detection and masking of Korean PII before text reaches logs or an LLM."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    """Kinds of personal data the masker recognises."""

    EMAIL = "email"
    PHONE = "phone"
    RRN = "rrn"  # 주민등록번호
    FRN = "frn"  # 외국인등록번호
    EMPLOYEE_ID = "employee_id"  # 사번
    CARD = "card"
    ACCOUNT = "account"  # 계좌번호


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """A detected span: ``text[start:end]`` is PII of ``kind``."""

    kind: PiiKind
    start: int
    end: int


PLACEHOLDERS: dict[PiiKind, str] = {
    PiiKind.EMAIL: "[이메일]",
    PiiKind.PHONE: "[전화번호]",
    PiiKind.RRN: "[주민등록번호]",
    PiiKind.FRN: "[외국인등록번호]",
    PiiKind.EMPLOYEE_ID: "[사번]",
    PiiKind.CARD: "[카드번호]",
    PiiKind.ACCOUNT: "[계좌번호]",
}

# When candidates start at the same offset the lower rank wins. EMAIL goes first because its
# span always contains any digit run found inside the local part.
_PRIORITY: dict[PiiKind, int] = {
    PiiKind.EMAIL: 0,
    PiiKind.RRN: 1,
    PiiKind.FRN: 1,
    PiiKind.CARD: 2,
    PiiKind.PHONE: 3,
    PiiKind.ACCOUNT: 4,
    PiiKind.EMPLOYEE_ID: 5,
}

_FLAGS = re.ASCII  # \d must not match full-width/Arabic digits; Hangul literals are unaffected.

# \b is useless next to Hangul (it is a word char), so numbers are delimited explicitly. The
# "digit + separator" checks stop us from grabbing the tail or head of dates, versions, IPs,
# Slack ts values and order numbers such as ORD-20240315-0001.
_PRE = r"(?<![0-9A-Za-z])(?<![0-9A-Za-z]-)(?<![0-9]\.)"
_POST = r"(?![0-9A-Za-z])(?![.-][0-9])"
# Numbers followed by a currency/quantity unit are amounts or ranges ("1800-2000만원").
_NOT_AMOUNT = r"(?!\s?(?:원|만|억|%|달러))"
_SEP = r"[-. ]?"

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"(?![A-Za-z0-9-])",
    _FLAGS,
)

# National significant numbers: mobile 01X, Seoul 02, area codes 031-064, 070 VoIP, 050X.
_PHONE_NSN = r"(?:1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|50\d)"
_PHONE_RE = re.compile(
    rf"(?:(?<![0-9A-Za-z+])\+82[-. ]?(?:\(0\)|0)?{_PHONE_NSN}|{_PRE}(?:\(0{_PHONE_NSN}\)|0{_PHONE_NSN}\)?))"
    rf"{_SEP}\d{{3,4}}{_SEP}\d{{4}}{_POST}"
    rf"|{_PRE}1(?:5(?:88|44|66|77)|6(?:00|44|61|70|88)|8(?:00|99))[-.]?\d{{4}}{_POST}{_NOT_AMOUNT}",
    _FLAGS,
)

# No checksum: numbers issued since Oct 2020 use random trailing digits.
_RRN_RE = re.compile(
    rf"{_PRE}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?(?P<gender>[1-8])\d{{6}}{_POST}",
    _FLAGS,
)

_CARD_RE = re.compile(
    rf"{_PRE}(?:\d{{4}}(?:[- ]\d{{4}}){{2}}[- ](?:\d{{4}}[- ]\d{{3}}|\d{{1,4}})"  # 4-4-4-4(-3)
    rf"|\d{{4}}[- ]\d{{6}}[- ]\d{{4,5}}"  # Amex 4-6-5, Diners 4-6-4
    rf"|\d{{13,19}}){_POST}",
    _FLAGS,
)

_ACCOUNT_RE = re.compile(
    rf"{_PRE}(?:\d{{2,6}}-\d{{2,6}}-\d{{2,7}}(?:-\d{{1,3}})?|\d{{10,14}}){_POST}{_NOT_AMOUNT}",
    _FLAGS,
)

# (?<!\[) keeps our own placeholders ("[계좌번호]", "[카드번호]", "[사번]") from acting as context.
_ACCOUNT_STRONG = (
    r"(?<!\[)(?:계좌|입금|송금|이체|통장|은행|뱅크|신한|농협|신협|수협|새마을금고|SC제일|씨티"
    r"|bank|account)"
)
# These bank names are also everyday words ("우리 팀", "하나만", "부산 출장"), so they only count
# when written right next to the number.
_ACCOUNT_WEAK = r"(?:국민|우리|하나|기업|우체국|새마을|부산|대구|경남|광주|전북|제주|카카오|토스|케이)"
_AFTER_GLUE = r"\s*[(]?\s*(?:으로|로|은|는|이|가|에|:)?\s*"
_ACCOUNT_BEFORE = re.compile(rf"{_ACCOUNT_STRONG}|{_ACCOUNT_WEAK}\s*[:(]?\s*$", _FLAGS | re.IGNORECASE)
_ACCOUNT_AFTER = re.compile(rf"{_AFTER_GLUE}(?:{_ACCOUNT_STRONG}|{_ACCOUNT_WEAK})", _FLAGS | re.IGNORECASE)
_CARD_BEFORE = re.compile(r"(?<!\[)(?:카드|card)", _FLAGS | re.IGNORECASE)
_CARD_AFTER = re.compile(rf"{_AFTER_GLUE}(?:카드|card)", _FLAGS | re.IGNORECASE)
_CONTEXT_WINDOW = 20

# "사번호" is never 사번 but does occur inside 검사번호/조사번호. Pure-digit IDs need 5+ digits
# and no date/unit suffix so "사번은 2024년에 바뀜" keeps its year.
_EMPLOYEE_CTX_RE = re.compile(
    r"(?:(?<!\[)사번(?!호)|사원\s?번호|직원\s?번호|(?<![A-Za-z])(?:employee\s?(?:id|no|number|#)|emp\.?\s?(?:no|id|#)))\.?"
    r"\s*(?:이에요|은|는|이|가|[:#=])?\s*"
    r"(?P<id>[A-Za-z]{1,4}-?\d{3,10}(?:-\d{2,6}){0,2}|\d{5,12}(?:-\d{2,6}){0,2})"
    r"(?![0-9A-Za-z])(?!년|월|일|원|만|명|개)",
    _FLAGS | re.IGNORECASE,
)
_EMPLOYEE_STANDALONE_RE = re.compile(r"(?<![0-9A-Za-z-])(?:ENC-\d{5,6}|EN\d{6})(?![0-9A-Za-z])", _FLAGS)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _near(text: str, start: int, end: int, before: re.Pattern[str], after: re.Pattern[str]) -> bool:
    return bool(before.search(text, max(0, start - _CONTEXT_WINDOW), start) or after.match(text, end))


def _find_emails(text: str) -> Iterator[PiiMatch]:
    for m in _EMAIL_RE.finditer(text):
        yield PiiMatch(PiiKind.EMAIL, m.start(), m.end())


def _find_phones(text: str) -> Iterator[PiiMatch]:
    for m in _PHONE_RE.finditer(text):
        yield PiiMatch(PiiKind.PHONE, m.start(), m.end())


def _find_registration_numbers(text: str) -> Iterator[PiiMatch]:
    for m in _RRN_RE.finditer(text):
        kind = PiiKind.RRN if m.group("gender") in "1234" else PiiKind.FRN
        yield PiiMatch(kind, m.start(), m.end())


def _is_luhn_card(raw: str, digits: str) -> bool:
    # An ungrouped run must also start like an international card (3-6): 13-digit millisecond
    # timestamps and date-prefixed order numbers pass Luhn one time in ten.
    grouped = raw != digits
    return 13 <= len(digits) <= 19 and (grouped or digits[0] in "3456") and _luhn_ok(digits)


def _find_cards(text: str) -> Iterator[PiiMatch]:
    for m in _CARD_RE.finditer(text):
        raw = m.group()
        digits = raw.replace("-", "").replace(" ", "")
        by_context = len(digits) in (15, 16) and _near(text, m.start(), m.end(), _CARD_BEFORE, _CARD_AFTER)
        if by_context or _is_luhn_card(raw, digits):
            yield PiiMatch(PiiKind.CARD, m.start(), m.end())


def _find_accounts(text: str) -> Iterator[PiiMatch]:
    for m in _ACCOUNT_RE.finditer(text):
        digit_count = sum(ch.isdigit() for ch in m.group())
        if 10 <= digit_count <= 14 and _near(text, m.start(), m.end(), _ACCOUNT_BEFORE, _ACCOUNT_AFTER):
            yield PiiMatch(PiiKind.ACCOUNT, m.start(), m.end())


def _find_employee_ids(text: str) -> Iterator[PiiMatch]:
    for m in _EMPLOYEE_CTX_RE.finditer(text):
        yield PiiMatch(PiiKind.EMPLOYEE_ID, m.start("id"), m.end("id"))
    for m in _EMPLOYEE_STANDALONE_RE.finditer(text):
        yield PiiMatch(PiiKind.EMPLOYEE_ID, m.start(), m.end())


_FINDERS: tuple[Callable[[str], Iterator[PiiMatch]], ...] = (
    _find_emails,
    _find_registration_numbers,
    _find_cards,
    _find_phones,
    _find_accounts,
    _find_employee_ids,
)


def find_pii(text: str) -> list[PiiMatch]:
    """Return non-overlapping PII matches in ``text``, sorted by start offset."""
    # Every pattern needs a digit or '@'; substring checks beat a regex scan ~20x on long text.
    if not any(ch in text for ch in "0123456789@"):
        return []
    candidates = [match for finder in _FINDERS for match in finder(text)]
    candidates.sort(key=lambda c: (c.start, _PRIORITY[c.kind], c.start - c.end))
    chosen: list[PiiMatch] = []
    for cand in candidates:
        if not chosen or cand.start >= chosen[-1].end:
            chosen.append(cand)
    return chosen


def _replace(text: str, matches: list[PiiMatch]) -> str:
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(PLACEHOLDERS[m.kind])
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def mask_pii(text: str) -> str:
    """Replace every PII span in ``text`` with its fixed placeholder, e.g. ``[전화번호]``."""
    # Masking shortens text, which can pull a context word (계좌, 카드) into the window of a
    # later number, so repeat until stable to keep mask_pii idempotent. This terminates:
    # every match holds a digit or '@' and no placeholder does.
    while matches := find_pii(text):
        text = _replace(text, matches)
    return text


def contains_pii(text: str) -> bool:
    """Return True if ``text`` contains anything mask_pii would replace."""
    return bool(find_pii(text))
