"""Open data: dataset downloads, board exports and raw submission data (namespace ``data``)."""

from __future__ import annotations

from django.urls import path, re_path

from . import downloads

app_name = "data"

urlpatterns = [
    path("", downloads.downloads_page, name="downloads"),
    path(
        "datasets/<slug:slug>/<str:version>/download/",
        downloads.dataset_download,
        name="dataset-download",
    ),
    re_path(
        r"^datasets/(?P<slug>[-\w]+)/(?P<version>[^/]+)/(?P<fmt>jsonl|parquet)/$",
        downloads.dataset_file,
        name="dataset-file",
    ),
    path("exports/manifest.json", downloads.export_manifest, name="export-manifest"),
    re_path(r"^exports/board\.(?P<fmt>csv|json|parquet)$", downloads.export_file, name="export"),
    path(
        "exports/data-dictionary.json",
        downloads.export_file,
        {"fmt": "dictionary"},
        name="data-dictionary",
    ),
    path(
        "submissions/<uuid:pk>/bundle.ipwb", downloads.submission_bundle, name="submission-bundle"
    ),
    path(
        "submissions/<uuid:pk>/queries.parquet",
        downloads.submission_queries,
        name="submission-queries",
    ),
]
