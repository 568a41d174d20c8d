"""Pattern-based detection and masking of Korean PII before text reaches logs, storage or an LLM.

Each kind is one row of ``_RULES`` (placeholder, rank, finder, label words, hint) and a member of ``PiiKind``: to add a
kind, add both here (and its finder in services/pii_patterns.py or services/pii_words.py); a kind without a row fails
at import. ``mask_pii`` normalises its own input (services.pii_text), so every caller masks the same way. The finders
(services.pii_patterns and services.pii_words) are bounded and run a fixed number of times: once over the view (at
most once more when a losing candidate may have hidden a match), then names once around what they found. No
repeat-until-stable loop: the cost is linear in the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from services import pii_patterns as find
from services.pii_patterns import Finder, Span
from services.pii_text import normalised
from services.pii_words import addresses, names


class PiiKind(StrEnum):
    """Kinds of personal data the masker recognises."""

    EMAIL = "email"
    PHONE = "phone"
    RRN = "rrn"  # 주민등록번호
    FRN = "frn"  # 외국인등록번호
    EMPLOYEE_ID = "employee_id"  # 사번
    CARD = "card"
    ACCOUNT = "account"  # 계좌번호
    PASSPORT = "passport"  # 여권번호
    DRIVER_LICENSE = "driver_license"  # 운전면허번호
    VEHICLE_PLATE = "vehicle_plate"  # 차량번호: a plate next to an employee is personal data
    ADDRESS = "address"  # 도로명 or 지번 address (with its building and unit), or an apartment's 동/호
    PERSON_NAME = "person_name"  # a name with a title or 님, right next to other PII


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """A detected span: ``text[start:end]`` is PII of ``kind``."""

    kind: PiiKind
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Rule:
    """Everything about one kind in one row."""

    kind: PiiKind | None  # None: claims its span so nothing else does, masks nothing (corporate numbers)
    placeholder: str
    priority: int  # when candidates start at the same offset the lower rank wins
    finder: Finder  # spans in the normalised view; gets this row and (second pass) the first pass's spans
    labels: tuple[str, ...] = ()  # regex words that introduce a value a few characters later
    near: tuple[str, ...] = ()  # words that count only right next to the value (they are everyday words too)
    second_pass: bool = False
    # What any value of this kind must contain: text without it skips the finders (a cheap first look). A kind whose
    # values have no digit nor at-sign declares its own, or it would never match.
    hint: re.Pattern[str] = find.HINT
    placeholders: bool = False  # one repeated digit (010-0000-0000) is a form's placeholder, not a value


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_STAFF_NOUNS = _w(
    "사원 직원 임직원 인사 작업자 근로자 근무자 크루 스태프 사원증 직원증 파트타이머 아르바이트 알바 기사 캐셔 인솔자"
)


_RULES: tuple[Rule, ...] = (
    # EMAIL first: its span contains any digit run found inside the local part.
    Rule(PiiKind.EMAIL, "[이메일]", 0, find.emails, hint=find.EMAIL_HINT),
    # 법인/사업자등록번호 are public identifiers, not 주민번호 (110111-1234567 would pass as one).
    Rule(
        None,
        "",
        1,
        find.labelled_finder(find.CORPORATE),
        _w(
            r"법인\s?(?:등록\s?)?번호 사업자\s?(?:등록\s?)?(?:증\s?)?번호 법인등록"
            r" (?:corp(?:orate)?|biz|business)\.?\s?reg(?:istration)?\.?\s?(?:no|number|#)"
        ),
    ),
    # Labels (and log keys: rrn=, arc_no=) only widen the births accepted; the pattern alone finds most numbers.
    Rule(
        PiiKind.RRN,
        "[주민등록번호]",
        2,
        find.registration_numbers("123490"),
        _w(r"주민 [rR](?<![A-Za-z].)(?i:rn) [sS](?<![A-Za-z].)(?i:sn) resident[\s_-]?reg(?:istration)?"),
    ),
    Rule(
        PiiKind.FRN,
        "[외국인등록번호]",
        2,
        find.registration_numbers("5678"),
        _w(
            r"외국인\s?(?:등록)?\s?번호 외국인등록 거소\s?신고\s?번호 [aA](?<![A-Za-z].)(?i:rc)(?![A-Za-z])"
            r" [fF](?<![A-Za-z].)(?i:rn)(?![A-Za-z]) alien[\s_-]?reg(?:istration)?"
        ),
    ),
    Rule(
        PiiKind.CARD,
        "[카드번호]",
        3,
        find.cards,
        _w("카드 법카 card"),
        _w("비자 visa 마스터 master 아멕스 amex jcb 다이너스 diners bc"),
        placeholders=True,
    ),
    Rule(
        PiiKind.DRIVER_LICENSE,
        "[운전면허번호]",
        4,
        find.driver_licences,
        _w(r"면허 driver'?s?[\s_]?licen[cs]e licen[cs]e(?=[\s_]?(?:no|num|#)|\s?[=:])"),
    ),
    Rule(PiiKind.PHONE, "[전화번호]", 5, find.phones, hint=find.PHONE_HINT, placeholders=True),
    Rule(
        PiiKind.ACCOUNT,
        "[계좌번호]",
        6,
        find.accounts,
        _w(
            "계좌 입금 송금 이체 통장 은행 뱅크 카뱅 케뱅 예금주 신한 농협 신협 수협 새마을금고 SC제일 씨티"
            " IBK NH bank account acct"
        ),
        _w("국민 우리 하나 기업 우체국 새마을 부산 대구 경남 광주 전북 제주 카카오 토스 케이 산업 SC"),  # "우리 팀"
        placeholders=True,
    ),
    Rule(
        PiiKind.PASSPORT,
        "[여권번호]",
        7,
        find.labelled_finder(find.PASSPORT_LABELLED, before=find.PASSPORT),
        _w(r"여권(?:\s?(?:번호|no|number|#)\.?)? passport(?:\s?(?:no|number|#)\.?)? PP\s?(?:No\.?|#)"),
        placeholders=True,
    ),
    Rule(
        PiiKind.EMPLOYEE_ID,
        "[사번]",
        8,
        find.employee_ids,
        # "사번호" is never 사번 but occurs inside 검사번호/조사번호
        _w(r"사번(?!호) 직번")
        # a staff noun, then a number word: 사원번호, 직원 ID, 작업자 번호, 크루 코드, 사원증 번호 (one word each: a
        # label alternation whose every branch starts with a letter is scanned fast)
        + tuple(rf"{noun}\s?(?:번호|(?i:id|no)(?![A-Za-z])|아이디|코드(?!표)|#)" for noun in _STAFF_NOUNS)
        + _w(r"employee[\s_]?(?:id|no|number|#)\.? emp[._]?\s?(?:id|no|#)\.? e(?<![A-Za-z]e)mp(?![A-Za-z])")
        + _w(r"staff[\s_]?(?:id|no|number|#)\.?"),
        placeholders=True,
    ),
    Rule(PiiKind.VEHICLE_PLATE, "[차량번호]", 9, find.pattern_finder(find.PLATE, region=True)),
    Rule(
        PiiKind.ADDRESS,
        "[주소]",
        10,
        addresses,
        _w(r"주소 자택 집 거주 배송지 우편 사는\s?곳 이사 전입 택배 소재지"),
    ),
    Rule(
        PiiKind.PERSON_NAME,
        "[이름]",
        11,
        names,
        _w(
            "선임연구원 책임연구원 수석연구원 연구원 본부장 센터장 파트장 그룹장 부사장 실장 팀장 부장 차장"
            " 과장 대리 주임 사원 인턴 매니저 책임 선임 수석 프로 이사 상무 전무 사장 대표 리드"
            " 부점장 지점장 점장 점주 강사 교수 코치 계장 주무관"  # stores and training: 방은정 점장님, 박지훈 강사님
            " 공장장 라인장 조장(?![하해했한할]) 직장"  # a plant's line titles: 차건우 조장, 여형석 직장 (not 조장하다)
            " 기사 선생 원장 고객 소장 반장 님 씨"  # service titles too: 배현우 기사님, 박민정 고객님
            " 수간호사 간호사 간호부장 부원장 병원장 의사 약사 치료사 상담사 영양사 간병인 전공의 주치의 전문의"
            " 복지사 보호사 코디네이터"  # a hospital's: 설지혜 간호사, 나윤아 부원장님
            " 단장 감리원"  # a building site's: 엄정화 단장님
            " 캐셔 계산원 파트타이머 알바생"  # a store's: 여태양 캐셔 (not 크루, 스태프: 주방 크루, 오픈 크루)
            " 인솔자"  # travel: 민준호 인솔자 (not 가이드: 이용 가이드, 공식 가이드)
        ),
        second_pass=True,
    ),
)
PLACEHOLDERS: dict[PiiKind, str] = {rule.kind: rule.placeholder for rule in _RULES if rule.kind is not None}
if len(PLACEHOLDERS) != len(PiiKind) or len({r.kind for r in _RULES}) != len(_RULES):
    raise RuntimeError("every PiiKind needs exactly one row in services.privacy._RULES")

_HINTS = tuple(dict.fromkeys(rule.hint for rule in _RULES))  # distinct: one search for the usual single hint
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
_Hit = tuple[int, int, Rule]


def _glued(view: str) -> str:
    """The view with our placeholders as runs of GLUE: to the patterns they stand for what they replaced."""
    # So masking twice sees the same boundaries as masking once: "12가3456-010…" masked is "[차량번호]-010…",
    # and the phone must not start right after the plate's "-" the second time either.
    return _PLACEHOLDER.sub(lambda m: find.GLUE * len(m.group()), view) if "[" in view else view


def _resolve(hits: list[_Hit]) -> tuple[list[_Hit], bool]:
    """Non-overlapping hits (leftmost, then lower rank, then longer), and whether a loser reached past its winner."""
    hits.sort(key=lambda h: (h[0], h[2].priority, h[0] - h[1]))
    chosen: list[_Hit] = []
    shadowed = False
    for hit in hits:
        if not chosen or hit[0] >= chosen[-1][1]:
            chosen.append(hit)
        elif hit[1] > chosen[-1][1]:
            shadowed = True
    return chosen, shadowed


def _glue_spans(view: str, hits: list[_Hit]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end, _ in hits:
        parts += (view[pos:start], find.GLUE * (end - start))
        pos = end
    return "".join([*parts, view[pos:]])


def _first_pass(view: str) -> list[_Hit]:
    """Every first-pass rule once; once more over the rest when a losing candidate may have hidden another."""
    chosen, shadowed = _resolve([(s, e, r) for r in _RULES if not r.second_pass for s, e in r.finder(view, r, ())])
    if not shadowed:
        return chosen
    # A loser reaching past its winner was scanned as one match, so a match starting inside it went unseen.
    # Over the view with the winners glued, that match is found now rather than by the next call (idempotency).
    rest = _glue_spans(view, chosen)
    more = [(s, e, r) for r in _RULES if not r.second_pass for s, e in r.finder(rest, r, ())]
    return _resolve(chosen + more)[0]


def _detect(view: str) -> list[_Hit]:
    """The first-pass rules over the view, then the second-pass rules (names) around what they found."""
    if not any(hint.search(view) for hint in _HINTS):
        return []
    # Placeholders (01000000000) are dropped before the names pass: a name is PII only next to PII (and masking twice
    # must see what masking once saw).
    first = [hit for hit in _first_pass(view) if not _placeholder(view, hit)]
    found: tuple[Span, ...] = tuple((s, e) for s, e, r in first if r.kind is not None)
    second = [(s, e, r) for r in _RULES if r.second_pass for s, e in r.finder(view, r, found)]
    return _resolve(first + second)[0] if second else first


def _placeholder(view: str, hit: _Hit) -> bool:
    """A form's placeholder in a number's shape, for the kinds whose row says so: one digit repeated, after a mobile
    prefix or a letter too (01000000000, 0000-0000-0000-0000, 사번 000000, M00000000)."""
    if not hit[2].placeholders:
        return False
    digits = find.NON_DIGIT.sub("", view[hit[0] : hit[1]])
    body = digits[3:] if digits.startswith("01") else digits
    return len(digits) >= 6 and len(set(body)) == 1


def _hits(text: str) -> list[_Hit]:
    """PII hits with offsets in ``text`` itself (corporate numbers left out)."""
    view, where = normalised(text)
    hits = [hit for hit in _detect(_glued(view)) if hit[2].kind is not None]
    return hits if where is None else [(where.start(s), where.end(e), r) for s, e, r in hits]


def find_pii(text: str) -> list[PiiMatch]:
    """Return non-overlapping PII matches in ``text``, sorted by start offset."""
    return [PiiMatch(r.kind, s, e) for s, e, r in _hits(text) if r.kind is not None]


def mask_pii(text: str) -> str:
    """Replace every PII span in ``text`` with its fixed placeholder, e.g. ``[전화번호]``."""
    parts: list[str] = []
    pos = 0
    for start, end, rule in _hits(text):
        parts += (text[pos:start], rule.placeholder)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def contains_pii(text: str) -> bool:
    """Return True if ``text`` contains anything mask_pii would replace."""
    return bool(_hits(text))
