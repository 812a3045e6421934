"""Import a benchmark dataset version: canonical JSONL, the reference harness's JSONL, a HuggingFace
``save_to_disk`` directory or Parquet -> the canonical file, registered as an immutable version.

    manage.py import_dataset PATH --format harness-jsonl --slug ipw-mixed --version 2 \\
        --license CC-BY-4.0 --description "..." [--private-references]

Every format is rewritten to the canonical file (sorted keys, no spaces), so the checksum bundles
name depends only on the items and the header, never on the container they came in. With
``--private-references`` the public file carries the prompts with null references and the
references go to a private file that only the worker reads (``DatasetVersion.private_file``).

Re-importing identical content is a no-op; different content under a registered slug + version is
an error (bundles name versions by checksum, so a version can never change).
"""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluator.datasets import (
    DatasetMeta,
    import_harness_jsonl,
    import_hf_dir,
    import_parquet,
    load_dataset,
    read_dataset_meta,
    write_dataset,
    write_split_dataset,
)
from evaluator.datasets.canonical import canonical_line
from evaluator.errors import BundleError
from evaluator.types import Dataset
from submissions.models import DatasetVersion
from submissions.services.catalog import DatasetVersionConflict, register_dataset_version

IMPORTERS = {"harness-jsonl": import_harness_jsonl, "hf": import_hf_dir, "parquet": import_parquet}
FORMATS = ("canonical", *IMPORTERS)


class Command(BaseCommand):
    help = "Import a benchmark dataset version (canonical, harness JSONL, HF directory, Parquet)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # ``--version`` is the dataset version here, not Django's "print the Django version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="file, or directory for --format hf")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("--slug", help="dataset slug (canonical: defaults to the header's)")
        parser.add_argument(
            "--version", dest="ds_version", metavar="VERSION", help="version (canonical: header's)"
        )
        parser.add_argument(
            "--license", dest="license_", metavar="LICENSE", help="licence of the items"
        )
        parser.add_argument("--description", default=None)
        parser.add_argument("--name", default="", help="display name (new datasets only)")
        parser.add_argument(
            "--private-references",
            action="store_true",
            help="publish prompts only; keep the reference answers in a private file",
        )
        parser.add_argument(
            "--private-file",
            type=Path,
            help="canonical format only: the private references of a public file written "
            "with hidden references",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        fmt: str = options["fmt"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        if options["private_file"] is not None and fmt != "canonical":
            raise CommandError("--private-file goes with --format canonical")
        try:
            if fmt == "canonical" and _registrable_as_is(path, options):
                # Already the canonical file this command would write: register it as it is
                # (one validating load instead of load, rewrite and load again; issue 13).
                header = read_dataset_meta(path)
                before = DatasetVersion.objects.filter(
                    dataset__slug=header.slug, version=header.version
                ).first()
                version = register_dataset_version(path, name=options["name"])
                self._report(version, before)
                return
            meta, dataset, hidden_input = self._read(path, fmt, options)
            with TemporaryDirectory(prefix="ipwboard-import-") as tmp:
                public = Path(tmp) / "public.jsonl"
                private: Path | None = None
                # References that came in hidden stay hidden.
                if options["private_references"] or hidden_input:
                    private = Path(tmp) / "private.jsonl"
                    write_split_dataset(public, private, meta, dataset.items)
                else:
                    write_dataset(public, meta, dataset.items)
                before = DatasetVersion.objects.filter(
                    dataset__slug=meta.slug, version=meta.version
                ).first()
                version = register_dataset_version(
                    public, name=options["name"], private_path=private
                )
        except BundleError as error:
            where = ", ".join(
                f"{k} {v}" for k, v in (("in", error.file), ("row", error.row)) if v is not None
            )
            message = f"{error.code}: {error.message}" + (f" ({where})" if where else "")
            raise CommandError(message) from None
        except DatasetVersionConflict as error:
            raise CommandError(str(error)) from error
        self._report(version, before)

    def _report(self, version: DatasetVersion, before: DatasetVersion | None) -> None:
        if before is not None:
            self.stdout.write(f"{version} is already registered with this content: nothing to do.")
            return
        hidden = " (references private)" if version.references_private else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered {version}: {version.item_count} items, sha256 {version.sha256}{hidden}"
            )
        )

    def _read(
        self, path: Path, fmt: str, options: dict[str, Any]
    ) -> tuple[DatasetMeta, Dataset, bool]:
        """(header to write, items with their references, whether the input hid them)."""
        slug, version = options["slug"], options["ds_version"]
        if fmt == "canonical":
            header = read_dataset_meta(path)
            private_file: Path | None = options["private_file"]
            if header.references == "private" and private_file is None:
                raise CommandError(
                    f"{path} keeps its references private: pass its private file "
                    "with --private-file"
                )
            dataset = load_dataset(path, private=private_file)
            meta = DatasetMeta(
                slug=slug or header.slug,
                version=version or header.version,
                license=options["license_"] or header.license,
                description=(
                    header.description if options["description"] is None else options["description"]
                ),
                references="public",
                source=header.source,
            )
            return meta, dataset, header.references == "private"
        if not slug or not version:
            raise CommandError(f"--format {fmt} needs --slug and --version")
        # No ``source`` in the header: the same items imported from JSONL, an HF directory or
        # Parquet then give the same file and checksum.
        meta = DatasetMeta(
            slug=slug,
            version=version,
            license=options["license_"] or "unspecified",
            description=options["description"] or "",
        )
        dataset = IMPORTERS[fmt](
            path, slug, version, license=meta.license, description=meta.description
        )
        return meta, dataset, False


def _registrable_as_is(path: Path, options: dict[str, Any]) -> bool:
    """A canonical file with public references, no header field overridden, whose every line
    is already canonical JSON: rewriting it would reproduce it byte for byte (same sha256)."""
    overridden = any(options[k] for k in ("slug", "ds_version", "license_", "private_file"))
    if overridden or options["private_references"] or options["description"] is not None:
        return False
    header = read_dataset_meta(path)
    if header.references != "public":
        return False
    meta = DatasetMeta(  # the header ``_read`` would write
        slug=header.slug,
        version=header.version,
        license=header.license,
        description=header.description,
        references="public",
        source=header.source,
    )
    with path.open("rb") as fh:
        if fh.readline() != canonical_line(
            {"_dataset": {**meta.to_json(), "references": "public"}}
        ):
            return False
        for raw in fh:
            try:
                if canonical_line(json.loads(raw)) != raw:
                    return False
            except ValueError:
                return False  # the full load reports it, with its line
    return True
