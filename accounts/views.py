from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from marketplace.core.errors import DomainError

from . import services
from .forms import EmployerForm, InvitationForm, StudentProfileForm, TimeZoneForm
from .models import Invitation, StudentProfile, User
from .selectors import employer_for_user, is_owner


def student_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_student:
            raise PermissionDenied("This page is for students.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def employer_required(view):
    """The page is for members of an employer organisation; ``request.employer`` is theirs."""

    @login_required
    def wrapped(request, *args, **kwargs):
        employer = employer_for_user(request.user)
        if not request.user.is_employer or employer is None:
            raise PermissionDenied("This page is for employers.")
        request.employer = employer
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def account_panel(request):
    """The dashboard's first panel: who you are, and the way to your profile or organisation."""
    if not request.user.is_authenticated:
        return None
    return "accounts/panel.html", {"employer": employer_for_user(request.user)}


@student_required
def profile_edit(request):
    profile, _ = StudentProfile.objects.get_or_create(user=request.user)
    initial = {
        "full_name": request.user.full_name,
        "time_zone": request.user.time_zone,
        "school": profile.school,
        "programme": profile.programme,
        "graduation_year": profile.graduation_year,
        "skills": ", ".join(profile.skills),
        "hours_per_week": profile.hours_per_week,
        "bio": profile.bio,
        "portfolio_links": "\n".join(profile.portfolio_links),
        "record_public": profile.record_public,
    }
    form = StudentProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.student_profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile_form.html", {"form": form, "profile": profile})


@employer_required
def organisation(request):
    employer = request.employer
    owner = is_owner(user=request.user, employer=employer)
    return render(
        request,
        "accounts/organisation.html",
        {
            "employer": employer,
            "memberships": employer.memberships.select_related("user"),
            "invitations": employer.invitations.filter(accepted_at__isnull=True) if owner else [],
            "is_owner": owner,
            "invite_form": InvitationForm(),
        },
    )


@employer_required
def organisation_edit(request, pk: int):
    # Another organisation's edit page does not exist for this user: 404, not 403.
    if pk != request.employer.pk:
        raise Http404
    employer = request.employer
    form = EmployerForm(request.POST or None, request.FILES or None, instance=employer)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        services.employer_update(employer=employer, actor=request.user, **fields)
        messages.success(request, "The organisation is saved.")
        return redirect("accounts:organisation")
    return render(request, "accounts/organisation_form.html", {"form": form, "employer": employer})


@employer_required
@require_POST
def invitation_create(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                employer=request.employer, actor=request.user, email=form.cleaned_data["email"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            services_send_invitation(request, invitation)
            messages.success(request, f"Invitation sent to {invitation.email}.")
    else:
        messages.error(request, "; ".join(form.errors.get("email", ["Enter a valid e-mail."])))
    return redirect("accounts:organisation")


def services_send_invitation(request, invitation: Invitation) -> None:
    from django.core.mail import send_mail
    from django.urls import reverse

    link = request.build_absolute_uri(reverse("accounts:invitation", args=[invitation.token]))
    send_mail(
        subject=f"{invitation.invited_by} invites you to {invitation.employer} on Micro-internships",
        message=(
            f"You are invited to join {invitation.employer} as a colleague.\n\n"
            f"Accept the invitation: {link}\n\nThe link is valid for 14 days."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_accept(request, token: str):
    invitation = get_object_or_404(Invitation.objects.select_related("employer"), token=token)
    if not request.user.is_authenticated:
        messages.info(
            request, f"Sign up or log in with {invitation.email} to join {invitation.employer}."
        )
        return redirect(f"{_login_url()}?next={request.path}")
    if request.method == "POST":
        try:
            services.invitation_accept(invitation=invitation, user=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"You joined {invitation.employer}.")
            return redirect("accounts:organisation")
    return render(request, "accounts/invitation.html", {"invitation": invitation})


def _login_url() -> str:
    from django.urls import reverse

    return reverse("account_login")


@login_required
def account_settings(request):
    form = TimeZoneForm(
        request.POST or None,
        initial={"full_name": request.user.full_name, "time_zone": request.user.time_zone},
    )
    if request.method == "POST" and form.is_valid():
        user: User = request.user
        user.full_name = form.cleaned_data["full_name"]
        user.time_zone = form.cleaned_data["time_zone"]
        user.save(update_fields=["full_name", "time_zone"])
        messages.success(request, "Your settings are saved.")
        return redirect("accounts:settings")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/settings.html", {"form": form, "token": token})


@login_required
@require_POST
def token_create(request):
    Token.objects.filter(user=request.user).delete()
    token = Token.objects.create(user=request.user)
    messages.success(
        request,
        "A new API token was created. Copy it now; it is shown on this page until you revoke it.",
    )
    del token
    return redirect("accounts:settings")


@login_required
@require_POST
def token_revoke(request):
    Token.objects.filter(user=request.user).delete()
    messages.success(request, "Your API token was revoked.")
    return redirect("accounts:settings")
