"""``ipwboard record-trace`` against a fake harness energy monitor, and a recorded trace packed
with a real harness run (pack -> sign -> evaluate). No database: the CLI imports no Django."""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pyarrow.parquet as pq
import pytest

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.datasets import import_harness_jsonl
from evaluator.engine import evaluate
from evaluator.harness_import import import_ipw_run
from evaluator.keys import fingerprint, generate_private_key, public_key_bytes
from evaluator.manifest import parse_time
from evaluator.types import Dataset
from submissions.cli.client import CliError
from submissions.cli.output import Output
from submissions.cli.proto import energy_pb2, energy_pb2_grpc
from submissions.cli.record_trace import add_parser, record_trace

ROOT = Path(__file__).resolve().parents[1]
HARNESS_RUN = ROOT / "tests" / "fixtures" / "ipw-harness-runs" / "profile_H10080GB_llama3_2_1b"
HARNESS_JSONL = ROOT / "tests" / "fixtures" / "ipw-dataset" / "ipw_mixed_120.jsonl"
PERIOD = 0.05


class FakeMonitor(energy_pb2_grpc.EnergyMonitorServicer):
    """Streams readings like the harness's monitor: cumulative energy integrates the power.

    ``start_ns`` given: readings are stamped from it at exact 50 ms steps and sent as fast as
    possible (a recorded run, replayed); otherwise stamped with the clock, one every 50 ms.
    """

    def __init__(self, *, start_ns: int | None = None, count: int | None = None) -> None:
        self.start_ns = start_ns
        self.count = count
        self.subscribers = 0

    def Health(self, request: Any, context: Any) -> Any:
        return energy_pb2.HealthResponse(healthy=True, platform="nvidia")

    def StreamTelemetry(self, request: Any, context: Any) -> Iterator[Any]:
        self.subscribers += 1
        energy, k = 1234.0, 0
        gpu = energy_pb2.GpuInfo(name="NVIDIA H100 80GB HBM3", vendor="NVIDIA", backend="NVML")
        previous_power: float | None = None
        while context.is_active() and (self.count is None or k < self.count):
            if self.start_ns is None:
                stamp = time.time_ns()
            else:
                stamp = self.start_ns + round(k * PERIOD * 1e9)
            power = 262.0 + 40.0 * math.sin(k / 9.0) + 7.0 * math.cos(k / 2.3)
            if previous_power is not None:
                energy += (previous_power + power) / 2 * PERIOD
            previous_power = power
            yield energy_pb2.TelemetryReading(
                power_watts=power,
                energy_joules=energy,
                temperature_celsius=-1,
                platform="nvidia",
                timestamp_nanos=stamp,
                gpu_info=gpu,
            )
            k += 1
            if self.start_ns is None:
                time.sleep(PERIOD)


def _serve(monitor: FakeMonitor) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    energy_pb2_grpc.add_EnergyMonitorServicer_to_server(monitor, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
def live_monitor() -> Iterator[tuple[FakeMonitor, str]]:
    monitor = FakeMonitor()
    server, target = _serve(monitor)
    yield monitor, target
    server.stop(grace=None)


def test_records_a_live_stream_for_a_duration(
    live_monitor: tuple[FakeMonitor, str], tmp_path: Path
) -> None:
    _, target = live_monitor
    out = tmp_path / "trace.parquet"
    summary = record_trace(target, out, duration=1.5, handle_signals=False)
    table = pq.read_table(out)
    assert table.column_names == ["timestamp_ns", "power_w", "energy_j"]
    assert 15 <= table.num_rows <= 35 and summary.rows == table.num_rows
    stamps = table.column("timestamp_ns").to_numpy()
    energy = table.column("energy_j").to_numpy()
    assert (np.diff(stamps) > 0).all()
    assert (np.diff(energy) > 0).all()  # cumulative, and the fake GPU always draws power
    assert np.median(np.diff(stamps)) / 1e9 == pytest.approx(PERIOD, rel=0.3)
    assert summary.ended_by == "duration"
    assert summary.gpu["backend"] == "NVML" and summary.platform == "nvidia"
    assert not list(tmp_path.glob(".*partial"))  # written under a temporary name, then renamed


def test_stop_from_another_thread_like_sigterm_keeps_the_readings(
    live_monitor: tuple[FakeMonitor, str], tmp_path: Path
) -> None:
    """SIGTERM/Ctrl-C end the recording cleanly; here the stop comes from a timer."""
    import signal

    _, target = live_monitor
    out = tmp_path / "trace.parquet"
    timer = threading.Timer(1.0, lambda: signal.raise_signal(signal.SIGTERM))
    timer.start()
    try:
        summary = record_trace(target, out)  # no duration: until the signal
    finally:
        timer.cancel()
    assert summary.ended_by == "SIGTERM"
    assert pq.read_table(out).num_rows == summary.rows >= 10


def test_cli_command_prints_json(live_monitor: tuple[FakeMonitor, str], tmp_path: Path) -> None:
    _, target = live_monitor
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    parser = argparse.ArgumentParser(prog="ipwboard")
    add_parser(parser.add_subparsers(dest="command"), common)
    out = tmp_path / "t.parquet"
    args = parser.parse_args(
        ["record-trace", "--out", str(out), "--monitor", target, "--duration", "0.6", "--json"]
    )
    assert args.func(args, Output(json_mode=True)) == 0
    assert out.exists()


def test_no_monitor_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CliError) as raised:
        record_trace("127.0.0.1:1", tmp_path / "t.parquet", duration=1, handle_signals=False)
    assert raised.value.code == "monitor.unavailable"
    assert not (tmp_path / "t.parquet").exists()


@pytest.fixture(scope="module")
def harness_dataset() -> Dataset:
    imported = import_harness_jsonl(HARNESS_JSONL, "ipw-mixed", "120")
    assert isinstance(imported, Dataset)
    return imported


def test_recorded_trace_packs_with_a_harness_run_and_evaluates(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    summary_json = json.loads((HARNESS_RUN / "summary.json").read_text())
    generated_at = float(summary_json["generated_at"])
    # The monitor ran from a minute before the harness wrote its summary to five seconds after.
    start_ns = round((generated_at - 60) * 1e9)
    monitor = FakeMonitor(start_ns=start_ns, count=int(65 / PERIOD))
    server, target = _serve(monitor)
    try:
        recorded = record_trace(target, tmp_path / "trace.parquet", handle_signals=False)
    finally:
        server.stop(grace=None)
    assert recorded.ended_by == "stream-end" and recorded.rows == int(65 / PERIOD)

    manifest, queries, trace, report = import_ipw_run(
        HARNESS_RUN, harness_dataset, trace=tmp_path / "trace.parquet"
    )
    assert trace is not None and report.has_trace and report.window_from_trace
    assert report.trace_span["rows"] == recorded.rows
    window = manifest["window"]
    start = parse_time(window["start"], "start")
    end = parse_time(window["end"], "end")
    assert start >= recorded.first_ns / 1e9 - 1e-3 and end <= recorded.last_ns / 1e9 + 1e-3
    assert end == pytest.approx(generated_at, abs=1e-3)
    assert any("intersected with the recorded trace" in quirk for quirk in report.quirks)

    key = generate_private_key()
    raw = public_key_bytes(key)
    bundle = pack_bundle(tmp_path / "run.ipwb", manifest, queries, trace)
    sign_bundle(bundle, key)
    result = evaluate(bundle, harness_dataset, trusted_keys={fingerprint(raw): raw})
    assert result.bundle.has_trace
    assert "no-trace" not in result.labels
    assert "imported-from-ipw-harness" in result.labels
    codes = {check.code: check.status for check in result.checks}
    assert codes["telemetry.sampling"] == "pass"
    assert codes["telemetry.energy_counter"] == "pass"
    # The estimated window makes the per-query sum a soft check: passed or held, never rejected.
    assert (
        codes.get("telemetry.energy_attribution") == "pass"
        or codes.get("telemetry.energy_sum_estimated_window") == "warn"
    )
    assert result.bundle.trace_fingerprint
