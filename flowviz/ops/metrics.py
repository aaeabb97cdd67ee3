"""Business metrics (Prometheus). Increment them after the write they count has committed."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LOTS_REGISTERED = Counter("flowviz_lots_registered", "Lots registered, by lot type.", labelnames=["lot_type"])
QC_DECISIONS = Counter("flowviz_qc_decisions", "QC decisions recorded, by decision.", labelnames=["decision"])
TRACEABILITY_QUERY_SECONDS = Histogram(
    "flowviz_traceability_query_duration_seconds",
    "Time to compute a traceability answer (one-step or graph), cache hits included.",
    labelnames=["kind", "source"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
