from django.conf import settings
from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from . import rules
from .models import Posting, PostingMilestone, ScreeningQuestion


class EmployerBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    verified = serializers.BooleanField()
    response_rate = serializers.IntegerField(
        allow_null=True, help_text="Share of applications answered (percent)."
    )
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    rating_count = serializers.IntegerField()


class PostingListSerializer(serializers.ModelSerializer):
    employer = EmployerBriefSerializer()
    skills = serializers.SerializerMethodField()
    pay_per_hour = serializers.IntegerField(
        help_text="Pay per estimated hour, minor units (0 for credit postings)."
    )
    seats_left = serializers.IntegerField()
    hours_per_week = serializers.FloatField()

    class Meta:
        model = Posting
        fields = [
            "id",
            "title",
            "format",
            "category",
            "employer",
            "starts_at",
            "duration_hours",
            "effort_hours",
            "hours_per_week",
            "work_mode",
            "location",
            "compensation",
            "amount",
            "currency",
            "pay_per_hour",
            "application_deadline",
            "seats_left",
            "skills",
            "published_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_skills(self, posting) -> list[str]:
        return posting.skill_list


# The list's rows as ``PostingListSerializer`` writes them, built straight from the model (its
# fields' own conversions for dates and decimals), without a serializer per row: the API's
# busiest path. tests/postings/test_api_rows.py holds the two to the same output.
_datetime = serializers.DateTimeField()
_rating = EmployerBriefSerializer().fields["rating_average"]


def _when(value):
    return None if value is None else _datetime.to_representation(value)


def _when_in(zone):
    """``_when`` for aware datetimes shown in ``zone`` (the current time zone, looked up once
    per list rather than per value): what the field writes in DRF's ISO 8601 format."""
    if zone is None or api_settings.DATETIME_FORMAT.lower() != ISO_8601:
        return _when

    def when(value):
        if value is None or value.tzinfo is None:
            return _when(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return when


def posting_list_rows(postings) -> list[dict]:
    when = _when_in(_datetime.default_timezone())
    rows = []
    for p in postings:
        e = p.employer
        rows.append(
            {
                "id": p.pk,
                "title": p.title,
                "format": p.format,
                "category": p.category,
                "employer": {
                    "id": e.pk,
                    "name": e.name,
                    "verified": e.verified,
                    "response_rate": e.response_rate,
                    "rating_average": (
                        None
                        if e.rating_average is None
                        else _rating.to_representation(e.rating_average)
                    ),
                    "rating_count": e.rating_count,
                },
                "starts_at": when(p.starts_at),
                "duration_hours": p.duration_hours,
                "effort_hours": p.effort_hours,
                "hours_per_week": float(p.hours_per_week),
                "work_mode": p.work_mode,
                "location": p.location,
                "compensation": p.compensation,
                "amount": p.amount,
                "currency": p.currency,
                "pay_per_hour": p.pay_per_hour,
                "application_deadline": when(p.application_deadline),
                "seats_left": p.seats_left,
                "skills": p.skill_list,
                "published_at": when(p.published_at),
            }
        )
    return rows


class MilestoneSerializer(serializers.ModelSerializer):
    due_offset_hours = serializers.IntegerField(min_value=1, max_value=rules.MAX_DURATION_HOURS)
    amount = serializers.IntegerField(min_value=0, max_value=10**12, help_text="Minor units.")

    class Meta:
        model = PostingMilestone
        fields = ["title", "due_offset_hours", "amount"]


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningQuestion
        fields = ["id", "text", "required"]
        read_only_fields = ["id"]


class PostingDetailSerializer(PostingListSerializer):
    description_html = serializers.SerializerMethodField()
    milestones = MilestoneSerializer(many=True)
    questions = QuestionSerializer(many=True)

    class Meta(PostingListSerializer.Meta):
        fields = PostingListSerializer.Meta.fields + [
            "status",
            "close_reason",
            "description",
            "description_html",
            "acceptance_criteria",
            "mentoring",
            "openings",
            "seats_filled",
            "allowed_revisions",
            "credit_arrangement",
            "milestones",
            "questions",
            "moderation_reason",
            "flags",
            "submitted_at",
            "closed_at",
        ]

    @extend_schema_field(serializers.CharField())
    def get_description_html(self, posting) -> str:
        return posting.description_html  # rendered and sanitised when saved


class PostingWriteSerializer(serializers.Serializer):
    """A posting's content. Money in integer minor units; the time box in hours.

    Types and lengths are checked here; every rule about the content (time box range, deadline
    before start, milestones adding up, ...) is checked by the same service the browser uses.
    """

    title = serializers.CharField(max_length=rules.MAX_TITLE)
    description = serializers.CharField(max_length=rules.MAX_DESCRIPTION)
    acceptance_criteria = serializers.CharField(max_length=rules.MAX_CRITERIA)
    category = serializers.ChoiceField(choices=Posting.Category.choices, default="other")
    skills = serializers.ListField(
        child=serializers.CharField(max_length=rules.MAX_SKILL_LENGTH),
        max_length=rules.MAX_SKILLS,
        required=False,
    )
    starts_at = serializers.DateTimeField()
    duration_hours = serializers.IntegerField(min_value=-(10**9), max_value=10**9)
    effort_hours = serializers.IntegerField(min_value=-(10**9), max_value=10**9)
    work_mode = serializers.ChoiceField(choices=Posting.WorkMode.choices, default="remote")
    location = serializers.CharField(
        max_length=rules.MAX_LOCATION, required=False, allow_blank=True, default=""
    )
    mentoring = serializers.ChoiceField(choices=Posting.Mentoring.choices, default="light")
    openings = serializers.IntegerField(default=1, min_value=-(10**9), max_value=10**9)
    application_deadline = serializers.DateTimeField()
    allowed_revisions = serializers.IntegerField(default=2, min_value=0, max_value=10**9)
    compensation = serializers.ChoiceField(choices=Posting.Compensation.choices, default="paid")
    amount = serializers.IntegerField(
        default=0, min_value=-(10**15), max_value=10**15, help_text="Minor units, e.g. 50000."
    )
    currency = serializers.CharField(max_length=3, default="USD")
    credit_arrangement = serializers.CharField(
        max_length=rules.MAX_CREDIT_ARRANGEMENT, required=False, allow_blank=True, default=""
    )
    # many=True makes a ListSerializer, which takes max_length; the stubs type the child.
    milestones = MilestoneSerializer(many=True, required=False, max_length=rules.MAX_MILESTONES)  # type: ignore[call-arg]
    questions = QuestionSerializer(many=True, required=False, max_length=rules.MAX_QUESTIONS)  # type: ignore[call-arg]

    def to_values(self, base: rules.Values | None = None) -> rules.Values:
        values = base or rules.Values()
        data = self.validated_data
        for name in rules.POSTING_FIELDS:
            if name in data:
                setattr(values, name, data[name])
        values.currency = (values.currency or "").upper()
        values.skills = data.get("skills") if "skills" in data else None
        values.milestones = [dict(m) for m in data["milestones"]] if "milestones" in data else None
        values.questions = [dict(q) for q in data["questions"]] if "questions" in data else None
        if base is None:
            # A new posting: missing children mean none.
            values.skills = values.skills or []
            values.questions = values.questions or []
        return values


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReportSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReportResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    posting = serializers.IntegerField(source="posting_id")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


def supported_currencies() -> list[str]:
    return list(settings.SUPPORTED_CURRENCIES)


class SavedSearchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    query = serializers.CharField(help_text="The saved filters as the list's query string.")
    filters = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    last_digest_at = serializers.DateTimeField(allow_null=True)
    next_digest_at = serializers.DateTimeField()

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    )
    def get_filters(self, saved_search) -> dict:
        data = QueryDict(saved_search.query)
        return {name: data.getlist(name) for name in data}

    def get_link(self, saved_search) -> str:
        """The public list (page) with these filters."""
        return saved_search.list_link


class SavedSearchCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    filters = serializers.DictField(
        required=False,
        default=dict,
        help_text="The filters of the postings list (`GET /api/v1/postings/`), by name: a text "
        'or a list of texts, e.g. `{"q": "survey", "format": ["nano", "micro"]}`. Checked like '
        "the list checks them; an unknown name or a value the list refuses is a 400.",
    )
