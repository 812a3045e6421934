"""Issue 12, finding 10: host names, user names and absolute paths are never published.

The importer leaves them out of the manifest, and the board never displays them even when a
hand-written bundle carries them (the pair page and the API show whitelisted system fields only).
"""

from __future__ import annotations

import json
from typing import Any

from evaluator.harness_import import import_ipw_run
from evaluator.system_info import public_system
from ipwboard.board.pairs import PairKey
from submissions import services
from tests.conftest import HARNESS_RUN, Persona, Signer
from tests.test_api_support import scored

PRIVATE = ("Alexs-MacBook-Pro.local", "/home/alex/runs/profile_x", "/Users/alex", "alex@corp")


def test_the_importer_leaves_the_host_name_and_paths_out(mixed_version: Any) -> None:
    summary = json.loads((HARNESS_RUN / "summary.json").read_text())
    assert summary["system_info"]["host_name"] == "gpu-node-03"  # what the harness records
    manifest, *_ = import_ipw_run(
        HARNESS_RUN,
        services.engine_dataset(mixed_version),
        overrides={"model": {"engine": "ollama"}, "synthetic": True},
    )
    text = json.dumps(manifest)
    assert "gpu-node-03" not in text
    assert summary["output_dir"] not in text and "/home/" not in text
    assert manifest["system"] == {
        "os_name": "Ubuntu",
        "os_version": "22.04",
        "kernel_version": "5.15.0-125-generic",
        "cpu_brand": "Unknown CPU",
        "cpu_count": 52,
    }


def _private_system(manifest: dict[str, Any]) -> None:
    manifest["system"] = {
        "os_name": "macOS",
        "os_version": "14.5",
        "cpu_brand": "Apple M2 Max",
        "host_name": PRIVATE[0],
        "output_dir": PRIVATE[1],
        "kernel_version": f"{PRIVATE[2]}/kernels/23.5.0",  # a path in a whitelisted field
        "user": PRIVATE[3],
    }


def test_the_board_never_shows_private_system_fields(
    alice: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    """A hand-written bundle carrying them is accepted, and they stay off every public view."""
    submission = scored(
        alice, alice_key, demo_version, make_bundle, mutate_manifest=_private_system
    )
    assert submission.manifest["system"]["host_name"] == PRIVATE[0]  # kept as signed

    page = anonymous.client.get(PairKey.of(submission).url()).content.decode()
    assert "Apple M2 Max" in page and "macOS" in page  # the public fields are shown
    api = anonymous.api.get(f"/api/v1/submissions/{submission.pk}/").content.decode()
    status = anonymous.client.get(f"/submissions/{submission.pk}/").content.decode()
    for shown in (page, api, status):
        leaked = [value for value in PRIVATE if value in shown]
        assert not leaked, leaked


def test_public_system_is_a_whitelist() -> None:
    assert public_system(
        {"os_name": "Ubuntu", "host_name": "gpu-node-03", "cpu_count": 8, "cpu_brand": "~/x"}
    ) == {"os_name": "Ubuntu", "cpu_count": 8}
    assert public_system("not an object") == {}
    assert public_system({"os_name": "C:\\Users\\alex", "os_version": "x" * 500}) == {}
