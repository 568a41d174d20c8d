"""Admin domain on real PostgreSQL: exact report figures, gap grouping, roles, CSV export; command parsing."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.admin import AdminService, ProtectedAdmin, spreadsheet_text
from services.admin_commands import AdminAction, UsageError, parse_admin
from services.errors import PermissionDenied
from services.migrate import migrate
from services.storage import Exchange, Storage
from services.tokenizer import KoreanTokenizer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def admin(pg_url: str, tokenizer: KoreanTokenizer) -> AsyncIterator[AdminService]:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=3)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield AdminService(Storage(pool), ["UENV"], tokenizer)
    await pool.close()


async def ask(
    svc: AdminService,
    user: str,
    question: str,
    *,
    kind: str = "answer",
    days_ago: float = 1,
    category: str = "attendance",
    votes: tuple[tuple[str, int], ...] = (),
) -> int:
    ex = Exchange(
        request_id=uuid.uuid4(),
        surface="dm",
        team_id="T1",
        channel_id="D1",
        thread_ts=None,
        user_id=user,
        question=question,
        answer="답" if kind == "answer" else "",
        kind=kind,
        sources=[{"title": "근태·휴가 가이드 > 연차 신청 방법", "link": None, "source": "a.md", "section_id": "a.md#1"}]
        if kind == "answer"
        else [],
        confidence=0.9 if kind == "answer" else 0.1,
        used_llm=False,
        llm_failed=False,
        model=None,
        prompt_tokens=0,
        completion_tokens=0,
        latency_ms=5,
        category=category,
        department="pnc",
        kb_version="v1",
        created_at=NOW - timedelta(days=days_ago),
    )
    message_id = await svc.storage.record_exchange(ex)
    for voter, rating in votes:
        reasons = ("outdated",) if rating < 0 else ()
        await svc.storage.record_feedback(
            message_id, "T1", voter, rating, "button", reasons, "틀렸어요 010-1111-2222" if rating < 0 else None
        )
    return message_id


async def test_report_figures_are_exact(admin: AdminService) -> None:
    await ask(admin, "U1", "연차 신청 방법", votes=(("U1", 1), ("U2", 1)))
    await ask(admin, "U1", "반차는 몇 시간?", category="attendance", votes=(("U3", 1),))
    await ask(admin, "U2", "VPN 접속", category="it", votes=(("U2", -1),))
    await ask(admin, "U3", "노트북 교체", category="it")
    await ask(admin, "U2", "사내 어린이집 신청 방법", kind="not_found", days_ago=2)
    await ask(admin, "U3", "어린이집 신청은 어디서 하나요", kind="not_found", days_ago=3)
    await ask(admin, "U1", "주차 요금 정산", kind="not_found", days_ago=0.5)
    await ask(admin, "U4", "예전 질문", days_ago=10, votes=(("U4", 1), ("U5", -1)))  # previous period
    await ask(admin, "U4", "아주 예전 질문", days_ago=20, votes=(("U4", -1),))  # outside both periods
    report = await admin.report(7, now=NOW)
    s = report.summary
    assert (s.questions, s.unique_askers, s.answered, s.not_found, s.up, s.down) == (7, 3, 4, 3, 3, 1)
    assert s.helpful_pct == pytest.approx(75.0)
    assert report.previous.helpful_pct == pytest.approx(50.0)
    assert report.helpful_change == pytest.approx(25.0)
    assert {(c.category, c.up, c.down) for c in report.by_category} == {("attendance", 3, 0), ("it", 0, 1)}
    (worst,) = report.worst
    assert worst.question == "VPN 접속"
    assert worst.down == 1
    assert worst.reasons == ["outdated"]
    assert worst.comments == ["틀렸어요 [전화번호]"]  # stored masked
    # not-found questions grouped by similarity, most frequent first; a 👎'd answer is a gap too
    assert [(g.count, g.negative) for g in report.gaps] == [(2, 0), (1, 0), (1, 1)]
    assert "어린이집" in report.gaps[0].example
    assert report.gaps[0].department == "pnc"
    assert report.gaps[1].example == "주차 요금 정산"
    assert report.gaps[2].example == "VPN 접속"
    assert report.gaps[2].section == "근태·휴가 가이드 > 연차 신청 방법"
    assert len(report.daily) == 7
    assert sum(d.questions for d in report.daily) == 7


async def test_an_empty_period_is_a_report_without_division(admin: AdminService) -> None:
    report = await admin.report(30, now=NOW)
    assert report.empty
    assert report.summary.helpful_pct is None
    assert report.helpful_change is None
    assert report.gaps == []
    assert report.worst == []


async def test_roles_grant_revoke_and_env_admins(admin: AdminService) -> None:
    assert await admin.is_admin("T1", "UENV")
    assert not await admin.is_admin("T1", "U9")
    with pytest.raises(PermissionDenied):
        await admin.set_role("T1", "U9", "U8", "admin")
    assert await admin.set_role("T1", "UENV", "U9", "admin") == "user"
    assert await admin.is_admin("T1", "U9")
    with pytest.raises(ProtectedAdmin):
        await admin.set_role("T1", "U9", "UENV", "user")
    await admin.set_role("T1", "U9", "U9", "user")
    assert not await admin.is_admin("T1", "U9")
    audit = await admin.storage._pool.fetch("SELECT * FROM role_changes ORDER BY id")  # noqa: SLF001
    assert len(audit) == 2


async def test_csv_export_rows_and_masking(admin: AdminService) -> None:
    await ask(admin, "U1", "제 메일 kim@example.com 연차 신청", votes=(("U2", -1),))
    await ask(admin, "U2", "어린이집", kind="not_found")
    data, rows = await admin.export_csv(7, now=NOW)
    assert rows == 2
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["kind"] for r in parsed] == ["answer", "not_found"]
    assert "kim@example.com" not in data.decode()
    assert parsed[0]["down"] == "1"
    assert parsed[0]["reasons"] == "outdated"
    assert "[전화번호]" in parsed[0]["comments"]


@pytest.mark.parametrize(
    ("cell", "exported"),
    [
        ('=HYPERLINK("https://evil.example/x","연차 신청")', '\'=HYPERLINK("https://evil.example/x","연차 신청")'),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+82 10 1234 5678", "'+82 10 1234 5678"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("-5도 이하면 재택인가요?", "'-5도 이하면 재택인가요?"),  # a question that starts with a number is still text
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # some spreadsheets trim leading spaces (and other whitespace) before they look for a formula
        (" =1+1", "' =1+1"),
        ("   +82 10 1234 5678", "'   +82 10 1234 5678"),
        (" -2+3+cmd|' /C calc'!A0", "' -2+3+cmd|' /C calc'!A0"),
        ("  @SUM(1+1)", "'  @SUM(1+1)"),
        ("\u3000\u00a0=1+1", "'\u3000\u00a0=1+1"),
        ("\n=1+1", "'\n=1+1"),
        (" \t=1+1", "' \t=1+1"),
        # near-misses: left as they are
        ("연차는 =HR 시스템에서", "연차는 =HR 시스템에서"),
        ("  연차는 =HR 시스템에서", "  연차는 =HR 시스템에서"),
        ("'=1+1", "'=1+1"),
        ("   ", "   "),
        ("", ""),
        ("－5 전각 빼기", "－5 전각 빼기"),  # no formula to a spreadsheet (if masking normalises it to -, it is caught)
    ],
)
def test_spreadsheet_text(cell: str, exported: str) -> None:
    assert spreadsheet_text(cell) == exported


async def test_csv_export_neutralises_formulas_in_text_cells_only(admin: AdminService) -> None:
    message_id = await ask(admin, "U1", '=HYPERLINK("https://evil.example/sso","연차 신청")', category="-attendance")
    await admin.storage.record_feedback(message_id, "T1", "U2", -1, "button", ("outdated",), "=cmd|' /C calc'!A0")
    await admin.storage._pool.execute(  # noqa: SLF001  # a negative number, and a cell a trimming spreadsheet would evaluate
        "UPDATE messages SET confidence = -0.5, department = '  =1+1'"
    )
    data, rows = await admin.export_csv(7, now=NOW)
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["question"] == '\'=HYPERLINK("https://evil.example/sso","연차 신청")'
    assert row["comments"] == "'=cmd|' /C calc'!A0"
    assert row["category"] == "'-attendance"
    assert row["department"] == "'  =1+1"
    assert row["confidence"] == "-0.500"
    assert row["down"] == "1"  # numbers Endy wrote itself stay numbers
    formulas = [cell for line in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in line[1:]]
    starts = [c.lstrip()[:1] for c in formulas if c[:1] not in ("\t", "\r")]
    assert not [c for c in formulas if c[:1] in ("\t", "\r")]
    assert not [c for c in starts if c in ("=", "+", "@")] and starts.count("-") == 1  # the confidence, -0.500


@pytest.mark.parametrize(
    ("text", "action", "attrs"),
    [
        ("", AdminAction.HELP, {}),
        ("help", AdminAction.HELP, {}),
        ("whatever", AdminAction.HELP, {}),
        ("report", AdminAction.REPORT, {"days": 7}),
        ("report 30d", AdminAction.REPORT, {"days": 30}),
        ("REPORT 90D", AdminAction.REPORT, {"days": 90}),
        ("feedback", AdminAction.FEEDBACK, {"negative_only": True, "page": 1}),
        ("feedback all 3", AdminAction.FEEDBACK, {"negative_only": False, "page": 3}),
        ("feedback 2", AdminAction.FEEDBACK, {"negative_only": True, "page": 2}),
        ("export", AdminAction.EXPORT, {"days": 30}),
        ("export 14", AdminAction.EXPORT, {"days": 14}),
        ("export 7d", AdminAction.EXPORT, {"days": 7}),
        ("grant <@U0123ABC|hong>", AdminAction.GRANT, {"user_id": "U0123ABC"}),
        ("revoke <@W0999>", AdminAction.REVOKE, {"user_id": "W0999"}),
        ("kb reload", AdminAction.KB_RELOAD, {}),
        ("kb stats", AdminAction.KB_STATS, {}),
    ],
)
def test_parse_admin(text: str, action: AdminAction, attrs: dict[str, object]) -> None:
    cmd = parse_admin(text)
    assert cmd.action is action
    assert all(getattr(cmd, k) == v for k, v in attrs.items())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("report 7x", "bad_period"),
        ("report 14d", "bad_period"),
        ("export 0", "bad_days"),
        ("export 1000", "bad_days"),
        ("export abc", "bad_days"),
        ("grant", "bad_user"),
        ("grant hong", "bad_user"),
        ("grant @hong", "bad_user"),
        ("revoke <#C123>", "bad_user"),
        ("feedback some", "bad_feedback_kind"),
        ("feedback all 0", "bad_page"),
    ],
)
def test_parse_admin_refuses_bad_arguments(text: str, reason: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_admin(text)
    assert info.value.reason == reason
