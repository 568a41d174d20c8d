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
