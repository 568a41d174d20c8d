"""Self-tests for the fake Slack's channels and refused tokens, driven by the real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack
from tests.fakes.slack_channels import SAMPLE_TEAM_CHANNELS


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def web(slack: FakeSlack, token: str = "xoxb-test") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url)


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def test_the_workspace_has_the_sample_teams_channels_with_the_bot_in_them(slack: FakeSlack) -> None:
    page = await web(slack).conversations_list(types="public_channel,private_channel")
    names = {c["name"]: c for c in page["channels"]}
    assert set(names) == set(SAMPLE_TEAM_CHANNELS)
    assert all(c["is_member"] for c in names.values())
    assert page["response_metadata"]["next_cursor"] == ""


async def test_conversations_list_pages_with_a_cursor_and_hides_private_channels_the_bot_is_not_in() -> None:
    async with FakeSlack(channels=()) as slack:
        public = [slack.add_channel(f"c-{i}", member=i % 2 == 0).id for i in range(5)]
        mine = slack.add_channel("secret", private=True).id
        slack.add_channel("hidden", private=True, member=False)
        slack.add_channel("old", archived=True)
        client, seen, cursor = web(slack), [], None
        while True:
            page = await client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=2, cursor=cursor
            )
            seen += [c["id"] for c in page["channels"]]
            cursor = page["response_metadata"]["next_cursor"] or None
            if cursor is None:
                break
        assert seen == [*public, mine]
        only_public = await client.conversations_list()  # default types: public_channel, archived included
        assert [c["name"] for c in only_public["channels"]] == [f"c-{i}" for i in range(5)] + ["old"]
        assert await error_of(client.conversations_list(cursor="bm9wZQ==")) == "invalid_cursor"
        assert await error_of(client.conversations_list(types="public_channel,bogus")) == "invalid_types"
        slack.scopes.discard("groups:read")
        assert await error_of(client.conversations_list(types="private_channel")) == "missing_scope"


async def test_posting_where_the_bot_is_not_a_member_is_refused_as_slack_does() -> None:
    async with FakeSlack(channels=()) as slack:
        public = slack.add_channel("ask-pnc", member=False)
        private = slack.add_channel("secret", private=True, member=False)
        archived = slack.add_channel("old", archived=True)
        client = web(slack)
        assert await error_of(client.chat_postMessage(channel=public.id, text="hi")) == "not_in_channel"
        assert await error_of(client.chat_postMessage(channel="#ask-pnc", text="hi")) == "not_in_channel"
        assert await error_of(client.chat_postMessage(channel=private.id, text="hi")) == "channel_not_found"
        assert await error_of(client.chat_postMessage(channel=archived.id, text="hi")) == "is_archived"
        assert await error_of(client.chat_postMessage(channel="#nowhere", text="hi")) == "channel_not_found"
        assert await error_of(client.conversations_info(channel=private.id)) == "channel_not_found"
        info = await client.conversations_info(channel=public.id)
        assert (info["channel"]["name"], info["channel"]["is_member"]) == ("ask-pnc", False)
        public.is_member = True
        posted = await client.chat_postMessage(channel="#ask-pnc", text="hi")  # a name is resolved to its id
        assert posted["channel"] == public.id
        assert [m.text for m in slack.messages(public.id)] == ["hi"]
        assert (await client.chat_postMessage(channel="C0ANYTHING", text="hi"))["ok"]  # unregistered ids: lenient


async def test_refused_tokens(slack: FakeSlack) -> None:
    assert await error_of(web(slack, "xapp-1-A0001-1-x").auth_test()) == "not_allowed_token_type"
    assert await error_of(web(slack).apps_connections_open(app_token="xoxb-test")) == "not_allowed_token_type"
    slack.revoke_token("xoxb-test")
    assert await error_of(web(slack).auth_test()) == "token_revoked"
    slack.revoke_token("xapp-test", "account_inactive")
    assert await error_of(web(slack).apps_connections_open(app_token="xapp-test")) == "account_inactive"
    with pytest.raises(ValueError):
        slack.revoke_token("xoxb-other", "ratelimited")
    async with FakeSlack(bot_token="xoxb-real") as strict:
        assert await error_of(web(strict, "xoxb-wrong").auth_test()) == "invalid_auth"
