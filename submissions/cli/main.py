"""``ipwboard``: keygen, login, keys, challenge, pack, sign, verify, submit, status, datasets.

``ipwboard submit --from-ipw-run DIR`` does the whole path from a harness run to an outcome in one
command; the other verbs are its steps, for those who want them apart. Exit codes: ``outcomes``.

Imports no Django: it runs on a submitter's laptop with only the engine and httpx. ``verify`` runs
the same engine as the server's worker, so a bundle that passes locally can only fail on the server
for server-side reasons (key not registered, replay, unknown dataset), and the error says which.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from evaluator.errors import BundleError

from . import commands, outcomes, record_trace, submit_run
from .client import ApiClient, CliError
from .codes import AUTH_MISSING, PASSPHRASE_MISSING
from .config import Config, default_key_path
from .output import Output


def _passphrase(args: argparse.Namespace, *, confirm: bool = False) -> bytes | None:
    if getattr(args, "no_passphrase", False):
        return None
    value = os.environ.get(args.passphrase_env)
    if value is not None:
        return value.encode()
    if not sys.stdin.isatty():
        if confirm:
            raise CliError(
                PASSPHRASE_MISSING,
                f"No passphrase: set ${args.passphrase_env}, or pass --no-passphrase to store "
                "the key unencrypted.",
            )
        return None
    first = getpass.getpass("Key passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise CliError("key.passphrase.mismatch", "The passphrases differ.")
    return first.encode() or None


def _load_key(args: argparse.Namespace) -> Any:
    from evaluator.keys import load_private_key

    path = Path(args.key or default_key_path())
    if not path.exists():
        raise CliError("key.file.missing", f"No key at {path}; run `ipwboard keygen` first.")
    return load_private_key(path, _passphrase(args))


def _client(args: argparse.Namespace, *, auth: bool = True) -> ApiClient:
    config = Config.load()
    server = args.server or config.server
    token = args.token or config.token
    if auth and not token:
        raise CliError(
            AUTH_MISSING,
            "No API token: create one on your account page (/account/), then run "
            "`ipwboard login --token ...` or pass --token.",
        )
    # Retries are announced on stderr in human mode ("retrying in N s (reason)"); --json stays
    # quiet so stderr holds only the final error object.
    return ApiClient(server, token, notify=None if args.json else Output().progress)


# --- commands -------------------------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace, out: Output) -> int:
    from evaluator.keys import (
        encode_public_key,
        fingerprint,
        generate_private_key,
        public_key_bytes,
        save_private_key,
    )

    path = Path(args.out or default_key_path())
    if path.exists() and not args.force:
        raise CliError("key.file.exists", f"{path} exists; pass --force to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = generate_private_key()
    save_private_key(key, path, _passphrase(args, confirm=True))
    raw = public_key_bytes(key)
    out.result(
        {
            "private_key": str(path),
            "public_key": encode_public_key(raw),
            "fingerprint": fingerprint(raw),
        },
        f"Private key written to {path} (mode 0600).\nPublic key: {encode_public_key(raw)}\n"
        f"Fingerprint: {fingerprint(raw)}\nNext: `ipwboard keys register`.",
    )
    return 0


def cmd_login(args: argparse.Namespace, out: Output) -> int:
    token = args.token or os.environ.get("IPWBOARD_TOKEN") or getpass.getpass("API token: ")
    config = Config(server=args.server or Config.load().server, token=token)
    ApiClient(config.server, config.token).get("keys/")  # proves the token works
    path = config.save()
    out.result(
        {"server": config.server, "config": str(path)},
        f"Logged in to {config.server}; saved {path}.",
    )
    return 0


def cmd_keys(args: argparse.Namespace, out: Output) -> int:
    client = _client(args)
    if args.keys_command in ("retire", "revoke"):
        return commands.key_change(client, args, out)
    if args.keys_command == "register":
        from evaluator.keys import encode_public_key, public_key_bytes

        public = args.public_key or encode_public_key(public_key_bytes(_load_key(args)))
        key = client.post("keys/", {"public_key": public, "name": args.name or ""})
        out.result(key, f"Registered {key['fingerprint']} ({key['state']}).")
    else:
        keys = client.get("keys/")
        out.table(keys, ["id", "fingerprint", "name", "state", "created_at"])
    return 0


def cmd_challenge(args: argparse.Namespace, out: Output) -> int:
    challenge = _client(args).post("challenges/")
    out.result(
        challenge,
        f"{challenge['nonce']}\n(expires {challenge['expires_at']}; pack with --challenge)",
    )
    return 0


def _load_dataset(spec: str, args: argparse.Namespace) -> Any:
    from evaluator.datasets import load_dataset

    path = Path(spec)
    if path.exists():
        return load_dataset(path)
    slug, _, version = spec.partition("@")
    if not version:
        raise CliError("dataset.missing", f"{spec!r} is neither a file nor slug@version.")
    client = _client(args, auth=False)
    for entry in client.get("datasets/", limit=500)["results"]:
        if entry["slug"] == slug and entry["version"] == version:
            return _dataset_file(client, entry)
    raise CliError("dataset.unknown", f"The server has no dataset {slug}@{version}.")


def _dataset_file(client: ApiClient, entry: dict[str, Any]) -> Any:
    """Download a server dataset (once per checksum) and load it."""
    from evaluator.datasets import dataset_sha256, load_dataset

    target = Path(tempfile.gettempdir()) / f"ipwboard-{entry['slug']}-{entry['sha256'][:16]}.jsonl"
    if not target.exists() or dataset_sha256(target) != entry["sha256"]:
        client.download(entry["download_url"], target)
    return load_dataset(target)


def cmd_pack(args: argparse.Namespace, out: Output) -> int:
    from evaluator.bundle import pack_bundle

    output = Path(args.output)
    if args.from_ipw_run:
        from evaluator.harness_import import import_ipw_run

        if not args.dataset:
            raise CliError(
                "dataset.missing", "--from-ipw-run needs --dataset (file or slug@version)."
            )
        dataset = _load_dataset(args.dataset, args)
        overrides = _overrides(args.set or [])
        if args.challenge:
            overrides["challenge"] = args.challenge
        if args.hardware:
            overrides.setdefault("hardware", {})["accelerator"] = args.hardware
        manifest, queries, trace, report = import_ipw_run(
            Path(args.from_ipw_run),
            dataset,
            trace=Path(args.trace) if args.trace else None,
            overrides=overrides,
        )
        pack_bundle(output, manifest, queries, trace)
        out.result(
            {"bundle": str(output), "import_report": report.to_dict()},
            f"Packed {output} from the harness run.\n" + _report_text(report.to_dict()),
        )
        return 0
    if not (args.manifest and args.queries):
        raise CliError("pack.usage", "Give --manifest and --queries, or --from-ipw-run DIR.")
    manifest = json.loads(Path(args.manifest).read_text())
    if args.challenge:
        manifest["challenge"] = args.challenge
    pack_bundle(output, manifest, Path(args.queries), Path(args.trace) if args.trace else None)
    out.result({"bundle": str(output)}, f"Packed {output} (unsigned; next: `ipwboard sign`).")
    return 0


def _overrides(pairs: list[str]) -> dict[str, Any]:
    """``--set model.quantization=q4_K_M`` -> nested dict; values parsed as JSON when they can be."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise CliError("pack.usage", f"--set expects key=value, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return result


def _report_text(report: dict[str, Any]) -> str:
    from evaluator.harness_report import found

    seen = [f"  - {line}" for line in found(report)]
    lines = [f"  - {quirk}" for quirk in report.get("quirks", [])]
    text = "Found:\n" + "\n".join(seen) + "\n" if seen else ""
    return text + ("Import notes:\n" + "\n".join(lines) if lines else "")


def cmd_sign(args: argparse.Namespace, out: Output) -> int:
    from evaluator.bundle import sign_bundle

    fp = sign_bundle(Path(args.bundle), _load_key(args))
    out.result({"bundle": args.bundle, "fingerprint": fp}, f"Signed {args.bundle} with {fp}.")
    return 0


def cmd_verify(args: argparse.Namespace, out: Output) -> int:
    from evaluator.engine import evaluate
    from evaluator.keys import decode_public_key, fingerprint, public_key_bytes

    if args.public_key:
        raw = decode_public_key(args.public_key)
    else:
        raw = public_key_bytes(_load_key(args))
    dataset = _load_dataset(args.dataset, args)
    result = evaluate(Path(args.bundle), dataset, trusted_keys={fingerprint(raw): raw})
    m = result.metrics
    summary = {
        "ok": True,
        "accuracy": m.accuracy,
        "ipw": m.ipw,
        "ipj": m.ipj,
        "mean_power_w": m.mean_power_w,
        "mean_energy_j": m.mean_energy_j,
        "n_queries": m.n_queries,
        "n_scored": m.n_scored,
        "labels": list(result.labels),
        "checks": [c.to_dict() for c in result.checks if c.status != "pass"],
        "scorer_version": result.scorer_version,
    }
    warnings = [c for c in result.checks if c.status != "pass"]
    warn = "".join(f"\n  warn {c.code}: {c.message}" for c in warnings)
    out.result(
        summary,
        f"OK: {args.bundle} passes local preflight.\n"
        f"  accuracy {m.accuracy:.3f} ({m.n_correct}/{m.n_scored} scored of {m.n_queries})\n"
        f"  IPW {m.ipw:.5f} /W   IPJ {m.ipj:.5f} /J   mean power {m.mean_power_w:.1f} W\n"
        f"  labels: {', '.join(result.labels) or 'none'}{warn}",
    )
    return 0


def cmd_datasets(args: argparse.Namespace, out: Output) -> int:
    client = _client(args, auth=False)
    if args.datasets_command == "download":
        from evaluator.datasets import dataset_sha256

        slug, _, version = args.spec.partition("@")
        entries = client.get("datasets/", limit=500)["results"]
        entry = next((e for e in entries if e["slug"] == slug and e["version"] == version), None)
        if entry is None:
            raise CliError("dataset.unknown", f"The server has no dataset {args.spec}.")
        target = Path(args.output or f"{slug}-{version}.jsonl")
        client.download(entry["download_url"], target)
        if dataset_sha256(target) != entry["sha256"]:
            target.unlink()
            raise CliError("dataset.checksum", "Downloaded file does not match its SHA-256.", 3)
        out.result(
            {"path": str(target), "sha256": entry["sha256"]}, f"Saved {target} (SHA-256 verified)."
        )
    else:
        out.table(
            client.get("datasets/", limit=500)["results"],
            ["slug", "version", "item_count", "sha256"],
        )
    return 0


# --- parser ---------------------------------------------------------------------------------------


EPILOG = "exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in outcomes.EXIT_CODES)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="server URL (env IPWBOARD_SERVER; saved by `login`)")
    common.add_argument(
        "--token", help="API token from your account page (env IPWBOARD_TOKEN; saved by `login`)"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    common.add_argument(
        "--key", help="private key file (default: ~/.config/ipwboard/signing-key.pem)"
    )
    common.add_argument(
        "--passphrase-env",
        default="IPWBOARD_KEY_PASSPHRASE",
        help="environment variable holding the key passphrase (default: %(default)s)",
    )
    parser = argparse.ArgumentParser(
        prog="ipwboard",
        description=__doc__.split("\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("keygen", parents=[common], help="create an Ed25519 signing key")
    p.add_argument("--out", help="where to write the private key (default: the --key path)")
    p.add_argument("--force", action="store_true", help="replace an existing key file")
    p.add_argument("--no-passphrase", action="store_true", help="store the key unencrypted")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("login", parents=[common], help="save server URL and token (mode 0600)")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("keys", parents=[common], help="register, list, retire or revoke keys")
    p.add_argument(
        "keys_command",
        choices=["register", "list", "retire", "revoke"],
        metavar="ACTION",
        help="register: send your public key; list: your keys; retire: stop using a key from "
        "now on; revoke: distrust it from the time it may have leaked",
    )
    p.add_argument("key_id", nargs="?", help="fingerprint (or its prefix) or id: retire/revoke")
    p.add_argument("--public-key", help="register: this public key instead of your key file's")
    p.add_argument("--name", help="register: a name for the key (e.g. the machine)")
    p.add_argument(
        "--compromised-at", help="revoke: ISO time the key may have leaked (default: now)"
    )
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("challenge", parents=[common], help="fetch a one-time server nonce")
    p.set_defaults(func=cmd_challenge)

    p = sub.add_parser("pack", parents=[common], help="build an unsigned bundle")
    p.add_argument("-o", "--output", required=True, help="the bundle file to write (.ipwb)")
    p.add_argument("--manifest", help="manifest.json to pack (with --queries)")
    p.add_argument("--queries", help="queries.parquet to pack (with --manifest)")
    p.add_argument("--trace", help="trace.parquet to pack (e.g. from `ipwboard record-trace`)")
    p.add_argument("--from-ipw-run", metavar="DIR", help="a reference-harness run directory")
    p.add_argument("--dataset", help="dataset file or slug@version (for --from-ipw-run)")
    p.add_argument(
        "--hardware",
        metavar="NAME",
        help="the accelerator the run used, as the catalog names it (for --from-ipw-run)",
    )
    p.add_argument("--challenge", help="a nonce from `ipwboard challenge` to embed")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a manifest field, e.g. model.quantization=q4_K_M (repeatable; values "
        "parsed as JSON when they can be)",
    )
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("sign", parents=[common], help="sign a bundle with your key")
    p.add_argument("bundle", help="the bundle file to sign in place")
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify", parents=[common], help="local preflight with the server's engine")
    p.add_argument("bundle", help="the signed bundle file")
    p.add_argument("--dataset", required=True, help="dataset file or slug@version")
    p.add_argument("--public-key", help="verify against this key instead of your own")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "submit",
        parents=[common],
        help="upload a signed bundle, or do everything from a harness run (--from-ipw-run)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("bundle", nargs="?", help="a signed bundle file (or use --from-ipw-run)")
    p.add_argument("--wait", action="store_true", help="bundle: watch until the outcome is final")
    p.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds to wait for the outcome (default: %(default)s)",
    )
    p.add_argument(
        "--via",
        choices=["auto", "api", "direct"],
        default="auto",
        help="auto: straight to S3 above the server's threshold (resumable), else the API",
    )
    p.add_argument("--organisation", help="credit one of your organisations (slug)")
    p.add_argument(
        "--supersedes",
        metavar="ID",
        help="replace your accepted submission ID of the same run (corrected metadata)",
    )
    submit_run.add_arguments(p)
    p.set_defaults(func=submit_run.cmd_submit)

    p = sub.add_parser("status", parents=[common], help="show a submission's outcome")
    p.add_argument("id", help="the submission id")
    p.add_argument("--watch", action="store_true", help="follow it until the outcome is final")
    p.add_argument(
        "--timeout", type=float, default=600, help="seconds to watch (default: %(default)s)"
    )
    p.set_defaults(func=submit_run.cmd_status)

    p = sub.add_parser("datasets", parents=[common], help="list or download benchmark datasets")
    p.add_argument(
        "datasets_command",
        choices=["list", "download"],
        metavar="ACTION",
        help="list: the server's datasets; download: one of them, SHA-256 verified",
    )
    p.add_argument("spec", nargs="?", default="", help="slug@version (download)")
    p.add_argument("-o", "--output", help="download: the file to write")
    p.set_defaults(func=cmd_datasets)
    commands.add_parsers(sub, common)
    record_trace.add_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Output(json_mode=args.json)
    try:
        return int(args.func(args, out))
    except BundleError as error:
        out.error(error.code, str(error))
        return 2
    except CliError as error:
        out.error(error.code, error.message)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
