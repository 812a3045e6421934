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
from typing import Any, NotRequired, TypedDict
from uuid import UUID

from django.urls import reverse

from submissions.models import Evaluation

from . import vocab
from .pairs import PairKey


class TableRow(TypedDict):
    rank: int  # by IPW within the row's own ranking context
    tied: bool  # the IPW interval overlaps a neighbour's: a statistical tie
    pk: int  # the evaluation
    submission: UUID
    model: str
    model_slug: str
    params_active_b: float | None
    params_total_b: float | None
    hardware: str
    hardware_slug: str
    hw_class: str
    dataset_slug: str
    dataset_version: str
    references_private: bool  # the version keeps its reference answers private (methodology)
    measurement_scope: str
    ranking_class: str  # what the row is ranked within (the scope, qualified if need be)
    measurement_method: str
    quantization: str
    engine: str
    owner: str
    measured: str
    synthetic: bool
    labels: list[str]
    ipw: float
    ipw_low: float
    ipw_high: float
    accuracy: float
    n_correct: int
    n_scored: int
    ipj: float
    mean_power_w: float
    mean_energy_j: float
    latency_p50_s: float
    throughput_tok_s: float | None
    # Worked out from the above for a page (``links=True``):
    pair_token: NotRequired[str]
    pair_url: NotRequired[str]
    hardware_url: NotRequired[str]
    badges: NotRequired[list[vocab.Badge]]


# TableRow key -> where it is read from, relative to Evaluation (the badges' inputs come last).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("pk", "pk"),
    ("submission", "submission_id"),
    ("model", "submission__model__name"),
    ("model_slug", "submission__model__slug"),
    ("params_active_b", "submission__model__params_active_b"),
    ("params_total_b", "submission__model__params_total_b"),
    ("hardware", "submission__hardware__label"),
    ("hardware_slug", "submission__hardware__slug"),
    ("hw_class", "submission__hardware__hw_class"),
    ("dataset_slug", "submission__dataset_version__dataset__slug"),
    ("dataset_version", "submission__dataset_version__version"),
    ("references_private", "submission__dataset_version__references_private"),
    ("measurement_scope", "submission__measurement_scope"),
    ("ranking_class", "submission__ranking_class"),
    ("measurement_method", "submission__measurement_method"),
    ("quantization", "submission__quantization"),
    ("engine", "submission__engine"),
    ("owner", "submission__owner__username"),
    ("measured", "board_entry__measured"),
    ("synthetic", "submission__synthetic"),
    ("labels", "submission__labels"),
    ("ipw", "ipw"),
    ("ipw_low", "ipw_low"),
    ("ipw_high", "ipw_high"),
    ("accuracy", "accuracy"),
    ("n_correct", "n_correct"),
    ("n_scored", "n_scored"),
    ("ipj", "ipj"),
    ("mean_power_w", "mean_power_w"),
    ("mean_energy_j", "mean_energy_j"),
    ("latency_p50_s", "latency_p50_s"),
    ("throughput_tok_s", "throughput_tok_s"),
    ("challenged", "submission__challenge_id"),
    ("staff_reproduced", "submission__staff_reproduced"),
    ("review", "submission__review"),
)
_NAMES = tuple(name for name, _ in COLUMNS)


def load(ranks: dict[int, tuple[int, bool]], *, links: bool = True) -> dict[int, TableRow]:
    """The rows of these evaluations (id -> (rank, tied)), by evaluation id, in one query; with
    their links and badges unless ``links=False`` (the API, which has thousands of rows and
    neither; a URL costs a ``reverse()``)."""
    rows: dict[int, TableRow] = {}
    hardware_urls: dict[str, str] = {}  # a page shows a handful of machines many times
    found: Iterable[tuple[Any, ...]] = (
        Evaluation.objects.filter(pk__in=list(ranks))
        .order_by()
        .values_list(*(source for _, source in COLUMNS))
    )
    for values in found:
        row: dict[str, Any] = dict(zip(_NAMES, values, strict=True))
        row["rank"], row["tied"] = ranks[row["pk"]]
        challenged = row.pop("challenged") is not None
        staff_reproduced, review = row.pop("staff_reproduced"), row.pop("review")
        rows[row["pk"]] = row  # type: ignore[assignment]
        if not links:
            continue
        key = PairKey(
            row["model_slug"],
            row["hardware_slug"],
            row["dataset_slug"],
            row["dataset_version"],
            row["ranking_class"] or row["measurement_scope"],
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
