"""The finders for kinds recognised from their Korean context: street addresses and people's names.

Same rules as services.pii_patterns: bounded patterns over the normalised view, each starting with the character
it consumes. Names run in the second pass, only around what the first pass found.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from functools import lru_cache

from services.pii_patterns import AN, COUNT, HG, REGIONS, Labelled, Span, compiled, label_regex

# A building's name and unit right after the number: then "주공…", "세종…" are names, not counters.
_UNIT_AHEAD = (
    r"(?=\s{1,2}[가-힣A-Za-z][가-힣A-Za-z0-9]{0,11}(?:\s{1,2}\d{1,2}단지)?\s{1,2}(?:[A-Z]?\d{1,4}동\s?)?"
    r"(?:[A-Z]?\d{1,5}호|[A-Z]-\d{1,4}))"
)
_ROAD = compiled(
    r"(?P<road>[가-힣](?<![가-힣0-9\ue000].)(?:[가-힣0-9]{0,10}?[가-힣0-9])?(?<!으)(?:로|길)(?:\s?\d{1,4}번?가?길)?)\s?"
    r"\d{1,4}(?:-\d{1,4})?(?![0-9\ue000])(?:,?\s?(?:\d{1,4}동\s?)?\d{1,5}호|,?\s?(?:지하\s?)?\d{1,3}층|\s?\([가-힣0-9,.\s]{1,16}\))?"
    # "…로 156,17867": a zip code's cell may follow; "…길 321,201호": the unit
    rf"(?![.,][0-9\ue000](?<!,\d(?=\d{{4}}(?:[,|\t\n]|\Z)))(?![0-9]{{0,4}}(?:동|호)))"
    rf"(?=\Z|[^{AN}가-힣]|에|으로|로|이|은|입니|번지)(?:{COUNT}|{_UNIT_AHEAD})"
)
# 지번 address: a 동/읍/면/리 name and a lot number ("역삼동 123-45", "용봉동 1234", "산 12번지").
_LOT = compiled(  # starts at the 동/읍/면/리 (rare), its name is looked up behind it (_LOT_NAME)
    r"(?P<suffix>[동읍면리])(?<=[가-힣0-9][동읍면리])(?:\d{1,2}가)?\s?(?:산\s?)?(?P<lot>\d{1,5}(?:-\d{1,4})?)(?P<bunji>번지)?"
    rf"(?![0-9\ue000-])(?![.,][0-9](?![0-9]{{0,4}}(?:동|호)))"  # "가산동 227-17,106동 1703호": the unit after a comma
    rf"(?=\Z|[^{AN}가-힣]|에|으로|로|이|은|입니|번지)(?:{COUNT}|{_UNIT_AHEAD})"
)
_LOT_NAME = compiled(r"(?<![가-힣0-9\ue000])[가-힣]{1,5}[0-9]?\Z")
# What follows an address: a building name or two, then the unit ("래미안광교 108동 702호", ", 3동 204호",
# "(녹번동) 105동 1301호", "지하1층 B101호", "2층"). Words are whole (separated by spaces), so no backtracking within.
_UNIT = compiled(
    r"\s?,?(?:(?:\s{1,2}|(?<=,))(?:\([가-힣0-9,.\s]{1,16}\)|[가-힣A-Za-z○0-9]{1,12}+),?){0,4}?\s{0,2}"
    r"(?:(?:지하\s?)?\d{1,3}층\s?)?(?:[A-Z]?\d{1,4}동\s?)?(?:[A-Z]?\d{1,5}호|(?:지하\s?)?\d{1,3}층|[A-Z]-\d{1,4}호?)"
    r"(?![0-9A-Za-z\ue000])"
)
# The unit in the next field of a JSON record: {"addr1":"… 센텀중앙로 79","addr2":"1804호"}
_JSON_UNIT = compiled(
    r'"\s?,\s?"[A-Za-z_0-9가-힣]{1,16}"\s?:\s?"(?P<unit>(?:[A-Z]?\d{1,4}동\s?)?(?:[A-Z]?\d{1,5}호|\d{1,3}층|[A-Z]-\d{1,4}))"'
)
# An apartment's 동/호 with its name but no street ("은마아파트 12동 345호"): only after a label or a region.
_APARTMENT = compiled(r"[0-9](?<![0-9\ue000].)\d{0,3}동\s?\d{1,5}호(?![0-9A-Za-z\ue000])")
_BUILDING = compiled(r"(?<![가-힣A-Za-z0-9\ue000])[가-힣A-Za-z][가-힣A-Za-z0-9]{0,11}\s\Z")  # its name before it
_DONG_BEFORE = compiled(r"[가-힣]{1,5}(?:동|읍|면|리)\s\Z")
_REGION_WORD = (
    rf"(?:(?<![{HG}])|(?<=주소))(?:{REGIONS}|[가-힣]{{1,4}}(?:특별시|광역시|특별자치시|특별자치도)|[가-힣]{{2,4}}[시군구]"
    rf"|[중동서남북]구|경기도|강원도|충청[남북]도|전라[남북]도|경상[남북]도|제주도)(?![{HG}])"
)
_REGION_TAIL = compiled(rf"(?:{_REGION_WORD}\s?){{1,4}}\Z")
_RURAL_TAIL = compiled(rf"(?:{_REGION_WORD}\s?){{1,4}}(?:[가-힣]{{1,4}}[읍면]\s?)?\Z")
_REGION_DONG_TAIL = compiled(rf"(?:{_REGION_WORD}\s?){{1,4}}(?:[가-힣]{{1,5}}(?:동|읍|면|리)\s?)?\Z")
_STRONG_ROAD = compiled(r"[0-9]번?가?길\Z")
_BARE_FOLLOW = compiled(r"\s*\Z|\s+(?![0-9\ue000])|[,.)\]!?~(]|에|으로|로|이고|이에요|입니다|번지")
_NOT_ROADS = frozenset("이메일로 엑셀파일로 문자메시지로 카카오톡로".split())


def _bare_road(view: str, road: str, end: int) -> bool:
    """A road name that needs no context: three syllables or more before 로, and nothing count-like after."""
    return (
        len(road) >= 4
        and road.endswith("로")
        and not road.endswith("대로")  # X대로 is also "as X says" (규정대로, 순서대로)
        and road[-2] not in "자서어"  # 근속자로, 신청서로, 한국어로: a noun and the particle 로
        and road not in _NOT_ROADS
        and _BARE_FOLLOW.match(view, end) is not None
    )


def _with_unit(view: str, end: int) -> int:
    """The end of the address, widened to the building and unit written right after it."""
    unit = _UNIT.match(view, end)
    return unit.end() if unit else end


_REGION_LAST = frozenset("시군구도동읍면리") | {word[-1] for word in REGIONS.split("|")}
_LABEL_GAP = compiled(r"[^0-9\n\[\]@\ue000]{0,20}")


class _Before:
    """What stands right before a candidate: a region (a tail pattern) or a label. Labels are found once per view
    and looked up by position, and a region is searched for only where one could end: linear in the view."""

    def __init__(self, view: str, labels: re.Pattern[str]) -> None:
        self.view = view
        self.labels = [m.span() for m in labels.finditer(view)]
        self.ends = [end for _, end in self.labels]

    def region(self, tail: re.Pattern[str], start: int) -> int | None:
        """Where the region written right before ``start`` begins."""
        view = self.view
        last = start - 2 if view[start - 1 : start] == " " else start - 1
        if last < 0 or view[last] not in _REGION_LAST:
            return None
        m = tail.search(view, max(0, start - 40), start)
        return m.start() if m else None

    def label(self, start: int) -> Span | None:
        """The label shortly before ``start`` with no digit, bracket or line break between."""
        k = bisect_right(self.ends, start) - 1
        if k < 0:
            return None
        label = self.labels[k]
        gap = _LABEL_GAP.match(self.view, label[1], start)
        return label if start - label[0] <= 30 and gap is not None and gap.end() == start else None


def _roads(view: str, before: _Before) -> Iterator[Span]:
    """Road name + building number: after a region (kept in the span), a label, as N길, or bare if unmistakable."""
    for m in _ROAD.finditer(view):
        start, road = m.start(), m["road"]
        region = before.region(_RURAL_TAIL, start)  # a 읍/면 may stand before the road: 평택시 포승읍 평택항로 156
        if region is not None:
            yield region, _with_unit(view, m.end())
        elif _STRONG_ROAD.search(road) or before.label(start) or _bare_road(view, road, m.end()):
            yield start, _with_unit(view, m.end())


def _lots(view: str, before: _Before) -> Iterator[Span]:
    """동 + lot number: after a region or a label, with 번지, or bare when a unit follows a lot written 123-45."""
    for m in _LOT.finditer(view):
        name = _LOT_NAME.search(view, max(0, m.start() - 6), m.start())
        if name is None:
            continue
        start, end = name.start(), m.end()
        if m["suffix"] == "리":  # 자리, 거리, 처리 …: a 리 lot only after its region (경기 가평군 청평면 대성리 12)
            region = before.region(_RURAL_TAIL, start)
            if region is not None:
                yield region, _with_unit(view, end)
            continue
        region = before.region(_REGION_TAIL, start)
        if region is not None:
            yield region, _with_unit(view, end)
        elif m["bunji"] or before.label(start):
            yield start, _with_unit(view, end)
        elif "-" in m["lot"] and (unit := _UNIT.match(view, end)) is not None:
            yield start, unit.end()


def _apartments(view: str, before: _Before) -> Iterator[Span]:
    """An apartment's name and 동/호 after a region (and 동 name) or a label."""
    for m in _APARTMENT.finditer(view):
        unit = m.start()
        building = _BUILDING.search(view, max(0, unit - 13), unit)
        start = building.start() if building else unit
        region = before.region(_REGION_DONG_TAIL, start)
        label = before.label(unit)
        if region is not None:
            yield region, m.end()
        elif label is not None:
            start = start if label[0] < start else unit  # the word before the unit was the label itself
            dong = _DONG_BEFORE.search(view, max(0, start - 7), start)
            yield (dong.start() if dong else start), m.end()


def addresses(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """Street (도로명) and lot (지번) addresses with the building and unit after them, or an apartment's 동/호."""
    before = _Before(view, label_regex(rule.labels))
    for start, end in (*_roads(view, before), *_lots(view, before), *_apartments(view, before)):
        yield start, end
        unit = _JSON_UNIT.match(view, end)
        if unit is not None:
            yield unit.span("unit")


# ------------------------------------------------------------------------------------------------ names

_SURNAMES = (  # the most common family names; 황보, 남궁, 제갈, 선우, 독고, 사공, 서문 start with one of them too
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설"
    "마길연위표명기반라왕금옥나제독사모탁국편봉태피맹육용은"
)
# Starts with the surname it consumes (look-behind after it), so the engine skips ahead to a possible name.
# Also spelled out syllable by syllable: "김 민 재 대리님".
# The title may stand in the next cell of a pasted table or CSV row ("한지민,선임,010-…", "| 한지민 | 선임 |") or
# in the next field of a JSON record ({"name":"윤서준","title":"팀장",…}).
_TITLE_GAP = r'(?:\s?[,|]\s?|"\s?,\s?"[A-Za-z_]{{1,12}}"\s?:\s?"|\s?)'
_NAME = (
    r"(?P<name>[{s}](?<![가-힣\ue000].)(?:[가-힣]{{1,3}}|\s[가-힣]\s[가-힣](?:\s[가-힣])?))" + _TITLE_GAP + r"(?:{t})"
)
_NOT_NAMES = frozenset(
    "고객 선생 이번 이번주 이번달 이번에 "
    "이제 이상 이하 이전 이후 정말 정식 정규 정기 전체 전임 전무 전화 주임 주말 조장 조직 신입 신규 "
    "장기 한국 오늘 오전 오후 유지 서비 서면 임시 임원 송금 최고 최종 안내 안전 하루 성함 성과 차량 차장 구매 민원 "
    "진행 노무 배송 심사 양식 홍보 권한 박사 우리 우선 원격 지원 지점 지사 지난 방문 방법 공지 공용 현재 현장 채용 "
    "함께 변경 여자 여성 추가 도움 소속 선임 선배 설명 연구 연차 연락 위원 기존 기획 기간 담당 명단 마감 남자 남성 "
    "대표 부장 팀장 과장 대리 사원 실장 상무 이사 수석 책임 인턴 매니저 프로 "
    "기사 원장 소장 반장 정비 설치 배차 배달 전담 우수 신문 주간 한문 고객님 선생님 "
    "강사 교수 점장 점주 계장 부점장 지점장 "  # titles that start like a name
    # words that start with one of the rarer family names
    "모두 모든 모바일 모집 모임 모델 모니터 모범 탁송 탁구 태국 태블릿 태그 편의 편의점 편집 편성 "
    "국내 국외 국제 국가 국장 봉사 봉투 피부 피드 육아 육성 맹장 "
    "용역 용도 용량 용지 용품 용어 용기 용접 용무 용인 용산 용차 용달 용봉 은행 은퇴 은혜 은색 은평 "
    # a hospital's qualifiers before a title ("정규직 간호사", "임상 영양사", "신임 부원장", "전문 간병인")
    "정규직 정신과 신경과 소아과 안과 성형 정형 마취 방사선 임상 심리 한방 한의 신임 진료 전문 전공 주치 원무 "
    "조선족 수간 병동".split()
)
_DOUBLE_SURNAMES = frozenset("황보 남궁 제갈 선우 독고 사공 서문".split())
# A name in Latin letters with 님: capitalised words ("Aigerim Sultanova님", "Kevin님"), or two or three words in
# capitals ("CHEN JING 님"); case-sensitive. CEO님, HR님 or a product's name are no one's.
_LATIN_NAME = r"(?<![A-Za-z])(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+){{0,2}}|[A-Z]{{2,}}(?: [A-Z]{{2,}}){{1,2}}) ?(?:{t})"


@lru_cache(maxsize=4)
def _latin_names(titles: tuple[str, ...]) -> re.Pattern[str]:
    """Latin-letter names before 님 or one of the rule's Korean titles ("Park Jiho 과장"); case-sensitive."""
    return re.compile(_LATIN_NAME.format(t="|".join(t for t in titles if not t[:1].isascii())))


_NOT_LATIN_NAMES = frozenset(
    "Team Teams Admin Hello World Microsoft Google Slack Apple Amazon The Dear Hi Manager Support Help Desk Service"
    " Center Group Office Staff Leader Lead Director Doctor Nurse Contact Please Call Ask Email Mail Text Message"
    " Thanks Thank From To Cc Mr Ms Mrs Dr".split()
)


def _latin_name_span(view: str, start: int, name: str) -> Span | None:
    """The name without the common words a sentence starts with ("Contact Park Jiho" → Park Jiho); None when a
    word of it is no name at all (CEO님, Microsoft Teams님)."""
    words = name.split(" ")
    while words and words[0] in _NOT_LATIN_NAMES:
        start += len(words.pop(0)) + 1
    if not words or _NOT_LATIN_NAMES & set(words):
        return None
    return start, start + len(" ".join(words))


_NAME_REACH = 28  # characters between a name (with its title) and the detail it sits next to


def _windows(found: tuple[Span, ...], reach: int) -> Iterator[Span]:
    """The stretches within ``reach`` of the found spans (sorted), overlapping ones merged."""
    window: Span | None = None
    for start, end in found:
        if window is not None and start - reach <= window[1]:
            window = (window[0], end + reach)
            continue
        if window is not None:
            yield window
        window = (max(0, start - reach), end + reach)
    if window is not None:
        yield window


# What may stand between a line's start and a name that starts it: indentation, a list mark, a key
_LEAD = compiled(r"[\s*>|-]{0,6}(?:(?:name|이름|성명|담당자?)\s?[:=]\s?)?")


def _starts_line(view: str, at: int) -> bool:
    """Whether only indentation, a list mark or a name key stands between the line's start and ``at``."""
    line = view.rfind("\n", max(0, at - 16), at)
    if line < 0 and at > 16:
        return False
    return _LEAD.fullmatch(view, line + 1, at) is not None


def _beside(view: str, name: Span, found: tuple[Span, ...], starts: list[int]) -> bool:
    """Whether a found span begins within reach after the name, or ends within reach before it: on the same line,
    or up to two lines down when the name starts its line (a signature: "원지훈 대리" / "물류기획팀" / "M. 010-…")."""
    k = bisect_left(starts, name[1])
    if k < len(found) and found[k][0] - name[1] <= _NAME_REACH:
        breaks = view.count("\n", name[1], found[k][0])
        if breaks == 0 or (breaks <= 2 and _starts_line(view, name[0])):
            return True
    return k > 0 and 0 <= name[0] - found[k - 1][1] <= _NAME_REACH and "\n" not in view[found[k - 1][1] : name[0]]


def _is_name(name: str) -> bool:
    """A family name and one or two syllables (a two-syllable family name allows one more)."""
    if name[:2] in _DOUBLE_SURNAMES:
        return True
    # 제 (저의; 제작팀, 제주점), 독 and 사 (독서실, 사용자) start too many words; an org unit (용산점, 영업팀) is no one
    return len(name) <= 3 and name[0] not in "제독사" and name[-1] not in "점팀" and name not in _NOT_NAMES


def names(view: str, rule: Labelled, found: tuple[Span, ...]) -> Iterator[Span]:
    """A name followed by a title or 님 (the rule's labels) within reach of PII the first pass found."""
    pattern = compiled(_NAME.format(s=_SURNAMES, t="|".join(rule.labels)))
    starts = [start for start, _ in found]
    for lo, hi in _windows(found, _NAME_REACH + 12):  # 12: room for the name and its title
        for m in pattern.finditer(view, lo, hi):
            if _is_name(m["name"].replace(" ", "")) and _beside(view, m.span(), found, starts):
                yield m.span("name")
        for m in _latin_names(rule.labels).finditer(view, lo, hi):
            span = _latin_name_span(view, m.start("name"), m["name"])
            if span is not None and _beside(view, m.span(), found, starts):
                yield span
