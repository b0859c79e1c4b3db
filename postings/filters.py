"""The public list's filters (django-filter), shared by the browser page and the API.

Every value is checked by the filter's form: a garbage value is a form error (400), never a
500. Money is given in major units and read in each posting's own currency (the list is not
converted between currencies): ``min_pay=300`` is 300.00 USD, 300.00 EUR or 300 JPY.
"""

import copy
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import django_filters
from django import forms
from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from marketplace.core.money import currencies_by_exponent, exponent, minor_at_least

from .models import Format, Posting, Skill
from .pagination import SORTS
from .selectors import postings_search, search_candidates

SORT_CHOICES = [
    ("newest", "Newest"),
    ("deadline", "Deadline soonest"),
    ("pay", "Highest pay"),
    ("relevance", "Best match (with a search)"),
]


def _midnight(day: date) -> datetime:
    """The start of ``day`` in the current (the visitor's) time zone."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _own_copy(filter_: django_filters.Filter, parent, model, field) -> django_filters.Filter:
    """A shallow copy of ``filter_`` for the filter set ``parent``, with ``field`` (when not
    None) as its form field rather than one built for it."""
    own = copy.copy(filter_)
    if own.method is not None:
        own.method = own.method  # a ``FilterMethod`` of its own, which finds the parent
    own.model = model
    own.parent = parent
    if field is not None:
        own._field = field
    return own


class _SharedFields(dict):
    """A form's ``base_fields`` that its forms share instead of deep-copying them (Django
    copies every field, widget and list of choices for each form): these fields are not
    changed once built. The fields named in ``own`` are copied for each form as usual."""

    def __init__(self, fields, *, own: tuple[str, ...]):
        super().__init__(fields)
        self.own = own

    def __deepcopy__(self, memo):
        fields = dict(self)
        for name in self.own:
            fields[name] = copy.deepcopy(self[name], memo)
        return fields


class PostingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_text", max_length=200, strip=True)
    # ``distinct=False``: both are columns of the posting (no join can repeat a row), and a
    # DISTINCT would make PostgreSQL sort every match before taking a page.
    format = django_filters.MultipleChoiceFilter(
        choices=Format.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    work_mode = django_filters.MultipleChoiceFilter(
        label="Work mode",
        choices=Posting.WorkMode.choices,
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
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
    # Compared as a range of ``starts_at`` (from or before midnight of the day in the visitor's
    # time zone), not as ``starts_at::date``, so that the index on ``starts_at`` serves it.
    starts_after = django_filters.DateFilter(
        label="Starts on or after",
        method="filter_starts_after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    starts_before = django_filters.DateFilter(
        label="Starts on or before",
        method="filter_starts_before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=SORT_CHOICES, method="filter_nothing", empty_label=None
    )

    class Meta:
        model = Posting
        fields: list[str] = []

    # A search sorted by relevance: how many candidates it ranks (its count), once filtered.
    candidates: int | None = None

    def __init__(
        self, data=None, queryset=None, *, request=None, prefix=None, skill_choices: bool = True
    ):
        # ``FilterSet.__init__`` without its deep copy of every filter (and of each one's
        # choices and widget) on every request: each filter is copied shallowly, which is
        # enough to give it this filter set as its parent (``method=`` filters call it).
        if queryset is None:
            queryset = Posting.objects.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        shared = self.get_form_class().base_fields
        self.filters = {
            name: _own_copy(f, self, queryset.model, None if name in shared.own else shared[name])
            for name, f in self.base_filters.items()
        }
        # One query for the skill choices (validation and the form's options); the API skips
        # it when no skill is asked for.
        skills = list(Skill.objects.values_list("pk", "slug", "name")) if skill_choices else []
        self.skill_choices = [(slug, name) for _, slug, name in skills]
        self.skill_ids = {slug: pk for pk, slug, _ in skills}

    @classmethod
    def get_form_class(cls):
        """The form class, built once: its fields are shared by the forms of every request
        (``_SharedFields``), but for the skills, whose choices each form sets."""
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            filters = copy.deepcopy(cls.base_filters)
            for f in filters.values():
                f.model = cls._meta.model  # for the labels taken from the model's fields
            fields = {name: f.field for name, f in filters.items()}
            form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            form_class.base_fields = _SharedFields(form_class.base_fields, own=("skill",))
            cls._form_class = form_class
        return form_class

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            form.fields["skill"].choices = self.skill_choices
        return self._form

    def filter_queryset(self, queryset):
        """Every filter, then, for a search sorted by relevance, the bound on what is ranked."""
        filtered = super().filter_queryset(queryset)
        text = self.form.cleaned_data.get("q")
        if text and self.sort_name(searching=True) == "relevance":
            ranked, self.candidates = search_candidates(filtered, base=queryset, text=text)
            return ranked
        return filtered

    def filter_text(self, queryset, name, value):
        return postings_search(queryset, value) if value else queryset

    def filter_skills(self, queryset, name, value):
        if not value:
            return queryset
        ids = [self.skill_ids[slug] for slug in value]
        if connection.vendor == "postgresql":
            # Any of the skills, by their words in the posting's skill vector (GIN-indexed).
            words = " | ".join(f"s{pk}" for pk in ids)
            return queryset.filter(
                skill_vector=SearchQuery(words, search_type="raw", config="simple")
            )
        # By the skills' ids (loaded with the choices): the link table's unique index on
        # (posting, skill) answers each row without a join to the skills.
        through = Posting.skills.through
        return queryset.filter(
            Exists(through.objects.filter(posting_id=OuterRef("pk"), skill_id__in=ids))
        )

    def filter_min_pay(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(pay_at_least(value), compensation=Posting.Compensation.PAID)

    def filter_starts_after(self, queryset, name, value):
        return queryset.filter(starts_at__gte=_midnight(value)) if value else queryset

    def filter_starts_before(self, queryset, name, value):
        return (
            queryset.filter(starts_at__lt=_midnight(value + timedelta(days=1)))
            if value
            else queryset
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


# --- Saved searches: the same filters, kept as a canonical query string -------------------------

# Parameters of the list that are not filters: the page a visitor was on, its size.
NOT_FILTERS = {"cursor", "page_size"}
MAX_SAVED_QUERY = 500
DEFAULT_SORTS = {"newest", "relevance"}


class InvalidFilters(ValueError):
    """Filters that ``PostingFilter`` refuses; ``messages`` say which and why."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _as_strings(value) -> list[str] | None:
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not all(
        isinstance(v, str | int | float | Decimal) and not isinstance(v, bool) for v in items
    ):
        return None
    return [str(v) for v in items]


def _canonical(value) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, list | tuple):
        return sorted({str(v) for v in value})
    if isinstance(value, Decimal):
        return [format(value.normalize(), "f")]
    if hasattr(value, "isoformat"):
        return [value.isoformat()]
    return [str(value)]


def canonical_query(params: Mapping[str, object]) -> str:
    """The list's filters in ``params`` checked by ``PostingFilter`` and written as one
    canonical query string (filter order, sorted values, empty ones and the default sort
    left out): the same search always gives the same string.

    ``params`` maps a filter name to a value or a list of values (a ``QueryDict`` is read with
    ``getlist``). Raises ``InvalidFilters`` for an unknown name or a value the filter refuses.
    """
    data = QueryDict(mutable=True)
    problems: list[str] = []
    for name in params:
        if name in NOT_FILTERS:
            continue
        raw = params.getlist(name) if isinstance(params, QueryDict) else params[name]
        values = _as_strings(raw)
        if name not in PostingFilter.base_filters:
            problems.append(f"“{name}” is not a filter of the postings list.")
        elif values is None:
            problems.append(f"{name}: give a text or a list of texts.")
        elif kept := [v for v in values if v.strip()]:
            data.setlist(name, kept)
    if problems:
        raise InvalidFilters(problems)
    filterset = PostingFilter(data, queryset=Posting.objects.none(), skill_choices="skill" in data)
    if not filterset.is_valid():
        raise InvalidFilters(
            [
                f"{filterset.form.fields[name].label or name}: {message}"
                if name in filterset.form.fields
                else str(message)
                for name, messages in filterset.form.errors.items()
                for message in messages
            ]
        )
    query = filterset_query(filterset)
    if len(query) > MAX_SAVED_QUERY:
        raise InvalidFilters(["This search has too many filters to be saved; use fewer."])
    return query


def filterset_query(filterset: PostingFilter, *, with_sort: bool = True) -> str:
    """The canonical query string of a valid ``PostingFilter`` (no query: it was validated);
    without the sort when ``with_sort`` is false (the same matches in another order)."""
    cleaned = filterset.form.cleaned_data
    pairs = []
    for name in PostingFilter.base_filters:
        if name not in filterset.data:
            continue
        if name == "sort" and (not with_sort or cleaned.get(name) in DEFAULT_SORTS):
            continue  # the list picks it by itself
        pairs += [(name, value) for value in _canonical(cleaned.get(name))]
    return urlencode(pairs)


def pay_at_least(value: Decimal) -> Q:
    """Postings paying at least ``value`` major units of their own currency, in minor units per
    currency's digits: 300 is 30000 cents but 300 yen.

    With the supported currencies all of one kind (two decimals, by default) it is one range on
    ``amount``. Otherwise each kind is a range of its own, each naming the published status so
    that PostgreSQL answers it from the (status, amount) index rather than reading every posting;
    the two-decimal kind takes every currency not of another kind (one no longer supported).
    """
    in_use = {exponent(c) for c in settings.SUPPORTED_CURRENCIES} | {2}
    unusual = {p: c for p, c in currencies_by_exponent().items() if p in in_use}
    if not unusual:
        return Q(amount__gte=minor_at_least(value, 2))
    published = Posting.Status.PUBLISHED
    at_least = Q(status=published, amount__gte=minor_at_least(value, 2)) & ~Q(
        currency__in=sorted(c for group in unusual.values() for c in group)
    )
    for places, currencies in unusual.items():
        at_least |= Q(
            status=published,
            currency__in=sorted(currencies),
            amount__gte=minor_at_least(value, places),
        )
    return at_least


def postings_matching(query: str, queryset: QuerySet[Posting]) -> QuerySet[Posting]:
    """``queryset`` filtered by a saved (canonical) query; ``InvalidFilters`` if it no longer
    passes (a skill that was since deleted, say)."""
    data = QueryDict(query)
    filterset = PostingFilter(data, queryset=queryset, skill_choices="skill" in data)
    if not filterset.is_valid():
        raise InvalidFilters([str(filterset.form.errors)])
    return filterset.qs


def describe_query(query: str) -> list[str]:
    """The filters of a saved query in words, for people: ["“survey”", "Micro", "Remote"]."""
    data = QueryDict(query)
    labels = {
        "format": dict(Format.choices),
        "work_mode": dict(Posting.WorkMode.choices),
        "compensation": dict(Posting.Compensation.choices),
        "category": dict(Posting.Category.choices),
        "sort": dict(SORT_CHOICES),
    }
    words: list[str] = []
    for name in data:
        values = data.getlist(name)
        if name == "q":
            words.append(f"“{values[0]}”")
        elif name in labels:
            shown = ", ".join(str(labels[name].get(v, v)).split(" (")[0] for v in values)
            words.append(f"sorted by {shown.lower()}" if name == "sort" else shown)
        elif name == "skill":
            words.append("skills: " + ", ".join(v.replace("-", " ") for v in values))
        elif name == "min_pay":
            words.append(f"pay from {values[0]}")
        elif name == "max_hours_per_week":
            words.append(f"up to {values[0]} h/week")
        elif name == "starts_after":
            words.append(f"starts from {values[0]}")
        elif name == "starts_before":
            words.append(f"starts by {values[0]}")
    return words
