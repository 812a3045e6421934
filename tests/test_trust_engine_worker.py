"""Issue 12, findings 2 and 3, on real components: live web server, a real Celery worker process,
Redis and PostgreSQL, and the CLI's own client.

- a run of 0 J rows ends REJECTED ``bundle.queries.energy_zero`` (it used to end FAILED
  ``internal.error``: the worker crashed on NOT NULL ``evaluation.ipw``);
- another account's re-encoded copy of a public run (new run id, shuffled rows, other Parquet
  encoding, no trace) ends REJECTED ``bundle.replay.content``.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from submissions.cli.client import ApiClient
from tests.conftest import Persona, Signer, make_signer
from tests.test_e2e_worker import _wait_final

sys.path.insert(0, str(Path(__file__).parent / "evaluator"))  # the bad-bundle corpus package
from badbundles import REENCODINGS, reencode
from badbundles.rewrite import signature_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _all_zero(path: Path, out: Path, signer: Signer) -> Path:
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    table = pq.read_table(io.BytesIO(members["queries.parquet"]))
    index = table.schema.get_field_index("energy_j")
    zeros = pa.array([0.0] * table.num_rows)
    table = table.set_column(index, table.schema.field(index), zeros)
    # The phase split of the old energies would no longer add up (its own error code).
    table = table.drop_columns(
        [c for c in ("prefill_energy_j", "decode_energy_j") if c in table.column_names]
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    members["queries.parquet"] = sink.getvalue()
    members.pop("trace.parquet", None)
    members.pop("signature.dsse.json")
    members["signature.dsse.json"] = signature_for(members, signer.key)
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def test_zero_energy_and_a_reencoded_copy_through_a_real_worker(
    worker: Any,
    live_server: Any,
    alice: Persona,
    alice_key: Signer,
    bob: Persona,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
) -> None:
    alice_client = ApiClient(live_server.url, alice.token)
    zero = _all_zero(make_bundle(demo_version, alice_key), tmp_path / "zero.ipwb", alice_key)
    final = _wait_final(alice_client, alice_client.upload(zero)["id"])
    assert final["status"] == "rejected", final
    assert final["report"]["error"]["code"] == "bundle.queries.energy_zero"
    assert worker.poll() is None

    public = make_bundle(demo_version, alice_key, model="demo/sparrow-3b")
    original = _wait_final(alice_client, alice_client.upload(public)["id"])
    assert original["status"] == "scored", original["report"]

    bob_key = make_signer(bob.user)
    how = REENCODINGS["snappy-shuffled-no-trace"]
    copy = reencode(public, tmp_path / "copy.ipwb", how, bob_key.key)
    bob_client = ApiClient(live_server.url, bob.token)
    final = _wait_final(bob_client, bob_client.upload(copy)["id"])
    assert final["status"] == "rejected", final
    assert final["report"]["error"]["code"] == "bundle.replay.content"

    rows = httpx.get(live_server.url + "/api/v1/leaderboard/").json()
    assert [row["submission"] for row in rows] == [original["id"]]
