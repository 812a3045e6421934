"""``ipwboard record-trace``: record the reference harness's energy-monitor stream into a trace.

The harness (``ipw profile``) reads telemetry from a local gRPC service (package ``energy``,
service ``EnergyMonitor``; tests/fixtures/README.md) and keeps no raw trace. This command subscribes
to the same stream beside it (the service allows several subscribers) and writes every reading to
``trace.parquet`` through ``evaluator.bundle.write_trace``, which flushes a row group every 65 536
readings: memory stays bounded however long the run. The file is written under a temporary name
and renamed when the recording ends (duration reached, Ctrl-C or SIGTERM), so an interrupted
recording never leaves a half-written trace under the final name.

Then: ``ipwboard pack --from-ipw-run DIR --trace trace.parquet ...``.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from .client import CliError
from .output import Output

DEFAULT_MONITOR = "127.0.0.1:50053"
HEALTH_TIMEOUT_S = 5.0
PROGRESS_EVERY_S = 10.0


@dataclass
class RecordSummary:
    """What a recording holds; printed by the command (``--json`` prints it as is)."""

    path: str = ""
    rows: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    first_energy_j: float | None = None
    last_energy_j: float | None = None
    platform: str = ""
    gpu: dict[str, Any] = field(default_factory=dict)
    skipped_no_energy: int = 0  # readings whose cumulative energy was unavailable (-1)
    skipped_out_of_order: int = 0  # timestamps not after the previous reading's
    power_unavailable: int = 0  # written as NaN: the engine tolerates up to 1% of those
    local_timestamps: int = 0  # readings without a monitor timestamp, stamped with our clock
    ended_by: str = ""  # "duration", "signal", "stream-end", "error: ..."

    @property
    def seconds(self) -> float:
        if self.first_ns is None or self.last_ns is None:
            return 0.0
        return (self.last_ns - self.first_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": self.seconds}


class _Stop:
    """Ends the stream from a signal handler or a timer: cancel the call, remember why."""

    def __init__(self) -> None:
        self.reason = ""
        self.call: Any = None
        self.lock = threading.Lock()

    def __call__(self, reason: str) -> None:
        with self.lock:
            if not self.reason:
                self.reason = reason
            if self.call is not None:
                # From another thread: a signal handler runs inside the stream's own wait, and
                # cancelling there would re-enter the call's lock.
                threading.Thread(target=self.call.cancel, daemon=True).start()


def _readings(
    call: Any, summary: RecordSummary, stop: _Stop, out: Output | None
) -> Iterator[tuple[int, float, float]]:
    import grpc

    last_ns = -1
    next_progress = time.monotonic() + PROGRESS_EVERY_S
    try:
        for reading in call:
            stamp = int(reading.timestamp_nanos)
            if stamp <= 0:  # unavailable: our clock is the next best thing
                stamp = time.time_ns()
                summary.local_timestamps += 1
            if stamp <= last_ns:
                summary.skipped_out_of_order += 1
                continue
            energy = float(reading.energy_joules)
            if not math.isfinite(energy) or energy < 0:  # -1: unavailable
                summary.skipped_no_energy += 1
                continue
            power = float(reading.power_watts)
            if not math.isfinite(power) or power < 0:
                summary.power_unavailable += 1
                power = math.nan
            if summary.rows == 0:
                summary.first_ns, summary.first_energy_j = stamp, energy
                summary.platform = reading.platform
                gpu = reading.gpu_info
                summary.gpu = {
                    "name": gpu.name,
                    "vendor": gpu.vendor,
                    "backend": gpu.backend,
                    "device_type": gpu.device_type,
                }
            summary.rows += 1
            summary.last_ns, summary.last_energy_j = stamp, energy
            last_ns = stamp
            yield stamp, power, energy
            if out is not None and time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                out.progress(f"recorded {summary.rows} readings ({summary.seconds:.0f} s)")
        stop("stream-end")
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            stop("duration")
        elif code == grpc.StatusCode.CANCELLED and stop.reason:
            pass  # we cancelled it: duration, Ctrl-C or SIGTERM
        else:
            details = error.details() if hasattr(error, "details") else str(error)
            stop(f"error: {code.name if code else 'unknown'}: {details}")


def record_trace(
    target: str,
    out_path: Path,
    *,
    duration: float | None = None,
    out: Output | None = None,
    handle_signals: bool = True,
) -> RecordSummary:
    """Subscribe to the monitor at ``target`` and write ``out_path``; returns what was recorded.

    Stops after ``duration`` seconds, when the stream ends, or on SIGINT/SIGTERM (when
    ``handle_signals`` and called from the main thread). Raises ``CliError`` if the monitor cannot
    be reached or nothing usable was recorded.
    """
    import grpc

    from evaluator.bundle import write_trace

    from .proto import energy_pb2, energy_pb2_grpc

    out_path = Path(out_path)
    summary = RecordSummary(path=str(out_path))
    stop = _Stop()
    channel = grpc.insecure_channel(target)
    try:
        stub = energy_pb2_grpc.EnergyMonitorStub(channel)
        try:
            health = stub.Health(energy_pb2.HealthRequest(), timeout=HEALTH_TIMEOUT_S)
        except grpc.RpcError as error:
            raise CliError(
                "monitor.unavailable",
                f"No energy monitor answers at {target} ({error.code().name}): start the "
                "harness's monitor (it runs during `ipw profile`) or pass --monitor HOST:PORT.",
            ) from None
        if not health.healthy:
            raise CliError(
                "monitor.unhealthy",
                f"The energy monitor at {target} reports itself unhealthy "
                f"(platform {health.platform or 'unknown'}).",
            )
        call = stub.StreamTelemetry(energy_pb2.StreamRequest(), timeout=duration)
        stop.call = call
        previous = _install_signals(stop) if handle_signals else {}
        if out is not None:
            until = f"for {duration:g} s" if duration else "until Ctrl-C"
            out.progress(f"recording {target} ({health.platform}) into {out_path} {until}")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
        try:
            write_trace(_readings(call, summary, stop, out), partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            _restore_signals(previous)
            call.cancel()
    finally:
        channel.close()
    summary.ended_by = stop.reason or "stream-end"
    if summary.rows < 2:
        partial.unlink(missing_ok=True)
        raise CliError(
            "trace.empty",
            f"Recorded {summary.rows} usable readings from {target} ({summary.ended_by}; "
            f"{summary.skipped_no_energy} without cumulative energy): nothing to write.",
        )
    os.replace(partial, out_path)
    return summary


def _install_signals(stop: _Stop) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop(signal.Signals(signum).name)

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, old in previous.items():
        signal.signal(signum, old)


def cmd_record_trace(args: argparse.Namespace, out: Output) -> int:
    import importlib.util

    if importlib.util.find_spec("grpc") is None:  # an extra: `pip install ipwboard` lacks it
        raise CliError(
            "record_trace.unavailable",
            "record-trace needs gRPC: pip install 'ipwboard[record-trace]'.",
        )
    summary = record_trace(args.monitor, Path(args.out), duration=args.duration, out=out)
    failed = summary.ended_by.startswith("error")
    energy = (summary.last_energy_j or 0.0) - (summary.first_energy_j or 0.0)
    mean = energy / summary.seconds if summary.seconds > 0 else math.nan
    notes = []
    if summary.skipped_no_energy:
        notes.append(f"{summary.skipped_no_energy} readings had no cumulative energy (skipped)")
    if summary.skipped_out_of_order:
        notes.append(f"{summary.skipped_out_of_order} readings were out of order (skipped)")
    if summary.power_unavailable:
        notes.append(f"{summary.power_unavailable} readings had no power (written as NaN)")
    if summary.local_timestamps:
        notes.append(f"{summary.local_timestamps} readings had no timestamp (stamped locally)")
    if failed:
        notes.append(f"the stream failed ({summary.ended_by}); the readings so far were kept")
    out.result(
        {**summary.to_dict(), "ok": not failed},
        f"Wrote {summary.path}: {summary.rows} readings over {summary.seconds:.1f} s, "
        f"{energy:.1f} J (mean {mean:.1f} W), ended by {summary.ended_by}.\n"
        + "".join(f"  - {note}\n" for note in notes)
        + "Next: `ipwboard pack --from-ipw-run DIR --trace "
        + f"{summary.path} --dataset ... -o run.ipwb`.",
    )
    return 1 if failed else 0


def add_parser(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "record-trace",
        parents=[common_parent],
        help="record the harness's energy-monitor stream into trace.parquet",
        description=__doc__.split("\n")[0] if __doc__ else None,
    )
    p.add_argument("--out", required=True, help="the trace.parquet to write")
    p.add_argument(
        "--monitor",
        default=DEFAULT_MONITOR,
        metavar="HOST:PORT",
        help=f"the harness's energy monitor (default {DEFAULT_MONITOR})",
    )
    p.add_argument(
        "--duration", type=float, help="seconds to record (default: until Ctrl-C or SIGTERM)"
    )
    p.set_defaults(func=cmd_record_trace)
