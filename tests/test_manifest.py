"""manifest.yml: valid for Slack (its published schema and the rules the schema leaves out) and true to the code."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.admin_commands import AdminAction
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[1]
CODE = [ROOT / d for d in ("endy_bot", "handlers", "services", "config")]
SCHEMA: dict[str, Any] = json.loads((DATA / "slack_manifest.schema.json").read_text(encoding="utf-8"))
Manifest = dict[str, Any]

# Bot scopes each Web API method needs (slack_sdk spelling; from the method's page on docs.slack.dev). A method
# the code starts calling must be added here, and its scope to manifest.yml, or test_scopes_match_the_code fails.
# conversations.* list the types of conversation Endy works in: public and private channels, and DMs for history.
HISTORY = frozenset({"channels:history", "groups:history", "im:history"})
CHANNEL_READ = frozenset({"channels:read", "groups:read"})  # escalation channels are public or private
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth_test": frozenset(),
    "apps_connections_open": frozenset(),  # the app-level token's connections:write, not a bot scope
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_delete": frozenset({"chat:write"}),
    "chat_getPermalink": frozenset(),
    "chat_stream": frozenset({"chat:write"}),  # chat.startStream / appendStream / stopStream
    "chat_startStream": frozenset({"chat:write"}),
    "chat_appendStream": frozenset({"chat:write"}),
    "chat_stopStream": frozenset({"chat:write"}),
    "conversations_replies": HISTORY,
    "conversations_history": HISTORY,
    "conversations_open": frozenset({"im:write"}),
    "conversations_info": CHANNEL_READ,
    "conversations_list": CHANNEL_READ,
    "conversations_members": CHANNEL_READ,
    "users_conversations": CHANNEL_READ,
    "users_info": frozenset({"users:read"}),
    "files_upload_v2": frozenset({"files:write"}),
    "views_open": frozenset(),
    "views_push": frozenset(),
    "views_update": frozenset(),
    "views_publish": frozenset(),
    "reactions_get": frozenset({"reactions:read"}),
    "reactions_add": frozenset({"reactions:write"}),
    "assistant_threads_setStatus": frozenset({"assistant:write"}),
    "assistant_threads_setSuggestedPrompts": frozenset({"assistant:write"}),
    "assistant_threads_setTitle": frozenset({"assistant:write"}),
}
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_mention": frozenset({"app_mentions:read"}),
    "message.im": frozenset({"im:history"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "reaction_added": frozenset({"reactions:read"}),
    "reaction_removed": frozenset({"reactions:read"}),
    "app_home_opened": frozenset(),
    "assistant_thread_started": frozenset({"assistant:write"}),
}
FAMILIES = "auth|chat|conversations|users|files|views|reactions|assistant_threads|apps|bots|team|pins|bookmarks"
SDK_CALL = re.compile(rf"\.((?:{FAMILIES})_[A-Za-z0-9_]+)\(")
# A quoted "family.method" string; a file name such as "users.json" is no Web API method.
_FILE_EXTENSIONS = "json|ya?ml|md|txt|csv|log|png|lock|pid"
RAW_METHOD = re.compile(
    rf"[\"']((?:{FAMILIES.replace('_', '.')})\.(?!(?:{_FILE_EXTENSIONS})[\"'])[A-Za-z]+(?:\.[A-Za-z]+)?)[\"']"
)
LISTENER = re.compile(r"app\.(event|command)\(\s*[\"']([^\"']+)[\"']")


def load_manifest() -> Manifest:
    data: Manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    return data


# --- a Draft-07 validator for exactly the keywords the schema file uses (no jsonschema dependency) -------------

KEYWORDS = {"$schema", "$comment", "type", "properties", "additionalProperties", "required", "minLength"}
KEYWORDS |= {"maxLength", "pattern", "items", "minItems", "maxItems", "uniqueItems", "enum"}
TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every violation, as `path: problem`."""
    unknown = set(schema) - KEYWORDS
    assert not unknown, f"{path}: the test's validator does not implement {unknown}"
    if "type" in schema and not TYPES[schema["type"]](value):
        return [f"{path}: expected {schema['type']}"]
    errors = [f"{path}: {value!r} not in {schema['enum']}"] if "enum" in schema and value not in schema["enum"] else []
    if isinstance(value, str):
        errors += _string_errors(value, schema, path)
    if isinstance(value, list):
        errors += _array_errors(value, schema, path)
    if isinstance(value, dict):
        errors += _object_errors(value, schema, path)
    return errors


def _string_errors(value: str, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if len(value) < schema.get("minLength", 0):
        errors.append(f"{path}: {len(value)} characters, at least {schema['minLength']}")
    if len(value) > schema.get("maxLength", len(value)):
        errors.append(f"{path}: {len(value)} characters, at most {schema['maxLength']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: does not match {schema['pattern']}")
    return errors


def _array_errors(value: list[Any], schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
        errors.append(f"{path}: {len(value)} items, allowed {schema.get('minItems', 0)}-{schema.get('maxItems')}")
    if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) < len(value):
        errors.append(f"{path}: items are not unique")
    for i, item in enumerate(value):
        errors += schema_errors(item, schema.get("items", {}), f"{path}[{i}]")
    return errors


def _object_errors(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    props: dict[str, Any] = schema.get("properties", {})
    errors = [f"{path}: missing {key}" for key in schema.get("required", []) if key not in value]
    if schema.get("additionalProperties") is False:
        errors += [f"{path}: unknown key {key}" for key in value if key not in props]
    for key, item in value.items():
        if key in props:
            errors += schema_errors(item, props[key], f"{path}.{key}")
    return errors


# --- the manifest --------------------------------------------------------------------------------------------


def test_manifest_validates_against_slacks_schema() -> None:
    assert schema_errors(load_manifest(), SCHEMA) == []


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    def change(m: Manifest) -> None:
        *parents, last = path.split(".")
        node: Any = m
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set("display_information.long_description", "가" * 174), "long_description: 174 characters, at least 175"),
        (_set("display_information.name", "엔" * 36), "name: 36 characters, at most 35"),
        (_set("display_information.background_color", "1d3c78"), "background_color: does not match"),
        (_set("features.assistant_vew", {}), "features: unknown key assistant_vew"),
        (_set("features.slash_commands.0.command", "endy"), "command: does not match"),
        (_set("features.slash_commands.1.usage_hint", ""), "usage_hint: 0 characters, at least 1"),
        (_set("features.bot_user.display_name", "엔" * 81), "display_name: 81 characters, at most 80"),
        (_set("features.agent_view.agent_description", "가" * 301), "agent_description: 301 characters"),
        (_set("features.agent_view.suggested_prompts", [{"title": "a", "message": "b"}] * 5), "5 items"),
        (_set("settings.event_subscriptions.bot_events", ["app_mention", "app_mention"]), "not unique"),
        (_set("settings.interactivity", {}), "interactivity: missing is_enabled"),
        (_set("settings.socket_mode_enabled", "yes"), "socket_mode_enabled: expected boolean"),
    ],
)
def test_the_schema_check_refuses_near_misses(change: Callable[[Manifest], None], expected: str) -> None:
    broken = copy.deepcopy(load_manifest())
    change(broken)
    assert any(expected in e for e in schema_errors(broken, SCHEMA))


def test_texts_fit_what_slack_shows() -> None:
    """Rules from Slack's manifest reference that its schema does not carry, and what admins need to see."""
    m = load_manifest()
    long = m["display_information"]["long_description"]
    assert 174 <= len(long) <= 4000  # the reference's own bounds (the schema says 175: both hold)
    assert m["features"]["bot_user"]["display_name"] == m["display_information"]["name"] == "엔디"
    commands = {c["command"]: c for c in m["features"]["slash_commands"]}
    assert all(
        1 <= len(c["description"]) <= 2000 and 1 <= len(c.get("usage_hint", "x")) <= 1000 for c in commands.values()
    )
    hint_words = set(re.findall(r"[a-z]+", commands["/endy-admin"]["usage_hint"]))
    assert {word for action in AdminAction for word in action.value.split("_")} <= hint_words  # grant, revoke too


def test_the_invite_step_is_documented_unless_endy_may_post_anywhere() -> None:
    m = load_manifest()
    if "chat:write.public" in m["oauth_config"]["scopes"]["bot"]:
        return
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    running = readme.split("## Running in Slack", 1)[1].split("\n## ", 1)[0]
    assert "/invite @엔디" in m["display_information"]["long_description"]
    assert "/invite @엔디" in running
    assert "kb.yaml" in running


# --- the manifest against the code ---------------------------------------------------------------------------


def web_api_calls() -> dict[str, set[str]]:
    """Slack Web API methods the code calls (slack_sdk spelling) → the files calling them."""
    calls: dict[str, set[str]] = {}
    for folder in CODE:
        for path in folder.rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            found = set(SDK_CALL.findall(source)) | {m.replace(".", "_") for m in RAW_METHOD.findall(source)}
            for method in found:
                calls.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    return calls


def listeners() -> set[tuple[str, str]]:
    """(`event` | `command`, name) for every Bolt listener the handlers register."""
    return {hit for path in (ROOT / "handlers").rglob("*.py") for hit in LISTENER.findall(path.read_text("utf-8"))}


def test_the_code_scan_finds_the_calls_endy_is_known_to_make() -> None:
    calls = web_api_calls()
    assert {"chat_postMessage", "chat_stream", "conversations_replies", "files_upload_v2", "views_open"} <= set(calls)
    assert ("event", "app_mention") in listeners()
    assert ("command", "/endy-admin") in listeners()


def test_scopes_match_the_code_none_missing_none_unused() -> None:
    m = load_manifest()
    calls = web_api_calls()
    unknown = {method: files for method, files in calls.items() if method not in METHOD_SCOPES}
    assert not unknown, f"add these Web API methods and their scopes to METHOD_SCOPES: {unknown}"
    needed = {
        scope: f"{method} in {sorted(files)}" for method, files in calls.items() for scope in METHOD_SCOPES[method]
    }
    events = m["settings"]["event_subscriptions"]["bot_events"]
    needed |= {scope: f"event {event}" for event in events for scope in EVENT_SCOPES[event]}
    if m["features"].get("slash_commands"):
        needed["commands"] = "slash commands"
    granted = set(m["oauth_config"]["scopes"]["bot"])
    assert {s: why for s, why in needed.items() if s not in granted} == {}, "missing from manifest.yml"
    assert granted - set(needed) == set(), "granted in manifest.yml but used by nothing"


def test_events_and_commands_match_the_handlers() -> None:
    m = load_manifest()
    registered = listeners()
    events = set(m["settings"]["event_subscriptions"]["bot_events"])
    assert events <= set(EVENT_SCOPES), f"add {events - set(EVENT_SCOPES)} to EVENT_SCOPES"
    assert {e.split(".")[0] for e in events} == {name for kind, name in registered if kind == "event"}
    assert {c["command"] for c in m["features"]["slash_commands"]} == {n for k, n in registered if k == "command"}
    assert "agent_view" in m["features"]
    assert "assistant_view" not in m["features"]  # new apps: agent_view only
    assert m["settings"]["socket_mode_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"]


def test_the_readme_lists_exactly_the_manifests_scopes() -> None:
    """README's "Running in Slack" names the bot scopes an admin approves at install: the manifest's, all of them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = readme.split("The manifest's bot scopes are exactly", 1)[1].split(". ", 1)[0]
    listed = re.findall(r"`([a-z_.]+:[a-z_.]+|commands)`", sentence)
    assert sorted(listed) == sorted(load_manifest()["oauth_config"]["scopes"]["bot"])
