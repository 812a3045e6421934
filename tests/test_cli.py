"""The ``ipwboard`` CLI as a user runs it: a subprocess against a real server on loopback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from submissions import services
from submissions.models import SigningKey, Submission
from tests.conftest import ROOT, Persona, Signer
from tests.services import MotoServer, free_port, start_moto_server

pytestmark = pytest.mark.django_db(transaction=True)
PASS = "correct horse battery staple"


class Cli:
    def __init__(self, home: Path, server: str) -> None:
        self.env = {
            **os.environ,
            "IPWBOARD_CONFIG_DIR": str(home),
            "IPWBOARD_KEY_PASSPHRASE": PASS,
            "IPWBOARD_SERVER": server,
        }
        self.env.pop("IPWBOARD_TOKEN", None)

    def __call__(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "submissions.cli.main", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path, live_server: Any) -> Cli:
    return Cli(tmp_path / "config", live_server.url)


def _signer_from_file(path: Path) -> Signer:
    from evaluator.keys import encode_public_key, fingerprint, load_private_key, public_key_bytes

    key = load_private_key(path, PASS.encode())
    raw = public_key_bytes(key)
    return Signer(key, encode_public_key(raw), fingerprint(raw))


def test_cli_submitter_journey(
    cli: Cli, alice: Persona, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> None:
    keygen = cli.json("keygen")
    key_path = Path(keygen["private_key"])
    assert b"ENCRYPTED" in key_path.read_bytes()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600

    login = cli("login", "--token", alice.token)
    assert login.returncode == 0, login.stderr
    config = Path(cli.env["IPWBOARD_CONFIG_DIR"]) / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600

    registered = cli.json("keys", "register", "--name", "laptop")
    assert registered["fingerprint"] == keygen["fingerprint"]
    assert [k["fingerprint"] for k in cli.json("keys", "list")] == [keygen["fingerprint"]]
    nonce = cli.json("challenge")["nonce"]
    assert len(nonce) == 32

    bundle = make_bundle(demo_version, _signer_from_file(key_path))
    submitted = cli.json("submit", str(bundle))
    assert submitted["status"] == "queued" and submitted["permalink"].endswith(
        f"/submissions/{submitted['id']}/"
    )
    human = cli("status", submitted["id"])
    assert human.returncode == 8 and "Queued" in human.stdout  # not final yet (README)

    services.process_submission(submitted["id"])
    watched = cli("status", submitted["id"], "--watch", "--json")
    assert watched.returncode == 0 and json.loads(watched.stdout)["status"] == "scored"

    from ipwboard.board import exports

    exports.regenerate_exports()
    out = tmp_path / "board.csv"
    exported = cli.json("results", "export", "--format", "csv", "-o", str(out))
    assert exported["rows"] == 1 and exported["synthetic_rows"] == 1
    assert submitted["id"] in out.read_text()

    listed = cli.json("datasets", "list")
    spec = f"{listed[0]['slug']}@{listed[0]['version']}"
    downloaded = cli.json("datasets", "download", spec, "-o", str(tmp_path / "d.jsonl"))
    assert downloaded["sha256"] == demo_version.sha256

    withdrawn = cli.json("withdraw", submitted["id"], "--reason", "meter was off")
    assert withdrawn["withdrawn_at"]
    assert Submission.objects.get(pk=submitted["id"]).withdrawn_at is not None

    revoked = cli.json("keys", "revoke", keygen["fingerprint"][:14])
    assert revoked["state"] == "revoked"
    assert SigningKey.objects.get(fingerprint=keygen["fingerprint"]).state == "revoked"


def test_cli_errors_are_helpful(
    cli: Cli, alice: Persona, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> None:
    cli.json("keygen")
    assert cli("login", "--token", alice.token).returncode == 0

    wrong = cli("keys", "register", env={"IPWBOARD_KEY_PASSPHRASE": "nope"})
    assert (
        wrong.returncode == 2
        and "key.passphrase" in wrong.stderr
        and "Traceback" not in wrong.stderr
    )

    bad = cli("keys", "list", "--token", "ipwb_not-a-token")
    assert (
        bad.returncode == 2
        and "auth.token_invalid" in bad.stderr
        and "ipwboard login" in bad.stderr
    )

    down = cli(  # one attempt: the retries themselves are tested in test_cli_retry.py
        "keys",
        "list",
        "--server",
        f"http://127.0.0.1:{free_port()}",
        env={"IPWBOARD_RETRY_ATTEMPTS": "1"},
    )
    assert down.returncode == 3 and "network.unreachable" in down.stderr

    empty = tmp_path / "empty.ipwb"
    empty.write_bytes(b"")
    refused = cli("submit", str(empty), "--json")
    assert refused.returncode == 6  # refused at upload (README, exit codes)
    assert json.loads(refused.stderr)["error"]["code"] == "upload.empty"

    missing = cli("submit", str(tmp_path / "nope.ipwb"))
    assert missing.returncode == 2 and "bundle.missing" in missing.stderr

    # A bundle signed with a key the server does not know is rejected; exit code 1 says so.
    from tests.conftest import make_signer

    rejected = cli.json("submit", str(make_bundle(demo_version, make_signer())))
    services.process_submission(rejected["id"])
    status = cli("status", rejected["id"])
    assert status.returncode == 1 and "bundle.signature.unknown_key" in status.stdout


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[MotoServer]:
    with start_moto_server(log_path=tmp_path / "moto.log") as server:
        yield server


def test_cli_direct_upload_resumes(
    cli: Cli, alice: Persona, moto: MotoServer, tmp_path: Path, settings: Any
) -> None:
    from django.test import override_settings

    from submissions.cli.upload import _state_key
    from tests.test_api_support import s3_settings

    big = tmp_path / "big.ipwb"
    big.write_bytes(os.urandom(5 * 1024**2 + 4096))
    with (
        s3_settings(moto, f"ipwb-{uuid.uuid4().hex[:12]}"),
        override_settings(
            IPWBOARD_DIRECT_UPLOAD_PART_BYTES=5 * 1024**2,
            IPWBOARD_DIRECT_UPLOAD_THRESHOLD_BYTES=1024**2,
        ),
    ):
        assert cli("login", "--token", alice.token).returncode == 0
        # An earlier run uploaded part 1 and was interrupted: its state file remembers the id.
        start = alice.api.post(
            "/api/v1/uploads/", {"filename": big.name, "size": big.stat().st_size}, format="json"
        ).json()
        import httpx

        assert (
            httpx.put(start["parts"][0]["url"], content=big.read_bytes()[: 5 * 1024**2]).status_code
            == 200
        )
        from submissions.cli.client import ApiClient

        state_file = Path(cli.env["IPWBOARD_CONFIG_DIR"]) / "uploads.json"
        state_file.write_text(
            json.dumps({_state_key(ApiClient(cli.env["IPWBOARD_SERVER"]), big): start["upload_id"]})
        )

        result = cli("submit", str(big))
        assert result.returncode == 0, result.stderr
        assert "resuming upload" in result.stderr and "1 of 2 parts" in result.stderr
        submission = Submission.objects.get(pk=start["upload_id"])
        import hashlib

        assert submission.bundle_sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
        assert json.loads(state_file.read_text()) == {}
