"""The Celery app. Configuration lives in Django settings under the ``CELERY_`` prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipwboard.settings")
# Arrow's allocator for every process of the project (this module is imported first, before any
# Arrow buffer exists; Arrow reads the variable at its first allocation). Its default, mimalloc,
# kept ~250 MB of freed buffers resident in a worker after a million-query evaluation (the
# dataset load alone left ~80 MB it never returned), which set the worker's peak at ~900 MiB;
# jemalloc returns them and the same task peaks ~200 MiB lower (bench/bench_pipeline.py).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

app = Celery("ipwboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
