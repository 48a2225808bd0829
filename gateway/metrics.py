"""Prometheus metrics: request latency, WebSocket clients, indexer lag, refusals.

With several workers `fabrica gateway serve` points PROMETHEUS_MULTIPROC_DIR at a shared folder so /metrics
sums every worker.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess


class _Metrics:
    def __init__(self) -> None:
        self.latency = Histogram("fabrica_gateway_request_seconds", "HTTP request latency",
                                 ["method", "route", "status"],
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
        self.ws_clients = Gauge("fabrica_gateway_ws_clients", "open WebSocket clients", multiprocess_mode="livesum")
        self.ws_messages = Counter("fabrica_gateway_ws_messages_total", "WebSocket messages sent")
        self.index_lag = Gauge("fabrica_gateway_indexer_lag_blocks", "chain head minus the indexed block",
                               multiprocess_mode="max")
        self.rate_limited = Counter("fabrica_gateway_rate_limited_total", "requests refused with 429")
        self.telemetry_samples = Counter("fabrica_gateway_telemetry_samples_total", "telemetry samples stored")


METRICS = _Metrics()


def render() -> bytes:
    """The metrics in Prometheus' text format (every worker's, summed, in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)
