"""Prometheus metrics of one gateway (its own registry, so several can share a process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
_LABELS = ("provider", "model")


@dataclass(frozen=True, slots=True)
class Served:
    """The label children of one provider/model's successful calls."""

    requests: Any
    input_tokens: Any
    output_tokens: Any
    cost: Any
    unpriced: Any
    latency: Any


class Metrics:
    """The gateway's counters and histograms, labelled by provider and model."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._served: dict[tuple[str, str], Served] = {}
        r = self.registry
        self.requests = Counter(
            "govern_requests",
            "Requests answered, by final HTTP status.",
            (*_LABELS, "status"),
            registry=r,
        )
        self.errors = Counter(
            "govern_errors",
            "Failed requests and attempts, by error type.",
            (*_LABELS, "error_type"),
            registry=r,
        )
        self.tokens = Counter(
            "govern_tokens",
            "Tokens billed, by direction (input includes cache tokens).",
            (*_LABELS, "direction"),
            registry=r,
        )
        self.cost = Counter(
            "govern_cost_usd",
            "Cost of priced calls in US dollars.",
            _LABELS,
            registry=r,
        )
        self.unpriced = Counter(
            "govern_unpriced_requests",
            "Calls whose model has no price.",
            _LABELS,
            registry=r,
        )
        self.cache_hits = Counter(
            "govern_cache_hits",
            "Requests answered from the cache, by layer.",
            (*_LABELS, "layer"),
            registry=r,
        )
        self.cache_saved = Counter(
            "govern_cache_saved_usd",
            "What cache hits would have cost.",
            _LABELS,
            registry=r,
        )
        self.latency = Histogram(
            "govern_request_latency_seconds",
            "Time from request received to response end.",
            _LABELS,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "govern_upstream_latency_seconds",
            "Time spent waiting for the upstream.",
            _LABELS,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.overhead = Histogram(
            "govern_overhead_seconds",
            "Time spent in the gateway itself, upstream excluded.",
            buckets=_OVERHEAD_BUCKETS,
            registry=r,
        )

    def served(self, provider: str, model: str) -> Served:
        """The series a successful call of `provider/model` moves, looked up once (each
        `labels()` lookup costs a few microseconds on the hot path)."""
        series = self._served.get((provider, model))
        if series is None:
            if len(self._served) > 10_000:  # model names can come from clients
                self._served.clear()
            series = Served(
                requests=self.requests.labels(provider, model, "200"),
                input_tokens=self.tokens.labels(provider, model, "input"),
                output_tokens=self.tokens.labels(provider, model, "output"),
                cost=self.cost.labels(provider, model),
                unpriced=self.unpriced.labels(provider, model),
                latency=self.latency.labels(provider, model),
            )
            self._served[(provider, model)] = series
        return series

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
