"""The last check: what ``evaluate()`` accepts, the server can record and the board can rank.

The ``Evaluation`` row needs every headline figure (accuracy, IPW, IPJ and their intervals, mean
power and energy, total energy, latency percentiles) as a number, and JSON columns cannot hold NaN
or infinity. The checks before this one make such values impossible for any bundle we know of (the
energy rules, positive latencies); this guard turns a case nobody thought of into the submitter's
coded error instead of a worker crash and a FAILED submission.
"""

from __future__ import annotations

import math

from evaluator.errors import BundleError, register
from evaluator.types import Check, Metrics

NOT_FINITE = register(
    "bundle.metrics.not_finite",
    "The run's energies and latencies give no finite IPW, IPJ or mean power.",
)
REQUIRED = (
    "accuracy",
    "mean_power_w",
    "mean_energy_j",
    "ipw",
    "ipj",
    "total_energy_j",
    "latency_p50_s",
    "latency_p95_s",
)
POSITIVE = ("mean_power_w", "mean_energy_j", "total_energy_j", "latency_p50_s", "latency_p95_s")


def _bad(metrics: Metrics) -> list[str]:
    values = {name: getattr(metrics, name) for name in REQUIRED}
    for name in ("accuracy_ci", "ipw_ci", "ipj_ci"):
        interval = getattr(metrics, name)
        values[f"{name}.low"], values[f"{name}.high"] = interval.low, interval.high
    optional = ("energy_per_1k_output_tokens_j", "throughput_tok_s", "ttft_p50_s", "ttft_p95_s")
    values.update({name: getattr(metrics, name) for name in optional})
    for domain, figures in metrics.per_domain.items():
        for name in ("accuracy", "mean_energy_j", "mean_power_w"):
            values[f"per_domain[{domain}].{name}"] = getattr(figures, name)
    bad = [name for name, value in values.items() if value is not None and not math.isfinite(value)]
    bad += [name for name in POSITIVE if math.isfinite(values[name]) and values[name] <= 0]
    return bad


def check_recordable(metrics: Metrics) -> list[Check]:
    bad = _bad(metrics)
    if bad:
        raise BundleError(
            NOT_FINITE,
            "the metrics of this run are not finite positive numbers ("
            + ", ".join(f"{name} = {getattr(metrics, name, '?')}" for name in bad[:5])
            + "): check that energy_j and latency_s hold the run's measurements, in J and s",
            file="queries.parquet",
            field="energy_j",
        )
    return []
