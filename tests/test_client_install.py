"""`pip install ipwboard` is the client alone: engine and CLI, none of the server's packages.

A fresh virtual environment gets the wheel built from this checkout; the CLI packs and verifies
the real harness fixture there, and the wheel carries the catalog as package data.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.client_venv import (
    SERVER_PACKAGES,
    ClientVenv,
    client_only,  # noqa: F401 - the session's client-only venv
)
from tests.conftest import HARNESS_RUN, MIXED_DATASET, ROOT

pytestmark = pytest.mark.services


def _sh(client: ClientVenv, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Outside this checkout: `python -c` would otherwise import the packages from the cwd.
    return subprocess.run(
        list(argv),
        env=client.env(**env),
        cwd=client.root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_client_install_has_no_server_package(client_only: ClientVenv) -> None:  # noqa: F811
    probe = _sh(
        client_only,
        "python",
        "-c",
        "import importlib.util, json, sys; "
        f"print(json.dumps({{m: importlib.util.find_spec(m) is not None for m in {list(SERVER_PACKAGES)!r}}}))",
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == dict.fromkeys(SERVER_PACKAGES, False)
    where = _sh(client_only, "python", "-c", "import evaluator; print(evaluator.__file__)")
    assert str(client_only.root) in where.stdout  # the installed wheel, not this checkout
    # record-trace is an extra: it says how to get it instead of failing on an import.
    trace = _sh(client_only, "ipwboard", "record-trace", "--out", "t.parquet")
    assert trace.returncode == 2 and "ipwboard[record-trace]" in trace.stderr


def test_pack_and_verify_the_harness_fixture(client_only: ClientVenv, tmp_path: Path) -> None:  # noqa: F811
    env = {"IPWBOARD_CONFIG_DIR": str(tmp_path / "cfg"), "IPWBOARD_KEY_PASSPHRASE": "pass phrase"}
    bundle = str(tmp_path / "run.ipwb")
    for argv in (
        ("ipwboard", "keygen"),
        (
            "ipwboard",
            "pack",
            "--from-ipw-run",
            str(HARNESS_RUN),
            "--dataset",
            str(MIXED_DATASET),
            "-o",
            bundle,
        ),
        ("ipwboard", "sign", bundle),
    ):
        done = _sh(client_only, *argv, **env)
        assert done.returncode == 0, f"{argv}: {done.stderr}"
    verified = _sh(
        client_only, "ipwboard", "verify", bundle, "--dataset", str(MIXED_DATASET), "--json", **env
    )
    assert verified.returncode == 0, verified.stderr
    summary = json.loads(verified.stdout)
    assert summary["ok"] is True and summary["n_queries"] == 120
    assert "imported-from-ipw-harness" in summary["labels"]


def test_the_wheel_carries_the_catalog(client_only: ClientVenv) -> None:  # noqa: F811
    catalog = ROOT / "data" / "catalog"
    shipped = sorted(
        str(path.relative_to(catalog)) for path in catalog.rglob("*") if path.is_file()
    )
    assert shipped, "data/catalog is empty"
    with zipfile.ZipFile(client_only.wheel) as wheel:
        names = set(wheel.namelist())
        for name in shipped:
            member = f"evaluator/catalog_data/{name}"
            assert member in names, f"{member} missing from {client_only.wheel.name}"
            assert wheel.read(member) == (catalog / name).read_bytes()
        # The server's own packages ride along (one wheel, one version) but not its tests.
        assert not any(n.startswith("tests/") for n in names)
