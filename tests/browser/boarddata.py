"""A small, varied board built through the real pipeline (upload -> process_submission).

Shared by the board's view tests and its browser tests. Everything is SYNTHETIC demo data
(``submissions.demo``), as the pages say.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from submissions import demo, services
from submissions.models import AIModel, Submission
from tests.conftest import Persona, Signer, upload

# (model, hardware, run date, quantization, extra make_bundle kwargs)
SPECS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("demo/heron-8b", "Demo Workstation GPU", "2024-12-02", "fp16", {}),
    ("demo/heron-8b", "Demo Workstation GPU", "2025-03-01", "fp16", {}),  # same pair, again
    ("demo/heron-moe-30b-a3b", "Demo Workstation GPU", "2025-06-18", "fp8", {}),
    ("demo/condor-70b", "Demo Datacenter GPU", "2025-08-30", "fp8", {}),
    ("demo/sparrow-3b", "Demo Datacenter GPU", "2024-06-05", "bf16", {"with_trace": False}),
    ("demo/sparrow-1b", "Demo Laptop SoC", "2025-01-15", "q4_k_m", {}),
    ("demo/sparrow-3b", "Demo Laptop SoC", "2025-03-10", "q4_k_m", {}),
)


def build_board(
    persona: Persona,
    signer: Signer,
    version: Any,
    make_bundle: Any,
    specs: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = SPECS,
) -> list[Submission]:
    submitted = []
    for index, (model, hardware, run_date, quant, extra) in enumerate(specs):
        path = make_bundle(
            version,
            signer,
            model=model,
            hardware=hardware,
            run_date=run_date,
            quantization=quant,
            seed=500 + index,
            **extra,
        )
        response = upload(persona, path)
        assert response.status_code == 201, response.content
        services.process_submission(response.json()["id"])
        submitted.append(Submission.objects.get(pk=response.json()["id"]))
    # Release dates are staff-curated catalog data (seed_demo sets them the same way).
    for m in demo.MODELS:
        AIModel.objects.filter(name=m.id).update(release_date=date.fromisoformat(m.release))
    return submitted
