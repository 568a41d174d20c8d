"""/endy-admin end to end: refusal for non-admins, report with chart, export, roles, App Home, kb reload."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from handlers import texts
from services.knowledge import sample_kb_dir
from tests.endy import Endy, StartEndy
from tests.helpers import eventually, png_size

pytestmark = pytest.mark.timeout(120)
ADMIN, USER = "U0ADMIN", "U0EMPLOYEE"


async def admin_command(endy: Endy, text: str, user: str = ADMIN) -> dict[str, Any]:
    before = len(endy.slack.responses)
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy-admin", text, user))
    responses = await endy.slack.wait_for_responses(before + 1)
    body: dict[str, Any] = responses[before].body
    return body


async def chat(endy: Endy, questions: list[str], user: str = USER) -> None:
    before = len(endy.slack.messages())
    for q in questions:
        await endy.slack.send_event(endy.slack.event_message_im(user, q))
    await endy.slack.wait_for_messages(before + len(questions))
    assert await endy.deps.recorder.flush(10)


async def test_non_admins_are_refused_and_see_nothing(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await chat(endy, ["연차 신청 방법"])
    for text in ("report", "export 7", "grant <@U0EMPLOYEE>", "help"):
        body = await admin_command(endy, text, user=USER)
        assert body["text"] == texts.ADMIN_DENIED
        assert body["response_type"] == "ephemeral"
        assert "blocks" not in body or "질문" not in str(body.get("blocks"))
    assert endy.slack.files == {}
    assert endy.slack.calls_to("files.completeUploadExternal") == []
    assert (
        endy.deps.metrics.registry.get_sample_value(
            "api_requests_total", {"method": "command", "endpoint": "/endy-admin", "status": "denied"}
        )
        == 4
    )


async def test_report_with_figures_and_a_private_chart(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    empty = await admin_command(endy, "report")
    assert texts.REPORT_EMPTY.format(days=7) in str(empty["blocks"])
    assert endy.slack.files == {}
    await chat(endy, ["연차는 어떻게 신청하나요?", "와이파이 비번 뭐야?", "사내 어린이집 신청은 어떻게 해요?"])
    body = await admin_command(endy, "report 30d")
    text = str(body["blocks"])
    assert "최근 30일" in text
    assert "*질문* 3개" in text
    assert "*찾지 못함* 1개" in text
    assert "어린이집" in text
    await endy.slack.wait_for("files.completeUploadExternal")
    (upload,) = endy.slack.files.values()
    assert upload.content is not None
    width, height = png_size(upload.content)  # a chart in landscape (its exact size is the chart module's)
    assert width > height > 0
    complete = endy.slack.calls_to("files.completeUploadExternal")[0].body
    assert complete["channel_id"] == "D" + ADMIN[1:]  # the admin's own DM, not the channel
    bad = await admin_command(endy, "report 7x")
    assert "`7d`, `30d`, `90d`" in bad["text"]


async def test_export_is_a_masked_csv_in_the_admins_dm(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await chat(endy, ["제 메일은 lee@example.com 이에요. 급여일이 언제예요?"])
    body = await admin_command(endy, "export 7")
    assert "1건" in body["text"]
    (upload,) = endy.slack.files.values()
    content = (upload.content or b"").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 1
    assert rows[0]["surface"] == "dm"
    assert rows[0]["kind"] == "answer"
    assert "lee@example.com" not in content
    assert "[이메일]" in rows[0]["question"]


async def test_grant_and_revoke_with_env_admin_protection(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    assert (await admin_command(endy, "help", user=USER))["text"] == texts.ADMIN_DENIED
    assert texts.GRANTED.format(user=USER) in (await admin_command(endy, f"grant <@{USER}|employee>"))["text"]
    assert texts.ADMIN_HELP.splitlines()[0] in str((await admin_command(endy, "help", user=USER))["blocks"])
    protected = texts.ENV_ADMIN_PROTECTED.format(user=ADMIN)
    assert protected in (await admin_command(endy, f"revoke <@{ADMIN}>", user=USER))["text"]
    assert texts.REVOKED.format(user=USER) in (await admin_command(endy, f"revoke <@{USER}>"))["text"]
    assert (await admin_command(endy, "help", user=USER))["text"] == texts.ADMIN_DENIED
    assert "@멘션" in (await admin_command(endy, "grant someone"))["text"]
    audit = await endy.rows("SELECT actor_id, target_id, new_role FROM role_changes ORDER BY id")
    assert [(r["actor_id"], r["target_id"], r["new_role"]) for r in audit] == [
        (ADMIN, USER, "admin"),
        (ADMIN, USER, "user"),
    ]


async def test_app_home_shows_the_dashboard_only_to_admins(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await chat(endy, ["사내 어린이집 신청은 어떻게 해요?"])
    await endy.slack.send_event(endy.slack.event_app_home_opened(USER, tab="home"))
    await endy.slack.send_event(endy.slack.event_app_home_opened(ADMIN, tab="home"))
    await endy.slack.wait_for("views.publish", count=2)
    views = {c.body["user_id"]: str(c.body["view"]) for c in endy.slack.calls_to("views.publish")}
    assert texts.DASHBOARD_TITLE in views[ADMIN]
    assert "어린이집" in views[ADMIN]
    assert texts.DASHBOARD_TITLE not in views[USER]
    assert texts.HOME_TITLE in views[USER]


async def test_kb_reload_reaches_the_other_replica(start_endy: StartEndy, tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(sample_kb_dir(), kb_dir)
    first: Endy = await start_endy(admin_user_ids=[ADMIN], knowledge_dir=kb_dir)
    second: Endy = await start_endy(admin_user_ids=[ADMIN], knowledge_dir=kb_dir)
    await second.deps.reloader.subscribed.wait()
    old = second.deps.kb.version
    with (kb_dir / "docs" / "office.md").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n## 사내 어린이집\n- 본사 2층 어린이집은 만 1~5세 자녀가 이용할 수 있어요. 신청은 총무 포털에서 해요.\n"
        )
    body = await admin_command(first, "kb reload")
    assert texts.KB_RELOADED.format(others=1) in str(body["blocks"])
    # the other replica reloads within moments of the publish
    await eventually(lambda: second.deps.kb.version != old, "the other replica reloaded", 20)
    assert first.deps.kb.version == second.deps.kb.version
    answer = await second.deps.answers.answer("어린이집 신청은 어떻게 해요?", _asker())
    assert "어린이집" in answer.text
    assert answer.kind.value == "answer"


def _asker() -> Any:
    from services.answer_types import Asker

    return Asker(user_id="U0KB", team_id="T0001", surface="dm")
