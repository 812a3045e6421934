"""The canonical dataset JSONL file, its validation, and its checksum.

Canonical file (UTF-8, ``\\n`` line ends, one JSON object per line, keys sorted, no spaces):

    {"_dataset":{"description":...,"license":...,"references":"public","slug":...,"version":...}}
    {"domain":...,"id":...,"method":...,"params":{...},"prompt":...,"reference":...}
    ...

The dataset's identity is the SHA-256 of these bytes; a bundle names it. Because the bytes are
canonical (:func:`canonical_line`), re-writing the same items reproduces the same checksum.

Hidden references: a version can ship as a *public* file (header ``"references":"private"``, every
``reference`` null) and a *private* file kept by the operators (header ``_dataset_private`` with the
public file's checksum, then ``{"id","reference"}`` lines). ``load_dataset(public, private=...)``
merges them; the checksum bundles name is always the public file's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaluator.datasets.validate import (
    DUPLICATE_ID,
    FILE_INVALID,
    HEADER_INVALID,
    ITEM_INVALID,
    PRIVATE_MISMATCH,
    item_from_json,
)
from evaluator.errors import BundleError
from evaluator.items import DatasetItems, first_duplicate
from evaluator.types import Dataset, DatasetItem

ReferencesMode = Literal["public", "private"]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_HEADER_KEYS = {"slug", "version", "license", "description", "references", "source"}
MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True)
class DatasetMeta:
    slug: str
    version: str
    license: str
    description: str = ""
    references: ReferencesMode = "public"
    source: str | None = None  # where the items came from (importer, generator)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "slug": self.slug,
            "version": self.version,
            "license": self.license,
            "description": self.description,
            "references": self.references,
        }
        if self.source is not None:
            data["source"] = self.source
        return data


def canonical_line(obj: Mapping[str, Any]) -> bytes:
    return (
        json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    ).encode()


def item_to_json(item: DatasetItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "prompt": item.prompt,
        "reference": item.reference,
        "domain": item.domain,
        "method": item.method,
        "params": dict(item.params),
    }


def dataset_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _meta_from_header(obj: Any, where: str) -> DatasetMeta:
    if (
        not isinstance(obj, dict)
        or set(obj) != {"_dataset"}
        or not isinstance(obj["_dataset"], dict)
    ):
        raise BundleError(
            FILE_INVALID,
            'the first line must be the header {"_dataset": {...}}',
            file=where,
            row=1,
        )
    head = obj["_dataset"]
    unknown = set(head) - _HEADER_KEYS
    if unknown:
        raise BundleError(HEADER_INVALID, f"unknown header field(s) {sorted(unknown)}", where, 1)
    for key in ("slug", "version", "license", "references"):
        if not isinstance(head.get(key), str):
            raise BundleError(
                HEADER_INVALID, f"header field {key!r} must be a string", where, 1, key
            )
    if not _SLUG.match(head["slug"]):
        raise BundleError(
            HEADER_INVALID, "slug must be lowercase letters, digits, '-'", where, 1, "slug"
        )
    if not _VERSION.match(head["version"]):
        raise BundleError(HEADER_INVALID, "version must be a short token", where, 1, "version")
    if head["references"] not in ("public", "private"):
        raise BundleError(
            HEADER_INVALID, "references must be 'public' or 'private'", where, 1, "references"
        )
    for key in ("description", "source"):
        if key in head and not isinstance(head[key], str):
            raise BundleError(
                HEADER_INVALID, f"header field {key!r} must be a string", where, 1, key
            )
    return DatasetMeta(
        slug=head["slug"],
        version=head["version"],
        license=head["license"],
        description=head.get("description", ""),
        references=head["references"],
        source=head.get("source"),
    )


def _json_lines(path: Path, digest: Any) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each line, hashing the raw bytes as they stream by."""
    where = str(path)
    try:
        # Not a with-statement: opening errors get a code; the with below closes the file.
        fh = Path(path).open("rb")  # noqa: SIM115
    except OSError as exc:
        raise BundleError(FILE_INVALID, f"cannot open dataset file: {exc.strerror}", where) from exc
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            digest.update(raw)
            if len(raw) > MAX_LINE_BYTES:
                raise BundleError(FILE_INVALID, "line longer than 1 MB", where, lineno)
            if not raw.endswith(b"\n"):
                raise BundleError(
                    FILE_INVALID, "the last line must end with a newline", where, lineno
                )
            if not raw.strip():
                raise BundleError(FILE_INVALID, "blank line", where, lineno)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BundleError(FILE_INVALID, "line is not valid UTF-8", where, lineno) from exc
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as exc:
                raise BundleError(
                    FILE_INVALID,
                    f"line is not valid JSON: {exc.msg} (column {exc.colno})",
                    where,
                    lineno,
                ) from exc


def read_dataset_meta(path: Path) -> DatasetMeta:
    for _, obj in _json_lines(path, hashlib.sha256()):
        return _meta_from_header(obj, str(path))
    raise BundleError(FILE_INVALID, "the dataset file is empty", str(path))


def _load_private(path: Path, meta: DatasetMeta, public_sha: str) -> dict[str, str]:
    where = str(path)
    refs: dict[str, str] = {}
    for lineno, obj in _json_lines(path, hashlib.sha256()):
        if lineno == 1:
            head = obj.get("_dataset_private") if isinstance(obj, dict) else None
            if not isinstance(head, dict):
                raise BundleError(
                    FILE_INVALID, 'first line must be {"_dataset_private": {...}}', where, 1
                )
            if (head.get("slug"), head.get("version")) != (meta.slug, meta.version):
                raise BundleError(
                    PRIVATE_MISMATCH, "private file is for another dataset/version", where, 1
                )
            if head.get("public_sha256") != public_sha:
                raise BundleError(
                    PRIVATE_MISMATCH,
                    "private file was written for a different public file",
                    where,
                    1,
                )
            continue
        if not (
            isinstance(obj, dict)
            and set(obj) == {"id", "reference"}
            and isinstance(obj["id"], str)
            and isinstance(obj["reference"], str)
        ):
            raise BundleError(
                ITEM_INVALID, 'private lines are {"id": str, "reference": str}', where, lineno
            )
        if obj["id"] in refs:
            raise BundleError(DUPLICATE_ID, f"id {obj['id']!r} appears twice", where, lineno, "id")
        refs[obj["id"]] = obj["reference"]
    return refs


def load_dataset(path: Path, private: Path | None = None) -> Dataset:
    """Stream, validate and return a dataset; errors name the file and line.

    Items go straight into Arrow columns (``evaluator.items``) a batch at a time, so loading a
    million items never holds them all as Python objects; duplicate ids are found afterwards in
    Arrow rather than with a million-entry dict.
    """
    path = Path(path)
    where = str(path)
    meta = read_dataset_meta(path)
    refs: dict[str, str] | None = None
    if private is not None:
        if meta.references != "private":
            raise BundleError(
                PRIVATE_MISMATCH, "public file already carries its references", where, 1
            )
        refs = _load_private(Path(private), meta, dataset_sha256(path))
    digest = hashlib.sha256()
    missing: list[str] = []

    def items() -> Iterator[DatasetItem]:
        for lineno, obj in _json_lines(path, digest):
            if lineno == 1:
                continue  # the header, read above
            item = item_from_json(obj, where=where, row=lineno, references=meta.references)
            if refs is not None:
                if item.id not in refs:
                    missing.append(item.id)
                    continue
                full = {**item_to_json(item), "reference": refs[item.id]}
                item = item_from_json(full, where=str(private), row=lineno, references="public")
            yield item

    table = DatasetItems.build(items())
    if not len(table) and not missing:
        raise BundleError(FILE_INVALID, "the dataset has no items", where)
    if refs is not None:
        extra = set(refs).difference(table.ids().to_pylist())
        if missing or extra:
            raise BundleError(
                PRIVATE_MISMATCH,
                f"private file ids differ: missing {missing[:5]}, unknown {sorted(extra)[:5]}",
                str(private),
            )
    repeated = first_duplicate(table.ids())
    if repeated is not None:
        first, row, item_id = repeated
        raise BundleError(
            DUPLICATE_ID,
            f"id {item_id!r} already used on line {first + 2}",
            where,
            row + 2,
            "id",
        )
    return Dataset(slug=meta.slug, version=meta.version, sha256=digest.hexdigest(), items=table)


def _atomic_write(path: Path, lines: Iterable[bytes]) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        for line in lines:
            digest.update(line)
            fh.write(line)
    os.replace(tmp, path)
    return digest.hexdigest()


def _validated(meta: DatasetMeta, items: Iterable[DatasetItem]) -> list[dict[str, Any]]:
    """Items as canonical JSON, checked by the same rules ``load_dataset`` applies."""
    where = f"{meta.slug}/{meta.version}"
    _meta_from_header({"_dataset": meta.to_json()}, where)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row, item in enumerate(items, start=2):
        obj = item_to_json(item)
        item_from_json(obj, where=where, row=row, references="public")
        if item.id in seen:
            raise BundleError(DUPLICATE_ID, f"id {item.id!r} appears twice", where, row, "id")
        seen.add(item.id)
        out.append(obj)
    if not out:
        raise BundleError(FILE_INVALID, "the dataset has no items", where)
    return out


def _public_lines(meta: DatasetMeta, objs: list[dict[str, Any]]) -> Iterator[bytes]:
    yield canonical_line({"_dataset": {**meta.to_json(), "references": "public"}})
    for obj in objs:
        yield canonical_line(obj)


def canonical_sha256(meta: DatasetMeta, items: Iterable[DatasetItem]) -> str:
    """The sha256 that ``write_dataset(path, meta, items)`` would produce, without writing."""
    digest = hashlib.sha256()
    for line in _public_lines(meta, _validated(meta, items)):
        digest.update(line)
    return digest.hexdigest()


def write_dataset(path: Path, meta: DatasetMeta, items: Iterable[DatasetItem]) -> str:
    """Write the canonical file (references included); returns its sha256."""
    return _atomic_write(path, _public_lines(meta, _validated(meta, items)))


def write_split_dataset(
    public_path: Path, private_path: Path, meta: DatasetMeta, items: Iterable[DatasetItem]
) -> tuple[str, str]:
    """Write the public file (references null) and the private one; returns both sha256s."""
    objs = _validated(meta, items)
    header = {"_dataset": {**meta.to_json(), "references": "private"}}
    public_sha = _atomic_write(
        public_path,
        [canonical_line(header), *(canonical_line({**o, "reference": None}) for o in objs)],
    )
    private_header = {
        "_dataset_private": {
            "slug": meta.slug,
            "version": meta.version,
            "public_sha256": public_sha,
        }
    }
    private_sha = _atomic_write(
        private_path,
        [
            canonical_line(private_header),
            *(canonical_line({"id": o["id"], "reference": o["reference"]}) for o in objs),
        ],
    )
    return public_sha, private_sha
