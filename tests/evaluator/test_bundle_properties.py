"""Property tests: hostile input never escapes as anything but BundleError."""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evaluator.bundle import ALLOWED_MEMBERS, open_bundle
from evaluator.bundle.tables import TraceBatch
from evaluator.checks.telemetry import analyse_trace
from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.types import Check, Dataset

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
names = st.one_of(
    st.sampled_from([*ALLOWED_MEMBERS, "../x", "/abs", "a\\b", "dir/", "x\x00y", "ok.txt"]),
    st.text(min_size=0, max_size=20),
)
payloads = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"PK\x03\x04junk", b"\x1f\x8b\x08", b"PAR1\x00\x00PAR1", b'{"a": NaN}', b"[" * 64]
    ),
)
modes = st.sampled_from([0, 0o100644, 0o120777, 0o040755, 0o010644, 0o140644])


@pytest.mark.filterwarnings("ignore:Duplicate name")
@SETTINGS
@given(st.lists(st.tuples(names, payloads, modes, st.booleans()), max_size=6))
def test_unpacker_only_raises_bundle_errors(entries: list[tuple[str, bytes, int, bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.ipwb"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data, mode, deflate in entries:
                info = zipfile.ZipInfo(name or "x", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = mode << 16
                info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
                try:
                    archive.writestr(info, data)
                except (ValueError, UnicodeEncodeError):
                    assume(False)
        path.write_bytes(buffer.getvalue())
        try:
            opened = open_bundle(path, Path(tmp) / "out")
        except BundleError:
            return
        # Whatever got through was written inside the work directory, under an allowed name.
        for name, member in opened.members.items():
            assert name in ALLOWED_MEMBERS
            # A member is read in place from the bundle or was written inside the work directory.
            assert member.path == path or member.path.resolve().parent == (
                (Path(tmp) / "out").resolve()
            )


@SETTINGS
@given(data=st.data())
def test_damaged_bundles_only_raise_bundle_errors(
    data: st.DataObject,
    valid_bundle: Path,
    corpus_dataset: Dataset,
    trusted_keys: dict[str, bytes],
    tmp_path: Path,
) -> None:
    raw = bytearray(valid_bundle.read_bytes())
    how = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        path = Path(tmp) / "bad.ipwb"
        path.write_bytes(bytes(raw))
        with contextlib.suppress(BundleError):
            evaluate(path, corpus_dataset, trusted_keys=trusted_keys, workdir=Path(tmp))
        # A flip can land in bytes no reader looks at (e.g. the ZIP comment length): then it passes.


def _batches(
    stamps: np.ndarray, power: np.ndarray, energy: np.ndarray, size: int
) -> list[TraceBatch]:
    return [
        TraceBatch(stamps[i : i + size], power[i : i + size], energy[i : i + size])
        for i in range(0, len(stamps), size)
    ] or [TraceBatch(stamps, power, energy)]


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(-(10**9), 10**10), floats, floats), max_size=60),
    st.floats(1e-3, 5.0),
    st.integers(1, 17),
)
def test_telemetry_on_random_traces_only_raises_bundle_errors(
    samples: list[tuple[int, float, float]], period: float, batch: int
) -> None:
    stamps = np.cumsum(np.array([s[0] for s in samples] or [0], dtype=np.int64))[: len(samples)]
    power = np.array([s[1] for s in samples], dtype=np.float64)
    energy = np.array([s[2] for s in samples], dtype=np.float64)
    try:
        checks = analyse_trace(
            _batches(stamps, power, energy, batch),
            period_s=period,
            window=(0.0, 10.0),
            power_limit=1000.0,
            claimed_energy_j=50.0,
        )
    except BundleError:
        return
    assert all(isinstance(check, Check) and check.status in ("pass", "warn") for check in checks)


@SETTINGS
@given(
    period=st.sampled_from([0.01, 0.05, 0.1, 1.0]),
    base=st.floats(5.0, 600.0),
    jitter=st.floats(0.0, 0.1),
    batch=st.integers(2, 500),
    seed=st.integers(0, 2**32 - 1),
)
def test_telemetry_accepts_any_honest_meter(
    period: float, base: float, jitter: float, batch: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    count = 400
    intervals = period * (1 + rng.uniform(-jitter, jitter, count - 1))
    seconds = np.concatenate(([0.0], np.cumsum(intervals)))
    stamps = (1_700_000_000 * 10**9 + np.round(seconds * 1e9)).astype(np.int64)
    power = base * (1 + 0.2 * np.sin(seconds) + 0.05 * rng.standard_normal(count))
    energy = np.concatenate(([0.0], np.cumsum(np.diff(seconds) * (power[:-1] + power[1:]) / 2)))
    start, end = stamps[0] / 1e9, stamps[-1] / 1e9
    # Queries tile the run; each claims what the counter metered over it.
    edges = np.linspace(start, end, 11)
    metered = np.interp(edges, stamps / 1e9, energy)
    checks = analyse_trace(
        _batches(stamps, power, energy, batch),
        period_s=period,
        window=(start, end),
        power_limit=base * 3,
        claimed_energy_j=float(metered[-1] - metered[0]),
        query_intervals=(edges[:-1], edges[1:]),
        total_rows=count,
    )
    assert all(check.status == "pass" for check in checks), checks


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_telemetry_verdict_does_not_depend_on_batching(size: int) -> None:
    seconds = np.arange(200) * 0.05
    stamps = (seconds * 1e9).astype(np.int64)
    power = 100 + 10 * np.sin(seconds)
    energy = np.concatenate(([0.0], np.cumsum(np.diff(seconds) * (power[:-1] + power[1:]) / 2)))
    energy[120:] -= 20.0  # a counter that runs backwards at row 120
    with pytest.raises(BundleError) as raised:
        analyse_trace(
            _batches(stamps, power, energy, size),
            period_s=0.05,
            window=(0, 9.95),
            power_limit=500,
            claimed_energy_j=0.0,
        )
    assert raised.value.code == "bundle.trace.energy_decreasing"
    assert raised.value.row == 120
