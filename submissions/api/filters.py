"""Submission filters: the same vocabulary as the board's (dataset slug[@version], scope, ...)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from ..models import Hardware, Submission


class SubmissionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Submission.Status.choices)
    review = django_filters.ChoiceFilter(choices=Submission.Review.choices)
    model = django_filters.CharFilter(
        field_name="model__name", lookup_expr="iexact", help_text="Model id, e.g. llama3.2:1b."
    )
    hardware = django_filters.CharFilter(
        field_name="hardware__label", lookup_expr="iexact", help_text="Hardware label."
    )
    dataset = django_filters.CharFilter(
        method="filter_dataset", help_text="Dataset slug, or slug@version."
    )
    scope = django_filters.CharFilter(
        field_name="measurement_scope", help_text="accelerator, soc or wall."
    )
    hw_class = django_filters.ChoiceFilter(
        field_name="hardware__hw_class", choices=Hardware.HardwareClass.choices
    )
    vendor = django_filters.CharFilter(field_name="hardware__vendor", lookup_expr="iexact")
    withdrawn = django_filters.BooleanFilter(
        field_name="withdrawn_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Submission
        fields: list[str] = []

    def filter_dataset(
        self, queryset: QuerySet[Submission], name: str, value: str
    ) -> QuerySet[Submission]:
        slug, _, version = value.partition("@")
        queryset = queryset.filter(dataset_version__dataset__slug=slug)
        return queryset.filter(dataset_version__version=version) if version else queryset
