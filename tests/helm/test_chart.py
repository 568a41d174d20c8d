"""helm/endy, linted and rendered by real Helm (helm-python-sdk), checked against what Endy serves and exports."""

from __future__ import annotations

import base64
import json
import re
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import helm_python as helm
import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from config.settings import Settings
from endy_bot import __version__
from endy_bot.sidecar import CHECK_TIMEOUT, MIN_FREE_BYTES, State, build_sidecar
from services.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "endy"
OPERATIONS = ROOT / "docs" / "operations.md"
RELEASE, NAMESPACE = "endy", "bots"
SECRETS = {
    "SECRET_KEY": "k" * 64,
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_APP_TOKEN": "xapp-test",
    "DATABASE_URL": "postgresql://endy:pw@db:5432/endy",
    "REDIS_URL": "redis://redis:6379/0",
    "OPENAI_API_KEY": "sk-test",
    "SLACK_SIGNING_SECRET": "signing-secret",
}
HTTP_MODE = {
    "slack": {"mode": "http", "httpPort": 3000},
    "secrets": {"SLACK_APP_TOKEN": ""},
}
# Settings fields the chart derives from other values (ports, mounts) instead of taking them under `config`.
DERIVED = {"PORT", "SLACK_MODE", "SLACK_HTTP_PORT", "LOG_DIR", "DATA_DIR", "KNOWLEDGE_DIR"}
# Metric names the alerts and the dashboard may use although Endy does not export them, and why.
NOT_FROM_ENDY = {
    "up": "Prometheus records it per scrape: the health alert's '3 failed scrapes in a row'",
    "node_filesystem_avail_bytes": "node-exporter: free bytes of the node filesystem holding emptyDir (LOG_DIR)",
    "node_uname_info": "node-exporter: maps its instance label to the node's hostname",
    "kube_pod_info": "kube-state-metrics: the nodes that run this release's bot pods",
}
FIELDS = {name.upper() for name in Settings.model_fields}
SECRET_FIELDS = {
    name.upper()
    for name, field in Settings.model_fields.items()
    if SecretStr in (field.annotation, *typing.get_args(field.annotation))
}

Obj = dict[str, Any]


def _merge(base: Obj, extra: Obj) -> Obj:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and key in merged else value
    return merged


def render(*overrides: Obj) -> list[Obj]:
    """Render the chart like `helm template` (hooks included) and parse every object."""
    values: Obj = {"secrets": SECRETS}
    for extra in overrides:
        values = _merge(values, extra)
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    texts = [text for path, text in manifests.items() if path.endswith(".yaml")]  # not NOTES.txt
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc]


def find(objects: list[Obj], kind: str, name: str = RELEASE) -> Obj:
    """The one object of that kind and name."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def kinds(objects: list[Obj]) -> set[str]:
    """Every kind rendered."""
    return {o["kind"] for o in objects}


def container(objects: list[Obj], kind: str = "Deployment", name: str = RELEASE) -> Obj:
    """The only container of a Deployment or Job."""
    (only,) = find(objects, kind, name)["spec"]["template"]["spec"]["containers"]
    return typing.cast(Obj, only)


def pod_volume(objects: list[Obj], name: str) -> Obj:
    """A volume of the Deployment's pod."""
    volumes = find(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    return typing.cast(Obj, next(v for v in volumes if v["name"] == name))


def secret_data(secret: Obj) -> dict[str, str]:
    """A Secret's decoded data."""
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    """The chart rendered with its defaults (plus the secrets production requires)."""
    return render()


# --- PromQL / scrape helpers ---------------------------------------------------------------------------------

_PROMQL_WORDS = frozenset("and or unless bool offset by without on ignoring group_left group_right".split())


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (or a Grafana label_values() query)."""
    if values := re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr, re.S):
        expr = values[1]
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals ("$1", "(.+)")
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)  # label matchers, ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"(?<![\w:.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", " ", text)  # numbers (1e9, 0.95)
    names = set()
    for word in re.finditer(r"[A-Za-z_:][\w:]*", text):
        if word[0] not in _PROMQL_WORDS and not text[word.end() :].lstrip().startswith("("):
            names.add(word[0])
    return names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (le) (rate(x_bucket{a="b", c=~"d|e"}[5m])) > 10', {"x_bucket"}),
        ('label_replace(max by (node) (y{n="z"}), "nodename", "$1", "node", "(.+)")', {"y"}),
        ("a_total / on (instance) group_left (nodename) b_info < 1e9", {"a_total", "b_info"}),
        ("max_over_time(up[45s]) == 0 and bool 1", {"up"}),
        ('label_values(api_requests_total{namespace="$namespace"}, job)', {"api_requests_total"}),
        ("histogram_quantile(0.95, sum(rate(c[$__rate_interval])))", {"c"}),
    ],
)
def test_promql_metric_names(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names


_SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Sample names of a real /metrics scrape, with every labelled metric touched once."""
    metrics = Metrics(process_collectors=True)
    metrics.api_requests.labels("event", "message.im", "ok").inc()
    metrics.api_response.labels("event", "message.im").observe(1.5)
    metrics.llm_requests.labels("success").inc()
    metrics.llm_tokens.labels("prompt").inc(10)
    metrics.cache_operations.labels("hit").inc()
    metrics.errors.labels("RuntimeError").inc()
    metrics.feedback.labels("up", "button").inc()
    metrics.persist.labels("ok").inc()
    families = list(text_string_to_metric_families(generate_latest(metrics.registry).decode()))
    names = {sample.name for family in families for sample in family.samples}
    # A labelled metric added later and not touched above has no samples yet: name it from its family type.
    for family in (f for f in families if not f.samples):
        names |= {family.name + suffix for suffix in _SAMPLE_SUFFIXES.get(family.type, ("",))}
    assert {"api_requests_total", "api_response_seconds_bucket", "llm_requests_total"} <= names
    return names


# --- lint, metadata, probes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"autoscaling": {"enabled": True}, "knowledge": {"files": {"kb.yaml": "name: 가이드\n"}}},
        _merge(HTTP_MODE, {"ingress": {"enabled": True, "host": "endy.example.com"}}),
    ],
)
def test_chart_lints_clean(values: Obj) -> None:
    report = helm.lint(CHART, _merge({"secrets": SECRETS}, values), strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []  # info only ("icon is recommended")


def test_chart_tracks_the_app_version() -> None:
    assert helm.lint(CHART)["errors"] == []  # `helm lint helm/endy` as is: lint mode reports, not fails, on secrets
    with helm.Chart.load(CHART) as chart:
        assert chart.metadata["appVersion"] == __version__
        assert chart.schema is not None


def test_probes_and_scrapes_hit_the_sidecar_routes(objects: list[Obj]) -> None:
    settings = Settings(_env_file=None)
    sidecar = build_sidecar(typing.cast(Any, SimpleNamespace(settings=settings)), State())
    routes = {resource.canonical for resource in sidecar.router.resources()}
    endy = container(objects)
    assert endy["args"] == ["serve"]
    ports = {p["name"]: p["containerPort"] for p in endy["ports"]}
    assert ports == {"sidecar": settings.port}
    assert find(objects, "ConfigMap")["data"]["PORT"] == str(settings.port)

    probes = {kind: endy[f"{kind}Probe"] for kind in ("startup", "liveness", "readiness")}
    assert {k: p["httpGet"]["path"] for k, p in probes.items()} == {
        "startup": "/liveness",
        "liveness": "/liveness",
        "readiness": "/readiness",
    }
    assert all(p["httpGet"]["port"] == "sidecar" and p["httpGet"]["path"] in routes for p in probes.values())
    assert (probes["liveness"]["initialDelaySeconds"], probes["liveness"]["periodSeconds"]) == (10, 30)
    assert (probes["readiness"]["initialDelaySeconds"], probes["readiness"]["periodSeconds"]) == (5, 10)
    assert probes["readiness"]["timeoutSeconds"] > CHECK_TIMEOUT  # /readiness bounds each check at CHECK_TIMEOUT
    assert probes["startup"]["periodSeconds"] * probes["startup"]["failureThreshold"] >= 120

    (endpoint,) = find(objects, "ServiceMonitor")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("sidecar", "/metrics", "15s")
    assert endpoint["path"] in routes
    service_ports = {p["name"]: p for p in find(objects, "Service")["spec"]["ports"]}
    assert service_ports["sidecar"]["port"] == settings.port
    assert set(service_ports) == {"sidecar"}


# --- configuration and secrets -------------------------------------------------------------------------------


def test_every_variable_is_a_setting_and_every_secret_is_wired(objects: list[Obj]) -> None:
    config = find(objects, "ConfigMap")["data"]
    secret = find(objects, "Secret")
    endy = container(objects)
    assert set(config) <= FIELDS - SECRET_FIELDS
    assert set(secret_data(secret)) == SECRET_FIELDS  # every key given a value is rendered
    assert endy["envFrom"] == [{"configMapRef": {"name": RELEASE}}]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in endy["env"]}
    assert set(refs) == SECRET_FIELDS
    assert all(ref["name"] == RELEASE and ref["key"] == name for name, ref in refs.items())
    optional = {name for name, ref in refs.items() if ref["optional"]}
    assert optional == {"OPENAI_API_KEY", "SLACK_SIGNING_SECRET"}  # socket mode: no signing secret needed
    job_env = {e["name"] for e in container(objects, "Job", f"{RELEASE}-migrate")["env"]}
    assert job_env <= FIELDS

    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))["properties"]
    assert set(schema["config"]["properties"]) == FIELDS - SECRET_FIELDS - DERIVED
    assert set(schema["secrets"]["properties"]) == SECRET_FIELDS
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError, match="NOT_A_SETTING"):
        chart.validate_schema({"config": {"NOT_A_SETTING": "1"}})


def test_the_rendered_configuration_is_a_valid_production_configuration(
    objects: list[Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = find(objects, "ConfigMap")["data"] | secret_data(find(objects, "Secret"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.production_problems() == []
    assert settings.is_production
    assert settings.log_level == "warning"
    assert not settings.reload
    assert (settings.rate_limit_per_minute, settings.rate_limit_per_hour) == (20, 200)  # the guide's example
    assert settings.log_max_bytes == 10 * 1024 * 1024
    assert settings.migrate_on_start
    assert settings.llm_enabled
    assert settings.knowledge_dir is None


def test_existing_secret_replaces_the_charts_secret_everywhere() -> None:
    objects = render({"existingSecret": "endy-prod", "secrets": dict.fromkeys(SECRETS, "")})
    assert [o for o in objects if o["kind"] == "Secret"] == []
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container(objects)["env"]}
    (db,) = [e for e in container(objects, "Job", f"{RELEASE}-migrate")["env"] if e["name"] == "DATABASE_URL"]
    assert refs == {"endy-prod"}
    assert db["valueFrom"]["secretKeyRef"] == {"name": "endy-prod", "key": "DATABASE_URL"}
    annotations = find(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/config" in annotations
    assert "checksum/secret" not in annotations


# --- pod hardening, resources, shutdown ----------------------------------------------------------------------


def test_security_context_resources_and_writable_paths(objects: list[Obj]) -> None:
    deployment = find(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    endy = container(objects)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["automountServiceAccountToken"] is False
    hardening = endy["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"]["drop"] == ["ALL"]
    guide = {"requests": {"memory": "512Mi", "cpu": "500m"}, "limits": {"memory": "1Gi", "cpu": "1000m"}}
    assert endy["resources"] == guide

    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in endy["volumeMounts"]}
    assert {mounts["/tmp"], mounts["/app/logs"]} == {"tmp", "logs"}
    assert all("emptyDir" in volumes[name] for name in ("tmp", "logs"))
    config = find(objects, "ConfigMap")["data"]
    assert config["LOG_DIR"] == "/app/logs"
    assert config["DATA_DIR"].startswith("/tmp/")
    migrate = find(objects, "Job", f"{RELEASE}-migrate")["spec"]["template"]["spec"]
    assert migrate["containers"][0]["securityContext"] == hardening
    assert {m["mountPath"] for m in migrate["containers"][0]["volumeMounts"]} == {"/tmp", "/app/logs"}


def _server_grace_seconds() -> float:
    """SHUTDOWN_GRACE_SECONDS's default (what `endy serve` gives in-flight answers)."""
    return float(Settings.model_fields["shutdown_grace_seconds"].default)


def test_termination_grace_outlasts_prestop_and_endys_own_grace(objects: list[Obj]) -> None:
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    app_grace = _server_grace_seconds()
    command = container(objects)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    # drain (grace) + flush writes (grace) + recorder close (10 s), after the preStop sleep
    assert pod["terminationGracePeriodSeconds"] > int(command[1]) + 2 * app_grace + 10


# --- replicas, PDB, HPA, Ingress -----------------------------------------------------------------------------


def test_two_replicas_a_pdb_and_an_optional_hpa(objects: list[Obj]) -> None:
    assert find(objects, "Deployment")["spec"]["replicas"] == 2
    assert find(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    assert "HorizontalPodAutoscaler" not in kinds(objects)

    scaled = render({"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}})
    hpa = find(scaled, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": RELEASE}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert "replicas" not in find(scaled, "Deployment")["spec"]  # the HPA owns the count
    assert "PodDisruptionBudget" not in kinds(render({"podDisruptionBudget": {"enabled": False}}))


def test_ingress_exposes_only_slack_events_in_http_mode(objects: list[Obj]) -> None:
    assert "Ingress" not in kinds(objects)
    http = render(HTTP_MODE, {"ingress": {"enabled": True, "host": "endy.example.com"}})
    (rule,) = find(http, "Ingress")["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/slack/events"
    assert path["backend"]["service"]["port"] == {"name": "slack-http"}
    ports = {p["name"]: p["containerPort"] for p in container(http)["ports"]}
    assert ports["slack-http"] == Settings(_env_file=None).slack_http_port == 3000
    assert find(http, "ConfigMap")["data"]["SLACK_MODE"] == "http"
    assert {p["name"] for p in find(http, "Service")["spec"]["ports"]} == {"sidecar", "slack-http"}
    optional = {e["name"] for e in container(http)["env"] if e["valueFrom"]["secretKeyRef"]["optional"]}
    assert optional == {"OPENAI_API_KEY", "SLACK_APP_TOKEN"}


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"ingress": {"enabled": True}}, "needs slack.mode=http"),
        ({"secrets": {"SECRET_KEY": ""}}, "SECRET_KEY is required"),
        ({"secrets": {"SECRET_KEY": "too-short"}}, "at least 32"),
        ({"secrets": {"SLACK_APP_TOKEN": ""}}, "SLACK_APP_TOKEN is required"),
        ({"autoscaling": {"enabled": True, "maxReplicas": 10}}, "Slack allows 10"),
        ({"replicaCount": 10}, "Slack allows 10"),
        ({"config": {"MIGRATE_ON_START": "false"}, "migration": {"enabled": False}}, "nothing applies migrations"),
        ({"config": {"ENABLE_HEALTH_CHECK": False}}, "probes need"),
        ({"config": {"NOT_A_SETTING": "x"}}, "NOT_A_SETTING"),
        ({"knowledge": {"existingClaim": "kb", "existingConfigMap": "kb"}}, "only one"),
        ({"shutdown": {"terminationGracePeriodSeconds": 30}}, "terminationGracePeriodSeconds"),
    ],
)
def test_values_that_cannot_work_are_refused_at_install(values: Obj, reason: str) -> None:
    with pytest.raises(helm.HelmError, match=re.escape(reason)):
        render(values)


# --- migration hook, knowledge base --------------------------------------------------------------------------


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(objects: list[Obj]) -> None:
    job = find(objects, "Job", f"{RELEASE}-migrate")
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    migrate = container(objects, "Job", f"{RELEASE}-migrate")
    assert migrate["args"] == ["migrate"]
    assert migrate["image"] == container(objects)["image"]
    env = {e["name"]: e for e in migrate["env"]}
    assert env["ENVIRONMENT"]["value"] == "production"  # never an embedded database
    # The release's Secret does not exist yet during pre-install: DATABASE_URL comes from an earlier hook.
    hook_secret = find(objects, "Secret", f"{RELEASE}-migrate")
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == hook_secret["metadata"]["name"]
    assert secret_data(hook_secret) == {"DATABASE_URL": SECRETS["DATABASE_URL"]}
    weight = int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(hooks["helm.sh/hook-weight"])
    pod = job["spec"]["template"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert "serviceAccountName" not in pod["spec"]
    bot = find(objects, "Service")["spec"]["selector"]
    assert not bot.items() <= pod["metadata"]["labels"].items()  # the Service never routes to it
    assert "Job" not in kinds(render({"migration": {"enabled": False}}))


def test_knowledge_base_mounts_at_knowledge_dir(objects: list[Obj]) -> None:
    assert "KNOWLEDGE_DIR" not in find(objects, "ConfigMap")["data"]  # the bundled sample handbook
    files = {"kb.yaml": "name: 사내 가이드\n", "faq.yaml": "[]\n", "docs/leave.md": "# 휴가\n연차 안내\n"}
    inline = render({"knowledge": {"files": files}})
    kb_dir = find(inline, "ConfigMap")["data"]["KNOWLEDGE_DIR"]
    mount = next(m for m in container(inline)["volumeMounts"] if m["name"] == "knowledge")
    assert mount == {"name": "knowledge", "mountPath": kb_dir, "readOnly": True}
    volume = pod_volume(inline, "knowledge")
    stored = find(inline, "ConfigMap", f"{RELEASE}-knowledge")["data"]
    assert {item["path"]: stored[item["key"]] for item in volume["configMap"]["items"]} == files

    claim = render({"knowledge": {"existingClaim": "endy-kb"}})
    volume = pod_volume(claim, "knowledge")
    assert volume["persistentVolumeClaim"] == {"claimName": "endy-kb", "readOnly": True}


# --- alerts and dashboard ------------------------------------------------------------------------------------


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.M)
    return {re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", h.lower())) for h in headings}


def test_the_guides_four_alerts_use_exported_metrics_and_link_runbooks(objects: list[Obj], exported: set[str]) -> None:
    (group,) = find(objects, "PrometheusRule")["spec"]["groups"]
    rules = {rule["alert"]: rule for rule in group["rules"]}
    assert set(rules) == {"EndyHealthCheckFailing", "EndyHighErrorRate", "EndySlowResponses", "EndyLowDiskSpace"}
    anchors = _anchors(OPERATIONS.read_text(encoding="utf-8"))
    for name, rule in rules.items():
        unknown = promql_metric_names(rule["expr"]) - exported - set(NOT_FROM_ENDY)
        assert not unknown, f"{name} uses metrics nobody exports: {unknown}"
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page.endswith("docs/operations.md")
        assert anchor == name.lower()
        assert anchor in anchors
        assert rule["labels"]["severity"] in {"critical", "warning"}

    selector = f'job="{RELEASE}", namespace="{NAMESPACE}"'
    health = rules["EndyHealthCheckFailing"]["expr"]
    assert f"up{{{selector}}}[45s]" in health
    assert health.rstrip().endswith("== 0")  # 3 scrapes × 15 s
    errors = rules["EndyHighErrorRate"]["expr"]
    assert {"errors_total", "api_requests_total"} == promql_metric_names(errors)
    assert "[5m]" in errors
    assert errors.rstrip().endswith("> 0.1")
    latency = rules["EndySlowResponses"]["expr"]
    assert latency.startswith("histogram_quantile(0.95,")
    assert "api_response_seconds_bucket" in latency
    assert latency.rstrip().endswith("> 10")
    disk = rules["EndyLowDiskSpace"]["expr"]
    assert f"< {MIN_FREE_BYTES}" in disk  # the sidecar's own disk_space threshold
    assert not set(NOT_FROM_ENDY) & exported  # the whitelist really is foreign


def test_dashboard_plots_the_guides_five_metrics(objects: list[Obj], exported: set[str]) -> None:
    configmap = find(objects, "ConfigMap", f"{RELEASE}-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    (source,) = configmap["data"].values()
    dashboard = json.loads(source)
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = set().union(*(promql_metric_names(q) for q in queries))
    assert used - exported <= {"up"}, used - exported
    guide = {"api_requests_total", "llm_requests_total", "cache_operations_total", "errors_total"}
    assert guide <= used
    assert "api_response_seconds_bucket" in used
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    no_dashboard = render({"metrics": {"dashboard": {"enabled": False}}})
    assert not [o for o in no_dashboard if o["metadata"]["name"] == f"{RELEASE}-dashboard"]
    off = render({"metrics": {"serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}}})
    assert not {"ServiceMonitor", "PrometheusRule"} & kinds(off)
