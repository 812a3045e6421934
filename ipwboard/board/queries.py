"""Ranked querysets for the board. One place decides what is ranked and how.

Rankings never mix measurement classes: a rank is always among rows of the same dataset version and
the same measurement scope (what was metered), the "ranking context". A page showing several
contexts shows one table, with its own ranks, per context.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet, TextField, Window
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, RowNumber

from submissions.models import DatasetVersion, Evaluation, Submission

from .state import PER_PAGE, SORTABLE, BoardQuery

__all__ = [
    "PER_PAGE",
    "SORTABLE",
    "BoardPage",
    "BoardQuery",
    "Group",
    "RankedRow",
    "board_page",
    "leaderboard",
    "ranked_submissions",
    "with_ranks",
]

# The unit a leaderboard row stands for: never mix datasets or measurement classes in one rank.
PAIR_KEY = (
    "submission__model",
    "submission__hardware",
    "submission__dataset_version",
    "submission__measurement_scope",
)
ROW_RELATED = (
    "submission__model",
    "submission__hardware",
    "submission__dataset_version__dataset",
    "submission__owner",
)


def measured() -> Coalesce:
    """When the run was measured: the manifest's window start (RFC 3339, schema-validated, so it
    sorts as text), else when it was uploaded."""
    return Coalesce(
        KeyTextTransform("start", KeyTransform("window", "submission__manifest")),
        Cast("submission__created_at", TextField()),
    )


def ranked_submissions() -> Q:
    """What the public may see ranked: scored, current evaluation, not held, hidden or withdrawn."""
    return Q(
        submission__status=Submission.Status.SCORED,
        submission__current_evaluation=F("pk"),
        submission__hidden=False,
        submission__withdrawn_at__isnull=True,
        submission__review__in=(Submission.Review.NONE, Submission.Review.APPROVED),
    )


def _filter(qs: QuerySet[Evaluation], query: BoardQuery) -> QuerySet[Evaluation]:
    if query.dataset:
        slug, _, version = query.dataset.partition("@")
        qs = qs.filter(submission__dataset_version__dataset__slug=slug)
        if version:
            qs = qs.filter(submission__dataset_version__version=version)
    exact = {
        "submission__measurement_scope": query.scope,
        "submission__hardware__hw_class": query.hw_class,
        "submission__hardware__vendor__iexact": query.vendor,
        "submission__hardware__accelerator__iexact": query.accelerator,
        "submission__model__family__iexact": query.family,
        "submission__quantization__iexact": query.quant,
        "submission__model__slug": query.model,
        "submission__hardware__slug": query.hardware,
    }
    qs = qs.filter(**{key: value for key, value in exact.items() if value})
    if query.max_active:
        qs = qs.filter(submission__model__params_active_b__lte=query.max_active)
    if query.date_from:
        qs = qs.filter(measured__gte=query.date_from.isoformat())
    if query.date_to:
        qs = qs.filter(measured__lt=(query.date_to + timedelta(days=1)).isoformat())
    if query.q:
        qs = qs.filter(
            Q(submission__model__name__icontains=query.q)
            | Q(submission__model__family__icontains=query.q)
            | Q(submission__hardware__label__icontains=query.q)
            | Q(submission__hardware__accelerator__icontains=query.q)
            | Q(submission__owner__username__icontains=query.q)
            | Q(submission__engine__icontains=query.q)
            | Q(submission__quantization__icontains=query.q)
        )
    return qs


def _ordered(qs: QuerySet[Evaluation], query: BoardQuery) -> QuerySet[Evaluation]:
    order = SORTABLE[query.sort][1]
    expr = F(order).desc(nulls_last=True) if query.descending else F(order).asc(nulls_last=True)
    return qs.order_by(expr, "-ipw", "pk")


def filtered(query: BoardQuery) -> QuerySet[Evaluation]:
    """Current evaluations of ranked submissions matching the filters, best per pair unless
    ``show_all`` (the best: highest IPW, the earliest on a tie), in the requested order."""
    qs = Evaluation.objects.filter(ranked_submissions()).annotate(measured=measured())
    qs = _filter(qs, query)
    if not query.show_all:
        qs = _best_per_pair(qs)
    return _ordered(qs, query)


def _best_per_pair(qs: QuerySet[Evaluation]) -> QuerySet[Evaluation]:
    """Each pair's best row: the highest IPW, the earliest on a tie."""
    return qs.annotate(
        pair_rank=Window(
            RowNumber(),
            partition_by=[F(k) for k in PAIR_KEY],
            order_by=[F("ipw").desc(), F("created_at").asc()],
        )
    ).filter(pair_rank=1)


def leaderboard(query: BoardQuery) -> QuerySet[Evaluation]:
    """``filtered`` with the related rows a table needs (one query, any row count)."""
    return filtered(query).select_related(*ROW_RELATED)


@dataclass(frozen=True)
class RankedRow:
    rank: int
    tied: bool  # the IPW interval overlaps a neighbour's: a statistical tie
    evaluation: Evaluation


Light = tuple[Any, ...]  # (pk, dataset_version_id, scope, ipw, ipw_low, ipw_high)


def _ranks(rows: Iterable[Light]) -> dict[int, tuple[int, bool]]:
    """IPW ranks within one context; a row whose interval overlaps the next better one shares its
    rank (chains too), so a rank only changes where the intervals separate."""
    by_ipw = sorted(rows, key=lambda r: (-r[3], r[0]))
    rank_of: dict[int, tuple[int, bool]] = {}
    for index, row in enumerate(by_ipw):
        rank, tied = index + 1, False
        if index:
            above = by_ipw[index - 1]
            if row[5] >= above[4]:
                tied = True
                rank = rank_of[above[0]][0]
                rank_of[above[0]] = (rank, True)
        rank_of[row[0]] = (rank, tied)
    return rank_of


def with_ranks(rows: list[Evaluation]) -> list[RankedRow]:
    """Rank evaluations (already loaded with their submissions) within their own context."""
    groups: dict[tuple[Any, str], list[Light]] = defaultdict(list)
    for e in rows:
        s = e.submission
        key = (s.dataset_version_id, s.measurement_scope)
        groups[key].append((e.pk, *key, e.ipw, e.ipw_low, e.ipw_high))
    rank_of: dict[int, tuple[int, bool]] = {}
    for members in groups.values():
        rank_of.update(_ranks(members))
    return [RankedRow(*rank_of[e.pk], e) for e in rows]


@dataclass
class Group:
    """One ranking context (dataset version x measurement scope) and the rows of this page."""

    dataset_version: DatasetVersion | None
    scope: str
    total: int
    rows: list[RankedRow] = field(default_factory=list)

    @property
    def dataset_param(self) -> str:
        dv = self.dataset_version
        return f"{dv.dataset.slug}@{dv.version}" if dv else ""


@dataclass
class BoardPage:
    query: BoardQuery
    groups: list[Group]
    pages: int  # the largest group decides how many pages there are
    total: int
    per_page: int = PER_PAGE

    @property
    def rows(self) -> list[RankedRow]:
        return [row for group in self.groups for row in group.rows]

    @property
    def any_synthetic(self) -> bool:
        return any(row.evaluation.submission.synthetic for row in self.rows)


PAIR_ID_KEY = tuple(f"{key}_id" for key in PAIR_KEY[:3]) + PAIR_KEY[3:]
OVERVIEW_PER_PAGE = 20  # rows per ranking when a page shows several rankings


def _light_rows(query: BoardQuery) -> list[Light]:
    """(pk, dataset version, scope, ipw, low, high, sort value) of every matching row, in the
    requested order. DISTINCT ON picks each pair's best (faster here than the window function of
    ``filtered``); the order is then applied in Python, nulls last, ties by IPW then id."""
    qs = Evaluation.objects.filter(ranked_submissions())
    if query.sort == "date" or query.date_from or query.date_to:
        qs = qs.annotate(measured=measured())  # JSON extraction: only when it is needed
    qs = _filter(qs, query)
    if query.show_all:
        qs = qs.order_by()
    elif connection.features.can_distinct_on_fields:
        qs = qs.order_by(*PAIR_ID_KEY, "-ipw", "created_at").distinct(*PAIR_ID_KEY)
    else:
        # SQLite (the embedded run) has no DISTINCT ON: the portable window function picks the
        # same rows. Its ids are fetched first because Django wraps a window filter in a
        # subquery that would merge the duplicate column selected below when sorting by IPW.
        qs = qs.filter(pk__in=list(_best_per_pair(qs).values_list("pk", flat=True))).order_by()
    rows = list(
        qs.values_list(
            "pk",
            "submission__dataset_version_id",
            "submission__measurement_scope",
            "ipw",
            "ipw_low",
            "ipw_high",
            SORTABLE[query.sort][1],
        )
    )
    rows.sort(key=lambda r: (-r[3], r[0]))
    present = [r for r in rows if r[6] is not None]
    text = bool(present) and isinstance(present[0][6], str)
    present.sort(  # stable: ties keep the IPW order
        key=(lambda r: r[6].lower()) if text else (lambda r: r[6]), reverse=query.descending
    )
    return present + [r for r in rows if r[6] is None]


def board_page(query: BoardQuery, per_page: int | None = None) -> BoardPage:
    """The rows of one page, grouped by ranking context, in exactly two queries.

    Ranks need every row of a context (a tie is decided by the neighbour), so the first query
    fetches a light tuple for all matching rows; the second loads only the rows shown. A page
    showing several rankings shows fewer rows of each (the overview), one ranking shows more.
    """
    light = _light_rows(query)
    contexts: dict[tuple[Any, str], list[Light]] = defaultdict(list)
    for row in light:  # keeps the requested order within each context
        contexts[(row[1], row[2])].append(row)
    if per_page is None:
        per_page = OVERVIEW_PER_PAGE if len(contexts) > 1 else PER_PAGE
    # Most populated context first: that is the ranking most people came for.
    ordered = sorted(contexts.items(), key=lambda item: (-len(item[1]), str(item[0])))
    start = (query.page - 1) * per_page
    shown: dict[int, tuple[int, bool]] = {}
    for _key, members in ordered:
        ranks = _ranks(members)
        shown.update({row[0]: ranks[row[0]] for row in members[start : start + per_page]})
    loaded = {
        e.pk: e
        for e in Evaluation.objects.filter(pk__in=list(shown))
        .annotate(measured=measured())
        .select_related(*ROW_RELATED)
    }
    groups = []
    for (_dv_id, scope), members in ordered:
        page_rows = [
            RankedRow(*shown[row[0]], loaded[row[0]])
            for row in members[start : start + per_page]
            if row[0] in loaded
        ]
        dv = page_rows[0].evaluation.submission.dataset_version if page_rows else None
        if page_rows:
            groups.append(Group(dv, scope, len(members), page_rows))
    largest = max((len(m) for m in contexts.values()), default=0)
    pages = max(1, -(-largest // per_page))
    return BoardPage(query, groups, pages, len(light), per_page)


def filter_options() -> dict[str, Any]:
    """Choices for the filter form: only values that occur among ranked rows (two queries)."""
    combos = set(
        Submission.objects.filter(
            status=Submission.Status.SCORED,
            hidden=False,
            withdrawn_at__isnull=True,
            review__in=(Submission.Review.NONE, Submission.Review.APPROVED),
        )
        .values_list(
            "dataset_version_id",
            "hardware__vendor",
            "hardware__accelerator",
            "model__family",
            "quantization",
            "measurement_scope",
        )
        .distinct()
        .order_by()
    )

    def column(index: int) -> list[str]:
        return sorted({c[index] for c in combos if c[index]}, key=str.lower)

    versions = {c[0] for c in combos if c[0]}
    return {
        "datasets": list(
            DatasetVersion.objects.filter(pk__in=versions).select_related("dataset")
            if versions
            else []
        ),
        "vendors": column(1),
        "accelerators": column(2),
        "families": column(3),
        "quants": column(4),
        "scopes": column(5),
    }
