from django import forms
from django.conf import settings
from django.core.validators import URLValidator

from .models import Employer, User, validate_time_zone


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form: the role, and for employers the organisation."""

    full_name = forms.CharField(max_length=150, label="Your name")
    role = forms.ChoiceField(
        choices=User.Role.choices,
        widget=forms.RadioSelect,
        initial=User.Role.STUDENT,
        label="I am signing up as",
    )
    organisation_name = forms.CharField(
        max_length=150,
        required=False,
        label="Organisation name",
        help_text="Employers only: your company or organisation.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == User.Role.EMPLOYER and not cleaned.get("organisation_name"):
            self.add_error("organisation_name", "Employers need the organisation's name.")
        return cleaned

    def signup(self, request, user):
        from .services import user_setup_role

        user.full_name = self.cleaned_data["full_name"]
        user.save(update_fields=["full_name"])
        user_setup_role(
            user=user,
            role=self.cleaned_data["role"],
            organisation_name=self.cleaned_data.get("organisation_name", ""),
        )


class StudentProfileForm(forms.Form):
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
    time_zone = forms.CharField(
        max_length=64, help_text="For example Europe/Berlin or America/Toronto."
    )
    bio = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)
    portfolio_links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One link per line (http:// or https://).",
    )
    record_public = forms.BooleanField(
        required=False, label="Make my record of completed work public"
    )

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        validate_time_zone(value)
        return value

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
                raise forms.ValidationError(f"“{link}” is not a valid web address.") from exc
        return links


class EmployerForm(forms.ModelForm):
    website = forms.URLField(required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = Employer
        fields = ["name", "website", "description", "logo"]

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and getattr(logo, "size", 0) > settings.MAX_LOGO_BYTES:
            raise forms.ValidationError(
                f"The logo may be at most {settings.MAX_LOGO_BYTES // 1024} KB."
            )
        return logo


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Colleague's e-mail address")


class TimeZoneForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    time_zone = forms.CharField(max_length=64, help_text="For example Europe/Berlin.")

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        validate_time_zone(value)
        return value
