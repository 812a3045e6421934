"""A pair: (model, hardware, dataset version, measurement scope), the unit the board ranks.

Its URL and its compact token (for ``/compare/?pairs=...``) are built from catalog slugs, so they
are stable, readable and survive new submissions (they always show the pair's best result).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet
from django.urls import reverse

from submissions.models import Evaluation, Submission

from . import queries
from .models import BoardEntry
from .receivers import board_version

SEPARATOR = "~"  # unreserved in URLs and never produced by slugify


@dataclass(frozen=True)
class PairKey:
    model: str  # AIModel.slug
    hardware: str  # Hardware.slug
    dataset: str  # BenchmarkDataset.slug
    version: str  # DatasetVersion.version
    scope: str  # the ranking class: the measurement scope, qualified if need be

    @classmethod
    def of(cls, submission: Submission) -> PairKey:
        dv = submission.dataset_version
        return cls(
            submission.model.slug,
            submission.hardware.slug,
            dv.dataset.slug,
            dv.version,
            submission.ranking_class or submission.measurement_scope,
        )

    @classmethod
    def parse(cls, token: str) -> PairKey | None:
        parts = token.strip().split(SEPARATOR)
        if len(parts) != 5 or not all(parts) or len(token) > 600:
            return None
        return cls(*parts)

    @property
    def token(self) -> str:
        return SEPARATOR.join((self.model, self.hardware, self.dataset, self.version, self.scope))

    @property
    def args(self) -> tuple[str, ...]:
        return (self.model, self.hardware, self.dataset, self.version, self.scope)

    def url(self) -> str:
        return reverse("board:pair", args=self.args)

    def badge_url(self) -> str:
        return reverse("board:badge", args=self.args)

    def filter(self) -> dict[str, str]:
        return {
            "submission__model__slug": self.model,
            "submission__hardware__slug": self.hardware,
            "submission__dataset_version__dataset__slug": self.dataset,
            "submission__dataset_version__version": self.version,
            "submission__ranking_class": self.scope,
        }


def pair_evaluations(key: PairKey) -> QuerySet[Evaluation]:
    """Every ranked submission's current evaluation of this pair, oldest measurement first."""
    return (
        Evaluation.objects.filter(queries.ranked_submissions(), **key.filter())
        .annotate(measured=queries.measured())
        .select_related(*queries.ROW_RELATED, "submission__challenge")
        .order_by("measured", "created_at")
    )


def best(evaluations: list[Evaluation]) -> Evaluation | None:
    """The pair's headline result: highest IPW, the earliest on a tie (as the leaderboard)."""
    if not evaluations:
        return None
    return min(evaluations, key=lambda e: queries.headline_key(e.ipw, e.created_at, e.pk))


@dataclass(frozen=True)
class Standing:
    rank: int
    tied: bool
    of: int  # pairs in the ranking context


def standing(key: PairKey) -> Standing | None:
    """The pair's rank in its own context (dataset version x scope), cached per board version."""
    cache_key = f"board:standing:{board_version()}:{key.token}"
    found = cache.get(cache_key)
    if found is None:
        found = _standing(key) or "none"
        cache.set(cache_key, found, 3600)
    return found if isinstance(found, Standing) else None


def _standing(key: PairKey) -> Standing | None:
    context = queries._light_rows(
        queries.BoardQuery(dataset=f"{key.dataset}@{key.version}", scope=key.scope)
    )
    mine = (
        BoardEntry.objects.filter(
            best=True,
            model__slug=key.model,
            hardware__slug=key.hardware,
            dataset_version__dataset__slug=key.dataset,
            dataset_version__version=key.version,
            ranking_class=key.scope,
        )
        .values_list("evaluation_id", flat=True)
        .first()
    )
    ranks = queries._ranks(context)
    if mine not in ranks:
        return None
    rank, tied = ranks[mine]
    return Standing(rank, tied, len(context))


def pair_choices(limit: int = 200) -> list[tuple[str, str, str]]:
    """(token, label, context label) of the best pairs, for the compare picker (one query)."""
    rows = queries.filtered(queries.BoardQuery())[:limit].values_list(
        "submission__model__slug",
        "submission__hardware__slug",
        "submission__dataset_version__dataset__slug",
        "submission__dataset_version__version",
        "submission__ranking_class",
        "submission__model__name",
        "submission__hardware__label",
    )
    return [
        (PairKey(*key).token, f"{model} on {hardware}", f"{key[2]}@{key[3]} · {key[4]}")
        for *key, model, hardware in rows
    ]


def other_classes(key: PairKey) -> list[tuple[str, str]]:
    """(ranking class, its pair URL) of this model + hardware + dataset version measured in other
    classes (another attribution, basis or workload): ranked apart, and the pair page says so."""
    classes = (
        BoardEntry.objects.filter(
            best=True,
            model__slug=key.model,
            hardware__slug=key.hardware,
            dataset_version__dataset__slug=key.dataset,
            dataset_version__version=key.version,
        )
        .exclude(ranking_class=key.scope)
        .values_list("ranking_class", flat=True)
        .distinct()
        .order_by("ranking_class")
    )
    return [
        (c, PairKey(key.model, key.hardware, key.dataset, key.version, c).url()) for c in classes
    ]
