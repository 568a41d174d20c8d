"""Escalation channels by id: kb.yaml names a team's channel by name (#ask-pnc) or id (C…/G…). Names are resolved
once at start (conversations.list, every page), ids through conversations.info; the asker's note links the channel
as `<#C…>`; a channel Endy is not in gets the asker a kind note and the admin one log line "invite @엔디 to #…".
Real Bolt app against the fake Slack, real PostgreSQL and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from handlers import texts
from services.knowledge import Department
from services.output_policy import WITHOUT_LINKS
from tests.endy import Endy, StartEndy
from tests.fakes.slack import FakeSlack, Message
from tests.fakes.slack_channels import SAMPLE_TEAM_CHANNELS
from tests.helpers import eventually

if TYPE_CHECKING:
    from loguru import Record

pytestmark = pytest.mark.timeout(120)
USER, CHANNEL = "U0BOB", "C0GENERAL"
NOT_FOUND_QUESTION = "사내 어린이집 신청은 어떻게 해요?"
INVITE = f"invite @{texts.BOT_NAME} to "


async def not_found_reply(endy: Endy) -> Message:
    await endy.slack.send_event(endy.slack.event_app_mention(USER, NOT_FOUND_QUESTION, channel=CHANNEL))
    (reply,) = await endy.slack.wait_for_messages(1)
    return reply


async def press_escalate(endy: Endy, reply: Message) -> str:
    """Press "ask the team" on the reply; the note the asker gets."""
    notes = len(endy.slack.calls_to("chat.postEphemeral"))
    value = next(
        e["value"] for b in reply.blocks or [] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == "escalate"
    )  # fmt: skip
    await endy.slack.send_interactive(endy.slack.block_actions(USER, "escalate", value, reply.channel, reply.ts))
    return str((await endy.slack.wait_for("chat.postEphemeral", notes + 1))[notes].body["text"])


def department_of(endy: Endy, channel_name: str) -> Department:
    return next(d for d in endy.deps.kb.departments.values() if d.channel.lstrip("#") == channel_name)


def invites(records: list[Record]) -> list[str]:
    return [r["message"] for r in records if r["message"].startswith(INVITE)]


async def test_channel_names_are_resolved_once_over_every_page_and_linked_by_id(start_endy: StartEndy) -> None:
    async with FakeSlack(channels=()) as slack:
        for i in range(450):  # a workspace bigger than a page: the teams' channels are on the third
            slack.add_channel(f"general-{i:03d}")
        team = {slack.add_channel(name).id: name for name in SAMPLE_TEAM_CHANNELS}
        endy = await start_endy(slack=slack)
        await slack.wait_for("conversations.list", 3)
        reply = await not_found_reply(endy)
        note = await press_escalate(endy, reply)
        (posted,) = [m for m in slack.messages() if m.channel in team]
        department = department_of(endy, team[posted.channel])
        assert f"<#{posted.channel}>" in reply.text  # the not-found reply links the team channel by id
        assert "어린이집" in posted.text
        assert slack.calls_to("chat.postMessage")[-1].body["channel"] == posted.channel
        assert note == texts.ESCALATED.format(team=WITHOUT_LINKS.text(department.name), channel=f"<#{posted.channel}>")
        listed = slack.calls_to("conversations.list")
    assert len(listed) == 3  # at start only: the escalation used the cache
    assert [bool(c.body.get("cursor")) for c in listed] == [False, True, True]
    assert {c.body.get("types") for c in listed} == {"public_channel,private_channel"}


async def test_a_channel_endy_is_not_in_gets_a_kind_note_and_an_invite_line(
    start_endy: StartEndy, warnings_logged: list[Record]
) -> None:
    async with FakeSlack(channels=()) as slack:
        team = {slack.add_channel(name, member=False).id: name for name in SAMPLE_TEAM_CHANNELS}
        endy = await start_endy(slack=slack)
        await eventually(lambda: len(invites(warnings_logged)) == len(team), "an invite line per team channel at start")
        reply = await not_found_reply(endy)
        note = await press_escalate(endy, reply)
        channel_id = str(slack.calls_to("chat.postMessage")[-1].body["channel"])
        department = department_of(endy, team[channel_id])
        kind = texts.ESCALATION_NOT_MEMBER.format(team=WITHOUT_LINKS.text(department.name), channel=f"<#{channel_id}>")
        assert note == kind
        assert [m for m in slack.messages() if m.channel in team] == []
        refused = [r for r in warnings_logged if r["message"].startswith(INVITE) and "not_in_channel" in r["message"]]
        assert [r["message"].split(":")[0] for r in refused] == [f"{INVITE}#{team[channel_id]}"]
        slack.channel(team[channel_id]).is_member = True  # the admin invites @엔디; the asker presses again
        again = await press_escalate(endy, reply)
        assert again == texts.ESCALATED.format(team=WITHOUT_LINKS.text(department.name), channel=f"<#{channel_id}>")
        assert len([m for m in slack.messages() if m.channel == channel_id]) == 1


async def test_a_private_channel_by_id_that_endy_is_not_in(
    start_endy: StartEndy, warnings_logged: list[Record], tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    (kb / "docs").mkdir(parents=True)
    (kb / "kb.yaml").write_text(
        "name: 보안 안내\ndefault_department: sec\ndepartments:\n  sec: {name: 보안팀, channel: G0SECURITY1}\n",
        encoding="utf-8",
    )
    (kb / "docs" / "security.md").write_text("# 보안\n\n## 비밀번호\n\n비밀번호는 90일마다 바꿔요.\n", encoding="utf-8")
    async with FakeSlack(channels=()) as slack:
        slack.add_channel("security", private=True, member=False, channel_id="G0SECURITY1")
        endy = await start_endy(slack=slack, knowledge_dir=kb)
        await eventually(lambda: len(invites(warnings_logged)) == 1, "the invite line at start")
        note = await press_escalate(endy, await not_found_reply(endy))
        assert note == texts.ESCALATION_NOT_MEMBER.format(team="보안팀", channel="<#G0SECURITY1>")
        assert [c.body["channel"] for c in slack.calls_to("chat.postMessage")[-1:]] == ["G0SECURITY1"]
        assert slack.calls_to("conversations.list") == []  # an id needs no listing …
        assert {c.body["channel"] for c in slack.calls_to("conversations.info")} == {"G0SECURITY1"}  # … only a look
    assert [m.split(":")[0] for m in invites(warnings_logged)] == [f"{INVITE}G0SECURITY1"] * 2
    assert "channel_not_found" in invites(warnings_logged)[-1]
