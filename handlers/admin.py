"""/endy-admin: admins only (everyone else: "관리자만 접근 가능합니다"); reports, feedback, export, roles, KB."""

from __future__ import annotations

from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import doors, learning, texts
from handlers.admin_view import feedback_lines, report_lines, text_blocks
from handlers.context import SlackServices, Spawner
from handlers.doors import Status, counted
from handlers.kb_view import kb_stats
from services.admin import ProtectedAdmin
from services.admin_commands import AdminAction, AdminCommand, UsageError, parse_admin
from services.errors import PermissionDenied
from services.knowledge import KnowledgeBase
from services.output_policy import WITHOUT_LINKS
from services.report_chart import render_daily_chart


async def _say(respond: AsyncRespond, lines: list[str]) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=lines[0], blocks=text_blocks(lines))


async def _upload(client: AsyncWebClient, user: str, data: bytes, filename: str, title: str, comment: str) -> None:
    """Deliver a file privately: into the admin's DM with Endy (files upload v2)."""
    dm = await client.conversations_open(users=user)
    await client.files_upload_v2(
        channel=dm["channel"]["id"],
        file=data,
        filename=filename,
        title=WITHOUT_LINKS.plain(title),
        initial_comment=WITHOUT_LINKS.text(comment),
    )


async def run(
    cmd: AdminCommand, team: str, user: str, services: SlackServices, client: AsyncWebClient, respond: AsyncRespond
) -> None:
    """Carry out one admin command."""
    if cmd.action is AdminAction.REPORT:
        report = await services.admin.report(cmd.days)
        await _say(respond, report_lines(report, services.kb) + await learning.report_lines(services, cmd.days))
        png = await render_daily_chart(report.daily, texts.REPORT_CHART_TITLE.format(days=cmd.days))
        if png is not None:
            await _upload(
                client,
                user,
                png,
                f"endy-report-{cmd.days}d.png",
                texts.REPORT_TITLE.format(days=cmd.days),
                texts.REPORT_CHART_COMMENT.format(days=cmd.days),
            )
    elif cmd.action is AdminAction.FEEDBACK:
        page = await services.admin.feedback_page(negative_only=cmd.negative_only, page=cmd.page)
        await _say(respond, feedback_lines(page, negative_only=cmd.negative_only, page=cmd.page))
    elif cmd.action is AdminAction.EXPORT:
        data, rows = await services.admin.export_csv(cmd.days)
        if not rows:
            await _say(respond, [texts.EXPORT_EMPTY.format(days=cmd.days)])
            return
        await _upload(client, user, data, f"endy-export-{cmd.days}d.csv", f"endy-export-{cmd.days}d.csv", "")
        await _say(respond, [texts.EXPORT_DONE.format(rows=rows, days=cmd.days)])
    elif cmd.action in (AdminAction.GRANT, AdminAction.REVOKE):
        await _change_role(cmd, team, user, services, respond)
    elif cmd.action is AdminAction.KB_RELOAD:
        kb = await services.reload_knowledge()
        others = await services.reloader.publish()
        await _say(respond, [texts.KB_RELOADED.format(others=others), _stats_block(kb)])
    elif cmd.action is AdminAction.KB_STATS:
        await _say(respond, [_stats_block(services.kb)])
    elif cmd.action in (AdminAction.GAPS, AdminAction.LEARNED):
        await learning.run_command(cmd, services, respond)
    else:
        await _say(respond, [texts.ADMIN_HELP])


def _stats_block(kb: KnowledgeBase) -> str:
    """`endy kb stats` for Slack, as a code block; the knowledge files' own paths stay readable."""
    paths = [str(kb.root), *(finding.path for finding in [*kb.errors, *kb.warnings])]
    return "```" + WITHOUT_LINKS.text(kb_stats(kb), keep=paths) + "```"


async def _change_role(cmd: AdminCommand, team: str, user: str, services: SlackServices, respond: AsyncRespond) -> None:
    target = str(cmd.user_id)
    try:
        await services.admin.set_role(team, user, target, "admin" if cmd.action is AdminAction.GRANT else "user")
    except ProtectedAdmin:
        await _say(respond, [texts.ENV_ADMIN_PROTECTED.format(user=target)])
        return
    done = texts.GRANTED if cmd.action is AdminAction.GRANT else texts.REVOKED
    await _say(respond, [done.format(user=target)])


async def on_admin(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
) -> Status:
    """Ack, check the role and parse; the work (or the refusal) runs in the background, once counted."""
    await ack()
    team, user = str(command.get("team_id") or ""), str(command["user_id"])
    where = {"respond": respond, "user": user, "endpoint": "/endy-admin"}
    try:
        await services.admin.require_admin(team, user)
        cmd = parse_admin(str(command.get("text") or ""))
    except PermissionDenied:
        logger.bind(code=PermissionDenied.code).info("non-admin used /endy-admin")
        tasks.spawn(respond(response_type="ephemeral", text=texts.ADMIN_DENIED), context=where)
        return Status.DENIED
    except UsageError as err:
        usage = texts.ADMIN_USAGE.get(err.reason, texts.ADMIN_HELP)
        tasks.spawn(respond(response_type="ephemeral", text=usage), context=where)
        return Status.INVALID
    tasks.spawn(run(cmd, team, user, services, client, respond), context=where)
    return Status.OK


def register(app: AsyncApp) -> None:
    """Listen to /endy-admin, and to the learning surfaces it opens (gap buttons, teaching modals, opt-in)."""
    app.command("/endy-admin")(counted(doors.ADMIN, on_admin))
    learning.register(app)
