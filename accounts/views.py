import mimetypes
from functools import wraps

from allauth.account.adapter import get_adapter
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from marketplace.core.errors import DomainError, NotPermitted
from marketplace.core.http import require_form_page

from . import selectors, services
from .authentication import recently_logged_in
from .forms import (
    INVITATION_SESSION_KEY,
    AccountSettingsForm,
    ApiTokenForm,
    EmployerForm,
    InvitationForm,
    StudentProfileForm,
)
from .models import Employer


def student_required(view):
    """The page is for students; anyone else gets 403 (anonymous visitors: the login page)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_student:
            raise PermissionDenied("This page is for students.")
        return view(request, *args, **kwargs)

    return wrapped


def employer_required(view):
    """The page is for members of an employer organisation; ``request.employer`` is theirs."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        employer = selectors.employer_for_user(request.user)
        if not request.user.is_employer or employer is None:
            raise PermissionDenied("This page is for employers.")
        request.employer = employer
        return view(request, *args, **kwargs)

    return wrapped


# Dashboard panels (``marketplace.core.panels``) for one kind of user: anyone else gets None,
# which leaves the panel out of their dashboard.


def _panel_for(kind: str):
    """A panel shown to users whose ``kind`` (``is_student``, ``is_staff``) is true."""

    def decorator(panel):
        @wraps(panel)
        def wrapped(request):
            user = request.user
            return panel(request) if user.is_authenticated and getattr(user, kind) else None

        return wrapped

    return decorator


panel_for_students = _panel_for("is_student")
panel_for_staff = _panel_for("is_staff")


def panel_for_employers(panel):
    """The panel is called as ``panel(request, employer)`` for members of an organisation."""

    @wraps(panel)
    def wrapped(request):
        user = request.user
        if not user.is_authenticated or not user.is_employer:
            return None
        employer = selectors.employer_for_user(user)
        return panel(request, employer) if employer is not None else None

    return wrapped


def account_panel(request):
    """The dashboard's first panel: who you are, and the way to your profile or organisation."""
    if not request.user.is_authenticated:
        return None
    user = request.user
    # The panel shows the organisation to employers only: nobody else's is looked up.
    employer = selectors.employer_for_user(user) if user.is_employer else None
    return "accounts/panel.html", {"employer": employer}


# --- Student profile --------------------------------------------------------------------------


@require_form_page
@student_required
def profile_edit(request):
    profile = selectors.student_profile_for(request.user)
    initial = {"full_name": request.user.full_name, "time_zone": request.user.time_zone}
    if profile is not None:
        initial.update(
            school=profile.school,
            programme=profile.programme,
            graduation_year=profile.graduation_year,
            skills=", ".join(profile.skills),
            hours_per_week=profile.hours_per_week,
            bio=profile.bio,
            portfolio_links="\n".join(profile.portfolio_links),
            record_public=profile.record_public,
        )
    else:
        initial["hours_per_week"] = 10
    form = StudentProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.student_profile_update(user=request.user, actor=request.user, **form.cleaned_data)
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile_form.html", {"form": form, "profile": profile})


# --- Organisations ----------------------------------------------------------------------------


@require_safe
@employer_required
def organisation(request):
    employer = request.employer
    owner = selectors.is_owner(user=request.user, employer=employer)
    return render(
        request,
        "accounts/organisation.html",
        {
            "employer": employer,
            "memberships": selectors.employer_members(employer),
            "invitations": selectors.open_invitations(employer) if owner else [],
            "is_owner": owner,
            "invite_form": InvitationForm(),
        },
    )


@require_form_page
@employer_required
def organisation_edit(request, pk: int):
    # Another organisation's edit page does not exist for this user: 404, not 403.
    if pk != request.employer.pk:
        raise Http404("No such organisation.")
    employer = request.employer
    form = EmployerForm(request.POST or None, request.FILES or None, instance=employer)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if fields.get("logo") is False:  # "clear" ticked: no logo
            fields["logo"] = ""
        # The form has already applied its values to the instance; the service saves the
        # organisation as it is in the database plus these changes.
        employer.refresh_from_db()
        services.employer_update(employer=employer, actor=request.user, **fields)
        messages.success(request, "The organisation is saved.")
        return redirect("accounts:organisation")
    if request.method == "POST":
        employer.refresh_from_db()  # the page title shows the saved name, not the rejected one
    return render(request, "accounts/organisation_form.html", {"form": form, "employer": employer})


@require_safe
def employer_detail(request, pk: int):
    """The public page of an organisation, for students deciding whether to apply."""
    employer = get_object_or_404(Employer, pk=pk)
    return render(request, "accounts/employer_detail.html", {"employer": employer})


@require_safe
def employer_logo(request, pk: int):
    """The organisation's logo, served by the application so that it works without a media
    server; the upload was checked to be a real image of an allowed type."""
    employer = get_object_or_404(Employer, pk=pk)
    name = employer.logo.name
    if not name:
        raise Http404("No logo.")
    if not isinstance(employer.logo.storage, FileSystemStorage):
        # In the bucket (marketplace.core.storage): the browser fetches it from there.
        return HttpResponseRedirect(employer.logo.url)
    try:
        handle = employer.logo.storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404("No logo.") from exc
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if not content_type.startswith("image/") or content_type == "image/svg+xml":
        content_type = "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- Invitations ------------------------------------------------------------------------------


@require_POST
@employer_required
def invitation_create(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["email"]))
        return redirect("accounts:organisation")
    try:
        invitation = services.invitation_create(
            employer=request.employer,
            actor=request.user,
            email=form.cleaned_data["email"],
            base_url=request.build_absolute_uri("/"),
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("accounts:organisation")


@require_form_page
def invitation_accept(request, token: str):
    """The link from the invitation e-mail.

    A logged-out visitor may sign up (the invitation waits in the session and the sign-up joins
    them) or log in and come back here to accept.
    """
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        raise Http404("No such invitation.")
    if not request.user.is_authenticated:
        if invitation.is_open:
            request.session[INVITATION_SESSION_KEY] = invitation.token
            # The link reached this mailbox, so the address needs no second confirmation.
            get_adapter(request).stash_verified_email(request, invitation.email)
        return render(
            request,
            "accounts/invitation.html",
            {
                "invitation": invitation,
                "login_url": f"{reverse('account_login')}?next={request.path}",
            },
        )
    status = 200
    error = None
    if request.method == "POST":
        try:
            services.invitation_accept(invitation=invitation, user=request.user)
        except DomainError as exc:
            error = exc.message
            status = exc.status_code
        else:
            request.session.pop(INVITATION_SESSION_KEY, None)
            messages.success(request, f"You are a member of {invitation.employer.name}.")
            return redirect("accounts:organisation")
    return render(
        request,
        "accounts/invitation.html",
        {"invitation": invitation, "error": error},
        status=status,
    )


# --- Account settings and the personal API tokens ---------------------------------------------


def _settings_page(request, form, *, token_form=None, new_key=None, status=200):
    return render(
        request,
        "accounts/settings.html",
        {
            "form": form,
            "tokens": selectors.api_tokens_of(request.user),
            "token_form": token_form or ApiTokenForm(),
            "new_key": new_key,
            "mfa_enabled": is_mfa_enabled(request.user),
        },
        status=status,
    )


@require_form_page
@login_required
def account_settings(request):
    form = AccountSettingsForm(
        request.POST or None,
        initial={"full_name": request.user.full_name, "time_zone": request.user.time_zone},
    )
    if request.method == "POST" and form.is_valid():
        services.user_update(user=request.user, actor=request.user, **form.cleaned_data)
        messages.success(request, "Your settings are saved.")
        return redirect("accounts:settings")
    return _settings_page(request, form)


def _initial_settings_form(request):
    return AccountSettingsForm(
        initial={"full_name": request.user.full_name, "time_zone": request.user.time_zone}
    )


@require_POST
@login_required
def token_create(request):
    """A new named token, shown on this answer only (never stored in a message or a cookie).
    Only a recent log-in may make one: allauth asks for the password (or a code) again."""
    if not recently_logged_in(request):
        raise ReauthenticationRequired()
    token_form = ApiTokenForm(request.POST)
    if not token_form.is_valid():
        return _settings_page(request, _initial_settings_form(request), token_form=token_form)
    try:
        _token, key = services.api_token_create(
            user=request.user, actor=request.user, name=token_form.cleaned_data["name"]
        )
    except DomainError as exc:
        token_form.add_error(None, exc.message)
        return _settings_page(
            request, _initial_settings_form(request), token_form=token_form, status=400
        )
    response = _settings_page(request, _initial_settings_form(request), new_key=key)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def token_revoke(request, pk: int):
    token = selectors.api_token_get(pk=pk, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("accounts:settings")
