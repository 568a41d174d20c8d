"""The layers hold: config → services → handlers → endy_bot, and no import runs upward (docs/architecture.md).

Read from the source with ast (imports inside functions count too), so a lazy import cannot hide an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"config": 0, "services": 1, "handlers": 2, "endy_bot": 3}  # a package may import its own layer or lower
SLACK = ("slack_bolt", "slack_sdk")
# The one service that talks to Slack's Web API itself: the directory resolving the teams' channels by id.
SLACK_SDK_IN_SERVICES = frozenset({"services.channels"})
# Rendering shared by the terminal and Slack: pure, no Slack library (endy_bot/cli.py imports them).
NEUTRAL = frozenset(
    {
        "handlers.texts",
        "handlers.blocks",
        "handlers.buttons",
        "handlers.admin_view",
        "handlers.outcomes",
        "handlers.doors",
    }
)


def imports(source: str) -> Iterator[str]:
    """Every module an import statement in `source` names (absolute imports; the project uses no relative ones)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def violations(module: str, source: str) -> list[str]:
    """What is wrong with the imports of `module` (dotted name), as readable lines."""
    layer = LAYERS[module.split(".")[0]]
    found: list[str] = []
    for name in imports(source):
        top = name.split(".")[0]
        if top in LAYERS and LAYERS[top] > layer:
            found.append(f"{module} imports {name}: upward")
        if top == "slack_bolt" and layer < LAYERS["handlers"]:
            found.append(f"{module} imports {name}: Bolt belongs to the Slack door")
        if top == "slack_sdk" and layer < LAYERS["handlers"] and module not in SLACK_SDK_IN_SERVICES:
            found.append(f"{module} imports {name}: only services.channels talks to Slack")
        if top in SLACK and module in NEUTRAL:
            found.append(f"{module} imports {name}: shared rendering stays free of Slack")
    return found


def project_modules() -> Iterator[tuple[str, str]]:
    """(dotted name, source) of every module in the four packages."""
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield dotted, path.read_text(encoding="utf-8")


def test_no_import_runs_upward() -> None:
    found = [line for module, source in project_modules() for line in violations(module, source)]
    assert found == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        pytest.param("services.x", "from handlers import texts", ["services.x imports handlers: upward"], id="up"),
        pytest.param(
            "handlers.x", "import endy_bot.deps", ["handlers.x imports endy_bot.deps: upward"], id="up-import"
        ),
        pytest.param(
            "services.x",
            "def f():\n    from endy_bot.tasks import TaskTracker\n",
            ["services.x imports endy_bot.tasks: upward"],
            id="lazy-import-counts",
        ),
        pytest.param(
            "services.x",
            "from slack_bolt.async_app import AsyncApp",
            ["services.x imports slack_bolt.async_app: Bolt belongs to the Slack door"],
            id="bolt-in-services",
        ),
        pytest.param(
            "config.x",
            "import slack_sdk",
            ["config.x imports slack_sdk: only services.channels talks to Slack"],
            id="sdk-in-config",
        ),
        pytest.param(
            "handlers.texts",
            "from slack_sdk.errors import SlackApiError",
            ["handlers.texts imports slack_sdk.errors: shared rendering stays free of Slack"],
            id="slack-in-shared-rendering",
        ),
        # Near-misses that must not be flagged: downward and sideways imports, Slack in the Slack door.
        pytest.param("endy_bot.x", "from handlers import texts\nfrom services import errors", [], id="down"),
        pytest.param("handlers.x", "from handlers.blocks import Block\nimport slack_bolt", [], id="sideways"),
        pytest.param("services.channels", "from slack_sdk.errors import SlackApiError", [], id="the-one-exception"),
        pytest.param("services.x", "from services_extra import y", [], id="a-prefix-is-not-the-package"),
    ],
)
def test_the_checker_sees_an_upward_import(module: str, source: str, expected: list[str]) -> None:
    assert violations(module, source) == expected
