"""Forms parse what the browser sends into ``rules.Values``; the rules themselves (and so every
message about the content) live in ``postings.rules`` and are applied by the services."""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory

from marketplace.core.money import parse_amount, to_major

from . import rules
from .models import DAY, WEEK, Posting

UNITS = [("hours", "hours"), ("days", "days"), ("weeks", "weeks")]
UNIT_HOURS = {"hours": 1, "days": DAY, "weeks": WEEK}


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def amount_field(**kwargs) -> forms.DecimalField:
    """An amount typed in major units of a currency chosen elsewhere on the page: any number of
    decimals here (``step="any"``), checked against the currency's own digits once it is known
    (``minor_amount``)."""
    return forms.DecimalField(required=False, max_digits=15, decimal_places=None, **kwargs)


def minor_amount(form: forms.Form, name: str, currency: str) -> int:
    """The form's cleaned ``name`` in minor units of ``currency`` (0 when empty); an amount with
    more decimals than the currency has is an error beside the field, never rounded away."""
    amount: Decimal | None = form.cleaned_data.get(name)
    if amount is None:
        return 0
    try:
        return parse_amount(amount, currency)
    except ValueError as exc:
        form.add_error(name, str(exc))
        return 0


def split_hours(hours: int) -> tuple[int, str]:
    """The friendliest unit for a number of hours: 336 -> (2, "weeks")."""
    if hours and hours % WEEK == 0:
        return hours // WEEK, "weeks"
    if hours and hours % DAY == 0:
        return hours // DAY, "days"
    return hours, "hours"


class PostingForm(forms.Form):
    title = forms.CharField(max_length=rules.MAX_TITLE)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=rules.MAX_DESCRIPTION,
        help_text="Markdown: **bold**, *italic*, lists with “- ”, links. Use Preview to check.",
    )
    acceptance_criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=rules.MAX_CRITERIA,
        help_text="What the finished work must contain to be approved.",
    )
    category = forms.ChoiceField(choices=Posting.Category.choices)
    skills = forms.CharField(
        required=False,
        max_length=800,
        help_text="Separated by commas, e.g. python, data analysis.",
    )
    starts_at = forms.DateTimeField(label="Work starts", widget=DateTimeInput())
    duration_value = forms.IntegerField(label="Time box", min_value=1, max_value=100000)
    duration_unit = forms.ChoiceField(label="Time box unit", choices=UNITS, initial="weeks")
    effort_hours = forms.IntegerField(
        label="Estimated effort (hours of work in total)", min_value=1, max_value=100000
    )
    work_mode = forms.ChoiceField(choices=Posting.WorkMode.choices, initial="remote")
    location = forms.CharField(
        required=False, max_length=rules.MAX_LOCATION, help_text="For on-site and hybrid work."
    )
    mentoring = forms.ChoiceField(choices=Posting.Mentoring.choices, initial="light")
    openings = forms.IntegerField(
        min_value=1, max_value=rules.MAX_OPENINGS, initial=1, help_text="How many students."
    )
    application_deadline = forms.DateTimeField(widget=DateTimeInput())
    allowed_revisions = forms.IntegerField(min_value=0, max_value=rules.MAX_REVISIONS, initial=2)
    compensation = forms.ChoiceField(
        choices=Posting.Compensation.choices, widget=forms.RadioSelect, initial="paid"
    )
    amount = amount_field(
        label="Pay per assignment",
        help_text="The total per student in the currency beside it, e.g. 500.00 (or 50000 yen).",
    )
    currency = forms.ChoiceField(choices=[], initial="USD")
    credit_arrangement = forms.CharField(
        required=False,
        max_length=rules.MAX_CREDIT_ARRANGEMENT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For academic credit: who awards it, how much, and how.",
    )

    # rules' field names that this form shows under another name
    FIELD_NAMES = {"duration_hours": "duration_value"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in settings.SUPPORTED_CURRENCIES]

    @classmethod
    def initial_for(cls, posting: Posting) -> dict:
        value, unit = split_hours(posting.duration_hours)
        initial = {name: getattr(posting, name) for name in rules.POSTING_FIELDS}
        initial.update(
            duration_value=value,
            duration_unit=unit,
            amount=to_major(posting.amount, posting.currency) if posting.is_paid else None,
            skills=", ".join(skill.name for skill in posting.skills.all()),
        )
        for name in ("starts_at", "application_deadline"):
            from django.utils import timezone

            initial[name] = timezone.localtime(initial[name]).replace(tzinfo=None)
        return initial

    def clean(self):
        data = super().clean()
        data["amount_minor"] = minor_amount(self, "amount", data.get("currency") or "")
        return data

    def to_values(self, *, milestones=None, questions=None) -> rules.Values:
        data = self.cleaned_data
        fields: dict[str, Any] = {
            name: data.get(name)
            for name in rules.POSTING_FIELDS
            if name not in {"duration_hours", "amount"}
        }
        values = rules.Values(**fields)
        values.duration_hours = data["duration_value"] * UNIT_HOURS[data["duration_unit"]]
        values.amount = data.get("amount_minor", 0)
        values.skills = [s for s in (data.get("skills") or "").split(",") if s.strip()]
        values.milestones = milestones
        values.questions = questions
        for name in ("location", "credit_arrangement"):
            setattr(values, name, getattr(values, name) or "")
        return values

    def add_rule_errors(self, fields: dict[str, list[str]]) -> dict[str, list[str]]:
        """Put each rule's message beside its field; return those of other parts (milestones,
        questions) by name."""
        elsewhere: dict[str, list[str]] = {}
        for name, messages in fields.items():
            target = self.FIELD_NAMES.get(name, name)
            for message in messages:
                if target in self.fields:
                    self.add_error(target, message)
                else:
                    elsewhere.setdefault(name, []).append(message)
        return elsewhere


class MilestoneForm(forms.Form):
    """One milestone row, its amount in the posting's currency (``currency``, from the posting
    form on the same page)."""

    title = forms.CharField(max_length=rules.MAX_TITLE, required=False)
    due_value = forms.IntegerField(label="Due after", min_value=1, required=False)
    due_unit = forms.ChoiceField(label="Unit", choices=UNITS, initial="days", required=False)
    amount = amount_field()

    def __init__(self, *args, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean(self):
        data = super().clean()
        data["amount_minor"] = minor_amount(self, "amount", self.currency)
        return data

    def value(self) -> dict | None:
        data = self.cleaned_data
        if not data or not (data.get("title") or data.get("due_value")):
            return None  # an empty extra row
        return {
            "title": data.get("title") or "",
            "due_offset_hours": (data.get("due_value") or 0)
            * UNIT_HOURS[data.get("due_unit") or "days"],
            "amount": data.get("amount_minor", 0),
        }


class QuestionForm(forms.Form):
    text = forms.CharField(label="Question", max_length=rules.MAX_QUESTION_LENGTH, required=False)
    required = forms.BooleanField(label="Answer required", required=False, initial=True)

    def value(self) -> dict | None:
        data = self.cleaned_data
        if not data or not (data.get("text") or "").strip():
            return None
        return {"text": data["text"], "required": data.get("required", False)}


MilestoneFormSet = formset_factory(
    MilestoneForm, extra=2, max_num=rules.MAX_MILESTONES, validate_max=True
)
QuestionFormSet = formset_factory(
    QuestionForm, extra=2, max_num=rules.MAX_QUESTIONS, validate_max=True
)


def milestone_initial(posting: Posting) -> list[dict]:
    rows = []
    for m in posting.milestones.all():
        value, unit = split_hours(m.due_offset_hours)
        rows.append(
            {
                "title": m.title,
                "due_value": value,
                "due_unit": unit,
                "amount": to_major(m.amount, posting.currency),
            }
        )
    return rows


def question_initial(posting: Posting) -> list[dict]:
    return [{"text": q.text, "required": q.required} for q in posting.questions.all()]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this posting?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )


GOALS = [
    ("deep", "Deep experience in one organisation"),
    ("skill", "Try out or practise a skill quickly"),
    ("portfolio", "A finished piece for my portfolio"),
    ("earn", "Earn money around my studies"),
]


class FitForm(forms.Form):
    hours_per_week = forms.IntegerField(
        label="Hours per week you can work", min_value=1, max_value=60
    )
    goal = forms.ChoiceField(label="What you want most", choices=GOALS, widget=forms.RadioSelect)


class SavedSearchForm(forms.Form):
    """Save the search of the list page: its query string travels in a hidden field."""

    name = forms.CharField(
        max_length=80, help_text="For you: the digest e-mails and your list of searches use it."
    )
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
