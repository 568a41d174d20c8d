"""The single-VM deployment files (deploy/): Docker Compose and systemd, checked without Docker or systemd running.

There is no Docker engine on the development machines, so compose.yaml is checked structurally and its
interpolation is replayed here: an admin's `.env` made from deploy/endy.env.example plus the documented
fill-ins must give Endy a configuration that passes every production check of config/settings.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from config.settings import Settings
from services.db import check_database_url
from services.redis_conn import check_redis_url

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
UNIT = DEPLOY / "endy.service"
ENV_EXAMPLE = DEPLOY / "endy.env.example"

# What docs/operations.md tells the admin to fill in, for each way of running (test values, not secrets).
COMPOSE_FILLS = {
    "SECRET_KEY": "0123456789abcdef" * 4,
    "SLACK_BOT_TOKEN": "xoxb-1-test",
    "SLACK_APP_TOKEN": "xapp-1-test",
    "POSTGRES_PASSWORD": "5f4dcc3b5aa765d61d8327deb882cf99",
    "REDIS_PASSWORD": "7c6a180b36896a0a8c02787eeafb0e4c",
}
SYSTEMD_FILLS = {
    "SECRET_KEY": "0123456789abcdef" * 4,
    "SLACK_BOT_TOKEN": "xoxb-1-test",
    "SLACK_APP_TOKEN": "xapp-1-test",
    "DATABASE_URL": "postgresql://endy:5f4dcc3b@127.0.0.1:5432/endy",
    "REDIS_URL": "redis://:7c6a180b@127.0.0.1:6379/0",
}
# Read by compose.yaml's interpolation, not by Endy.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}
# Set by the unit for the process, not Endy settings.
PROCESS_ONLY = {"HOME", "PYTHONUNBUFFERED"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|AUTH|DATABASE_URL|REDIS_URL")
TOKEN_LITERAL = re.compile(r"xox[abprs]-|xapp-|sk-[A-Za-z0-9]|[0-9a-f]{32}")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}")
# Endy's worst-case stop: in-flight answers get SHUTDOWN_GRACE_SECONDS, queued writes as long again, plus closing.
STOP_MARGIN_SECONDS = 15


class MissingVariable(Exception):
    """A `${NAME:?message}` whose variable is unset or empty (docker compose refuses to start)."""


def setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def env_example_names() -> set[str]:
    return set(dotenv_values(ROOT / ".env.example"))


def interpolate(value: str, env: dict[str, str]) -> str:
    """Docker Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$`, as `docker compose` applies them."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match[1], match[2], match[3]
        current = env.get(name)
        if op in (":?", "?") and (current is None or (op == ":?" and current == "")):
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and (current is None or (op == ":-" and current == "")):
            return arg
        return current or ""

    parts = value.split("$$")
    return "$".join(_VAR.sub(one, part) for part in parts)


def strings(node: Any) -> Iterator[str]:
    """Every string (keys and values) in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def seconds(duration: str) -> float:
    """A Compose or systemd duration such as `75s`, `1m30s` or `90`."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h)?", str(duration)):
        total += float(amount) * units[unit or "s"]
    return total


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section → key → every value (keys such as Environment= repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"line {number}: keep unit lines unbroken"
        if line.startswith("["):
            assert line.endswith("]"), f"line {number}: {line}"
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"line {number}: {line}"
        assert "=" in line, f"line {number}: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting from this machine's environment (CI sets DATABASE_URL and REDIS_URL) leaks into Settings."""
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def admin_env(fills: dict[str, str]) -> dict[str, str]:
    """The admin's env file: deploy/endy.env.example with the documented values filled in."""
    env = {key: value or "" for key, value in dotenv_values(ENV_EXAMPLE).items()}
    assert fills.keys() <= env.keys(), f"no line to fill in for {sorted(fills.keys() - env.keys())}"
    env.update(fills)
    return env


def endy_environment(compose: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """What the Endy container sees: env_file, then `environment:` (which wins), after interpolation."""
    service = compose["services"]["endy"]
    seen = dict(env)
    for key, value in service["environment"].items():
        seen[key] = interpolate(str(value), env)
    return seen


def settings_from(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for key, value in env.items():
        if key in setting_names():
            monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def volume_mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """target → long-syntax mount, whichever syntax the file uses."""
    mounts = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            entry = {"type": "volume", "source": source, "target": target, "read_only": mode == ["ro"]}
        mounts[entry["target"]] = entry
    return mounts


# --- Docker Compose -------------------------------------------------------------------------------------


def test_compose_has_endy_postgres_and_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"endy", "postgres", "redis"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    build = services["endy"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT
    assert (context / build.get("dockerfile", "Dockerfile")).is_file()
    assert services["endy"]["env_file"] in (".env", [".env"])
    for name in ("postgres", "redis"):
        assert services[name]["restart"] in ("unless-stopped", "always"), name
    # A configuration error (exit 2) is not restarted forever: a bounded number of attempts, then "Exited (2)".
    policy, _, retries = services["endy"]["restart"].partition(":")
    assert policy == "on-failure", services["endy"]["restart"]
    assert 1 <= int(retries) <= 10
    # Only Endy's sidecar is published, and only on the loopback interface.
    assert "ports" not in services["postgres"]
    assert "ports" not in services["redis"]
    for port in services["endy"]["ports"]:
        assert str(port).startswith("127.0.0.1:"), port


def test_compose_starts_endy_after_healthy_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    depends = services["endy"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    for name, dependency in depends.items():
        assert name in services
        if dependency["condition"] == "service_completed_successfully":
            assert services[name]["restart"] == "no", f"{name} runs once"


def test_compose_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("endy", "postgres", "redis"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert seconds(check["interval"]) > 0, name
        assert seconds(check["timeout"]) > 0, name
        assert check["retries"] >= 1, name
        assert seconds(check["timeout"]) < seconds(check["interval"]), name
    endy = services["endy"]
    probe = " ".join(endy["healthcheck"]["test"])
    port = endy["environment"]["PORT"]
    assert f"127.0.0.1:{port}/liveness" in probe  # no dependency checks: a database outage is not a dead Endy
    assert any(str(p).endswith(f":{port}") for p in endy["ports"])
    assert str(endy["environment"]["ENABLE_HEALTH_CHECK"]).lower() == "true"
    assert seconds(endy["healthcheck"]["start_period"]) >= 30  # knowledge base and migrations load first
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "-h" in services["postgres"]["healthcheck"]["test"]  # TCP: the init-time server is socket-only
    assert "PONG" in " ".join(services["redis"]["healthcheck"]["test"])  # redis-cli exits 0 on NOAUTH


def test_compose_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used: set[str] = set()
    for service in compose["services"].values():
        for mount in volume_mounts(service).values():
            if mount["type"] == "volume":
                used.add(mount["source"])
    assert used == declared, "every named volume is declared and every declared one is used"

    endy = compose["services"]["endy"]
    env, mounts = endy["environment"], volume_mounts(endy)
    knowledge = mounts[env["KNOWLEDGE_DIR"]]
    assert knowledge["type"] == "bind"
    assert knowledge["source"] == "./knowledge"
    assert knowledge["read_only"] is True
    assert knowledge.get("bind", {}).get("create_host_path") is False  # missing folder: an error, not an empty KB
    assert mounts[env["LOG_DIR"]]["type"] == "volume"
    assert mounts[env["DATA_DIR"]]["type"] == "volume"
    assert endy["read_only"] is True
    assert mounts["/tmp"]["type"] == "tmpfs"  # HOME=/tmp in the image
    assert volume_mounts(compose["services"]["postgres"])["/var/lib/postgresql/data"]["type"] == "volume"
    assert volume_mounts(compose["services"]["redis"])["/data"]["type"] == "volume"

    # The named volumes start out root-owned: the one-shot init service hands Endy's to uid 1000 (the image's user).
    init = compose["services"]["endy-init"]
    assert init["image"] == endy["image"]
    assert init["entrypoint"][:2] == ["chown", "1000:1000"]
    assert {env["LOG_DIR"], env["DATA_DIR"]} <= set(init["entrypoint"][2:]) <= set(volume_mounts(init))
    assert endy["depends_on"]["endy-init"]["condition"] == "service_completed_successfully"


def test_compose_gives_endy_everything_production_needs(compose: dict[str, Any], clean_env: pytest.MonkeyPatch) -> None:
    env = admin_env(COMPOSE_FILLS)
    seen = endy_environment(compose, env)
    settings = settings_from(clean_env, seen)
    assert settings.is_production
    assert settings.production_problems() == []
    assert settings.knowledge_dir == Path("/app/knowledge")

    database = settings.database_url.get_secret_value() if settings.database_url else ""
    redis = settings.redis_url.get_secret_value() if settings.redis_url else ""
    check_database_url(database)
    check_redis_url(redis)
    postgres = compose["services"]["postgres"]["environment"]
    user, db = postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]
    assert database == f"postgresql://{user}:{COMPOSE_FILLS['POSTGRES_PASSWORD']}@postgres:5432/{db}"
    assert interpolate(postgres["POSTGRES_PASSWORD"], env) == COMPOSE_FILLS["POSTGRES_PASSWORD"]
    assert redis == f"redis://:{COMPOSE_FILLS['REDIS_PASSWORD']}@redis:6379/0"
    command = [interpolate(str(part), env) for part in compose["services"]["redis"]["command"]]
    assert command[command.index("--requirepass") + 1] == COMPOSE_FILLS["REDIS_PASSWORD"]


@pytest.mark.parametrize("missing", sorted(COMPOSE_FILLS))
def test_compose_every_fill_in_is_needed(compose: dict[str, Any], clean_env: pytest.MonkeyPatch, missing: str) -> None:
    """Each documented fill-in is necessary: without it compose refuses to start, or Endy's production check does."""
    env = admin_env({k: v for k, v in COMPOSE_FILLS.items() if k != missing})
    try:
        seen = endy_environment(compose, env)
    except MissingVariable as err:
        assert missing in str(err)
        return
    problems = settings_from(clean_env, seen).production_problems()
    assert any(missing in problem for problem in problems), problems


def test_compose_names_are_endy_settings(compose: dict[str, Any]) -> None:
    names, documented = setting_names(), env_example_names()
    for key in compose["services"]["endy"]["environment"]:
        assert key in names, f"{key} is not a field of config/settings.py"
        assert key in documented, f"{key} is not described in .env.example"
    example = set(dotenv_values(ENV_EXAMPLE))
    for key in example - COMPOSE_ONLY:
        assert key in names, key
        assert key in documented, key
    # Every variable compose.yaml interpolates is in the example the admin copies.
    used = {m[1] for s in strings(compose) for m in _VAR.finditer(s)}
    assert used <= example, used - example
    assert used >= COMPOSE_ONLY


def test_compose_hard_codes_no_secret(compose: dict[str, Any]) -> None:
    urls_with_password = 0
    for text in strings(compose):
        assert not TOKEN_LITERAL.search(text), text
        assert not re.search(r"\$(?!\{|\$)[A-Za-z_]", text.replace("$$", "")), f"use ${{VAR}}: {text}"
        variables = list(_VAR.finditer(text))
        hidden = text
        for i, match in enumerate(variables):
            hidden = hidden.replace(match[0], f"%VAR{i}%", 1)
        userinfo = re.search(r"://[^/@\s]*:([^@/\s]+)@", hidden)
        if userinfo:  # a password inside a URL comes from .env, and has no default
            urls_with_password += 1
            index = re.fullmatch(r"%VAR(\d+)%", userinfo[1])
            assert index, text
            assert variables[int(index[1])][2] == ":?", text
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert _VAR.search(str(value)), f"{key} must come from .env"
                for match in _VAR.finditer(str(value)):
                    assert match[2] == ":?", f"{key}: a secret has no default (use ${{VAR:?…}})"
    assert urls_with_password >= 2  # DATABASE_URL and REDIS_URL were looked at


def test_compose_stops_endy_gracefully(compose: dict[str, Any]) -> None:
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    endy = compose["services"]["endy"]
    assert seconds(endy["stop_grace_period"]) >= 2 * grace + STOP_MARGIN_SECONDS
    assert endy.get("stop_signal", "SIGTERM") == "SIGTERM"


# --- The env file example -------------------------------------------------------------------------------


def test_env_example_reads_the_same_for_systemd_compose_and_endy() -> None:
    """systemd's EnvironmentFile= keeps trailing comments and quotes differently from dotenv: allow neither."""
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s#'\"\\$]*", line), f"{ENV_EXAMPLE.name}:{number}: {line}"


def test_env_example_holds_no_secret_and_leaves_layout_to_the_deployment(compose: dict[str, Any]) -> None:
    example = dotenv_values(ENV_EXAMPLE)
    for key, value in example.items():
        if SECRET_NAME.search(key):
            assert not value, f"{key} must be empty in the example"
    # compose's environment: wins over env_file, but the unit's Environment= loses to EnvironmentFile=.
    fixed = {"ENVIRONMENT", "HOST", "PORT", "LOG_DIR", "DATA_DIR", "KNOWLEDGE_DIR"}
    assert not fixed & set(example)
    assert fixed <= set(compose["services"]["endy"]["environment"])


# --- systemd --------------------------------------------------------------------------------------------


def unit_environment(unit: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in unit["Service"].get("Environment", []):
        for pair in line.split():
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def test_unit_runs_endy_as_a_dedicated_user(unit: dict[str, dict[str, list[str]]]) -> None:
    service = unit["Service"]
    assert service["User"] == ["endy"]
    assert service["Group"] == ["endy"]
    assert service["ExecStart"][0].split()[0].endswith("/endy")
    assert service["ExecStart"][0].split()[1:] == ["serve"]
    assert service["EnvironmentFile"] == ["/etc/endy/endy.env"]
    assert service["Restart"] == ["on-failure"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    env = unit_environment(unit)
    assert env["ENVIRONMENT"] == "production"
    assert service["StateDirectory"] == ["endy"]
    assert env["DATA_DIR"] == "/var/lib/endy"
    assert service["LogsDirectory"] == ["endy"]
    assert env["LOG_DIR"] == "/var/log/endy"
    names = setting_names()
    for key in env:
        assert key in names or key in PROCESS_ONLY, key
        assert not SECRET_NAME.search(key), f"{key} belongs in the EnvironmentFile, not the unit"


def test_unit_does_not_restart_what_a_restart_cannot_fix(unit: dict[str, dict[str, list[str]]]) -> None:
    """Exit code 2 is a wrong setting, a token Slack refuses or a missing KNOWLEDGE_DIR (one line in the journal):
    restarting five times only repeats that line. A crash (any other failure) is still restarted."""
    assert unit["Service"]["Restart"] == ["on-failure"]
    assert "2" in unit["Service"].get("RestartPreventExitStatus", [""])[-1].split()


def test_unit_is_hardened(unit: dict[str, dict[str, list[str]]]) -> None:
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["CapabilityBoundingSet"] == ""


def test_unit_stops_endy_gracefully(unit: dict[str, dict[str, list[str]]]) -> None:
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    assert seconds(unit["Service"]["TimeoutStopSec"][-1]) >= 2 * grace + STOP_MARGIN_SECONDS
    assert unit["Service"].get("KillSignal", ["SIGTERM"])[-1] == "SIGTERM"


def test_unit_gives_endy_everything_production_needs(
    unit: dict[str, dict[str, list[str]]], clean_env: pytest.MonkeyPatch
) -> None:
    env = unit_environment(unit) | admin_env(SYSTEMD_FILLS)  # EnvironmentFile= wins over Environment=
    settings = settings_from(clean_env, env)
    assert settings.production_problems() == []
    assert settings.knowledge_dir == Path("/srv/endy/knowledge")
    for missing in SYSTEMD_FILLS:
        partial = unit_environment(unit) | admin_env({k: v for k, v in SYSTEMD_FILLS.items() if k != missing})
        clean_env.delenv(missing, raising=False)
        problems = settings_from(clean_env, partial).production_problems()
        assert any(missing in problem for problem in problems), (missing, problems)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` on the unit; ExecStart's binary (not installed here) is swapped for `true`."""
    true = shutil.which("true")
    assert true is not None
    text = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={true}", UNIT.read_text(encoding="utf-8"))

    def verify(content: str) -> str:
        path = tmp_path / "endy.service"
        path.write_text(content, encoding="utf-8")
        done = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
        )
        return f"rc={done.returncode} {done.stdout}{done.stderr}".strip()

    assert verify(text) == "rc=0"
    # The check does see mistakes (a misspelt key is only a warning, so the output is what counts).
    assert "NoNewPrivilege" in verify(text.replace("NoNewPrivileges=", "NoNewPrivilege="))


# --- Documentation --------------------------------------------------------------------------------------


def test_operations_doc_covers_both_single_vm_ways() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for needle in ("deploy/compose.yaml", "deploy/endy.service", "deploy/endy.env.example", "pg_dump"):
        assert needle in text, needle
    for key in COMPOSE_FILLS.keys() | SYSTEMD_FILLS.keys():
        assert key in text, f"docs/operations.md never tells the admin to set {key}"
