"""The demo's synthetic runs go through the real pipeline and land where `make run` shows them.

`make run` seeds exactly ``demo.demo_runs``; this drives the same runs through the API and the
engine (without the embedded worker) so a change to the demo generator that the engine refuses, or
that puts a run in the wrong ranking, fails here rather than on a newcomer's first start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluator.bundle import pack_bundle, sign_bundle
from submissions import demo, services
from submissions.models import Submission
from tests.conftest import Persona, Signer, upload

pytestmark = pytest.mark.django_db


def test_every_demo_run_is_scored_in_its_ranking(
    alice: Persona, alice_key: Signer, demo_version: Any, mixed_version: Any, tmp_path: Path
) -> None:
    runs = demo.demo_runs(
        services.engine_dataset(demo_version), services.engine_dataset(mixed_version)
    )
    scored: dict[str, Submission] = {}
    for name, manifest, queries, trace in runs:
        path = tmp_path / name
        pack_bundle(path, manifest, queries, trace)
        sign_bundle(path, alice_key.key)
        response = upload(alice, path)
        assert response.status_code == 201, (name, response.json())
        services.process_submission(response.json()["id"])
        submission = Submission.objects.select_related("current_evaluation").get(
            pk=response.json()["id"]
        )
        assert submission.status == Submission.Status.SCORED, (name, submission.report)
        assert submission.synthetic
        scored[name] = submission

    agentic = [s for name, s in scored.items() if name.startswith("demo-agentic")]
    assert len(agentic) == len(demo.AGENTIC_PAIRS) == 1
    assert agentic[0].workload_kind == "agentic"
    assert agentic[0].ranking_class.endswith("agentic")
    e = agentic[0].current_evaluation
    # A task's energy includes every turn and tool call; its turns and tool calls are recorded.
    assert e.mean_turns is not None and e.mean_turns >= 2
    assert e.mean_tool_calls == pytest.approx(e.mean_turns - 1)
    assert e.mean_tool_s is not None and e.mean_tool_s > 0

    single = [s for name, s in scored.items() if not name.startswith("demo-agentic")]
    assert all(not s.ranking_class.endswith("agentic") for s in single)
    for s in single:
        e = s.current_evaluation
        # Every demo run reports phase energy (it adds up to the query's) and reasoning tokens.
        assert e.mean_input_tokens and e.mean_input_tokens > 0
        assert e.mean_prefill_energy_j is not None and e.mean_decode_energy_j is not None
        assert e.mean_prefill_energy_j + e.mean_decode_energy_j == pytest.approx(
            e.mean_energy_j, rel=0.02
        )
        assert e.mean_turns is None  # single-turn runs carry no agentic columns
        thinking = demo.find_model(s.model.name).thinking
        assert e.mean_reasoning_tokens is not None
        assert (e.mean_reasoning_tokens > 0) == thinking, s.model.name
