"""The rows of the ranked table (and of the leaderboard API): plain values, one query.

A page shows up to 60 rows of seven related records each (evaluation, submission, model,
hardware, dataset version, dataset, submitter). Building model instances for them, then walking
``row.evaluation.submission.model.name`` in the template, cost more than the SQL itself; a row
is instead one flat dict of exactly what is shown, read with ``values_list``, with its links and
badges worked out once here. A dict because the template engine resolves ``row.ipw`` on a dict
at the first try, where on an object it first fails a ``row["ipw"]`` lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from submissions.models import Evaluation

from . import columns, vocab
from .pairs import PairKey

# A row: the registry's row columns (``columns.row_columns()``) by key, the inputs below, then what
# ``load`` works out: rank, tied (the IPW interval overlaps a neighbour's), and for a page
# (``links=True``) pair_token, pair_url, hardware_url and badges.
TableRow = dict[str, Any]

# What a row's links and badges are made of: key -> path from Evaluation (not columns: never shown
# as values). The badges' inputs come last and are dropped once the badges are made.
_INPUTS: tuple[tuple[str, str], ...] = (
    ("pk", "pk"),
    ("model_slug", "submission__model__slug"),
    ("hardware_slug", "submission__hardware__slug"),
    ("dataset_slug", "submission__dataset_version__dataset__slug"),
    ("references_private", "submission__dataset_version__references_private"),
    ("challenged", "submission__challenge_id"),
    ("staff_reproduced", "submission__staff_reproduced"),
    ("review", "submission__review"),
)


def load(ranks: dict[int, tuple[int, bool]], *, links: bool = True) -> dict[int, TableRow]:
    """The rows of these evaluations (id -> (rank, tied)), by evaluation id, in one query; with
    their links and badges unless ``links=False`` (the API, which has thousands of rows and
    neither; a URL costs a ``reverse()``)."""
    names = (*(c.key for c in columns.row_columns()), *(name for name, _ in _INPUTS))
    sources = (*(c.source for c in columns.row_columns()), *(source for _, source in _INPUTS))
    rows: dict[int, TableRow] = {}
    hardware_urls: dict[str, str] = {}  # a page shows a handful of machines many times
    found: Iterable[tuple[Any, ...]] = (
        Evaluation.objects.filter(pk__in=list(ranks)).order_by().values_list(*sources)
    )
    for values in found:
        row: TableRow = dict(zip(names, values, strict=True))
        row["rank"], row["tied"] = ranks[row["pk"]]
        # Rows measured before ranking classes existed are ranked by their scope.
        row["ranking_class"] = row["ranking_class"] or row["measurement_scope"]
        challenged = row.pop("challenged") is not None
        staff_reproduced, review = row.pop("staff_reproduced"), row.pop("review")
        rows[row["pk"]] = row
        if not links:
            continue
        key = PairKey(
            row["model_slug"],
            row["hardware_slug"],
            row["dataset_slug"],
            row["dataset_version"],
            row["ranking_class"],
        )
        row["pair_token"] = key.token
        row["pair_url"] = key.url()
        slug = row["hardware_slug"]
        if slug not in hardware_urls:
            hardware_urls[slug] = reverse("board:hardware", args=[slug])
        row["hardware_url"] = hardware_urls[slug]
        row["badges"] = vocab.provenance(
            challenged=challenged,
            staff_reproduced=staff_reproduced,
            review=review,
            labels=row["labels"],
            synthetic=row["synthetic"],
        )
    return rows
