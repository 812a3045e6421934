"""``ipwboard submit --from-ipw-run DIR``: one command from the real harness run to an outcome.

The CLI runs as a subprocess against ``live_server``; a real Celery worker (another process)
verifies and scores. Each outcome prints its reason and exits with the README's code.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from submissions import services
from submissions.cli import outcomes
from submissions.models import Submission
from tests.conftest import HARNESS_RUN, ROOT, Persona
from tests.test_cli import Cli

pytestmark = pytest.mark.django_db(transaction=True)
DIR = str(HARNESS_RUN)


@pytest.fixture
def cli(tmp_path: Path, live_server: Any, alice: Persona) -> Cli:
    cli = Cli(tmp_path / "config", live_server.url)
    cli.env["IPWBOARD_TOKEN"] = alice.token
    assert cli("keygen").returncode == 0
    return cli


def _run(cli: Cli, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = cli("submit", "--from-ipw-run", DIR, *args, "--json")
    return done, (json.loads(done.stdout) if done.stdout.strip() else {})


@pytest.mark.services
def test_one_command_from_the_harness_run_to_the_board(
    worker: Any,
    cli: Cli,
    mixed_version: Any,
    staff: Persona,
    live_server: Any,
) -> None:
    # The key is not registered yet: stopped before anything is packed or uploaded.
    unregistered, _ = _run(cli)
    assert unregistered.returncode == outcomes.LOCAL_ERROR
    assert "key.not_registered" in unregistered.stderr and "keys register" in unregistered.stderr
    assert cli("keys", "register").returncode == 0

    # One command: challenge, pack, sign, preflight, upload, wait. The sample run's inference
    # server was a stand-in that echoed the dataset's reference answers on 27 of its 35 open-ended
    # items, so it is held for review as a pasted-reference suspect (issue 12): exit 5, the reason
    # and the next step printed.
    human = cli("submit", "--from-ipw-run", DIR)
    assert human.returncode == outcomes.HELD, human.stderr
    assert "Held for review" in human.stdout and "responses.copy_reference" in human.stdout
    assert "Next: Staff review it" in human.stdout
    assert "dataset: ipw-mixed@1" in human.stderr  # matched from the run's items
    assert "local preflight passed" in human.stderr
    held = Submission.objects.get(owner__username="alice", status="scored")
    assert held.challenge is not None  # fetched and embedded by the command
    assert f"/submissions/{held.pk}/" in human.stdout
    page = httpx.get(f"{live_server.url}/submissions/{held.pk}/", follow_redirects=True)
    assert page.status_code == 404  # held: not public (the owner sees it when logged in)

    # The same words on the API and, for its owner, on the status page.
    body = httpx.get(
        f"{live_server.url}/api/v1/submissions/{held.pk}/",
        headers={"Authorization": f"Token {cli.env['IPWBOARD_TOKEN']}"},
    ).json()
    assert (
        body["outcome"]["code"] == "held"
        and "responses.copy_reference" in body["outcome"]["reason"]
    )
    assert body["outcome"]["title"] in human.stdout

    # Staff approve it: it is on the board; `status` exits 0 and prints the pair's permalink.
    services.moderate_submission(held, staff.user, "approve")
    status = cli("status", str(held.pk))
    assert status.returncode == outcomes.ON_BOARD, status.stdout + status.stderr
    pair_url = json.loads(cli("status", str(held.pk), "--json").stdout)["outcome"]["pair_url"]
    assert pair_url and pair_url in status.stdout and "/pairs/" in pair_url
    pair = httpx.get(pair_url)
    assert pair.status_code == 200 and str(held.pk)[:8] in pair.text

    # The same run again is a replay: rejected by the worker, reason printed, exit 1.
    replay, body = _run(cli)
    assert replay.returncode == outcomes.REJECTED, replay.stderr
    assert body["outcome"]["code"] == "rejected"
    assert body["outcome"]["reason"].startswith("bundle.replay.")

    # The owner corrects the hardware name: the new row replaces the old one, whose permalink
    # leads to it.
    corrected, body = _run(cli, "--supersedes", str(held.pk), "--set", "notes=corrected")
    assert corrected.returncode in (outcomes.ON_BOARD, outcomes.HELD), corrected.stderr
    new_id = body["id"]
    held.refresh_from_db()
    assert str(held.superseded_by_id) == new_id
    moved = httpx.get(f"{live_server.url}/submissions/{held.pk}/", follow_redirects=False)
    assert moved.status_code == 302 and moved.headers["location"] == f"/submissions/{new_id}/"
    old_status = cli("status", str(held.pk))
    assert old_status.returncode == outcomes.OFF_BOARD and new_id in old_status.stdout


def test_local_errors_stop_before_upload(cli: Cli, mixed_version: Any) -> None:
    assert cli("keys", "register").returncode == 0
    bad, _ = _run(cli, "--dataset", "ipw-mixed@1", "--set", "measurement.scope=moon")
    assert bad.returncode == outcomes.LOCAL_ERROR
    assert "bundle.manifest.invalid" in bad.stderr
    missing = cli("submit", "--from-ipw-run", "/nonexistent/run")
    assert missing.returncode == outcomes.LOCAL_ERROR and "harness.run.invalid" in missing.stderr
    neither = cli("submit")
    assert neither.returncode == outcomes.LOCAL_ERROR and "submit.usage" in neither.stderr
    assert not Submission.objects.exists()


def test_packing_the_same_run_twice_is_byte_identical(cli: Cli, tmp_path: Path) -> None:
    from tests.conftest import MIXED_DATASET

    bundles = []
    for name in ("a.ipwb", "b.ipwb"):
        out = tmp_path / name
        packed = cli("pack", "--from-ipw-run", DIR, "--dataset", str(MIXED_DATASET), "-o", str(out))
        assert packed.returncode == 0, packed.stderr
        assert cli("sign", str(out)).returncode == 0  # Ed25519 signatures are deterministic
        bundles.append(out.read_bytes())
    assert bundles[0] == bundles[1]


def test_keygen_without_a_terminal_names_the_variable(tmp_path: Path, live_server: Any) -> None:
    bare = Cli(tmp_path / "bare", live_server.url)
    del bare.env["IPWBOARD_KEY_PASSPHRASE"]
    done = bare("keygen")
    assert done.returncode == outcomes.LOCAL_ERROR
    assert "key.passphrase.missing" in done.stderr and "IPWBOARD_KEY_PASSPHRASE" in done.stderr


def test_every_option_has_help() -> None:
    import argparse

    from submissions.cli.main import build_parser

    missing = []
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if not action.help and not isinstance(action, argparse._HelpAction):
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_the_readme_lists_the_exit_codes() -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    for code, meaning in outcomes.EXIT_CODES:
        assert f"| {code} | {meaning} |" in readme


def test_demo_seeding_never_spends_the_harness_run() -> None:
    """`make run` seeds only synthetic runs: a newcomer can still submit the harness sample."""
    from evaluator.datasets import load_dataset
    from evaluator.harness_import import import_ipw_run
    from submissions import demo
    from tests.conftest import DEMO_DATASET, MIXED_DATASET

    mixed = load_dataset(MIXED_DATASET)
    real, queries, _, _ = import_ipw_run(HARNESS_RUN, mixed)
    runs = list(demo.demo_runs(load_dataset(DEMO_DATASET), mixed))
    assert {m["dataset"]["slug"] for _, m, _, _ in runs} == {"ipwboard-demo", "ipw-mixed"}
    for name, manifest, demo_queries, _ in runs:
        assert manifest["synthetic"] is True and manifest["harness"]["name"] == "ipwboard-demo"
        assert manifest["run_id"] != real["run_id"], name
        assert not demo_queries.equals(queries), name
    seed = (ROOT / "submissions" / "management" / "commands" / "seed_demo.py").read_text()
    assert "ipw-harness-runs" not in seed and "import_ipw_run" not in seed
