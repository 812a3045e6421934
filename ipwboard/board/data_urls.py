"""Open data: dataset downloads, board exports and raw submission data (namespace ``data``)."""

from __future__ import annotations

from django.urls import path

from . import downloads

app_name = "data"

urlpatterns = [
    path(
        "datasets/<slug:slug>/<str:version>/download/",
        downloads.dataset_download,
        name="dataset-download",
    ),
]
