"""Downloads: streamed from local storage, redirected to a presigned URL on S3."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404

from submissions.models import DatasetVersion


def serve_stored(name: str, filename: str, content_type: str) -> HttpResponse:
    """Never buffer a stored file in the web process: stream it, or hand out a presigned URL."""
    if default_storage.__class__.__name__ == "S3Storage":
        url = default_storage.url(
            name,
            parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
        )
        return HttpResponseRedirect(url)
    return FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=filename,
        content_type=content_type,
    )


def dataset_download(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    dv = get_object_or_404(DatasetVersion, dataset__slug=slug, version=version)
    return serve_stored(dv.file.name, f"{slug}-{version}.jsonl", "application/x-ndjson")
