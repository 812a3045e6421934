"""The catalog on the server (issue 11): identity by alias, the review queue, physics at ingest.

In-process pipeline tests here; the real worker and the API are driven by
``test_physics_through_real_worker`` at the end.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.core.management import call_command

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.catalog import load_catalog
from submissions import demo, services
from submissions.models import AIModel, Hardware, Submission
from tests.conftest import Persona, Signer, upload

H100_NVML = "NVIDIA H100 80GB HBM3"


def measured(
    accelerator: str = H100_NVML, label: str = "H10080GB", model: str = "llama3.2:1b"
) -> Callable[[dict[str, Any]], None]:
    """A demo run turned into a *measured* run of a catalog pair (as a real submitter's)."""

    def change(manifest: dict[str, Any]) -> None:
        manifest["synthetic"] = False
        manifest["hardware"] = {
            "label": label,
            "accelerator": accelerator,
            "vendor": "NVIDIA",
            "count": 1,
            "class": "cloud",  # the submitter's words: never shown
            "tdp_w": 5,  # nor used: the catalog's H100 is 700 W
        }
        manifest["model"].update(id=model, quantization="bf16")
        manifest["system"] = {"os": "Linux"}

    return change


def build(
    tmp_path: Path,
    version: Any,
    signer: Signer,
    *,
    seed: int,
    power_factor: float = 1.0,
    with_trace: bool = True,
    change: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """A Demo Datacenter GPU run (70-590 W, like an H100), measured, with its power scaled."""
    manifest, queries, trace = demo.synth_run(
        services.engine_dataset(version),
        demo.find_model("demo/heron-8b"),
        demo.find_hardware("Demo Datacenter GPU"),
        run_date="2025-06-01",
        seed=seed,
    )
    (change or measured())(manifest)
    if power_factor != 1.0:
        # Phase energies are parts of energy_j: a scaled run scales them too.
        for name in ("energy_j", "power_avg_w", "prefill_energy_j", "decode_energy_j"):
            index = queries.schema.get_field_index(name)
            scaled = pa.array([v * power_factor for v in queries.column(name).to_pylist()])
            queries = queries.set_column(index, name, scaled)
        for name in ("power_w", "energy_j"):
            index = trace.schema.get_field_index(name)
            scaled = pa.array([v * power_factor for v in trace.column(name).to_pylist()])
            trace = trace.set_column(index, name, scaled)
    path = tmp_path / f"run-{seed}.ipwb"
    pack_bundle(path, manifest, queries, trace if with_trace else None)
    sign_bundle(path, signer.key)
    return path


def run(persona: Persona, path: Path) -> Submission:
    response = upload(persona, path)
    assert response.status_code == 201, response.content
    services.process_submission(response.json()["id"])
    return Submission.objects.get(pk=response.json()["id"])


def board_rows(client: Any) -> list[dict[str, Any]]:
    return client.get("/api/v1/leaderboard/").json()


@pytest.mark.django_db
def test_h100_labels_rank_as_one_catalog_hardware(
    tmp_path: Path, alice: Persona, alice_key: Signer, demo_version: Any, anonymous: Persona
) -> None:
    first = run(alice, build(tmp_path, demo_version, alice_key, seed=1))
    second = run(
        alice,
        build(
            tmp_path,
            demo_version,
            alice_key,
            seed=2,
            change=measured(accelerator=H100_NVML, label=H100_NVML),
        ),
    )
    for submission in (first, second):
        assert submission.status == Submission.Status.SCORED, submission.report
        assert not submission.catalog_pending
    assert first.hardware_id == second.hardware_id
    h100 = Hardware.objects.get(pk=first.hardware_id)
    entry = load_catalog().resolve_hardware(H100_NVML).entry
    assert (h100.label, h100.catalog_key, h100.tdp_w) == (entry.name, entry.key, 700)
    assert h100.device_class == "datacenter" and h100.release_date is not None
    assert h100.hw_class == Hardware.HardwareClass.CLOUD  # from the catalog, not the manifest
    model = AIModel.objects.get(pk=first.model_id)
    assert model.release_date is not None and model.params_total_b
    # The hardware page shows the catalog's specs with their sources.
    page = anonymous.client.get(f"/hardware/{h100.slug}/").content.decode()
    assert entry.name in page and "700 W" in page and entry.sources["tdp_w"] in page
    assert Hardware.objects.filter(label__in=["H10080GB", H100_NVML]).count() == 0


@pytest.mark.django_db
def test_unknown_accelerator_waits_for_staff_then_is_published(
    tmp_path: Path,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    anonymous: Persona,
    staff: Persona,
) -> None:
    strange = measured(accelerator="Foo Accelerator 9000", label="FOO9000")
    submission = run(alice, build(tmp_path, demo_version, alice_key, seed=3, change=strange))
    assert submission.status == Submission.Status.SCORED  # accepted: nothing is lost
    assert submission.catalog_pending and submission.review == Submission.Review.PENDING
    assert board_rows(anonymous.api) == []
    codes = {c["code"]: c["status"] for c in submission.report["checks"]}
    assert codes["catalog.unknown_hardware"] == "warn" and codes["physics.not_judged"] == "warn"
    # The owner is told why it waits, on the status page and through the API.
    page = alice.client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "catalog" in page and "Foo Accelerator 9000" in page
    out = io.StringIO()
    call_command("catalog", "pending", stdout=out)
    assert "FOO9000" in out.getvalue()

    entry = load_catalog().resolve_hardware(H100_NVML).entry
    call_command("catalog", "sync", stdout=io.StringIO())
    call_command("catalog", "map", "hardware", "FOO9000", entry.key, stdout=io.StringIO())
    call_command("catalog", "recheck", stdout=out)  # what the queued task does
    submission.refresh_from_db()
    assert not submission.catalog_pending
    assert submission.hardware.catalog_key == entry.key
    # The catalog's warnings are gone; the demo run is short (< 60 s), which staff still judge.
    warned = [c["code"] for c in submission.report["checks"] if c["status"] != "pass"]
    assert warned == ["timing.short_run"]
    assert submission.review == Submission.Review.PENDING
    services.moderate_submission(submission, staff.user, "approve")
    assert [row["hardware"] for row in board_rows(anonymous.api)] == [entry.name]


@pytest.mark.django_db
def test_mapping_an_impossible_run_rejects_it(
    tmp_path: Path, alice: Persona, alice_key: Signer, demo_version: Any, anonymous: Persona
) -> None:
    """0.001 W on unknown hardware waits; once staff say it is an H100, physics rejects it."""
    strange = measured(accelerator="Foo Accelerator 9000", label="FOO9000")
    bundle = build(tmp_path, demo_version, alice_key, seed=4, power_factor=1e-6, change=strange)
    submission = run(alice, bundle)
    assert submission.catalog_pending
    entry = load_catalog().resolve_hardware(H100_NVML).entry
    # No `catalog sync` first: mapping to an entry nobody has submitted on yet creates its row.
    call_command("catalog", "map", "hardware", "FOO9000", entry.key, stdout=io.StringIO())
    call_command("catalog", "recheck", stdout=io.StringIO())
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REJECTED
    assert submission.error_code == "physics.power_below_idle"
    assert board_rows(anonymous.api) == []


@pytest.mark.django_db
def test_unknown_key_is_a_clear_command_error(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="catalog entries"):
        call_command("catalog", "map", "hardware", "FOO", "no-such-key", stdout=io.StringIO())


@pytest.mark.django_db
def test_migration_folds_free_text_rows_into_catalog_entries(
    tmp_path: Path, alice: Persona, alice_key: Signer, demo_version: Any
) -> None:
    """Rows written before the catalog ("H10080GB", "llama3.2:1b") fold into the entries;
    measured runs on names it does not know go to the review queue."""
    import importlib

    from django.apps import apps

    fold = importlib.import_module("submissions.migrations.0009_catalog_fold_existing").fold
    submission = run(alice, build(tmp_path, demo_version, alice_key, seed=5))
    old_hw = Hardware.objects.create(slug="h10080gb", label="H10080GB", hw_class="cloud")
    old_model = AIModel.objects.create(slug="llama3-2-1b", name="llama3.2:1b")
    unknown_hw = Hardware.objects.create(slug="mystery", label="Mystery GPU", hw_class="local")
    Submission.objects.filter(pk=submission.pk).update(hardware=old_hw, model=old_model)
    other = run(alice, build(tmp_path, demo_version, alice_key, seed=6))
    Submission.objects.filter(pk=other.pk).update(hardware=unknown_hw)

    fold(apps, None)

    submission.refresh_from_db()
    other.refresh_from_db()
    assert submission.hardware.catalog_key and submission.model.catalog_key
    assert not Hardware.objects.filter(label="H10080GB").exists()
    assert not AIModel.objects.filter(name="llama3.2:1b").exists()
    assert other.catalog_pending and not submission.catalog_pending
    assert Submission.objects.count() == 2  # nothing lost


@pytest.mark.django_db
def test_generic_apple_label_cannot_be_packed(tmp_path: Path, mixed_version: Any) -> None:
    """The harness labels every Mac "GPU": pack refuses it, listing the catalog's Apple chips,
    and accepts it once the chip is named."""
    import json
    import shutil

    from evaluator.errors import BundleError
    from evaluator.harness_import import import_ipw_run

    run_dir = tmp_path / "profile_GPU_llama3_2_1b"
    shutil.copytree(HARNESS_RUN, run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["hardware_label"] = "GPU"
    summary["gpu_info"] = {"name": "Apple GPU", "vendor": "Apple", "backend": "macOS"}
    summary["system_info"]["os_name"] = "macOS"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    dataset = services.engine_dataset(mixed_version)
    with pytest.raises(BundleError) as raised:
        import_ipw_run(run_dir, dataset)
    assert raised.value.code == "harness.hardware.generic"
    assert "--hardware" in raised.value.message and "Apple M3 Max" in raised.value.message
    manifest, *_ = import_ipw_run(
        run_dir, dataset, overrides={"hardware": {"accelerator": "Apple M3 Max"}}
    )
    assert manifest["hardware"]["accelerator"] == "Apple M3 Max"
    assert load_catalog().resolve_hardware("Apple M3 Max", "GPU").entry.key == "apple-m3-max"


HARNESS_RUN = (
    Path(__file__).parent / "fixtures" / "ipw-harness-runs" / "profile_H10080GB_llama3_2_1b"
)


# -- through the API and a real Celery worker process ----------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_physics_through_api_and_real_worker(
    worker: Any,
    live_server: Any,
    tmp_path: Path,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    staff: Persona,
) -> None:
    """0.001 W and 45.9 kW on one H100, with and without a trace, are rejected with their
    physics codes; the honest run is scored and shown under the catalog's H100."""
    import time

    import httpx

    from submissions.cli.client import ApiClient

    client = ApiClient(live_server.url, alice.token)
    cases = {
        "honest": (1.0, True),
        "milliwatt-trace": (0.001 / 300, True),
        "milliwatt-no-trace": (0.001 / 300, False),
        "45kW-trace": (45_900 / 300, True),
        "45kW-no-trace": (45_900 / 300, False),
    }
    ids = {
        name: client.upload(
            build(tmp_path, demo_version, alice_key, seed=100 + i, power_factor=f, with_trace=t)
        )["id"]
        for i, (name, (f, t)) in enumerate(cases.items())
    }
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 120
    while len(final) < len(ids) and time.monotonic() < deadline:
        for name, sid in ids.items():
            body = client.get(f"submissions/{sid}/")
            if body["status"] in {"scored", "rejected", "failed"}:
                final[name] = body
        time.sleep(0.5)
    assert len(final) == len(ids), f"not final: {set(ids) - set(final)}"
    assert worker.poll() is None
    assert final["honest"]["status"] == "scored", final["honest"]["report"]
    for name, code in (
        ("milliwatt-trace", "physics.power_below_idle"),
        ("milliwatt-no-trace", "physics.power_below_idle"),
        ("45kW-trace", "physics.power_above_tdp"),
        ("45kW-no-trace", "physics.power_above_tdp"),
    ):
        body = final[name]
        assert (body["status"], body["report"]["error"]["code"]) == ("rejected", code), name
        assert " W" in body["report"]["error"]["message"]
    # Only the honest run is public, under the catalog's canonical name and class.
    entry = load_catalog().resolve_hardware(H100_NVML).entry
    honest = Submission.objects.get(pk=ids["honest"])
    # Held only because the demo run is short (< 60 s): staff approve it.
    warned = [c["code"] for c in honest.report["checks"] if c["status"] != "pass"]
    assert warned == ["timing.short_run"]
    services.moderate_submission(honest, staff.user, "approve")
    rows = httpx.get(live_server.url + "/api/v1/leaderboard/").json()
    assert [(r["model"], r["hardware"]) for r in rows] == [
        (load_catalog().resolve_model("llama3.2:1b").entry.name, entry.name)
    ]


@pytest.mark.django_db
def test_look_alike_and_hidden_character_names_through_the_api(
    tmp_path: Path, alice: Persona, alice_key: Signer, demo_version: Any, anonymous: Persona
) -> None:
    """Issue 12, finding 7: a Cyrillic look-alike of a catalog model is held (never shown as
    the real row), a right-to-left override or zero-width space is refused with its code."""
    fake = run(
        alice,
        build(tmp_path, demo_version, alice_key, seed=21, change=measured(model="llаma3.2:1b")),
    )
    codes = {c["code"]: c["status"] for c in fake.report["checks"]}
    assert codes["manifest.name_confusable"] == "warn" and fake.catalog_pending
    assert board_rows(anonymous.api) == []
    for seed, name in ((22, "llama3.2:1b\u202e"), (23, "llama\u200b3.2:1b")):
        hidden = run(
            alice, build(tmp_path, demo_version, alice_key, seed=seed, change=measured(model=name))
        )
        assert hidden.status == Submission.Status.REJECTED
        assert hidden.error_code == "manifest.name_invalid"
        assert "U+" in hidden.report["error"]["message"]
    # User text on the pages is isolated, so a name cannot reorder what follows it.
    honest = run(alice, build(tmp_path, demo_version, alice_key, seed=24))
    services.moderate_submission(honest, _staff(), "approve")
    page = anonymous.client.get("/").content.decode()
    assert "<bdi>Llama 3.2 1B Instruct</bdi>" in page


def _staff() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("catalog-staff", is_staff=True)
