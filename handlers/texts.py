"""Every user-facing string of Endy (Korean, polite 해요체). Code and logs stay English."""

from __future__ import annotations

from collections.abc import Sequence

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
    "other": "기타",
}
ESCALATE_BUTTON = "담당 팀에 물어보기"
SHARE_BUTTON = "채널에 공유하기"
SHARED_BY = "<@{user}>님이 엔디에게 물어본 내용을 공유했어요."
ESCALATION_POST = "엔디가 답하지 못한 질문이 있어요. 확인 부탁드려요! 🙏\n> {question}\n<{link}|원래 대화 보기>"
ESCALATION_POST_NO_LINK = "엔디가 답하지 못한 질문이 있어요. 확인 부탁드려요! 🙏\n> {question}"
ESCALATED = "{team}({channel}) 채널에 질문을 전달했어요. 담당자가 곧 확인할 거예요."
ESCALATION_FAILED = "질문을 전달하지 못했어요. {channel} 채널에 직접 물어봐 주세요."
ANSWER_EXPIRED = "이 답변은 더 이상 공유할 수 없어요. 다시 질문해 주세요."
NOTHING_TO_SHARE = "찾지 못한 질문이라 채널에 공유할 답변이 없어요. 담당 팀에 문의해 보세요."
SUGGESTED_PROMPTS_TITLE = "이런 걸 물어볼 수 있어요"
HOME_TITLE = "엔디 사용법"
HOME_HOW_TO = (
    "• DM으로 바로 물어보세요.\n• 채널에서는 @엔디 를 멘션하면 스레드로 답해요.\n"
    "• `/endy 질문` 을 입력하면 나만 보이게 답해요.\n• 답변 아래 👍/👎 로 알려주시면 더 좋아져요."
)
OTHER_LINKS_REMOVED = "(링크 생략)"
READ_MORE = "전체 보기"
READ_MORE_IN_SOURCE = "(출처 문서에서 전체 내용을 볼 수 있어요)"


# --- /endy-admin ---
ADMIN_DENIED = "관리자만 접근 가능합니다"
ADMIN_HELP = (
    "*엔디 관리자 명령*\n"
    "• `/endy-admin report [7d|30d|90d]` — 피드백 리포트 (기본 7일)\n"
    "• `/endy-admin feedback [negative|all] [페이지]` — 피드백 목록\n"
    "• `/endy-admin export [일수]` — 질문·피드백 CSV 받기 (기본 30일)\n"
    "• `/endy-admin grant @사용자` · `revoke @사용자` — 관리자 권한 주기 · 회수\n"
    "• `/endy-admin kb reload` · `kb stats` — 지식 베이스 다시 불러오기 · 현황\n"
    "• `/endy-admin help` — 이 도움말"
)
ADMIN_USAGE = {
    "bad_period": "기간은 `7d`, `30d`, `90d` 중 하나로 적어 주세요. 예: `/endy-admin report 30d`",
    "bad_days": "내보낼 기간은 1~365 사이의 일수로 적어 주세요. 예: `/endy-admin export 30`",
    "bad_user": "권한을 바꿀 사람을 @멘션으로 알려 주세요. 예: `/endy-admin grant @홍길동`",
    "bad_page": "페이지는 1 이상의 숫자로 적어 주세요. 예: `/endy-admin feedback all 2`",
    "bad_feedback_kind": "`negative`(👎만) 또는 `all`(전체) 중 하나를 골라 주세요.",
}
ADMIN_WORKING = "리포트를 만들고 있어요… 잠시만요."
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
UNCATEGORISED = "미분류"
SECTION_USED = "사용한 문서"
FEEDBACK_TITLE = "*피드백 목록* ({kind}, {page}페이지)"
FEEDBACK_KIND = {True: "👎만", False: "전체"}
FEEDBACK_EMPTY = "이 페이지에는 피드백이 없어요."
EXPORT_DONE = "CSV를 DM으로 보냈어요. ({rows}건, 최근 {days}일, 개인정보는 가려져 있어요)"
EXPORT_EMPTY = "최근 {days}일 동안 내보낼 질문이 없어요."
KB_RELOADED = "지식 베이스를 다시 불러왔어요. 다른 인스턴스 {others}곳에도 알렸어요."
DASHBOARD_TITLE = "관리자 대시보드 — 최근 7일"
