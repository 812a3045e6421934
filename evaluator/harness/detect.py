"""Which harness generation wrote a run directory, and the evidence for it.

- ``agentic``: ``traces.jsonl`` (``ipw run`` / ``ipw bench``): one task per line, per-turn energy.
- ``in_window``: an ``ipw profile`` run whose runner measures each query inside its own window
  (harness ``execution/runner.py`` after the change that added per-rail CPU/ANE energy, phase
  metrics, hardware utilisation and ``summary.json`` ``profiler_config`` / ``versions``). Any of
  those markers is taken as the in-window runner: they arrived in the same change.
- ``chained``: an ``ipw profile`` run without them (e.g. commit 11ba0dc, the repository's
  fixture): each query is charged the counter delta since the previous query ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

Generation = Literal["chained", "in_window", "agentic"]
TRACES = "traces.jsonl"
_SUMMARY_MARKERS = ("profiler_config", "versions", "start_time", "end_time", "hardware")
_ENERGY_MARKERS = ("cpu_per_query_joules", "ane_per_query_joules", "soc_per_query_joules", "basis")
# Not "evaluation": `ipw analyze` of any generation adds it to the rows it grades.
_METRIC_MARKERS = ("phase_metrics", "hardware_utilization")


def is_agentic(run_dir: Path) -> bool:
    return (run_dir / TRACES).is_file()


def profile_generation(
    summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], model: str
) -> tuple[Generation, list[str]]:
    """``in_window`` or ``chained`` for an ``ipw profile`` run, with the markers found."""
    evidence = [f"summary.json has {key!r}" for key in _SUMMARY_MARKERS if key in summary]
    metrics = ((rows[0].get("model_metrics") or {}).get(model) or {}) if rows else {}
    energy = metrics.get("energy_metrics") or {}
    # Struct fields exist (as None) on every row once the writer had them: presence is enough.
    evidence += [f"energy_metrics has {key!r}" for key in _ENERGY_MARKERS if key in energy]
    evidence += [f"model_metrics has {key!r}" for key in _METRIC_MARKERS if key in metrics]
    if evidence:
        return "in_window", evidence
    return "chained", [
        "none of the in-window runner's fields (per-rail energy, phase metrics, "
        "hardware utilisation, summary profiler_config/versions)"
    ]
