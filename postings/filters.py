"""The public list's filters (django-filter), shared by the browser page and the API.

Every value is checked by the filter's form: a garbage value is a form error (400), never a
500. Money is given in major units (``min_pay=300`` means 300.00) and compared with the amount
in minor units, whatever the currency (the list is not converted between currencies).
"""

from decimal import Decimal

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from .models import Format, Posting, Skill
from .pagination import SORTS
from .selectors import postings_search

SORT_CHOICES = [
    ("newest", "Newest"),
    ("deadline", "Deadline soonest"),
    ("pay", "Highest pay"),
    ("relevance", "Best match (with a search)"),
]


class PostingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_text", max_length=200, strip=True)
    format = django_filters.MultipleChoiceFilter(
        choices=Format.choices, widget=forms.CheckboxSelectMultiple
    )
    work_mode = django_filters.MultipleChoiceFilter(
        label="Work mode", choices=Posting.WorkMode.choices, widget=forms.CheckboxSelectMultiple
    )
    compensation = django_filters.ChoiceFilter(
        label="Paid or credit", choices=Posting.Compensation.choices, empty_label="Any"
    )
    category = django_filters.ChoiceFilter(choices=Posting.Category.choices, empty_label="Any")
    skill = django_filters.MultipleChoiceFilter(label="Skills", method="filter_skills", choices=[])
    min_pay = django_filters.NumberFilter(
        label="Minimum pay",
        method="filter_min_pay",
        min_value=Decimal("0"),
        max_value=Decimal("1000000"),
        decimal_places=2,
    )
    max_hours_per_week = django_filters.NumberFilter(
        label="Maximum hours per week",
        field_name="hours_per_week",
        lookup_expr="lte",
        min_value=Decimal("0"),
        max_value=Decimal("168"),
    )
    starts_after = django_filters.DateFilter(
        label="Starts on or after",
        field_name="starts_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    starts_before = django_filters.DateFilter(
        label="Starts on or before",
        field_name="starts_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=SORT_CHOICES, method="filter_nothing", empty_label=None
    )

    class Meta:
        model = Posting
        fields: list[str] = []

    def __init__(self, *args, skill_choices: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        # One query for the skill choices (validation and the form's options); the API skips
        # it when no skill is asked for.
        self.filters["skill"].extra["choices"] = (
            list(Skill.objects.values_list("slug", "name")) if skill_choices else []
        )

    def filter_text(self, queryset, name, value):
        return postings_search(queryset, value) if value else queryset

    def filter_skills(self, queryset, name, value):
        if not value:
            return queryset
        through = Posting.skills.through
        return queryset.filter(
            Exists(through.objects.filter(posting_id=OuterRef("pk"), skill__slug__in=value))
        )

    def filter_min_pay(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(
            Q(compensation=Posting.Compensation.PAID, amount__gte=int(value * 100))
        )

    def filter_nothing(self, queryset, name, value):
        return queryset  # the sort order is applied by the paginator

    def sort_name(self, *, searching: bool) -> str:
        """The sort to use: relevance needs a search (and PostgreSQL's ranking)."""
        sort = self.form.cleaned_data.get("sort") or ("relevance" if searching else "newest")
        if sort == "relevance" and (not searching or connection.vendor != "postgresql"):
            sort = "newest"  # SQLite's substring match has no ranking
        assert sort in SORTS
        return sort
