"""The routing analysis on the board: which ranked pairs, what counts as local, where it is stored.

``evaluator.routing`` computes; this module feeds it the board's ranked pairs (each pair's best,
``BoardEntry.best``) of one ranking context (dataset version x ranking class: classes never mix),
reads their per-query files, and stores one ``RoutingAnalysis`` row per context and local set. The
``refresh_routing`` task runs it when the board changes (debounced like the exports); pages, the
API and the exports read the stored rows only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from evaluator import routing_io
from evaluator.routing import FORMAT_VERSION, LocalSet, Pair, PairColumns, Queries, analyse
from submissions.models import DatasetVersion
from submissions.services import perquery
from submissions.signals import board_changed

from . import receivers
from .models import BoardEntry, RoutingAnalysis

log = logging.getLogger(__name__)

SCHEDULED_KEY = "routing:scheduled"
# Hardware registered as local whose catalog class nobody has mapped yet: local in the default
# choice (its submitter said so), never in a narrower one.
UNMAPPED_LOCAL = "unmapped-local"
LOCAL_SETS: tuple[LocalSet, ...] = (
    LocalSet(
        "local",
        "Everything outside a datacenter (workstation, desktop, laptop, phone, edge)",
        frozenset({"workstation", "desktop", "laptop", "phone", "edge", UNMAPPED_LOCAL}),
    ),
    LocalSet("laptop-phone", "Laptops and phones only", frozenset({"laptop", "phone"})),
)
DEFAULT_LOCAL = LOCAL_SETS[0].key
FLOORS: tuple[float, ...] = (0.0, 2.0, 5.0)
DEFAULT_FLOOR = 2.0
MIN_PAIRS = 2  # routing among fewer than two pairs says nothing
SEED = 0
RESAMPLES = 1000


def device_class(hardware: Any) -> str:
    """The catalog's class of a Hardware row; unmapped rows fall back on the submitted class."""
    if hardware.device_class:
        return str(hardware.device_class)
    return "datacenter" if hardware.hw_class == "cloud" else UNMAPPED_LOCAL


# --- reading per-query files: the one place that knows the reader --------------------------------


def _results_table(name: str) -> pa.Table:
    return perquery.open_results(name).read(routing_io.PAIR_COLUMNS)


def _queries(version: DatasetVersion, first_results: str) -> Queries:
    """Ids and domains in dataset order: from the version's items file, else a results file."""
    if version.items_file:
        items = perquery.open_items(version.items_file.name).file
        return routing_io.queries_from_table(items.read(columns=["position", "domain", "id"]))
    return routing_io.queries_from_table(
        perquery.open_results(first_results).read(["position", "domain", "query_id"])
    )


# --- contexts and computing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    key: str
    label: str
    device_class: str
    synthetic: bool
    evaluation_id: int
    queries_file: str


def _entries(dataset_version_id: int, ranking_class: str) -> list[Entry]:
    rows = (
        BoardEntry.objects.filter(
            best=True, dataset_version_id=dataset_version_id, ranking_class=ranking_class
        )
        .exclude(evaluation__queries_file="")
        .select_related("model", "hardware", "submission", "evaluation")
    )
    entries = [
        Entry(
            key=f"{e.model.slug}/{e.hardware.slug}",
            label=f"{e.model.name} on {e.hardware.label}",
            device_class=device_class(e.hardware),
            synthetic=bool(e.submission.synthetic),
            evaluation_id=e.evaluation_id,
            queries_file=e.evaluation.queries_file.name,
        )
        for e in rows
    ]
    return sorted(entries, key=lambda e: e.key)


def contexts() -> list[tuple[int, str]]:
    """Every ranking context with at least ``MIN_PAIRS`` ranked pairs."""
    from django.db.models import Count

    rows = (
        BoardEntry.objects.filter(best=True)
        .exclude(evaluation__queries_file="")
        .values_list("dataset_version_id", "ranking_class")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return sorted((dv, rc) for dv, rc, n in rows if n >= MIN_PAIRS)


def signature(entries: Iterable[Entry]) -> str:
    parts = {
        "format": FORMAT_VERSION,
        "evaluations": sorted(e.evaluation_id for e in entries),
        "local_sets": [[s.key, sorted(s.classes)] for s in LOCAL_SETS],
        "classes": sorted(f"{e.evaluation_id}:{e.device_class}" for e in entries),
        "floors": FLOORS,
        "seed": SEED,
        "resamples": RESAMPLES,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def compute_context(dataset_version_id: int, ranking_class: str, *, force: bool = False) -> bool:
    """Analyse one context and store it; False when its inputs had not changed."""
    entries = _entries(dataset_version_id, ranking_class)
    sig = signature(entries)
    stored = set(
        RoutingAnalysis.objects.filter(
            dataset_version_id=dataset_version_id, ranking_class=ranking_class, signature=sig
        ).values_list("local_set", flat=True)
    )
    if not force and stored >= {s.key for s in LOCAL_SETS}:
        return False
    version = DatasetVersion.objects.get(pk=dataset_version_id)
    queries = _queries(version, entries[0].queries_file)
    pairs = [Pair(e.key, e.label, e.device_class, e.synthetic) for e in entries]

    def load(i: int) -> PairColumns:
        return routing_io.pair_columns(_results_table(entries[i].queries_file), queries.n)

    results = analyse(
        queries, pairs, load, LOCAL_SETS, floors=FLOORS, seed=SEED, resamples=RESAMPLES
    )
    with transaction.atomic():
        for local_set, result in results.items():
            result["dataset_version_id"] = dataset_version_id
            result["ranking_class"] = ranking_class
            RoutingAnalysis.objects.update_or_create(
                dataset_version_id=dataset_version_id,
                ranking_class=ranking_class,
                local_set=local_set,
                defaults={
                    "signature": sig,
                    "result": result,
                    "synthetic": any(e.synthetic for e in entries),
                    "pairs": len(entries),
                },
            )
    return True


def refresh_all(*, force: bool = False) -> dict[str, int]:
    """Bring every stored analysis in step with the board; drop those of vanished contexts."""
    wanted = contexts()
    computed = 0
    for dv, rc in wanted:
        try:
            computed += compute_context(dv, rc, force=force)
        except Exception:  # one unreadable file must not stop the other contexts
            log.exception("routing analysis of %s/%s failed", dv, rc)
    keep = set(wanted)
    stale = [
        pk
        for pk, dv, rc in RoutingAnalysis.objects.values_list(
            "pk", "dataset_version_id", "ranking_class"
        )
        if (dv, rc) not in keep
    ]
    RoutingAnalysis.objects.filter(pk__in=stale).delete()
    if computed or stale:
        # Pages and API answers cached before this refresh show the previous analysis (or none):
        # a new board version retires them, as a scoring does.
        receivers.bump()
    return {"contexts": len(wanted), "computed": computed, "removed": len(stale)}


# --- scheduling -----------------------------------------------------------------------------------


def schedule_refresh() -> bool:
    """Enqueue one refresh unless one is pending (debounced with the exports' setting)."""
    delay = settings.IPWBOARD_EXPORTS_DEBOUNCE_SECONDS
    if not cache.add(SCHEDULED_KEY, 1, timeout=max(delay, 1)):
        return False
    from .tasks import refresh_routing

    try:
        refresh_routing.apply_async(countdown=delay)
    except Exception:  # broker down: the next board change retries
        cache.delete(SCHEDULED_KEY)
        log.exception("could not enqueue the routing refresh")
        return False
    return True


@receiver(board_changed, dispatch_uid="ipwboard.board.routing.on_board_changed")
def on_board_changed(sender: Any, **kwargs: Any) -> None:
    schedule_refresh()
