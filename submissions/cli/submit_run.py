"""``ipwboard submit --from-ipw-run DIR``: from a harness run to an outcome in one command.

Fetches a challenge, packs the run with it, signs, runs the local preflight (the server's own
engine), uploads with a progress bar, waits for the worker and prints what happened: the pair's
permalink when the result is on the board, the reason and the next step otherwise. The exit code
is the outcome's (``outcomes``). Each step is also a verb of its own (challenge, pack, sign,
verify, submit, status) for those who want them apart; ``submit BUNDLE`` and ``status`` follow a
submission to its outcome with the same code here.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from evaluator.errors import BundleError

from . import commands, outcomes
from .client import ApiClient, CliError
from .codes import DATASET_NOT_MATCHED, KEY_NOT_REGISTERED
from .output import Output

FINAL = {"scored", "rejected", "failed"}  # servers without an "outcome" (older API)


def submit_from_run(args: argparse.Namespace, out: Output) -> int:
    from evaluator.bundle import pack_bundle, sign_bundle
    from evaluator.harness_import import import_ipw_run
    from evaluator.keys import fingerprint, public_key_bytes

    from .main import _client, _load_dataset, _load_key, _overrides

    run_dir = Path(args.from_ipw_run)
    if not (run_dir / "summary.json").is_file():
        raise CliError("harness.run.invalid", f"{run_dir} is not a harness run (no summary.json).")
    client = _client(args)
    key = _load_key(args)  # before any network work: a wrong passphrase fails at once
    raw = public_key_bytes(key)
    own = fingerprint(raw)
    if own not in {k["fingerprint"] for k in client.get("keys/") if k["state"] == "active"}:
        raise CliError(
            KEY_NOT_REGISTERED,
            f"Your key {own} is not registered (or not active) on {client.server}: run "
            "`ipwboard keys register` first.",
        )
    spec = args.dataset or _match_dataset(client, run_dir, out)
    dataset = _load_dataset(spec, args)
    overrides = _overrides(args.set or [])
    if args.hardware:
        overrides.setdefault("hardware", {})["accelerator"] = args.hardware
    if not args.no_challenge:
        overrides["challenge"] = client.post("challenges/")["nonce"]
    with tempfile.TemporaryDirectory(prefix="ipwboard-") as tmp:
        bundle = Path(args.output) if args.output else Path(tmp) / f"{run_dir.name}.ipwb"
        trace = Path(args.trace) if args.trace else None
        manifest, queries, trace_table, report = import_ipw_run(
            run_dir, dataset, trace=trace, overrides=overrides
        )
        pack_bundle(bundle, manifest, queries, trace_table)
        sign_bundle(bundle, key)
        out.progress(f"packed and signed {bundle.name} (run id {manifest['run_id']})")
        preflight = _preflight(bundle, dataset, {own: raw}, out)
        args.bundle = str(bundle)
        local = {
            "bundle": str(bundle) if args.output else None,
            "dataset": spec,
            "preflight": preflight,
            "import_report": report.to_dict(),
        }
        return submit_and_follow(client, args, out, wait=not args.no_wait, local=local)


def cmd_submit(args: argparse.Namespace, out: Output) -> int:
    if args.from_ipw_run:
        if args.bundle:
            raise CliError("submit.usage", "Give a bundle file or --from-ipw-run DIR, not both.")
        return submit_from_run(args, out)
    if not args.bundle:
        raise CliError("submit.usage", "Give a signed bundle file, or --from-ipw-run DIR.")
    from .main import _client

    return submit_and_follow(_client(args), args, out, wait=args.wait)


def submit_and_follow(
    client: ApiClient,
    args: argparse.Namespace,
    out: Output,
    *,
    wait: bool,
    local: dict[str, Any] | None = None,
) -> int:
    """Upload ``args.bundle``; with ``wait``, follow it to its outcome and exit with its code."""
    client.notify = out.progress  # through the progress bar's console (quiet with --json)
    submission = commands.submit(client, args, out)
    if not wait:
        out.result(
            {**submission, **({"local": local} if local else {})},
            f"Submitted {submission['id']} ({submission['status']}).\n{submission['permalink']}",
        )
        return 0  # uploaded and queued; `ipwboard status ID` tells the outcome later
    out.progress(f"submitted {submission['id']}: {submission['permalink']}")
    return _watch(client, submission["id"], out, args.timeout, local=local)


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    from .main import _client

    client = _client(args)
    if args.watch:
        return _watch(client, args.id, out, args.timeout)
    submission = client.get(f"submissions/{args.id}/")
    out.submission(submission)
    return _exit_for(submission)


def _watch(
    client: ApiClient,
    submission_id: str,
    out: Output,
    timeout: float,
    local: dict[str, Any] | None = None,
) -> int:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        submission = client.get(f"submissions/{submission_id}/")
        line = f"status: {submission['status']}"
        if submission.get("queue_position"):
            line += f" (position {submission['queue_position']} in the queue"
            wait = submission.get("estimated_wait_s")
            line += f", about {wait:.0f} s to wait)" if wait is not None else ")"
        if line != last:
            out.progress(line)
            last = line
        if _is_final(submission):
            out.submission({**submission, **({"local": local} if local else {})})
            return _exit_for(submission)
        if time.monotonic() > deadline:
            raise CliError(
                "status.timeout",
                f"Still {submission['status']} after {timeout:.0f} s; "
                f"`ipwboard status {submission_id} --watch` follows it.",
                outcomes.NOT_FINAL,
            )
        time.sleep(1.0)


def _is_final(submission: dict[str, Any]) -> bool:
    outcome = submission.get("outcome")
    return outcome["code"] != "pending" if outcome else submission["status"] in FINAL


def _exit_for(submission: dict[str, Any]) -> int:
    """The outcome's exit code (README, "Exit codes")."""
    if submission.get("outcome"):
        return outcomes.exit_code(submission["outcome"]["code"])
    return {"scored": 0, "rejected": 1, "failed": 4}.get(submission["status"], outcomes.NOT_FINAL)


def _preflight(bundle: Path, dataset: Any, keys: dict[str, bytes], out: Output) -> dict[str, Any]:
    """The server's engine on the signed bundle; a failure stops here (exit 2), before upload."""
    from evaluator.engine import evaluate

    try:
        result = evaluate(bundle, dataset, trusted_keys=keys)
    except BundleError as error:
        raise CliError(
            error.code, f"local preflight failed, nothing was uploaded: {error}"
        ) from None
    warned = [c.to_dict() for c in result.checks if c.status != "pass"]
    out.progress(
        f"local preflight passed: accuracy {result.metrics.accuracy:.3f}, "
        f"IPW {result.metrics.ipw:.5f} /W"
        + "".join(f"\n  warn {c['code']}: {c['message']}" for c in warned)
    )
    return {"ipw": result.metrics.ipw, "accuracy": result.metrics.accuracy, "warnings": warned}


def _match_dataset(client: ApiClient, run_dir: Path, out: Output) -> str:
    """Without --dataset: the server's dataset whose items the run answers (tried newest first
    among those with as many items as the run has queries)."""
    import json

    from evaluator.harness_import import import_ipw_run

    from .main import _dataset_file

    total = json.loads((run_dir / "summary.json").read_text("utf-8")).get("total_queries")
    entries = client.get("datasets/", limit=500)["results"]
    candidates = [e for e in entries if total is None or e["item_count"] == total]
    for entry in sorted(candidates, key=lambda e: e["created_at"], reverse=True):
        spec = f"{entry['slug']}@{entry['version']}"
        try:
            import_ipw_run(run_dir, _dataset_file(client, entry))
        except BundleError:
            continue
        out.progress(f"dataset: {spec} (matches the run's items; --dataset to choose another)")
        return spec
    raise CliError(
        DATASET_NOT_MATCHED,
        f"None of the server's datasets matches the items of {run_dir}; pass --dataset.",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``submit``'s options for the one-command path."""
    p.add_argument(
        "--from-ipw-run",
        metavar="DIR",
        help="a reference-harness run directory: pack, sign, preflight, upload and wait in one go",
    )
    p.add_argument(
        "--dataset",
        help="with --from-ipw-run: dataset file or slug@version (default: the server's dataset "
        "that matches the run's items)",
    )
    p.add_argument(
        "--hardware",
        metavar="NAME",
        help="with --from-ipw-run: the accelerator the run used, as the board's catalog names it "
        "(sets hardware.accelerator)",
    )
    p.add_argument(
        "--trace", help="with --from-ipw-run: trace.parquet recorded by `ipwboard record-trace`"
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="with --from-ipw-run: override a manifest field, e.g. model.quantization=q4_K_M "
        "(repeatable; values parsed as JSON when they can be)",
    )
    p.add_argument(
        "-o", "--output", help="with --from-ipw-run: keep the signed bundle at this path"
    )
    p.add_argument(
        "--no-challenge",
        action="store_true",
        help="with --from-ipw-run: do not embed a server challenge (servers may require one)",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="with --from-ipw-run: return once uploaded (exit 0) instead of waiting for the outcome",
    )
