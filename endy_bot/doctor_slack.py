"""`endy doctor`'s Slack checks: the bot token (auth.test), its scopes against manifest.yml, the team channels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from slack_sdk.errors import SlackApiError

from endy_bot.doctor_model import Finding, Mark, Probe, short_error
from endy_bot.slack_link import TOKEN_ERRORS, TRANSIENT
from handlers import texts
from services.channels import Channel, ChannelDirectory
from services.errors import KnowledgeError

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
CHANNEL_READ = frozenset({"channels:read", "groups:read"})


def _no_token(*, first: bool = False) -> Finding:
    if first:  # the fix is said once, on the token's line
        return Finding(Mark.WARN, texts.DOCTOR_NO_BOT_TOKEN, texts.DOCTOR_NO_BOT_TOKEN_FIX)
    return Finding(Mark.WARN, texts.DOCTOR_SLACK_SKIPPED)


def granted_scopes(headers: Mapping[str, object]) -> frozenset[str]:
    """The scopes Slack says the token has (auth.test's `x-oauth-scopes` header, any capitalisation)."""
    value = next((str(v) for k, v in headers.items() if k.lower() == "x-oauth-scopes"), "")
    return frozenset(s.strip() for s in value.split(",") if s.strip())


async def check_token(probe: Probe) -> Finding:
    """auth.test with SLACK_BOT_TOKEN: accepted (and which scopes it has), refused, or Slack unreachable."""
    client = probe.slack()
    if client is None:
        return _no_token(first=True)
    try:
        response = await client.auth_test()
    except SlackApiError as err:
        code = str(err.response.get("error") or f"HTTP {err.response.status_code}")
        if code in TOKEN_ERRORS:
            line = texts.slack_token_refused("SLACK_BOT_TOKEN", "auth.test", code, token_prefix=str(client.token)[:5])
            return Finding(Mark.FAIL, line.removeprefix("❌ "))
        return Finding(Mark.FAIL, texts.DOCTOR_SLACK_ERROR.format(error=code), texts.DOCTOR_RETRY_FIX)
    except TRANSIENT as err:
        summary = texts.DOCTOR_SLACK_UNREACHABLE.format(url=probe.settings.slack_api_url, error=short_error(err))
        return Finding(Mark.FAIL, summary, texts.DOCTOR_SLACK_UNREACHABLE_FIX)
    probe.scopes = granted_scopes(response.headers)
    team, user = response.get("team") or response.get("team_id"), response.get("user") or response.get("user_id")
    return Finding(Mark.OK, texts.DOCTOR_TOKEN_OK.format(team=team, user=user))


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str] | None:
    """manifest.yml's bot scopes (None: the file is missing or not a manifest)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        scopes = data["oauth_config"]["scopes"]["bot"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return frozenset(str(s) for s in scopes) if isinstance(scopes, list) else None


async def check_scopes(probe: Probe) -> Finding:
    """Every bot scope manifest.yml asks for is granted to the token."""
    if probe.slack() is None:
        return _no_token()
    if probe.scopes is None:
        return Finding(Mark.WARN, texts.DOCTOR_NEEDS_TOKEN)
    wanted = manifest_scopes()
    if wanted is None:
        return Finding(Mark.WARN, texts.DOCTOR_MANIFEST_MISSING.format(path=MANIFEST))
    missing = sorted(wanted - probe.scopes)
    if missing:
        return Finding(
            Mark.FAIL, texts.DOCTOR_SCOPES_MISSING.format(scopes=", ".join(missing)), texts.DOCTOR_SCOPES_FIX
        )
    return Finding(Mark.OK, texts.DOCTOR_SCOPES_OK.format(count=len(wanted)))


def _channel_line(channel: Channel, department: str, *, listed: bool) -> tuple[Mark, str]:
    """A channel Endy cannot post to (FAIL), could not ask about (WARN), or fine (OK, no line)."""
    if channel.id is not None and channel.is_member:
        return Mark.OK, ""
    if channel.id is not None and channel.is_member is False:
        return Mark.FAIL, texts.DOCTOR_CHANNEL_NOT_MEMBER.format(channel=channel.label, department=department)
    if channel.id is None and listed:  # conversations.list was allowed and did not have it
        return Mark.FAIL, texts.DOCTOR_CHANNEL_NOT_FOUND.format(channel=channel.label, department=department)
    return Mark.WARN, texts.DOCTOR_CHANNEL_UNKNOWN.format(channel=channel.label, department=department)


async def check_channels(probe: Probe) -> Finding:
    """Endy is a member of every escalation channel named in kb.yaml (names resolved like `endy serve` does)."""
    client = probe.slack()
    if client is None:
        return _no_token()
    if probe.scopes is None:
        return Finding(Mark.WARN, texts.DOCTOR_NEEDS_TOKEN)
    try:
        departments = list((await probe.knowledge()).departments.values())
    except KnowledgeError:
        return Finding(Mark.WARN, texts.DOCTOR_KB_UNREADABLE)
    if not departments:
        return Finding(Mark.OK, texts.DOCTOR_CHANNELS_NONE)
    channels = await ChannelDirectory().warm(client, [d.channel for d in departments])
    by_ref = {c.ref: c for c in channels}
    listed = CHANNEL_READ <= probe.scopes
    lines = [_channel_line(by_ref[d.channel], d.name, listed=listed) for d in departments]
    worst = max(mark for mark, _ in lines)
    details = tuple(line for mark, line in lines if mark is not Mark.OK)
    if worst is Mark.FAIL:
        count = sum(1 for mark, _ in lines if mark is Mark.FAIL)
        return Finding(Mark.FAIL, texts.DOCTOR_CHANNELS_BAD.format(count=count), texts.DOCTOR_CHANNELS_FIX, details)
    if worst is Mark.WARN:
        summary = texts.DOCTOR_CHANNELS_UNKNOWN.format(count=len(details))
        return Finding(Mark.WARN, summary, texts.DOCTOR_CHANNELS_UNKNOWN_FIX, details)
    return Finding(Mark.OK, texts.DOCTOR_CHANNELS_OK.format(count=len(set(by_ref))))
