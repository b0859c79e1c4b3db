"""Forms parse the browser's input; the services decide. A ``DomainError`` from a service is put
back on the form beside the field it names (``add_domain_error``)."""

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from marketplace.core.errors import DomainError
from marketplace.core.widgets import upload_limits
from postings.models import Posting

from .models import Dispute


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    placed = False
    for field, messages in (exc.fields or {}).items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; each is checked by the service (type, size, count)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        items = data if isinstance(data, list | tuple) else [data]
        # Emptiness, size and type are the service's job (it names the file in its message);
        # here only check that each item is an uploaded file at all.
        if not all(isinstance(item, UploadedFile) for item in items):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return list(items)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ApplyForm(forms.Form):
    cover_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Why you, for this work: what you have done that is like it.",
    )
    portfolio_links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Up to 5 links (GitHub, a portfolio, a project), one per line.",
    )
    cv = forms.FileField(required=False, label="CV (optional)")

    def __init__(self, *args, posting: Posting, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(posting.questions.all())
        low, high = settings.APPLICATION_COVER_NOTE_MIN, settings.APPLICATION_COVER_NOTE_MAX
        self.fields["cover_note"] = forms.CharField(
            min_length=low,
            max_length=high,
            widget=forms.Textarea(attrs={"rows": 8}),
            help_text=(
                "Why you, for this work: what you have done that is like it. "
                f"Between {low} and {high} characters."
            ),
        )
        self.fields["cv"].help_text = (
            f"{', '.join(t.upper() for t in settings.CV_ALLOWED_TYPES)}, "
            f"up to {settings.CV_MAX_BYTES // 1_048_576} MB."
        )
        from .uploads import TYPES

        cv_extensions = [
            ext for kind in settings.CV_ALLOWED_TYPES if kind in TYPES for ext in TYPES[kind][0]
        ]
        self.fields["cv"].widget.attrs["accept"] = ",".join(cv_extensions)
        self.fields["cv"].widget.attrs.update(
            upload_limits(max_bytes=settings.CV_MAX_BYTES, extensions=cv_extensions)
        )
        for question in self.questions:
            self.fields[f"answer_{question.pk}"] = forms.CharField(
                label=question.text,
                required=question.required,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="" if question.required else "Optional.",
            )

    def answers(self) -> dict[str, str]:
        return {str(q.pk): self.cleaned_data.get(f"answer_{q.pk}", "") for q in self.questions}

    def links(self) -> list[str]:
        return _lines(self.cleaned_data.get("portfolio_links", ""))


class RejectForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Message to the student (optional)",
    )


class OfferForm(forms.Form):
    expires_at = forms.DateTimeField(
        required=False,
        label="Answer by",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for the default answer window (never later than the start).",
    )


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SubmissionForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What you deliver, how to read it, anything the reviewer should know.",
    )
    links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Links to the work (a repository, a shared document), one per line.",
    )
    # A declared field, taken off the class by Django (the form's ``files`` stays the uploads).
    files = MultipleFileField(required=False)  # type: ignore[assignment]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .uploads import TYPES

        allowed = [
            ext for kind in settings.UPLOAD_ALLOWED_TYPES if kind in TYPES for ext in TYPES[kind][0]
        ]
        self.fields["files"].help_text = (
            f"Up to {settings.UPLOAD_MAX_FILES} files of at most "
            f"{settings.UPLOAD_MAX_BYTES // 1_048_576} MB each: {', '.join(allowed)}."
        )
        self.fields["files"].widget.attrs["accept"] = ",".join(allowed)
        self.fields["files"].widget.attrs.update(
            upload_limits(
                max_bytes=settings.UPLOAD_MAX_BYTES,
                max_files=settings.UPLOAD_MAX_FILES,
                extensions=allowed,
            )
        )

    def link_list(self) -> list[str]:
        return _lines(self.cleaned_data.get("links", ""))


class RevisionForm(forms.Form):
    feedback = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What should change: the student sees this with the request.",
    )


class DisputeForm(forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What went wrong. Staff read the thread and the deliverables and decide.",
    )


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(i, f"{i} / 5") for i in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        label="Your rating",
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown once both sides have rated or the rating window has closed.",
    )


class ReInviteForm(forms.Form):
    posting = forms.ModelChoiceField(queryset=Posting.objects.none(), label="Posting")
    message = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, employer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["posting"].queryset = (
            Posting.objects.taking_applications()
            .filter(employer=employer)
            .order_by("-published_at")
        )


class DisputeResolveForm(forms.Form):
    """The admin's decision form (see ``admin.py``)."""

    resolution = forms.ChoiceField(choices=Dispute.Resolution.choices)
    student_amount = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="For a split: the student's part, in minor units (cents).",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
