"""What `endy kb stats` (and the Slack admin view) says about a knowledge folder: Korean, polite 해요체.

Kept in services/ because the loader produces them; every text names what is wrong and how to fix it.
"""

from __future__ import annotations

FOLDER_MISSING = "지식 폴더가 없어요"
NOT_A_FOLDER = "폴더가 아니라 파일이에요"
HINT_KB_OPTION = "--kb 경로를 확인해 주세요"
HINT_KNOWLEDGE_DIR = "KNOWLEDGE_DIR 경로를 확인해 주세요 (비워 두면 예시 안내서로 시작해요)"

NO_SECTIONS = "답할 수 있는 내용이 없어요: Markdown 문서(.md)나 faq.yaml을 넣어 주세요"
EMPTY_DOCUMENT = "내용이 없는 문서예요"
NO_HEADINGS = "제목(# …)이 없어서 읽은 내용이 없어요. 본문 위에 '# 제목'을 넣어 주세요"
EMPTY_FAQ = "FAQ 항목이 하나도 없어요"
DECODED_CP949 = "UTF-8이 아니라 cp949(EUC-KR)로 읽었어요. 편집기에서 UTF-8로 다시 저장해 주세요"
DECODED_UTF16 = "UTF-16으로 읽었어요. 편집기에서 UTF-8로 다시 저장해 주세요"
UNDECODABLE = "UTF-8도 cp949(EUC-KR)도 아니어서 읽지 못했어요. UTF-8로 저장해 주세요"

YAML_SYNTAX = "YAML 문법 오류예요: {detail}"
YAML_SKIPPED = "YAML 문법 오류예요: {detail}. 이 부분만 건너뛰고 나머지는 읽었어요"
# PyYAML's problem texts (English) → what to fix; anything else gets the generic hint.
YAML_DETAILS = {
    "quoted scalar": "따옴표가 닫히지 않았어요",
    "mapping values are not allowed": "값 안에 ': '가 있어요. 값을 따옴표로 감싸 주세요",
    "cannot start any token": "쓸 수 없는 문자(탭, @, ` 등)가 있어요. 들여쓰기는 공백으로, 값은 따옴표로",
    "expected ',' or ']'": "대괄호 [ ]가 닫히지 않았어요 ('#'가 든 값은 따옴표로 감싸 주세요)",
    "expected ',' or '}'": "중괄호 { }가 닫히지 않았어요 ('#'가 든 값은 따옴표로 감싸 주세요)",
    "could not find expected ':'": "'키: 값' 형태가 아니에요 (':'가 없어요)",
    "expected <block end>": "들여쓰기가 맞지 않아요",
    "expected a single document": "문서 구분선 '---'이 여러 번 있어요. 하나의 문서로 써 주세요",
    "found undefined alias": "정의되지 않은 별칭(*)을 썼어요",
    "duplicate": "같은 키가 두 번 나와요",
}
YAML_GENERIC = "들여쓰기, 따옴표, 괄호를 확인해 주세요"

# Type names, for "must be … (now …)".
TYPE_MAPPING = "매핑"
TYPE_LIST = "목록"
TYPE_TEXT = "문자열"
TYPE_NUMBER = "숫자"
TYPE_BOOL = "참/거짓 값"
TYPE_NULL = "빈 값"
TYPE_OTHER = "날짜 같은 다른 형식"
WRONG_TYPE = "'{key}' 값은 {expected}이어야 해요 (지금은 {actual}){hint}. 이 값은 무시했어요"
WRONG_TYPE_SKIPPED = "'{key}' 값은 {expected}이어야 해요 (지금은 {actual}){hint}. 이 항목은 건너뛰었어요"
UNKNOWN_KEY = "알 수 없는 키라서 무시했어요: '{key}'{hint}"
DID_YOU_MEAN = " (혹시 '{known}'인가요?)"

KB_NOT_MAPPING = "kb.yaml은 '키: 값' 형태의 매핑이어야 해요 (지금은 {actual}). kb.yaml 전체를 무시했어요"
HINT_DEPARTMENTS = ', 예: departments: {it: {name: IT지원팀, channel: "#it-helpdesk"}}'
HINT_TEXT_LIST = ", 예: {key}: [가, 나]"
HINT_SYNONYMS = ", 예: synonyms: [[연차, 연차휴가], [비번, 비밀번호]]"
HINT_ROUTES = ', 예: routes: {"IT*": it, "급여*": finance}'
DEPARTMENT_INCOMPLETE = "부서 '{key}'에 {missing} 값이 없어요. 이 부서는 건너뛰었어요"
CHANNEL_EMPTY = (
    "부서 '{key}'의 channel 값이 비어 있어요. YAML에서 '#' 뒤는 주석이라 따옴표로 감싸야 해요"
    ' (channel: "#ask-it"). 이 부서는 건너뛰었어요'
)
CATEGORY_INCOMPLETE = "카테고리에 {missing} 값이 없어요. 이 카테고리는 건너뛰었어요"
SYNONYM_TOO_SHORT = "동의어 묶음에는 단어가 두 개 이상 있어야 해요. 이 묶음은 무시했어요"

UNKNOWN_DEPARTMENT = "kb.yaml departments에 없는 부서예요: '{key}'. 이 경우 default_department로 안내해요"
UNKNOWN_DEFAULT_DEPARTMENT = "default_department가 kb.yaml departments에 없는 부서예요: '{key}'"
UNKNOWN_CATEGORY = "kb.yaml categories에 없는 카테고리예요: '{key}'"
ROUTE_UNKNOWN_DEPARTMENT = "라우트 '{pattern}'의 부서가 kb.yaml departments에 없어요: '{key}'. 이 라우트는 무시했어요"
ROUTE_UNUSED = "라우트 '{pattern}'에 맞는 제목이나 카테고리가 없어요"

LINK_IGNORED = "링크는 공백, '|', '<', '>'가 없는 http(s) 주소여야 해서 무시했어요: '{value}'"

FRONT_MATTER_NOT_MAPPING = "front matter(--- 사이)는 '키: 값' 형태여야 해요"
FRONT_MATTER_NOT_CLOSED = "front matter가 '---'로 닫히지 않았어요"

FAQ_NOT_LIST = "FAQ 파일은 '- question: …' 항목의 목록이어야 해요 (지금은 {actual})"
FAQ_ENTRY_NOT_MAPPING = "FAQ 항목은 question과 answer가 있는 매핑이어야 해요 (지금은 {actual}). 이 항목은 건너뛰었어요"
FAQ_ENTRY_INCOMPLETE = "FAQ 항목에 {missing} 값이 없어요. 이 항목은 건너뛰었어요"

# `endy kb export-learned DIR` (endy_bot/learning_cli.py)
EXPORT_NO_TABLES = "⚠️ 배운 지식을 저장하는 표가 아직 없어요. 먼저 `endy migrate`를 실행해 주세요."
EXPORT_FAQ_WRITTEN = "{path}: FAQ {faq}개, 배운 질문 {phrasings}개"
EXPORT_SYNONYMS_WRITTEN = "{path}: 동의어 {pairs}쌍"
