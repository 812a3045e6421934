"""Issue 12's bundles: zero energy (rejected by the engine) and replays by re-encoding (accepted by
the engine, refused or held by the server: ``REENCODINGS`` is walked by the engine test, which
checks the content fingerprint is unchanged, and by the API and worker tests)."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badbundles.rewrite import case, mutate, read_members, read_table, signature_for, write_zip
from badbundles.valid import CORPUS_KEY, MEMBER_ORDER

# -- zero energy (evaluator.checks.energy) ------------------------------------------------------


def _energies(change: Any) -> Any:
    def edit(table: pa.Table) -> pa.Table:
        values = np.asarray(table.column("energy_j").to_numpy(), dtype=np.float64).copy()
        change(values)
        index = table.schema.get_field_index("energy_j")
        return table.set_column(index, table.schema.field(index), pa.array(values))

    return edit


@case("bundle.queries.energy_zero")
def energy_all_zero(valid: Path, tmp: Path) -> Path:
    """The issue's first report: every row 0 J (IPW NaN, then a worker crash)."""
    return mutate(valid, tmp, queries=_energies(lambda v: v.fill(0.0)))


@case("bundle.queries.energy_zero")
def energy_zero_but_one(valid: Path, tmp: Path) -> Path:
    """The second: all zero but one real row (an IPW 100x too high)."""

    def change(values: np.ndarray) -> None:
        values[1:] = 0.0

    return mutate(valid, tmp, queries=_energies(change))


# -- replay by re-encoding (evaluator.content; the server's bundle.replay.content) --------------


@dataclass(frozen=True)
class Reencoding:
    """How a copy of a bundle is re-written: same measurements, other bytes."""

    compression: str = "zstd"
    row_group_size: int | None = None
    use_dictionary: bool = False
    shuffle_seed: int | None = None
    drop_trace: bool = False
    scale_energy: float = 1.0  # != 1: a near-copy (energies nudged), not an exact one
    write_statistics: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


REENCODINGS: dict[str, Reencoding] = {
    "zstd-row-groups-of-2": Reencoding(compression="zstd", row_group_size=2),
    "gzip-dictionary": Reencoding(compression="gzip", use_dictionary=True),
    "uncompressed-no-stats-shuffled": Reencoding(
        compression="none", write_statistics=False, shuffle_seed=11
    ),
    "snappy-shuffled-no-trace": Reencoding(compression="snappy", shuffle_seed=5, drop_trace=True),
}
NEAR_COPY = Reencoding(compression="zstd", shuffle_seed=3, drop_trace=True, scale_energy=1.0001)


def reencode(
    bundle: Path,
    out: Path,
    how: Reencoding,
    key: Ed25519PrivateKey = CORPUS_KEY,
) -> Path:
    """A copy of ``bundle``'s measurements under a new run id, re-encoded as ``how`` says, signed
    with ``key`` (another account's key in the server tests)."""
    members = read_members(bundle)
    manifest = json.loads(members["manifest.json"])
    manifest["run_id"] = str(uuid.uuid4())
    manifest["challenge"] = None
    members["manifest.json"] = json.dumps(manifest, indent=1).encode()
    table = read_table(members["queries.parquet"])
    if how.shuffle_seed is not None:
        order = np.random.default_rng(how.shuffle_seed).permutation(table.num_rows)
        table = table.take(pa.array(order))
    if how.scale_energy != 1.0:
        index = table.schema.get_field_index("energy_j")
        scaled = pc.multiply(table.column("energy_j"), how.scale_energy)
        table = table.set_column(index, table.schema.field(index), scaled)
    members["queries.parquet"] = _write(table, how)
    if how.drop_trace:
        members.pop("trace.parquet", None)
    elif "trace.parquet" in members:  # re-encoded too: no member file is the original's
        members["trace.parquet"] = _write(read_table(members["trace.parquet"]), how)
    members.pop("signature.dsse.json", None)
    members["signature.dsse.json"] = signature_for(members, key)
    return write_zip(out, [(n, members[n]) for n in MEMBER_ORDER if n in members])


def _write(table: pa.Table, how: Reencoding) -> bytes:
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression=how.compression,
        row_group_size=how.row_group_size,
        use_dictionary=how.use_dictionary,
        write_statistics=how.write_statistics,
        **how.extra,
    )
    return sink.getvalue()
