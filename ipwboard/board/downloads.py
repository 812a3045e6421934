"""Downloads: streamed from local storage, redirected to a presigned URL on S3.

Nothing here reads ``DatasetVersion.private_file``, and per-submission data is served only for
ranked (public) submissions.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render

from submissions.models import DatasetVersion, Submission
from submissions.storage import is_s3

from . import exports
from .exports_columns import QUERY_COLUMNS, board_columns

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "ipwb": "application/zip",
}


def serve_stored(name: str, filename: str, content_type: str) -> HttpResponse:
    """Never buffer a stored file in the web process: stream it, or hand out a presigned URL."""
    if is_s3():
        url = default_storage.url(
            name,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": content_type,
            },
        )
        return HttpResponseRedirect(url)
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404("file not found") from exc
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


def downloads_page(request: HttpRequest) -> HttpResponse:
    manifest = exports.read_manifest()
    if manifest is None:
        exports.schedule_exports()
    built = (manifest or {}).get("datasets", {})
    versions = [
        {"version": version, "files": (built.get(version.sha256) or {}).get("files")}
        for version in DatasetVersion.objects.select_related("dataset")
    ]
    context = {
        "manifest": manifest,
        "versions": versions,
        "columns": board_columns(),
        "query_columns": QUERY_COLUMNS,
        "formats": ("csv", "json", "parquet"),
    }
    return render(request, "data/downloads.html", context)


def dataset_download(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    """The canonical file of a version (what bundles name by SHA-256; the CLI verifies it)."""
    dv = get_object_or_404(DatasetVersion, dataset__slug=slug, version=version)
    return serve_stored(dv.file.name, f"{slug}-{version}.jsonl", CONTENT_TYPES["jsonl"])


def dataset_file(request: HttpRequest, slug: str, version: str, fmt: str) -> HttpResponse:
    """JSONL or Parquet of a version: prompts, plus references only where they are public."""
    dv = get_object_or_404(DatasetVersion, dataset__slug=slug, version=version)
    entry = _manifest_entry(("datasets", dv.sha256, "files", fmt))
    return serve_stored(entry["name"], f"{slug}-{version}.{fmt}", CONTENT_TYPES[fmt])


def export_file(request: HttpRequest, fmt: str) -> HttpResponse:
    entry = _manifest_entry(("files", fmt))
    generation = exports.read_manifest()["generation"]  # type: ignore[index]
    if fmt == "dictionary":
        return serve_stored(entry["name"], "ipwboard-data-dictionary.json", CONTENT_TYPES["json"])
    return serve_stored(entry["name"], f"ipwboard-board-{generation}.{fmt}", CONTENT_TYPES[fmt])


def export_manifest(request: HttpRequest) -> HttpResponse:
    manifest = exports.read_manifest()
    if manifest is None:
        raise Http404("exports are being generated")
    return JsonResponse(manifest)


def _manifest_entry(path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = exports.read_manifest()
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise Http404("not generated yet")
        node = node[key]
    return node


def _ranked(pk: str) -> Submission:
    """A public submission (the one rule) with an evaluation; anything else is a 404."""
    return get_object_or_404(
        Submission.objects.public()
        .filter(current_evaluation__isnull=False)
        .select_related("current_evaluation"),
        pk=pk,
    )


def submission_bundle(request: HttpRequest, pk: str) -> HttpResponse:
    """The raw signed bundle of a ranked submission (verify it with ``ipwboard verify``)."""
    submission = _ranked(pk)
    return serve_stored(submission.bundle.name, f"{submission.pk}.ipwb", CONTENT_TYPES["ipwb"])


def submission_queries(request: HttpRequest, pk: str) -> HttpResponse:
    """Per-query results of a ranked submission as Parquet (pandas, pyarrow, HF datasets): the
    worker's per-query file as stored (streamed, or a presigned URL on S3), never rebuilt."""
    submission = _ranked(pk)
    name = exports.submission_queries_name(submission)
    if not name:
        raise Http404("no per-query results")
    return serve_stored(name, f"{submission.pk}-queries.parquet", CONTENT_TYPES["parquet"])
