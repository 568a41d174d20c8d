"""Extractive answers keep tables and numbered steps whole and never pick lines matching only generic words."""

from __future__ import annotations

from services.extract import extract_answer
from services.knowledge import Section, SectionKind
from services.tokenizer import KoreanTokenizer

_FILLER = "\n".join(f"- 참고 사항 {i}: 회사 규정에 따라 처리합니다. 담당 부서에 물어보세요." for i in range(20))
_TEXT = f"""경비는 사용일로부터 30일 이내에 정산합니다.
{_FILLER}
| 금액 | 승인 |
|---|---|
| 10만원 미만 | 팀장 |
| 10만원 이상 | 본부장 |

1. 그룹웨어에 로그인합니다.
2. 경비 메뉴를 엽니다.
3. 영수증을 첨부합니다.
4. 결재를 올립니다.
5. 승인 후 지급됩니다.
- 경조사 화환은 회사 명의로 보냅니다.
"""


def _section(text: str) -> Section:
    return Section("h.md#1", SectionKind.DOC, ("핸드북", "경비 정산"), text, "h.md")


def _extract(tokenizer: KoreanTokenizer, question: str) -> str:
    tokens = tokenizer.tokenize(question)
    weights = {t: 1.0 if t not in {"회사"} else 0.3 for t in tokens}
    strong = {t for t, w in weights.items() if w >= 1.0}
    return extract_answer(_section(_TEXT), weights, strong, tokenizer)


def test_a_table_is_kept_whole(tokenizer: KoreanTokenizer) -> None:
    text = _extract(tokenizer, "경비 승인 금액 기준")
    assert "| 10만원 미만 | 팀장 |" in text
    assert "| 10만원 이상 | 본부장 |" in text
    assert "| 금액 | 승인 |" in text


def test_numbered_steps_are_complete_and_in_order(tokenizer: KoreanTokenizer) -> None:
    text = _extract(tokenizer, "영수증 첨부 결재 절차")
    steps = [line for line in text.splitlines() if line[:2].rstrip(".").isdigit()]
    assert [s[:2] for s in steps] == ["1.", "2.", "3.", "4.", "5."]


def test_a_line_matching_only_generic_words_is_not_picked(tokenizer: KoreanTokenizer) -> None:
    text = _extract(tokenizer, "회사 영수증 첨부")
    assert text.endswith("…")  # the section is long: this is an extract, not the whole text
    assert "화환" not in text  # shares only 회사 with the question


def test_a_short_section_is_shown_whole_under_its_heading(tokenizer: KoreanTokenizer) -> None:
    text = extract_answer(_section("짧은 안내예요."), {}, set(), tokenizer)
    assert text == "**경비 정산**\n짧은 안내예요."
