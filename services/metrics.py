"""Prometheus metrics with the deployment guide's names, on a registry owned by one Endy process."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    platform_collector,
    process_collector,
)

# Up to 30 s: an LLM answer can legitimately take several seconds; the guide alerts on p95 > 10 s.
RESPONSE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0)


class Metrics:
    """Every metric Endy exports; labels never carry user ids."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process_collectors: bool = False) -> None:
        self.registry = registry or CollectorRegistry()
        if process_collectors:
            process_collector.ProcessCollector(registry=self.registry)
            platform_collector.PlatformCollector(registry=self.registry)
            gc_collector.GCCollector(registry=self.registry)
        r = self.registry
        self.api_requests = Counter(
            "api_requests_total",
            "Requests by surface kind, event/command and outcome",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.api_response = Histogram(
            "api_response_seconds",
            "Time to answer a request",
            ["method", "endpoint"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
        self.llm_requests = Counter("llm_requests_total", "LLM calls by outcome", ["status"], registry=r)
        self.llm_tokens = Counter("llm_tokens_total", "LLM tokens used", ["kind"], registry=r)
        self.cache_operations = Counter("cache_operations_total", "Answer cache operations", ["operation"], registry=r)
        self.errors = Counter("errors_total", "Errors by type", ["type"], registry=r)
        self.rate_limited = Counter("rate_limited_total", "Questions refused by the rate limiter", registry=r)
        self.limiter_fallback = Gauge(
            "ratelimit_fallback_active",
            "1 while the limiter runs on in-process buckets (Redis unreachable)",
            registry=r,
        )
        self.limiter_fallback_decisions = Counter(
            "ratelimit_fallback_decisions_total", "Rate-limit decisions made without Redis", registry=r
        )
        self.feedback = Counter("feedback_total", "Feedback votes", ["rating", "via"], registry=r)
        self.persist = Counter("persist_operations_total", "Write-behind storage operations", ["operation"], registry=r)
        self.persist_queue = Gauge("persist_queue_depth", "Writes waiting for PostgreSQL", registry=r)
        self.knowledge_learned = Counter(
            "knowledge_learned_total", "Knowledge learned in Slack (phrasing, faq, synonym)", ["kind"], registry=r
        )
        self.gaps_open = Gauge("gaps_open", "Knowledge-gap groups still open in the last listing", registry=r)
