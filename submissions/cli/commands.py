"""CLI commands for a submitter's account and for data users: submit, keys retire/revoke,
withdraw, results export (``main.py`` keeps the parser and the bundle commands)."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from . import outcomes
from .client import ApiClient, CliError
from .output import Output
from .upload import direct_upload, streamed_upload

WITHDRAW_WARNING = (
    "Withdrawing takes the submission off the board for good, and its run id stays spent: the "
    "same run can never be submitted again. To correct its metadata (e.g. the hardware name), "
    "re-submit the run with `ipwboard submit --from-ipw-run DIR --supersedes {id}` instead."
)


def submit(client: ApiClient, args: argparse.Namespace, out: Output) -> dict[str, Any]:
    """Upload a bundle: straight to S3 above the server's threshold, else through the API."""
    path = Path(args.bundle)
    if not path.is_file():
        raise CliError("bundle.missing", f"No bundle file at {path}.")
    size = path.stat().st_size
    via = getattr(args, "via", "auto")
    direct = False
    if via != "api":
        config = client.get("uploads/")
        if via == "direct" and not config["direct_uploads"]:
            raise CliError(
                "upload.direct_unavailable",
                "This server stores files locally: it takes uploads through the API only.",
            )
        direct = config["direct_uploads"] and (via == "direct" or size > config["threshold_bytes"])
    organisation = getattr(args, "organisation", None) or ""
    supersedes = getattr(args, "supersedes", None) or ""
    try:
        if direct:
            return direct_upload(client, path, out, organisation, supersedes)
        return streamed_upload(client, path, out, organisation, supersedes)
    except CliError as error:
        if error.exit_code == outcomes.LOCAL_ERROR:  # the server answered 4xx: it refused
            error.exit_code = outcomes.REFUSED_AT_UPLOAD
            error.message = f"Refused at upload: {error.message}"
        raise


def _find_key(client: ApiClient, ident: str) -> dict[str, Any]:
    keys = client.get("keys/")
    matches = [
        k
        for k in keys
        if ident in (str(k["id"]), k["fingerprint"]) or k["fingerprint"].startswith(ident)
    ]
    if not matches:
        raise CliError("key.unknown", f"No key of yours matches {ident!r}; see `keys list`.")
    if len(matches) > 1:
        raise CliError("key.ambiguous", f"{ident!r} matches {len(matches)} keys; be precise.")
    return matches[0]


def key_change(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    if not args.key_id:
        raise CliError("keys.usage", f"`keys {args.keys_command}` needs a fingerprint or id.")
    key = _find_key(client, args.key_id)
    if args.keys_command == "retire":
        changed = client.post(f"keys/{key['id']}/retire/")
        human = f"Retired {changed['fingerprint']}: bundles signed from now on will not verify."
    else:
        body = {"compromised_at": args.compromised_at} if args.compromised_at else {}
        changed = client.post(f"keys/{key['id']}/revoke/", body)
        human = (
            f"Revoked {changed['fingerprint']}: nothing signed at or after "
            f"{changed['compromised_at']} verifies."
        )
    out.result(changed, human)
    return 0


def withdraw(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    warning = WITHDRAW_WARNING.format(id=args.id)
    if not args.yes and sys.stdin.isatty():
        out.err.print(warning, markup=False)
        if input("Withdraw it? [y/N] ").strip().lower() not in ("y", "yes"):
            raise CliError("withdraw.cancelled", "Not withdrawn.")
    submission = client.post(f"submissions/{args.id}/withdraw/", {"reason": args.reason or ""})
    out.result(
        submission,
        f"Withdrew {submission['id']} at {submission['withdrawn_at']}: it has left the board, "
        f"its permalink shows a tombstone and its run id is spent.\n{submission['permalink']}",
    )
    return 0


def results_export(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    """Download the whole-board export and verify its SHA-256 against the published manifest."""
    manifest = client.get_json("/data/exports/manifest.json")
    entry = manifest["files"][args.format]
    target = Path(args.output or f"ipwboard-board.{args.format}")
    client.download(f"/data/exports/board.{args.format}", target)
    digest = hashlib.sha256()
    with target.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    if digest.hexdigest() != entry["sha256"]:
        target.unlink()
        raise CliError(
            "export.checksum",
            "The downloaded export does not match the manifest's SHA-256 (it may have been "
            "rebuilt meanwhile); run the command again.",
            3,
        )
    note = (
        f" ({manifest['synthetic_rows']} synthetic rows: see the 'synthetic' column)"
        if manifest.get("synthetic_rows")
        else ""
    )
    out.result(
        {
            "path": str(target),
            "sha256": entry["sha256"],
            "rows": manifest["row_count"],
            "synthetic_rows": manifest.get("synthetic_rows", 0),
            "generated_at": manifest["generated_at"],
        },
        f"Saved {target}: {manifest['row_count']} rows{note}, SHA-256 verified.",
    )
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    from .main import _client  # the one place that resolves server and token

    def run(func: Any, auth: bool = True) -> Any:
        return lambda args, out: func(_client(args, auth=auth), args, out)

    p = sub.add_parser(
        "withdraw",
        parents=[common],
        help="take your submission off the board for good (its run id stays spent)",
        description=WITHDRAW_WARNING.format(id="ID"),
    )
    p.add_argument("id", help="the submission id")
    p.add_argument("--reason", default="", help="why (kept in the audit log)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run(withdraw))

    p = sub.add_parser("results", parents=[common], help="download the whole-board export")
    p.add_argument("results_command", choices=["export"], metavar="ACTION", help="export")
    p.add_argument(
        "--format",
        choices=["csv", "json", "parquet"],
        default="csv",
        help="file format (default: %(default)s)",
    )
    p.add_argument("-o", "--output", help="the file to write (default: ipwboard-board.FORMAT)")
    p.set_defaults(func=run(results_export, auth=False))
