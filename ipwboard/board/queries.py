"""Ranked querysets for the board. One place decides what is ranked and how.

Rankings never mix measurement classes: a rank is always among rows of the same dataset version and
the same measurement scope (what was metered), the "ranking context". A page showing several
contexts shows one table, with its own ranks, per context.

What is publicly ranked is ``ranked_submissions()``; pages read it precomputed, with each pair's
best marked, from the read model (``models.BoardEntry``, kept in step by ``readmodel``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet, TextField, Window
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, RowNumber

from submissions.models import Evaluation
from submissions.models.submission import public_q

from . import columns, table
from .models import BoardEntry
from .state import PER_PAGE, BoardQuery
from .table import TableRow

__all__ = [
    "PER_PAGE",
    "BoardPage",
    "BoardQuery",
    "Group",
    "TableRow",
    "board_page",
    "leaderboard",
    "ranked_rows",
    "ranked_submissions",
]

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
    """What the public may see ranked, on Evaluation: the current evaluation of a public
    submission (``submissions.models.public_q``, the one rule of what is public)."""
    return public_q("submission__") & Q(submission__current_evaluation=F("pk"))


def headline_key(ipw: float, created_at: datetime, pk: int) -> tuple[float, datetime, int]:
    """Order of a pair's results, best first: the highest IPW, the earliest on a tie. The read
    model marks each pair's best by it (``readmodel``), the pair page picks its headline by it."""
    return (-ipw, created_at, pk)


# ``headline_key`` in SQL, on BoardEntry rows (the best among some of a pair's entries).
HEADLINE_ORDER = [F("ipw").desc(), F("evaluation__created_at").asc(), F("evaluation_id").asc()]
# The pair of a BoardEntry: model, hardware, dataset version, measurement scope.
PAIR_FIELDS = ("model_id", "hardware_id", "dataset_version_id", "ranking_class")


def narrows_within_pairs(query: BoardQuery) -> bool:
    """Whether a filter can match some of a pair's submissions and not others (quantization,
    measurement dates, the search, which also looks at the submitter and engine). Each pair's
    best is then the best among the matching ones, not its overall best."""
    return bool(query.quant or query.date_from or query.date_to or query.q)


def _filter(qs: QuerySet[Any], query: BoardQuery, via: str = "submission__") -> QuerySet[Any]:
    """The filters of ``query`` on a queryset of Evaluation, or of BoardEntry with ``via=""``:
    an entry carries its submission's pair (model, hardware, dataset version, scope) and
    quantization itself, so filtering on them needs no join through the submission. Submitter
    and engine are always the submission's; ``measured`` is an annotation (Evaluation) or a
    column (BoardEntry)."""
    if query.dataset:
        slug, _, version = query.dataset.partition("@")
        qs = qs.filter(**{f"{via}dataset_version__dataset__slug": slug})
        if version:
            qs = qs.filter(**{f"{via}dataset_version__version": version})
    exact = {
        f"{via}ranking_class": query.scope,
        f"{via}hardware__hw_class": query.hw_class,
        f"{via}hardware__device_class": query.device_class,
        f"{via}hardware__form_factor": query.form_factor,
        f"{via}hardware__vendor__iexact": query.vendor,
        f"{via}hardware__accelerator__iexact": query.accelerator,
        f"{via}model__family__iexact": query.family,
        f"{via}quantization__iexact": query.quant,
        f"{via}model__slug": query.model,
        f"{via}hardware__slug": query.hardware,
        # The submission's own field (entries do not copy it): only the agentic page sets it.
        "submission__workload_kind": query.workload,
    }
    qs = qs.filter(**{key: value for key, value in exact.items() if value})
    if query.max_active:
        qs = qs.filter(**{f"{via}model__params_active_b__lte": query.max_active})
    if query.date_from:
        qs = qs.filter(measured__gte=query.date_from.isoformat())
    if query.date_to:
        qs = qs.filter(measured__lt=(query.date_to + timedelta(days=1)).isoformat())
    if query.q:
        qs = qs.filter(
            Q(**{f"{via}model__name__icontains": query.q})
            | Q(**{f"{via}model__family__icontains": query.q})
            | Q(**{f"{via}hardware__label__icontains": query.q})
            | Q(**{f"{via}hardware__accelerator__icontains": query.q})
            | Q(submission__owner__username__icontains=query.q)
            | Q(submission__engine__icontains=query.q)
            | Q(**{f"{via}quantization__icontains": query.q})
        )
    return qs


def _ordered(qs: QuerySet[Evaluation], query: BoardQuery) -> QuerySet[Evaluation]:
    order = columns.sorts()[query.sort].source
    expr = F(order).desc(nulls_last=True) if query.descending else F(order).asc(nulls_last=True)
    return qs.order_by(expr, "-ipw", "pk")


def filtered(query: BoardQuery) -> QuerySet[Evaluation]:
    """Current evaluations of ranked submissions matching the filters, best per pair unless
    ``show_all`` (the best: highest IPW, the earliest on a tie), in the requested order.

    What is ranked, and each pair's overall best, come from the read model (``BoardEntry``),
    computed from ``ranked_submissions()`` whenever a submission changes; when a filter picks
    some of a pair's submissions only, ``_light_rows`` finds the best among them."""
    if query.show_all:
        rows = Q(board_entry__isnull=False)
    elif narrows_within_pairs(query):
        rows = Q(pk__in=[row[0] for row in _light_rows(query)])
    else:
        rows = Q(board_entry__best=True)
    qs = Evaluation.objects.filter(rows).annotate(measured=F("board_entry__measured"))
    return _ordered(_filter(qs, query), query)


def leaderboard(query: BoardQuery) -> QuerySet[Evaluation]:
    """``filtered`` with the related rows a table needs (one query, any row count)."""
    return filtered(query).select_related(*ROW_RELATED)


# (evaluation id, dataset version id, scope, ipw, ipw_low, ipw_high, sort value): what ranking
# and ordering need of every matching row.
Light = tuple[Any, ...]


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


@dataclass
class Group:
    """One ranking context (dataset version x measurement scope) and the rows of this page."""

    dataset: str  # BenchmarkDataset.slug
    version: str  # DatasetVersion.version
    scope: str
    total: int
    rows: list[TableRow] = field(default_factory=list)
    references_private: bool = False  # pasting the references cannot score (methodology)

    @property
    def dataset_param(self) -> str:
        return f"{self.dataset}@{self.version}"


@dataclass
class BoardPage:
    query: BoardQuery
    groups: list[Group]
    pages: int  # the largest group decides how many pages there are
    total: int
    per_page: int = PER_PAGE

    @property
    def rows(self) -> list[TableRow]:
        return [row for group in self.groups for row in group.rows]

    @property
    def any_synthetic(self) -> bool:
        return any(row["synthetic"] for row in self.rows)


OVERVIEW_PER_PAGE = 20  # rows per ranking when a page shows several rankings


def _entry_path(path: str) -> str:
    """A sort column's path (relative to Evaluation) from a BoardEntry: the entry has its own
    submission, IPW and measurement date; other figures are its evaluation's."""
    if path.startswith("board_entry__"):
        return path.removeprefix("board_entry__")
    return path if path.startswith("submission__") or path == "ipw" else f"evaluation__{path}"


def _light_rows(query: BoardQuery) -> list[Light]:
    """(pk, dataset version, scope, ipw, low, high, sort value) of every matching row, in the
    requested order, from the narrow read-model table (joining only what a filter or the sort
    needs). Each pair's precomputed best, unless a filter narrows within pairs: then the best of
    its matching entries. The order is applied in Python: nulls last, ties by IPW then id."""
    per_pair = not query.show_all and narrows_within_pairs(query)
    every = query.show_all or per_pair
    qs = _filter(
        BoardEntry.objects.all() if every else BoardEntry.objects.filter(best=True), query, via=""
    )
    if per_pair:
        qs = qs.annotate(
            pair_position=Window(
                RowNumber(),
                partition_by=[F(name) for name in PAIR_FIELDS],
                order_by=HEADLINE_ORDER,
            )
        ).filter(pair_position=1)
    sort = _entry_path(columns.sorts()[query.sort].source)
    fields = ("evaluation_id", "dataset_version_id", "ranking_class", "ipw", "ipw_low")
    # (Selected once: Django merges a column selected twice from a window-filtered subquery.)
    if sort == "ipw":
        rows = [(*r, r[3]) for r in qs.values_list(*fields, "ipw_high")]
    else:
        rows = list(qs.values_list(*fields, "ipw_high", sort))
    rows.sort(key=lambda r: (-r[3], r[0]))
    present = [r for r in rows if r[6] is not None]
    text = bool(present) and isinstance(present[0][6], str)
    present.sort(  # stable: ties keep the IPW order
        key=(lambda r: r[6].lower()) if text else (lambda r: r[6]), reverse=query.descending
    )
    return present + [r for r in rows if r[6] is None]


def _contexts(light: list[Light]) -> dict[tuple[Any, str], list[Light]]:
    contexts: dict[tuple[Any, str], list[Light]] = defaultdict(list)
    for row in light:  # keeps the requested order within each context
        contexts[(row[1], row[2])].append(row)
    return contexts


def _top_rows(query: BoardQuery, top: int) -> tuple[list[Light], dict[Any, int]] | None:
    """The first ``top`` rows of each context and each context's size, when the page is in IPW
    order, best first (the default, and by far the most visited): a rank is decided by the rows
    above it and a tie by the next one, so the rows below a page never change what it shows. A
    few dozen rows per context instead of thousands. None for any other order (or a filter that
    picks each pair's best among some of its submissions), which needs every row."""
    if query.sort != "ipw" or not query.descending or narrows_within_pairs(query):
        return None
    context = [F("dataset_version_id"), F("ranking_class")]
    qs = BoardEntry.objects.all() if query.show_all else BoardEntry.objects.filter(best=True)
    qs = _filter(qs, query, via="").annotate(
        position=Window(
            RowNumber(),
            partition_by=context,
            order_by=[F("ipw").desc(), F("evaluation_id").asc()],  # as _light_rows orders
        ),
        context_size=Window(Count("evaluation_id"), partition_by=context),
    )
    # (Django merges a column selected twice from a window-filtered subquery: IPW, the sort
    # value, is copied into place here instead.)
    rows = [
        (pk, dv, scope, ipw, low, high, ipw, size)
        for pk, dv, scope, ipw, low, high, size in qs.filter(position__lte=top).values_list(
            "evaluation_id",
            "dataset_version_id",
            "ranking_class",
            "ipw",
            "ipw_low",
            "ipw_high",
            "context_size",
        )
    ]
    rows.sort(key=lambda r: (-r[3], r[0]))
    return rows, {(r[1], r[2]): r[7] for r in rows}


def board_page(query: BoardQuery, per_page: int | None = None) -> BoardPage:
    """The rows of one page, grouped by ranking context, in exactly two queries.

    Ranks need the rows of a context above and next to each shown row (a tie is decided by the
    neighbour), so the first query fetches a light tuple for those (for every matching row unless
    the page is in IPW order); the second loads only the rows shown. A page showing several
    rankings shows fewer rows of each (the overview), one ranking shows more.
    """
    # Enough rows for this page whichever of the two page sizes applies, plus the next row.
    found = _top_rows(query, query.page * max(per_page or 0, PER_PAGE, OVERVIEW_PER_PAGE) + 1)
    light, sizes = found if found else (_light_rows(query), None)
    contexts = _contexts(light)
    if sizes is None:
        sizes = {key: len(members) for key, members in contexts.items()}
    if per_page is None:
        per_page = OVERVIEW_PER_PAGE if len(contexts) > 1 else PER_PAGE
    # Most populated context first: that is the ranking most people came for.
    ordered = sorted(contexts.items(), key=lambda item: (-sizes[item[0]], str(item[0])))
    start = (query.page - 1) * per_page
    shown: dict[int, tuple[int, bool]] = {}
    for _key, members in ordered:
        ranks = _ranks(members)
        shown.update({row[0]: ranks[row[0]] for row in members[start : start + per_page]})
    loaded = table.load(shown)
    groups = []
    for key, members in ordered:
        rows = [loaded[r[0]] for r in members[start : start + per_page] if r[0] in loaded]
        if rows:
            first = rows[0]
            groups.append(
                Group(
                    first["dataset_slug"],
                    first["dataset_version"],
                    key[1],
                    sizes[key],
                    rows,
                    references_private=first["references_private"],
                )
            )
    pages = max(1, -(-max(sizes.values(), default=0) // per_page))
    return BoardPage(query, groups, pages, sum(sizes.values()), per_page)


def ranked_rows(query: BoardQuery) -> list[TableRow]:
    """Every matching row in the requested order, each ranked within its own context (the
    leaderboard API): the same ranks and order as the table, in two queries."""
    light = _light_rows(query)
    ranks: dict[int, tuple[int, bool]] = {}
    for members in _contexts(light).values():
        ranks.update(_ranks(members))
    loaded = table.load(ranks, links=False)
    return [loaded[row[0]] for row in light if row[0] in loaded]


def filter_options() -> dict[str, Any]:
    """Choices for the filter form: only values that occur among ranked rows (two queries).

    Everything but the quantization describes the pair, so each pair's best entry has all of
    it (a fifth of the rows); quantizations can differ within a pair, so they are every entry's.
    """
    combos = set(
        BoardEntry.objects.filter(best=True)
        .values_list(
            "dataset_version__dataset__slug",
            "dataset_version__version",
            "dataset_version__created_at",
            "hardware__vendor",
            "hardware__accelerator",
            "model__family",
            "ranking_class",
            "hardware__device_class",
            "hardware__form_factor",
        )
        .distinct()
        .order_by()
    )
    quants = BoardEntry.objects.values_list("quantization", flat=True).distinct().order_by()

    def column(values: Iterable[str]) -> list[str]:
        return sorted({v for v in values if v}, key=str.lower)

    # Newest version first within a dataset (as DatasetVersion's own ordering).
    versions = sorted({c[:3] for c in combos}, key=lambda c: c[2], reverse=True)
    return {
        "datasets": sorted(((slug, version) for slug, version, _ in versions), key=lambda d: d[0]),
        "vendors": column(c[3] for c in combos),
        "accelerators": column(c[4] for c in combos),
        "families": column(c[5] for c in combos),
        "quants": column(quants),
        "scopes": column(c[6] for c in combos),
        "device_classes": column(c[7] for c in combos),
        "form_factors": column(c[8] for c in combos),
    }
