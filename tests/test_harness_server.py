"""Both harness generations and an agentic run, through the API and a real Celery worker (issue 14):
each is scored, recorded in its own measurement class and workload track, with its per-query
columns in the recorded per-query results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.harness_import import import_ipw_run
from submissions import services
from submissions.models import Submission
from tests import harness_gen
from tests.conftest import HARNESS_RUN, Persona, Signer
from tests.perquery import query_rows


def _bundle(tmp_path: Path, name: str, run: Path, version: Any, signer: Signer) -> Path:
    manifest, queries, trace, _ = import_ipw_run(run, services.engine_dataset(version))
    if name == "phase_above_total":  # a decode phase costing more than its whole query
        energy = queries.column("energy_j").to_pylist()
        decode = [e * 2 for e in energy]
        index = queries.schema.get_field_index("decode_energy_j")
        queries = queries.set_column(index, "decode_energy_j", pa.array(decode, pa.float64()))
    path = tmp_path / f"{name}.ipwb"
    pack_bundle(path, manifest, queries, trace)
    sign_bundle(path, signer.key)
    return path


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_generations_and_agentic_run_scored_in_their_classes(
    worker: Any,
    live_server: Any,
    tmp_path: Path,
    alice: Persona,
    alice_key: Signer,
    mixed_version: Any,
) -> None:
    from submissions.cli.client import ApiClient

    runs = {
        "chained": HARNESS_RUN,
        "in_window": harness_gen.write_profile_run(tmp_path / "new", reasoning=True),
        "agentic": harness_gen.write_agentic_run(tmp_path / "agent"),
        "phase_above_total": harness_gen.write_profile_run(tmp_path / "bad", power_scale=0.9),
        "overclaimed": harness_gen.write_profile_run(
            tmp_path / "over", claim_factor=1.5, power_scale=1.1
        ),
    }
    client = ApiClient(live_server.url, alice.token)
    ids = {
        name: client.upload(_bundle(tmp_path, name, run, mixed_version, alice_key))["id"]
        for name, run in runs.items()
    }
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 180
    while len(final) < len(ids) and time.monotonic() < deadline:
        for name, sid in ids.items():
            body = client.get(f"submissions/{sid}/")
            if body["status"] in {"scored", "rejected", "failed"}:
                final[name] = body
        time.sleep(0.5)
    assert len(final) == len(ids), f"not final: {set(ids) - set(final)}"
    assert worker.poll() is None
    bad = final.pop("phase_above_total")
    assert (bad["status"], bad["report"]["error"]["code"]) == (
        "rejected",
        "bundle.queries.phase_energy",
    )
    assert "prefill + decode energy" in bad["report"]["error"]["message"]
    for name, body in final.items():
        assert body["status"] == "scored", (name, body["report"])

    rows = {name: Submission.objects.get(pk=ids[name]) for name in final}
    classes = {
        name: (s.measurement_scope, s.energy_attribution, s.energy_basis, s.workload_kind)
        for name, s in rows.items()
    }
    assert classes == {
        "chained": ("accelerator", "chained", "accelerator", "single_turn"),
        "in_window": ("accelerator", "in_window", "accelerator", "single_turn"),
        "agentic": ("accelerator", "in_window", "accelerator", "agentic"),
        "overclaimed": ("accelerator", "in_window", "accelerator", "single_turn"),
    }
    # The harness's claims: checked, and an overstatement held with its label.
    assert "efficiency-claim-gap" in rows["overclaimed"].labels
    assert "efficiency-claim-gap" not in rows["in_window"].labels
    assert rows["overclaimed"].review == Submission.Review.PENDING

    # Per-query data: input tokens everywhere, the new columns where the run has them.
    # (Read from the per-query files: issue 13 moved the rows there.)
    def queries(name: str) -> Any:
        return query_rows(rows[name].current_evaluation)

    assert all(r.input_tokens is not None for r in queries("chained"))
    assert all(r.prefill_s is None for r in queries("chained"))
    new = queries("in_window")
    assert all(r.reasoning_tokens is not None for r in new)
    assert all(r.prefill_energy_j is not None for r in new)
    assert all(r.cpu_energy_j is not None for r in new)
    agentic = queries("agentic")
    assert len(agentic) == 120 and all(r.turns is not None for r in agentic)
    assert sum(1 for r in agentic if r.tool_calls and r.tool_calls > 0) == 120
