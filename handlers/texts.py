"""Every user-facing string of Endy (Korean, polite 해요체). Code and logs stay English."""

from __future__ import annotations

from collections.abc import Sequence

from config.problems import TOKEN_HOME
from services.knowledge import Category, Department

BOT_NAME = "엔디"
SOURCES_LABEL = "출처"
RELATED_LABEL = "관련 질문"
SUGGESTIONS_LABEL = "혹시 이 문서가 도움이 될까요?"
LLM_FALLBACK_NOTE = "AI 답변을 만들지 못해서 안내 문서 내용을 그대로 보여드려요."
CHAT_WELCOME = "안녕하세요, 엔디예요! 회사 생활에 대해 궁금한 걸 물어보세요. (끝내려면 '종료' 또는 Ctrl+D)"
CHAT_BYE = "다음에 또 물어봐 주세요. 좋은 하루 보내세요!"
CHAT_PROMPT = "질문> "
GENERIC_ERROR = "죄송해요, 답변을 준비하다 문제가 생겼어요. 잠시 후 다시 시도해 주세요. (참조 번호: {ref})"
CONFIG_ERROR = "설정에 문제가 있어 엔디를 시작할 수 없어요:"
_SWAPPED_PREFIX = {"SLACK_BOT_TOKEN": "xapp-", "SLACK_APP_TOKEN": "xoxb-"}
_TOKEN_WHY = {
    "token_revoked": "취소된 토큰이에요. 앱을 다시 설치하고 새 토큰을 넣어 주세요",
    "account_inactive": "비활성화된 앱(또는 계정)의 토큰이에요. 앱을 다시 설치하고 새 토큰을 넣어 주세요",
    "token_expired": "만료된 토큰이에요. 토큰 교체(rotation)를 끄거나 새 토큰을 넣어 주세요",
    "missing_scope": "토큰에 필요한 권한이 없어요",
}


def slack_token_refused(variable: str, method: str, error: str, *, token_prefix: str = "") -> str:
    """One line for the admin at the terminal: which token Slack refused, Slack's error, and the fix."""
    head = f"❌ Slack이 {variable}을(를) 거부했어요 ({method}: {error})."
    if token_prefix.startswith(_SWAPPED_PREFIX.get(variable, "-")):
        other = "SLACK_APP_TOKEN" if variable == "SLACK_BOT_TOKEN" else "SLACK_BOT_TOKEN"
        fix = f"{variable}에는 Slack 앱 설정 › {TOKEN_HOME[variable]}을 넣어 주세요."
        return f"{head} {variable}과 {other}이 서로 바뀐 것 같아요: {fix}"
    why = _TOKEN_WHY.get(error, "올바른 토큰이 아니에요")
    return f"{head} {why}: {variable}에는 Slack 앱 설정 › {TOKEN_HOME.get(variable, variable)}을 넣어 주세요."


def help_text(categories: Sequence[Category]) -> str:
    """How to ask, with the categories and a few example questions."""
    lines = ["무엇이든 편하게 물어보세요! 회사 안내 문서에서 답을 찾아 드릴게요.", ""]
    for cat in categories:
        examples = " / ".join(f"“{e}”" for e in cat.examples[:2])
        lines.append(f"• {cat.name}" + (f" — 예: {examples}" if examples else ""))
    return "\n".join(lines)


def too_long(limit: int, length: int) -> str:
    """The question is over MAX_QUESTION_CHARS."""
    return f"질문이 너무 길어요. {limit}자 이내로 줄여서 다시 물어봐 주세요. (지금 {length}자)"


HEDGE_INTRO = "딱 맞는 내용인지 확실하지 않지만, 혹시 이 내용을 찾으셨나요?"
HEDGE_OTHERS = "다른 후보"
HEDGE_FOOTER = "질문과 딱 맞는 내용인지 확실하지 않아요. 아니라면 담당 팀에 물어봐 주세요."
ENGLISH_NOTE = "Endy answers from the company's Korean handbook, so the text below is in Korean."
ENGLISH_NOT_FOUND = "Endy answers from the company's Korean handbook and could not find this there."


def not_found(department: Department | None) -> str:
    """Honest "not in the handbook" reply, naming the team and channel to ask."""
    base = "죄송해요, 안내 문서에서 이 질문에 대한 답을 찾지 못했어요."
    if department is None:
        return base + " 담당 부서에 직접 문의해 주세요."
    return f"{base} {department.name}({department.channel})에 물어보시면 정확히 안내받을 수 있어요."


def rate_limited(retry_after: float) -> str:
    """The asker has used up their question budget for now."""
    seconds = max(1, round(retry_after))
    when = f"{seconds}초" if seconds < 60 else f"{(seconds + 59) // 60}분"
    return f"질문이 너무 많이 들어왔어요. {when} 뒤에 다시 물어봐 주세요."


# --- Slack ---
THINKING_STATUS = "안내 문서를 찾아보고 있어요…"
GREETING = "안녕하세요, 엔디예요! 👋 휴가, 급여, 경비, IT, 복지, 사무실에 관해 궁금한 걸 편하게 물어보세요."
FEEDBACK_POSITIVE = "도움이 됐어요"
FEEDBACK_NEGATIVE = "아쉬워요"
FEEDBACK_THANKS = "의견 고마워요! 더 나은 답변을 드리는 데 쓸게요. 🙏"
FEEDBACK_MODAL_TITLE = "어떤 점이 아쉬웠나요?"
FEEDBACK_MODAL_SUBMIT = "보내기"
FEEDBACK_MODAL_CANCEL = "취소"
FEEDBACK_REASONS_LABEL = "이유 (여러 개 골라도 돼요)"
FEEDBACK_COMMENT_LABEL = "더 알려주실 내용이 있나요? (선택)"
FEEDBACK_REASONS = {
    "inaccurate": "정확하지 않아요",
    "not_helpful": "도움이 안 돼요",
    "outdated": "정보가 오래됐어요",
    "wrong_section": "다른 문서가 필요해요",
    "other": "기타",
}
ESCALATE_BUTTON = "담당 팀에 물어보기"
SHARE_BUTTON = "채널에 공유하기"
SHARED_BY = "{user}님이 엔디에게 물어본 내용을 공유했어요."
ESCALATION_POST = "엔디가 답하지 못한 질문이 있어요. 확인 부탁드려요! 🙏\n> {question}"
ESCALATION_LINK_LABEL = "원래 대화 보기"
ESCALATED = "{team}({channel}) 채널에 질문을 전달했어요. 담당자가 곧 확인할 거예요."
ESCALATION_FAILED = "질문을 전달하지 못했어요. {channel} 채널에 직접 물어봐 주세요."
ESCALATION_NOT_MEMBER = (
    "아직 엔디가 {team} 채널({channel})에 초대되지 않아서 질문을 전달하지 못했어요. "
    "번거로우시겠지만 {channel} 채널에 직접 물어봐 주세요. 관리자가 엔디를 초대하면 다음부터는 바로 전달할게요."
)
ESCALATION_ALREADY = "이 질문은 이미 {team}({channel}) 채널에 전달했어요. 담당자가 확인할 때까지 조금만 기다려 주세요."
NOT_YOUR_QUESTION = "질문하신 분(또는 관리자)만 이 질문을 담당 팀에 전달하거나 채널에 공유할 수 있어요."
BUTTON_REFUSED = "이 버튼은 확인할 수 없어서 처리하지 않았어요. 엔디에게 다시 질문해 주세요."
FEEDBACK_BAD_REASON = "목록에 있는 이유 중에서 골라 주세요."
ANSWER_EXPIRED = "이 답변은 더 이상 공유할 수 없어요. 다시 질문해 주세요."
NOTHING_TO_SHARE = "찾지 못한 질문이라 채널에 공유할 답변이 없어요. 담당 팀에 문의해 보세요."
SUGGESTED_PROMPTS_TITLE = "이런 걸 물어볼 수 있어요"
HOME_TITLE = "엔디 사용법"
HOME_HOW_TO = (
    "• DM으로 바로 물어보세요.\n• 채널에서는 @엔디 를 멘션하면 스레드로 답해요.\n"
    "• `/endy 질문` 을 입력하면 나만 보이게 답해요.\n• 답변 아래 👍/👎 로 알려주시면 더 좋아져요."
)
READ_MORE = "전체 보기"
READ_MORE_IN_SOURCE = "(출처 문서에서 전체 내용을 볼 수 있어요)"
NOTHING_SAFE_TO_SHOW = "이 답변에는 보여 드릴 수 없는 링크만 있었어요. 아래 출처 문서를 확인해 주세요."


# --- /endy-admin ---
ADMIN_DENIED = "관리자만 접근 가능합니다"
ADMIN_HELP = (
    "*엔디 관리자 명령*\n"
    "• `/endy-admin report [7d|30d|90d]` — 피드백 리포트 (기본 7일)\n"
    "• `/endy-admin feedback [negative|all] [페이지]` — 피드백 목록\n"
    "• `/endy-admin export [일수]` — 질문·피드백 CSV 받기 (기본 30일)\n"
    "• `/endy-admin grant @사용자` · `revoke @사용자` — 관리자 권한 주기 · 회수\n"
    "• `/endy-admin kb reload` · `kb stats` — 지식 베이스 다시 불러오기 · 현황\n"
    "• `/endy-admin gaps [7d|30d]` — 답하지 못한 질문을 보고 엔디에게 가르치기\n"
    "• `/endy-admin learned [문서]` — 배운 내용 보기 · 지우기\n"
    "• `/endy-admin help` — 이 도움말"
)
ADMIN_USAGE = {
    "bad_period": "기간은 `7d`, `30d`, `90d` 중 하나로 적어 주세요. 예: `/endy-admin report 30d`",
    "bad_days": "내보낼 기간은 1~365 사이의 일수로 적어 주세요. 예: `/endy-admin export 30`",
    "bad_user": "권한을 바꿀 사람을 @멘션으로 알려 주세요. 예: `/endy-admin grant @홍길동`",
    "bad_page": "페이지는 1 이상의 숫자로 적어 주세요. 예: `/endy-admin feedback all 2`",
    "bad_feedback_kind": "`negative`(👎만) 또는 `all`(전체) 중 하나를 골라 주세요.",
    "bad_gap_period": "기간은 `7d` 또는 `30d` 로 적어 주세요. 예: `/endy-admin gaps 30d`",
}
GRANTED = "<@{user}>님에게 관리자 권한을 드렸어요."
REVOKED = "<@{user}>님의 관리자 권한을 회수했어요."
ENV_ADMIN_PROTECTED = "<@{user}>님은 설정(ADMIN_USER_IDS)으로 지정된 관리자라 Slack에서는 회수할 수 없어요."
REPORT_TITLE = "엔디 피드백 리포트 — 최근 {days}일"
REPORT_EMPTY = "최근 {days}일 동안 아직 질문이 없어요. 데이터가 쌓이면 리포트를 보여 드릴게요."
REPORT_HEADLINE = "*질문* {questions}개 · *질문한 사람* {askers}명 · *답변함* {answered}개 · *찾지 못함* {not_found}개"
REPORT_HELPFUL = "*도움됨* {pct:.1f}% (👍 {up} · 👎 {down})"
REPORT_NO_VOTES = "*도움됨* 아직 평가가 없어요"
REPORT_CHANGE = " · 지난 {days}일 대비 {change:+.1f}%p"
REPORT_BY_CATEGORY = "*카테고리별 평가*"
REPORT_WORST = "*아쉬운 답변*"
REPORT_GAPS = "*문서 보완이 필요한 질문* (비슷한 질문끼리 묶음, 많은 순)"
REPORT_NONE = "없어요 🙌"
REPORT_CHART_TITLE = "최근 {days}일 질문 수와 도움됨 비율"
REPORT_CHART_COMMENT = "최근 {days}일 리포트 차트예요."
REPORT_DAYS_INVALID = "기간은 1~365 사이의 일수로 적어 주세요 (받은 값: {value}). 예: endy report --days 30"
UNCATEGORISED = "미분류"
SECTION_USED = "사용한 문서"
FEEDBACK_TITLE = "*피드백 목록* ({kind}, {page}페이지)"
FEEDBACK_KIND = {True: "👎만", False: "전체"}
FEEDBACK_EMPTY = "이 페이지에는 피드백이 없어요."
EXPORT_DONE = "CSV를 DM으로 보냈어요. ({rows}건, 최근 {days}일, 개인정보는 가려져 있어요)"
EXPORT_EMPTY = "최근 {days}일 동안 내보낼 질문이 없어요."
# ask/chat/serve/reload on a folder with findings (each is in the file log with its file and line).
KB_FINDINGS_LINE = "⚠️ 지식 폴더에 문제 {errors}개, 경고 {warnings}개가 있어요: `endy kb stats`로 확인해 주세요"
KB_RELOADED = "지식 베이스를 다시 불러왔어요. 다른 인스턴스 {others}곳에도 알렸어요."
DASHBOARD_TITLE = "관리자 대시보드 — 최근 7일"

# `endy doctor`: one line per check (✅/⚠️/❌), then "→" the fix.
DOCTOR_TITLE = "엔디 점검 (endy doctor)"
DOCTOR_FIX = "   → {fix}"
DOCTOR_DETAIL = "   · {detail}"
DOCTOR_TOTAL = "결과: ✅ {ok}개 · ⚠️ {warn}개 · ❌ {fail}개"
DOCTOR_CHECKS = {
    "settings": "설정",
    "token": "Slack 토큰",
    "scopes": "Slack 권한(scope)",
    "channels": "담당 팀 채널",
    "postgres": "PostgreSQL",
    "migrations": "DB 마이그레이션",
    "redis": "Redis",
    "llm": "LLM",
    "embeddings": "임베딩",
    "knowledge": "지식 폴더",
    "disk": "디스크",
}
DOCTOR_TIMEOUT = "{seconds:g}초 안에 확인을 끝내지 못했어요"
DOCTOR_TIMEOUT_FIX = "대상 서버에 이 컴퓨터에서 닿는지(주소, 방화벽) 확인해 주세요"
DOCTOR_CRASHED = "확인하다가 예상하지 못한 오류가 났어요 ({error})"
DOCTOR_SKIPPED_SETTINGS = "설정을 읽지 못해서 건너뛰었어요"
DOCTOR_SETTINGS_OK = "문제 없어요 (ENVIRONMENT={environment})"
DOCTOR_SETTINGS_BAD = "문제 {count}개를 찾았어요"
DOCTOR_SETTINGS_FIX = "고친 뒤 `endy doctor`로 다시 확인해 주세요"
DOCTOR_NO_BOT_TOKEN = "SLACK_BOT_TOKEN이 없어서 Slack 확인을 건너뛰었어요"
DOCTOR_NO_BOT_TOKEN_FIX = (
    "Slack 앱 설정 › OAuth & Permissions의 Bot User OAuth Token(xoxb-…)을 SLACK_BOT_TOKEN에 넣어 주세요"
)
DOCTOR_SLACK_SKIPPED = "SLACK_BOT_TOKEN이 없어서 건너뛰었어요"
DOCTOR_NEEDS_TOKEN = "Slack 토큰 확인이 통과하지 않아서 건너뛰었어요"
DOCTOR_TOKEN_OK = "{team} 워크스페이스의 @{user}(으)로 연결돼요"
DOCTOR_SLACK_UNREACHABLE = "Slack에 연결하지 못했어요 ({url}: {error})"
DOCTOR_SLACK_UNREACHABLE_FIX = "네트워크와 프록시, SLACK_API_URL을 확인해 주세요"
DOCTOR_SLACK_ERROR = "Slack이 auth.test에 오류로 답했어요 ({error})"
DOCTOR_RETRY_FIX = "잠시 후 다시 실행해 주세요"
DOCTOR_MANIFEST_MISSING = "manifest.yml을 읽지 못해서 비교하지 못했어요 ({path})"
DOCTOR_SCOPES_OK = "manifest.yml의 봇 권한 {count}개가 모두 허용돼 있어요"
DOCTOR_SCOPES_MISSING = "허용되지 않은 봇 권한이 있어요: {scopes}"
DOCTOR_SCOPES_FIX = (
    "Slack 앱 설정 › OAuth & Permissions › Bot Token Scopes에 추가하거나 manifest.yml로 앱을 갱신한 뒤, "
    "앱을 워크스페이스에 다시 설치해 주세요"
)
DOCTOR_CHANNELS_NONE = "kb.yaml에 담당 팀 채널이 없어요"
DOCTOR_CHANNELS_OK = "채널 {count}개 모두에 @엔디가 들어가 있어요"
DOCTOR_CHANNELS_BAD = "채널 {count}개에 글을 쓸 수 없어요"
DOCTOR_CHANNELS_UNKNOWN = "채널 {count}개를 확인하지 못했어요"
DOCTOR_CHANNELS_FIX = (
    "각 채널에서 `/invite @엔디`로 초대해 주세요. 채널 이름이 틀렸다면 kb.yaml의 channel을 고쳐 주세요"
)
DOCTOR_CHANNELS_UNKNOWN_FIX = "Slack 권한 channels:read, groups:read가 있는지 확인하고 다시 실행해 주세요"
DOCTOR_CHANNEL_NOT_MEMBER = "{channel} ({department}): @엔디가 채널에 없어요 → `/invite @엔디`"
DOCTOR_CHANNEL_NOT_FOUND = (
    "{channel} ({department}): Slack에서 찾지 못했어요 (비공개 채널이면 @엔디를 먼저 초대해 주세요)"
)
DOCTOR_CHANNEL_UNKNOWN = "{channel} ({department}): Slack에 물어보지 못했어요"
DOCTOR_KB_UNREADABLE = "지식 폴더를 읽지 못해서 건너뛰었어요"
DOCTOR_EMBEDDED = "임베디드 사용: {variable}이(가) 없어서 개발용 내장 서버를 써요"
DOCTOR_EMBEDDED_FIX = "운영에서는 {variable}을(를) 설정해 주세요"
DOCTOR_UNSET_PRODUCTION = "{variable}이(가) 없어요: 운영(production)에서는 임베디드 서버를 쓰지 않아요"
DOCTOR_UNSET_PRODUCTION_FIX = "{variable}에 운영 서버 주소를 넣어 주세요"
DOCTOR_CONNECTED = "연결돼요 ({url})"
DOCTOR_CONNECT_FAILED = "연결하지 못했어요 ({url}: {error})"
DOCTOR_CONNECT_FIX = "서버가 켜져 있는지, {variable}의 주소·사용자·비밀번호가 맞는지 확인해 주세요"
DOCTOR_MIGRATIONS_EMBEDDED = "임베디드 사용: 시작할 때 적용돼요"
DOCTOR_MIGRATIONS_NO_DB = "PostgreSQL에 연결하지 못해서 건너뛰었어요"
DOCTOR_MIGRATIONS_OK = "{count}개 모두 적용돼 있어요"
DOCTOR_MIGRATIONS_PENDING = "적용되지 않은 마이그레이션 {count}개: {names}"
DOCTOR_MIGRATIONS_PENDING_AUTO = (
    "MIGRATE_ON_START=true라서 `endy serve`가 시작할 때 적용해요 (지금 하려면 `endy migrate`)"
)
DOCTOR_MIGRATIONS_PENDING_FIX = "`endy migrate`로 적용해 주세요 (MIGRATE_ON_START=false)"
DOCTOR_MIGRATIONS_CHANGED = "적용한 뒤에 바뀐 마이그레이션 파일이 있어요: {names}"
DOCTOR_MIGRATIONS_CHANGED_FIX = (
    "적용된 마이그레이션은 고치지 말고 되돌린 뒤, 바꿀 내용은 새 번호의 파일로 추가해 주세요"
)
DOCTOR_MIGRATIONS_NEWER = "이 버전에 없는 마이그레이션이 적용돼 있어요 (더 새 버전이 쓴 DB): {names}"
DOCTOR_MIGRATIONS_NEWER_FIX = "엔디를 DB와 같은 버전 이상으로 올려 주세요"
DOCTOR_MIGRATIONS_BROKEN = "마이그레이션 파일을 읽지 못했어요 ({error})"
DOCTOR_LLM_DISABLED = "OPENAI_API_KEY가 없어서 비활성화: 안내 문서 내용을 그대로 보여 줘요"
DOCTOR_LLM_DISABLED_FIX = "AI 답변을 쓰려면 OPENAI_API_KEY(필요하면 OPENAI_BASE_URL)를 설정해 주세요"
DOCTOR_LLM_OK = "{model} 모델이 답해요"
DOCTOR_LLM_FAILED = "{model} 호출이 실패했어요 ({error})"
DOCTOR_LLM_AUTH_FIX = "OPENAI_API_KEY가 맞는지 확인해 주세요"
DOCTOR_LLM_MODEL_FIX = "{variable}({model})이(가) 이 서비스에 있는 모델인지 확인해 주세요"
DOCTOR_LLM_CONNECT_FIX = "OPENAI_BASE_URL({url})에 이 컴퓨터에서 닿는지 확인해 주세요"
DOCTOR_KB_OK = "{name}: 문서 {documents}개, 섹션 {sections}개, FAQ {faq}개"
DOCTOR_KB_PROBLEMS = "{name}: 문제 {errors}개, 경고 {warnings}개"
DOCTOR_KB_WARNINGS = "{name}: 경고 {warnings}개"
DOCTOR_KB_FIX = "아래 파일:줄을 고친 뒤 `endy kb stats`로 다시 확인해 주세요"
DOCTOR_DISK_OK = "{path}에 {free:,}MB 남아 있어요 (기준 {need:,}MB)"
DOCTOR_DISK_LOW = "{path}에 {free:,}MB만 남았어요 (기준 {need:,}MB)"
DOCTOR_DISK_FIX = "공간을 비우거나 LOG_DIR을 여유 있는 디스크로 옮겨 주세요 (기준은 HEALTH_MIN_FREE_MB)"


# --- learning (/endy-admin gaps · learned, App Home): issue 16 ---
GAPS_TITLE = "*답하지 못한 질문* — 최근 {days}일 (비슷한 질문끼리 묶음, 많은 순)"
GAPS_EMPTY = "최근 {days}일 동안 답하지 못한 질문이 없어요 🙌"
GAP_LINE = "*{count}회* — “{example}”"
GAP_NEGATIVE = "👎 {negative}회"
GAP_SIMILAR = "비슷한 질문 {questions}개"
GAP_OWNER = "담당: {team}"
GAPS_HOME_TITLE = "*답하지 못한 질문* (최근 7일, 많은 순)"
GAPS_MORE = "전체 목록은 `/endy-admin gaps 30d` 로 볼 수 있어요."
LEARN_TEACH_BUTTON = "이 문서가 답이에요"
LEARN_FAQ_BUTTON = "답변 작성"
LEARN_SYNONYM_BUTTON = "동의어 추가"
LEARN_IGNORE_BUTTON = "무시"
LEARN_REMOVE_BUTTON = "지우기"
LEARN_IGNORED = "“{example}” 묶음을 목록에서 뺐어요. (질문 기록은 남아 있어요)"
LEARN_MODAL_SUBMIT = "저장"
LEARN_MODAL_CANCEL = "닫기"
LEARN_MODAL_DONE = "완료"
LEARN_SECTION_TITLE = "답이 되는 문서 고르기"
LEARN_SECTION_INTRO = "“{example}” 같은 질문에 답이 되는 문서를 골라 주세요. 이 질문들을 그 문서로 배워요."
LEARN_SECTION_CANDIDATES = "추천 문서"
LEARN_SECTION_SEARCH = "제목으로 찾기 (입력하고 Enter)"
LEARN_SECTION_MATCHES = "찾은 문서"
LEARN_SECTION_NO_MATCH = "“{query}”(이)가 제목에 들어간 문서가 없어요."
LEARN_SECTION_NONE = "문서를 하나 골라 주세요."
LEARN_FAQ_TITLE = "답변 작성"
LEARN_FAQ_QUESTION = "질문"
LEARN_FAQ_ANSWER = "답변"
LEARN_FAQ_CATEGORY = "카테고리 (선택)"
LEARN_FAQ_DEPARTMENT = "담당 팀 (선택)"
LEARN_FAQ_LINK = "참고 링크 (선택)"
LEARN_SYNONYM_TITLE = "동의어 추가"
LEARN_SYNONYM_INTRO = (
    "질문에 나온 단어를 안내 문서의 단어와 같은 뜻으로 배워요. 고친 뒤 저장하거나, 체크를 빼서 건너뛰세요."
)
LEARN_SYNONYM_ACCEPT = "추가할 단어"
LEARN_SYNONYM_TARGET = "‘{word}’과(와) 같은 뜻의 안내 문서 단어"
LEARN_SYNONYM_OTHERS = "다른 후보: {candidates}"
LEARN_SYNONYM_NONE = "제안할 동의어가 없어요. 아래에 직접 적어 주세요."
LEARN_SYNONYM_OWN_WORD = "직접 추가: 질문에 나온 단어 (선택)"
LEARN_SYNONYM_OWN_TARGET = "직접 추가: 안내 문서의 단어 (선택)"
LEARN_SYNONYM_OWN_MISSING = "두 칸을 모두 적어 주세요."
LEARN_SYNONYM_NOTHING = "추가할 단어를 하나 이상 골라 주세요."
LEARN_LOADING = "불러오고 있어요…"
LEARN_SAVING = "저장했어요. 새 답변을 확인하고 있어요…"
LEARN_SAVED = {
    "phrasing": "배웠어요: 질문 {added}개를 이 문서로 답해요.",
    "faq": "배웠어요: 새 FAQ를 추가했어요.",
    "synonym": "배웠어요: 동의어 {added}개를 추가했어요.",
}
LEARN_ALREADY = "이미 배운 내용이라 바뀐 게 없어요."
LEARN_SKIPPED = "건너뛴 질문 {count}개 (이미 있거나 이 문서에 배운 질문이 가득 찼어요)"
LEARN_PREVIEW = "*이제 이렇게 답해요:* “{question}”"
LEARN_PREVIEW_NOT_FOUND = "아직 이 질문에는 답을 찾지 못해요. 다른 방법으로도 알려 주세요."
LEARNED_TITLE = "*배운 내용* ({count}개, 최근 순)"
LEARNED_SECTION_TITLE = "*배운 내용* — {section} ({count}개)"
LEARNED_EMPTY = "아직 배운 내용이 없어요."
LEARNED_HEAD = "엔디가 배운 내용이에요."
LEARNED_NO_SECTION = "“{query}” 문서를 찾지 못했어요. 문서 제목의 일부나 `docs/파일.md#번호` 로 적어 주세요."
LEARNED_KIND = {"phrasing": "질문", "faq": "FAQ", "synonym": "동의어"}
LEARNED_ORIGIN = {"admin": "관리자", "votes": "👍 투표", "import": "가져오기"}
LEARNED_LINE = "[{kind}] “{text}”{where} · {origin} · {when:%m/%d}"
LEARNED_REMOVED = "지웠어요: “{text}”"
LEARN_DENIED = ADMIN_DENIED
LEARN_REFUSED = {
    "section_gone": "고른 문서가 지금 안내 문서에 없어요. 문서가 바뀌었을 수 있으니 목록을 새로 열어 주세요.",
    "gap_gone": "이 질문 묶음을 찾지 못했어요. 목록을 새로 열어 주세요.",
    "not_found": "이미 지워진 항목이에요.",
    "synonym_too_short": "한 글자 단어는 거의 모든 질문에 걸려서 동의어로 쓸 수 없어요.",
    "synonym_stop_word": "너무 흔한 단어라서(예: 신청, 방법) 동의어로 쓸 수 없어요.",
    "synonym_same": "같은 단어끼리는 동의어로 추가할 수 없어요.",
    "synonym_too_long": "동의어는 {limit}자까지 쓸 수 있어요.",
    "synonym_unknown_target": "안내 문서에 없는 단어예요. 문서에 나오는 단어를 골라 주세요.",
    "empty": "질문과 답변을 모두 적어 주세요.",
    "too_long": "글자 수가 너무 많아요 ({length}자 / 최대 {limit}자).",
    "bad_link": "링크는 http:// 또는 https:// 로 시작하는 주소만 쓸 수 있어요.",
    "duplicate": "같은 질문의 답변이 이미 있어요. `/endy-admin learned`에서 확인해 주세요.",
    "cap_reached": "이 문서에 배운 질문이 이미 가득 찼어요. `/endy-admin learned`에서 정리해 주세요.",
}
NOTIFY_BUTTON = "답이 생기면 알려 주세요"
NOTIFY_SUBSCRIBED = "알겠어요! 이 질문에 답이 생기면 DM으로 알려 드릴게요."
NOTIFY_ALREADY = "이미 알림을 신청한 질문이에요. 답이 생기면 DM으로 알려 드릴게요."
NOTIFY_NOT_YOURS = "질문하신 분만 알림을 신청할 수 있어요."
NOTIFY_DM = "전에 물어보신 질문에 답이 생겼어요! 🙌\n> {question}"
NOTIFY_DM_TEXT = "전에 물어보신 질문에 답이 생겼어요! 🙌"
LEARN_BAD_CHOICE = "목록에 있는 항목 중에서 골라 주세요."
REPORT_LEARNING = "*학습* 닫은 질문 묶음 {closed}개 · 남은 묶음 {open}개 · 배운 내용으로 답한 질문 {answered}개"
REPORT_TIME_TO_CLOSE = " · 처음 질문부터 닫기까지 중간값 {hours}"
