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
SUGGESTED_PROMPTS_TITLE = "이런 걸 물어볼 수 있어요"
HOME_TITLE = "엔디 사용법"
HOME_HOW_TO = (
    "• DM으로 바로 물어보세요.\n• 채널에서는 @엔디 를 멘션하면 스레드로 답해요.\n"
    "• `/endy 질문` 을 입력하면 나만 보이게 답해요.\n• 답변 아래 👍/👎 로 알려주시면 더 좋아져요."
)
OTHER_LINKS_REMOVED = "(링크 생략)"
