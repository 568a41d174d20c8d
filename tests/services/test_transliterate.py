"""Latin ↔ Hangul matching of tool names by consonant skeleton, including the pairs that must NOT match."""

from __future__ import annotations

import pytest

from services.transliterate import Transliterator, hangul_skeleton, latin_skeleton


@pytest.mark.parametrize(
    ("hangul", "latin"),
    [
        ("지라", "jira"),
        ("컨플루언스", "confluence"),
        ("슬랙", "slack"),
        ("아웃룩", "outlook"),
        ("옥타", "okta"),
        ("노션", "notion"),
        ("엑셀", "excel"),
        ("팀즈", "teams"),
        ("애니커넥트", "anyconnect"),
        ("피그마", "figma"),
    ],
)
def test_spellings_of_one_name_share_a_skeleton(hangul: str, latin: str) -> None:
    assert hangul_skeleton(hangul) == latin_skeleton(latin) != ""


@pytest.mark.parametrize(("hangul", "latin"), [("지라", "zoom"), ("슬랙", "select"), ("노션", "nation1")])
def test_different_names_do_not_match(hangul: str, latin: str) -> None:
    assert hangul_skeleton(hangul) != latin_skeleton(latin)


def test_counterparts_come_from_the_handbooks_own_words() -> None:
    words = Transliterator(["jira", "confluence", "slack", "연차", "휴가", "신청", "vpn"])
    assert words.counterparts("지라") == {"jira"}
    assert words.counterparts("컨플루언스") == {"confluence"}
    assert words.counterparts("노션") == set()  # the handbook never names Notion
    assert words.counterparts("slack") == set()  # no Hangul spelling of it in the handbook
    assert words.counterparts("연차") == set()  # a Korean word is no tool name
