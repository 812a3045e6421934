"""The bundle reader, past the signature: correctly signed bundles whose tables hold anything.

The existing property tests (tests/evaluator/test_bundle_properties.py) throw random archives and
damaged bytes at the unpacker; most of those stop at the signature. Here the submitter's key signs
whatever we generate, the way an attacker with a registered key would, so the Parquet readers, the
telemetry/timing/token checks, the scorers and the metrics all see hostile data. The only allowed
outcomes: an EvaluationResult or a BundleError.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.bundle import MANIFEST, QUERIES, TRACE, sign_bundle
from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.keys import fingerprint, generate_private_key, public_key_bytes
from evaluator.types import Dataset, EvaluationResult
from submissions import demo
from tests.fuzz.conftest import EXAMPLES, FUZZ
from tests.reliability.bundles import demo_dataset

KEY = generate_private_key()
RAW = public_key_bytes(KEY)
TRUSTED = {fingerprint(RAW): RAW}

odd_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e-300, 1e300, math.nan, math.inf, -math.inf]),
)
odd_ints = st.integers(-(2**63), 2**63 - 1)
odd_text = st.text(max_size=60) | st.sampled_from(["", "\x00", "A" * 5000, "<script>", "=1+1"])


@pytest.fixture(scope="module")
def run() -> tuple[Dataset, dict[str, Any], pa.Table, pa.Table]:
    dataset = demo_dataset()
    manifest, queries, trace = demo.synth_run(
        dataset,
        demo.find_model("demo/heron-8b"),
        demo.find_hardware("Demo Workstation GPU"),
        run_date="2025-06-01",
        seed=3,
    )
    return dataset, manifest, queries, trace


def _values_for(field: pa.Field, n: int, data: st.DataObject) -> pa.Array:
    """A column of ``n`` hostile values, usually of the field's type, sometimes not."""
    kind = data.draw(st.sampled_from(["same", "nulls", "wrong_type"]))
    if kind == "nulls":
        return pa.nulls(n, field.type)
    if kind == "wrong_type":
        return pa.array(data.draw(st.lists(odd_text, min_size=n, max_size=n)), pa.string())
    if pa.types.is_floating(field.type):
        return pa.array(data.draw(st.lists(odd_floats, min_size=n, max_size=n)), field.type)
    if pa.types.is_integer(field.type):
        return pa.array(data.draw(st.lists(odd_ints, min_size=n, max_size=n)), pa.int64())
    return pa.array(data.draw(st.lists(odd_text, min_size=n, max_size=n)), pa.string())


def _mutate(table: pa.Table, data: st.DataObject) -> pa.Table:
    action = data.draw(st.sampled_from(["column", "rows", "drop_column", "duplicate_rows"]))
    if action == "rows":
        start = data.draw(st.integers(0, table.num_rows))
        return table.slice(start, data.draw(st.integers(0, table.num_rows)))
    if action == "duplicate_rows":
        return pa.concat_tables([table, table.slice(0, data.draw(st.integers(1, 5)))])
    index = data.draw(st.integers(0, table.num_columns - 1))
    if action == "drop_column":
        return table.remove_column(index)
    if table.num_rows == 0:
        return table
    field = table.schema.field(index)
    rows = data.draw(st.integers(1, min(8, table.num_rows)))
    column = _values_for(field, rows, data)
    patched = table.slice(0, rows).set_column(index, pa.field(field.name, column.type), column)
    rest = table.slice(rows)
    if column.type != field.type:
        return patched  # a short table whose column has another type
    return pa.concat_tables([patched, rest])


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@settings(FUZZ, max_examples=max(10, EXAMPLES // 3))  # each example packs, signs and evaluates
@given(data=st.data())
def test_signed_bundles_with_hostile_tables(
    data: st.DataObject, run: tuple[Dataset, dict[str, Any], pa.Table, pa.Table]
) -> None:
    dataset, manifest, queries, trace = run
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            queries = _mutate(queries, data)
        else:
            trace = _mutate(trace, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.ipwb"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest))
            archive.writestr(QUERIES, _parquet(queries))
            if data.draw(st.integers(0, 9)):  # now and then, no trace at all
                archive.writestr(TRACE, _parquet(trace))
        sign_bundle(path, KEY)
        try:
            result = evaluate(path, dataset, trusted_keys=TRUSTED, workdir=Path(tmp))
        except BundleError as error:
            assert error.code and error.message
            return
        assert isinstance(result, EvaluationResult)
        metrics = result.metrics
        for value in (metrics.accuracy, metrics.ipw, metrics.ipj):
            assert value is None or math.isfinite(value), metrics
