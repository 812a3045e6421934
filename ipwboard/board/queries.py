"""Ranked querysets for the board. One place decides what is ranked and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from submissions.models import Evaluation, Submission

# column key -> (label, ORM expression, higher_is_better)
SORTABLE: dict[str, tuple[str, str, bool]] = {
    "ipw": ("IPW", "ipw", True),
    "accuracy": ("Accuracy", "accuracy", True),
    "ipj": ("IPJ", "ipj", True),
    "power": ("Mean power", "mean_power_w", False),
    "energy": ("Energy / query", "mean_energy_j", False),
    "latency": ("Latency p50", "latency_p50_s", False),
    "throughput": ("Throughput", "throughput_tok_s", True),
    "model": ("Model", "submission__model__name", False),
    "hardware": ("Hardware", "submission__hardware__label", False),
    "date": ("Date", "submission__finished_at", True),
}
# The unit a leaderboard row stands for: never mix datasets or measurement classes in one rank.
PAIR_KEY = (
    "submission__model",
    "submission__hardware",
    "submission__dataset_version",
    "submission__measurement_scope",
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


@dataclass(frozen=True)
class BoardQuery:
    """The whole view state of the leaderboard, parsed from (and written back to) the URL."""

    sort: str = "ipw"
    descending: bool = True
    dataset: str = ""
    scope: str = ""
    hw_class: str = ""
    vendor: str = ""
    q: str = ""
    show_all: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> BoardQuery:
        sort = params.get("sort", "ipw")
        if sort not in SORTABLE:
            sort = "ipw"
        default_desc = SORTABLE[sort][2]
        direction = params.get("dir", "")
        descending = default_desc if direction not in ("asc", "desc") else direction == "desc"
        return cls(
            sort=sort,
            descending=descending,
            dataset=params.get("dataset", "")[:100],
            scope=params.get("scope", "")[:20],
            hw_class=params.get("hw_class", "")[:10],
            vendor=params.get("vendor", "")[:100],
            q=params.get("q", "")[:100].strip(),
            show_all=params.get("all", "") == "1",
        )

    def to_params(self, **changes: Any) -> dict[str, str]:
        state = {**self.__dict__, **changes}
        params = {
            "sort": state["sort"] if state["sort"] != "ipw" else "",
            "dir": ("desc" if state["descending"] else "asc")
            if state["descending"] != SORTABLE[state["sort"]][2]
            else "",
            "dataset": state["dataset"],
            "scope": state["scope"],
            "hw_class": state["hw_class"],
            "vendor": state["vendor"],
            "q": state["q"],
            "all": "1" if state["show_all"] else "",
        }
        return {key: value for key, value in params.items() if value}


def leaderboard(query: BoardQuery) -> QuerySet[Evaluation]:
    """Current evaluations of ranked submissions, best per pair unless ``show_all``."""
    qs = Evaluation.objects.filter(ranked_submissions())
    if query.dataset:
        slug, _, version = query.dataset.partition("@")
        qs = qs.filter(submission__dataset_version__dataset__slug=slug)
        if version:
            qs = qs.filter(submission__dataset_version__version=version)
    if query.scope:
        qs = qs.filter(submission__measurement_scope=query.scope)
    if query.hw_class:
        qs = qs.filter(submission__hardware__hw_class=query.hw_class)
    if query.vendor:
        qs = qs.filter(submission__hardware__vendor__iexact=query.vendor)
    if query.q:
        qs = qs.filter(
            Q(submission__model__name__icontains=query.q)
            | Q(submission__hardware__label__icontains=query.q)
            | Q(submission__model__family__icontains=query.q)
            | Q(submission__owner__username__icontains=query.q)
        )
    if not query.show_all:
        qs = qs.annotate(
            pair_rank=Window(
                RowNumber(),
                partition_by=[F(k) for k in PAIR_KEY],
                order_by=[F("ipw").desc(), F("created_at").asc()],
            )
        ).filter(pair_rank=1)
    order = SORTABLE[query.sort][1]
    ordering = F(order).desc(nulls_last=True) if query.descending else F(order).asc(nulls_last=True)
    return qs.select_related(
        "submission__model",
        "submission__hardware",
        "submission__dataset_version__dataset",
        "submission__owner",
    ).order_by(ordering, "-ipw", "pk")


@dataclass(frozen=True)
class RankedRow:
    rank: int
    tied: bool  # the IPW interval overlaps the row ranked just above (by IPW)
    evaluation: Evaluation


def with_ranks(rows: list[Evaluation]) -> list[RankedRow]:
    """IPW ranks among the rows shown, with ties where 95% intervals overlap the next better."""
    by_ipw = sorted(rows, key=lambda e: -e.ipw)
    rank_of: dict[int, tuple[int, bool]] = {}
    for index, evaluation in enumerate(by_ipw):
        tied = False
        rank = index + 1
        if index:
            above = by_ipw[index - 1]
            if evaluation.ipw_high >= above.ipw_low:
                tied = True
                rank = rank_of[above.pk][0]
                rank_of[above.pk] = (rank, True)
        rank_of[evaluation.pk] = (rank, tied)
    return [RankedRow(*rank_of[e.pk], e) for e in rows]
