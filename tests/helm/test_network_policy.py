"""The optional NetworkPolicy: off by default; when on, only the traffic Endy needs, in both Slack modes."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.helm.test_chart import CHART, HTTP_MODE, OPERATIONS, SECRETS, Obj, _merge, container, find, kinds, render

ON = {"networkPolicy": {"enabled": True}}
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def _ports(rule: Obj) -> set[tuple[object, str]]:
    return {(p["port"], p["protocol"]) for p in rule["ports"]}


def test_off_by_default_and_valid_when_on() -> None:
    assert "NetworkPolicy" not in kinds(render())
    for values in (ON, _merge(HTTP_MODE, _merge(ON, {"ingress": {"enabled": True, "host": "endy.example.com"}}))):
        report = helm.lint(CHART, _merge({"secrets": SECRETS}, values), strict=True, kube_version="v1.30.0")
        assert report["errors"] == []
        assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_socket_mode_lets_in_only_prometheus_and_out_only_what_endy_uses() -> None:
    objects = render(ON)
    spec = find(objects, "NetworkPolicy")["spec"]
    pod_labels = find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    job_labels = find(objects, "Job", "endy-migrate")["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert not spec["podSelector"]["matchLabels"].items() <= job_labels.items()
    assert spec["policyTypes"] == ["Ingress", "Egress"]

    (scrape,) = spec["ingress"]  # socket mode: Slack is reached from inside, nothing else comes in
    (source,) = scrape["from"]
    assert source["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert _ports(scrape) == {("sidecar", "TCP")}
    assert {p["name"] for p in container(objects)["ports"]} == {"sidecar"}

    dns, postgres, redis, https = spec["egress"]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert _ports(dns) == {(53, "UDP"), (53, "TCP")}
    assert (_ports(postgres), _ports(redis)) == ({(5432, "TCP")}, {(6379, "TCP")})
    assert "to" not in postgres
    assert "to" not in redis  # their port anywhere, until the operator names the peers
    assert https["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE}}]
    assert _ports(https) == {(443, "TCP")}


def test_http_mode_also_lets_the_ingress_controller_reach_the_slack_port_only() -> None:
    objects = render(HTTP_MODE, ON, {"ingress": {"enabled": True, "host": "endy.example.com"}})
    scrape, slack = find(objects, "NetworkPolicy")["spec"]["ingress"]
    assert _ports(scrape) == {("sidecar", "TCP")}
    assert _ports(slack) == {("slack-http", "TCP")}
    assert slack["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert {p["name"] for p in container(objects)["ports"]} == {"sidecar", "slack-http"}
    backend = find(objects, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["port"] == {"name": "slack-http"}


def test_peers_can_be_narrowed_and_rules_added() -> None:
    db = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}}}]
    llm = {"to": [{"podSelector": {"matchLabels": {"app": "vllm"}}}], "ports": [{"port": 8000, "protocol": "TCP"}]}
    values = {
        "networkPolicy": {
            "enabled": True,
            "postgresql": {"port": 6432, "to": db},
            "redis": {"port": 6380, "to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}]},
            "extraEgress": [llm],
        }
    }
    _, postgres, redis, _, extra = find(render(values), "NetworkPolicy")["spec"]["egress"]
    assert postgres == {"ports": [{"port": 6432, "protocol": "TCP"}], "to": db}
    assert redis["to"] == [{"ipBlock": {"cidr": "10.1.2.3/32"}}]
    assert _ports(redis) == {(6380, "TCP")}
    assert extra == llm


@pytest.mark.parametrize(
    "values",
    [
        {"networkPolicy": {"enabled": "yes"}},
        {"networkPolicy": {"redis": {"port": "6379"}}},
        {"networkPolicy": {"allowEverything": True}},
        {"networkPolicy": {"monitoring": {"namespaceSelector": {"matchLabels": {"a": 1}}, "podSelector": {}}}},
    ],
)
def test_the_schema_refuses_what_would_not_render_a_valid_policy(values: Obj) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(values)


def test_operations_guide_documents_the_policy_and_redis_hardening() -> None:
    guide = OPERATIONS.read_text(encoding="utf-8")
    assert "networkPolicy.enabled" in guide
    for must in ("requirepass", "ACL", "TLS", "rediss://"):
        assert must in guide, must
