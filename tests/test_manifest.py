"""manifest.yml stays consistent with what the app listens to."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_manifest_matches_the_app() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert manifest["features"]["bot_user"]["display_name"] == "엔디"
    assert "agent_view" in manifest["features"] and "assistant_view" not in manifest["features"]
    assert {c["command"] for c in manifest["features"]["slash_commands"]} == {"/endy", "/endy-admin"}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {
        "app_mention",
        "message.im",
        "message.channels",
        "reaction_added",
        "reaction_removed",
        "app_home_opened",
        "assistant_thread_started",
    } <= events
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "im:history", "chat:write", "commands", "reactions:read"} <= scopes
    assert not any(s.endswith(":write") and s.startswith(("users", "channels", "admin")) for s in scopes)
    assert manifest["settings"]["socket_mode_enabled"] is True and manifest["settings"]["interactivity"]["is_enabled"]
