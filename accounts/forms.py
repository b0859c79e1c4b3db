import zoneinfo

from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import ChangePasswordForm as AllauthChangePasswordForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import ResetPasswordKeyForm as AllauthResetPasswordKeyForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.db import transaction

from marketplace.core.widgets import upload_limits

from .models import Employer, Invitation, User
from .selectors import email_is_taken, invitation_by_token

# The invitation a logged-out visitor followed; the sign-up form joins them to its organisation.
INVITATION_SESSION_KEY = "accounts_invitation_token"


# The short list people choose from: one well-known city per commonly used zone, by region.
# Any other valid zone (the browser's at sign-up, or one set through the API) is kept and shown
# too, so nobody's setting is lost by editing their profile.
COMMON_TIME_ZONES: dict[str, list[tuple[str, str]]] = {
    "Americas": [
        ("Pacific/Honolulu", "Honolulu"),
        ("America/Anchorage", "Anchorage"),
        ("America/Los_Angeles", "Los Angeles, Vancouver"),
        ("America/Denver", "Denver, Calgary"),
        ("America/Phoenix", "Phoenix"),
        ("America/Chicago", "Chicago, Winnipeg"),
        ("America/Mexico_City", "Mexico City"),
        ("America/New_York", "New York, Toronto"),
        ("America/Bogota", "Bogotá, Lima"),
        ("America/Halifax", "Halifax"),
        ("America/Santiago", "Santiago"),
        ("America/Sao_Paulo", "São Paulo"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires"),
    ],
    "Europe and Africa": [
        ("Atlantic/Azores", "Azores"),
        ("Europe/London", "London, Dublin"),
        ("Europe/Lisbon", "Lisbon"),
        ("Africa/Lagos", "Lagos"),
        ("Europe/Paris", "Paris, Madrid, Brussels"),
        ("Europe/Berlin", "Berlin, Amsterdam, Rome"),
        ("Europe/Warsaw", "Warsaw, Prague"),
        ("Africa/Johannesburg", "Johannesburg"),
        ("Africa/Cairo", "Cairo"),
        ("Europe/Athens", "Athens, Helsinki, Kyiv"),
        ("Europe/Istanbul", "Istanbul"),
        ("Africa/Nairobi", "Nairobi"),
        ("Europe/Moscow", "Moscow"),
    ],
    "Asia and Pacific": [
        ("Asia/Dubai", "Dubai"),
        ("Asia/Karachi", "Karachi"),
        ("Asia/Kolkata", "India (Kolkata, Mumbai)"),
        ("Asia/Dhaka", "Dhaka"),
        ("Asia/Bangkok", "Bangkok, Jakarta"),
        ("Asia/Singapore", "Singapore, Kuala Lumpur"),
        ("Asia/Shanghai", "Beijing, Shanghai"),
        ("Asia/Hong_Kong", "Hong Kong"),
        ("Asia/Tokyo", "Tokyo"),
        ("Asia/Seoul", "Seoul"),
        ("Australia/Perth", "Perth"),
        ("Australia/Sydney", "Sydney, Melbourne"),
        ("Pacific/Auckland", "Auckland"),
    ],
}


def time_zone_choices(current: str = "") -> list:
    """UTC, the short list by region, and ``current`` when it is a valid zone not on the list."""
    choices: list = [("UTC", "UTC (Coordinated Universal Time)")]
    listed = {name for group in COMMON_TIME_ZONES.values() for name, _ in group}
    if current and current not in listed and current != "UTC" and is_time_zone(current):
        choices.append((current, current.replace("_", " ")))
    choices += [(region, zones) for region, zones in COMMON_TIME_ZONES.items()]
    return choices


def is_time_zone(name: str) -> bool:
    return name in zoneinfo.available_timezones()


class TimeZoneFormMixin:
    """Shows the user's own zone in the short list when it is not on it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.data.get("time_zone") or self.initial.get("time_zone") or ""
        self.fields["time_zone"].show_current(current)


class TimeZoneField(forms.ChoiceField):
    """A short list to choose from; any valid IANA zone is accepted (the browser may send one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Dates and deadlines are shown in this time zone.")
        super().__init__(choices=time_zone_choices, **kwargs)

    def show_current(self, current: str) -> None:
        self.choices = time_zone_choices(current)

    def valid_value(self, value) -> bool:
        return is_time_zone(str(value))


def pending_invitation(request) -> Invitation | None:
    """The open invitation whose link this browser followed, if any."""
    if request is None or not hasattr(request, "session"):
        return None
    invitation = invitation_by_token(request.session.get(INVITATION_SESSION_KEY, ""))
    return invitation if invitation is not None and invitation.is_open else None


class LoginForm(AllauthLoginForm):
    """allauth's login form, with the site's wording."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "E-mail address"
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)
        if "remember" in self.fields:
            self.fields["remember"].label = "Remember me"


def _relabel(form: forms.Form, labels: dict[str, str]) -> None:
    """allauth's Title Case labels and placeholders in the site's sentence case."""
    for name, label in labels.items():
        if name in form.fields:
            form.fields[name].label = label
            form.fields[name].widget.attrs.pop("placeholder", None)


class ChangePasswordForm(AllauthChangePasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(
            self,
            {
                "oldpassword": "Current password",
                "password1": "New password",
                "password2": "New password (again)",
            },
        )


class ResetPasswordForm(AllauthResetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"email": "E-mail address"})


class ResetPasswordKeyForm(AllauthResetPasswordKeyForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"password1": "New password", "password2": "New password (again)"})


class AddEmailForm(AllauthAddEmailForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"email": "E-mail address"})


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form plus the role, the name and, for employers, the organisation.

    A visitor who followed a colleague's invitation signs up as an employer with the invited
    address and joins that organisation instead of creating one.
    """

    role = forms.ChoiceField(
        choices=User.Role.choices,
        widget=forms.RadioSelect,
        initial=User.Role.STUDENT,
        label="I am signing up as",
    )
    full_name = forms.CharField(max_length=150, label="Your name")
    organisation_name = forms.CharField(
        max_length=150,
        required=False,
        label="Organisation name",
        help_text="Employers only: your company or organisation.",
    )
    # Filled in by the browser (accounts-signup.js) from Intl's resolved time zone; a missing or
    # unknown value means UTC, which the user can change in their settings.
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    field_order = ["role", "full_name", "email", "organisation_name", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail address"
        self.fields["email"].widget.attrs.pop("placeholder", None)
        self.fields["role"].choices = [
            (User.Role.STUDENT, "Student: I want to find paid project work"),
            (User.Role.EMPLOYER, "Employer: I want to post projects"),
        ]
        self.invitation = pending_invitation(allauth_context.request)
        if self.invitation is not None:
            self.fields[
                "organisation_name"
            ].help_text = f"Leave empty to join {self.invitation.employer.name}, which invited you."
            if not self.is_bound:
                self.initial.update(email=self.invitation.email, role=User.Role.EMPLOYER)

    def validate_unique_email(self, value):
        # allauth hides a taken address (enumeration protection) and sends a notice instead;
        # here the sign-up form says so plainly, as the product asks. Sign-ups are rate limited
        # per IP, and password reset still does not reveal which addresses have accounts.
        if email_is_taken(value):
            raise forms.ValidationError(
                "An account with this e-mail address exists already. Log in, or reset your "
                "password if you forgot it."
            )
        return super().validate_unique_email(value)

    def joins_invitation(self) -> bool:
        email = (self.cleaned_data.get("email") or "").lower()
        return (
            self.invitation is not None
            and self.cleaned_data.get("role") == User.Role.EMPLOYER
            and email == self.invitation.email.lower()
            and not self.cleaned_data.get("organisation_name")
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") != User.Role.EMPLOYER:
            cleaned["organisation_name"] = ""
        elif not cleaned.get("organisation_name") and not self.joins_invitation():
            if self.invitation is not None and "email" in cleaned:
                self.add_error(
                    "email",
                    f"The invitation to {self.invitation.employer.name} is for "
                    f"{self.invitation.email}. Sign up with that address to join, or name "
                    "your own organisation.",
                )
            else:
                self.add_error("organisation_name", "Employers need the organisation's name.")
        return cleaned

    def cleaned_time_zone(self) -> str:
        name = (self.cleaned_data.get("time_zone") or "").strip()
        return name if is_time_zone(name) else "UTC"

    def try_save(self, request):
        # The user, their role, profile or organisation, and their e-mail address are written
        # together or not at all.
        with transaction.atomic():
            return super().try_save(request)

    def custom_signup(self, request, user):
        from .services import user_signup_complete

        invitation = self.invitation if self.joins_invitation() else None
        user_signup_complete(
            user=user,
            role=self.cleaned_data["role"],
            full_name=self.cleaned_data["full_name"],
            organisation_name=self.cleaned_data.get("organisation_name", ""),
            invitation=invitation,
            time_zone=self.cleaned_time_zone(),
        )
        if invitation is not None:
            request.session.pop(INVITATION_SESSION_KEY, None)


class StudentProfileForm(TimeZoneFormMixin, forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    school = forms.CharField(max_length=200, required=False)
    programme = forms.CharField(max_length=200, required=False, label="Programme of study")
    graduation_year = forms.IntegerField(min_value=1950, max_value=2100, required=False)
    skills = forms.CharField(
        max_length=1000,
        required=False,
        help_text="Comma-separated, e.g. python, data analysis, figma.",
    )
    hours_per_week = forms.IntegerField(min_value=1, max_value=80, label="Hours per week available")
    time_zone = TimeZoneField()
    bio = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 5}))
    portfolio_links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One link per line (http:// or https://).",
    )
    record_public = forms.BooleanField(
        required=False, label="Make my record of completed work public"
    )

    def clean_portfolio_links(self):
        validate = URLValidator(schemes=["http", "https"])
        links = [
            line.strip()
            for line in self.cleaned_data["portfolio_links"].splitlines()
            if line.strip()
        ]
        if len(links) > 10:
            raise forms.ValidationError("At most 10 links.")
        for link in links:
            if len(link) > 500:
                raise forms.ValidationError("A link may have at most 500 characters.")
            try:
                validate(link)
            except forms.ValidationError as exc:
                raise forms.ValidationError(
                    f"“{link}” is not a valid web address (start it with https://)."
                ) from exc
        return links


WEB_ADDRESS_ERROR = "Enter a valid web address, e.g. https://example.com."
# The image types clean_logo accepts, by the extensions a browser can check before sending.
LOGO_EXTENSIONS = [".png", ".jpg", ".jpeg", ".gif", ".webp"]


class EmployerForm(forms.ModelForm):
    website = forms.URLField(
        required=False,
        max_length=200,
        assume_scheme="https",
        # Only web links: the address is shown as a link on the public page.
        validators=[URLValidator(schemes=["http", "https"], message=WEB_ADDRESS_ERROR)],
        error_messages={"invalid": WEB_ADDRESS_ERROR},
    )

    class Meta:
        model = Employer
        fields = ["name", "website", "description", "logo"]
        labels = {"name": "Organisation name"}
        help_texts = {"logo": "A PNG, JPEG, GIF or WebP image of at most 2 MB."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit_kb = settings.MAX_LOGO_BYTES // 1024
        self.fields["logo"].help_text = (
            f"A PNG, JPEG, GIF or WebP image of at most {limit_kb} KB."
            if limit_kb < 1024
            else f"A PNG, JPEG, GIF or WebP image of at most {limit_kb // 1024} MB."
        )
        self.fields["logo"].widget.attrs["accept"] = "image/png,image/jpeg,image/gif,image/webp"
        self.fields["logo"].widget.attrs.update(
            upload_limits(max_bytes=settings.MAX_LOGO_BYTES, extensions=LOGO_EXTENSIONS)
        )

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and getattr(logo, "size", 0) > settings.MAX_LOGO_BYTES:
            raise forms.ValidationError(
                f"The logo may be at most {settings.MAX_LOGO_BYTES // 1024} KB; "
                f"this file has {logo.size // 1024} KB."
            )
        image = getattr(logo, "image", None)  # set by ImageField for a fresh upload
        if image is not None and image.format not in {"PNG", "JPEG", "GIF", "WEBP"}:
            raise forms.ValidationError("Upload a PNG, JPEG, GIF or WebP image.")
        return logo


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Colleague's e-mail address")


class AccountSettingsForm(TimeZoneFormMixin, forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    time_zone = TimeZoneField()


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What uses it, e.g. “Timesheet sync on my laptop”.",
    )
