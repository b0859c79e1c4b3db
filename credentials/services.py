"""Every write of the credentials app: issue, re-issue, hide, revoke; the supervisor's sign-off.

Issuing is idempotent (one active credential per assignment, under the assignment's row lock),
so the completion hook, the backfill command and a retried task may all call it.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from applications.models import Assignment
from applications.selectors import ratings_visible
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted, status_move
from notifications.services import notify
from postings.rules import describe_hours

from . import documents, keys
from .identity import SITE_NAME, SUPERVISOR_SALT, canonical
from .models import Credential, SupervisorSignOff

logger = logging.getLogger(__name__)


def status_list_location(index: int) -> tuple[str, int]:
    """The status list URL holding credential ``index`` and the position in it."""
    number, position = divmod(index, documents.STATUS_LIST_BITS)
    return canonical(reverse("credentials:status_list", args=[number])), position


def _facts(assignment: Assignment, credential: Credential, *, include_rating: bool):
    posting = assignment.posting
    list_url, position = status_list_location(credential.pk)
    rating = None
    if include_rating:
        shown = ratings_visible(assignment=assignment, role=None)["by_employer"]
        rating = shown.score if shown is not None else None
    if assignment.completed_at is None:
        # Set with the status by assignment_complete: only completed work is credited.
        raise ValueError(f"Assignment {assignment.pk} has not been completed.")
    sign_off = getattr(assignment, "supervisor_sign_off", None)
    sign_off_facts = None
    if sign_off is not None and sign_off.status == SupervisorSignOff.Status.SIGNED_OFF:
        sign_off_facts = documents.SignOffFacts(
            supervisor_name=sign_off.supervisor_name,
            institution=sign_off.institution,
            decided_at=sign_off.decided_at,
        )
    return documents.CredentialFacts(
        credential_url=canonical(reverse("credentials:detail", args=[credential.public_id])),
        issuer_url=canonical(reverse("credentials:issuer")),
        site_name=SITE_NAME,
        site_url=settings.SITE_URL,
        achievement_url=canonical(reverse("postings:detail", args=[posting.pk])),
        title=posting.title,
        format_label=posting.get_format_display(),
        time_box=describe_hours(posting.duration_hours),
        effort_hours=posting.effort_hours,
        acceptance_criteria=posting.acceptance_criteria,
        skills=[skill.name for skill in posting.skills.all()],
        employer_name=posting.employer.name,
        employer_url=canonical(reverse("accounts:employer_detail", args=[posting.employer_id])),
        credit=not assignment.is_paid,
        student_name=assignment.student.display_name,
        email=assignment.student.email,
        salt=secrets.token_hex(16),
        started_at=assignment.starts_at,
        completed_at=assignment.completed_at,
        issued_at=credential.issued_at,
        valid_until=credential.valid_until,
        status_list_url=list_url,
        status_index=position,
        rating=rating,
        sign_off=sign_off_facts,
        milestones=[m.title for m in assignment.milestones.all()],
    )


def _sign_new(assignment: Assignment, *, include_rating: bool, hidden: bool) -> Credential:
    """Create, fill and sign a new active credential for ``assignment`` (caller holds the lock)."""
    key = keys.signing_key()
    now = timezone.now()
    days = settings.CREDENTIALS_VALID_DAYS
    credential = Credential.objects.create(
        assignment=assignment,
        student=assignment.student,
        issued_at=now,
        valid_until=now + timedelta(days=days) if days else None,
        hidden=hidden,
        jwt="",
        document={},
        kid=key["kid"],
    )
    facts = _facts(assignment, credential, include_rating=include_rating)
    credential.document = documents.achievement_credential(facts)
    credential.jwt = documents.vc_jwt(credential.document, key)
    credential.includes_rating = facts.rating is not None
    credential.includes_sign_off = facts.sign_off is not None
    credential.save(update_fields=["document", "jwt", "includes_rating", "includes_sign_off"])
    return credential


def _locked_assignment(assignment_id: int) -> Assignment:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("posting__employer", "student")
        .get(pk=assignment_id)
    )


def credential_issue(*, assignment_id: int) -> Credential | None:
    """The active credential of a completed assignment, issued now if it has none yet."""
    with transaction.atomic():
        assignment = _locked_assignment(assignment_id)
        if assignment.status != Assignment.Status.COMPLETED:
            return None
        current = assignment.credentials.filter(status=Credential.Status.ACTIVE).first()
        if current is not None:
            return current
        if assignment.credentials.filter(status=Credential.Status.REVOKED).exists():
            return None  # the student revoked it: never issued again
        credential = _sign_new(assignment, include_rating=False, hidden=False)
        audit(action="credential.issued", target=credential, kid=credential.kid)
        notify(
            recipient=assignment.student,
            kind="credential.issued",
            title=f"Your credential for “{assignment.posting.title}” is ready",
            dedupe_key=f"credential:assignment:{assignment.pk}:issued",
            link=reverse("credentials:mine"),
        )
        return credential


def _reissue(assignment_id: int, *, include_rating: bool | None, action: str, actor=None):
    """Replace the active credential by a new version (rating and sign-off as they are now)."""
    assignment = _locked_assignment(assignment_id)
    old = assignment.credentials.select_for_update().filter(status="active").first()
    if old is None:
        return None
    if include_rating is None:
        include_rating = old.includes_rating
    status_move(old, Credential.Status.SUPERSEDED, "credential")
    old.save(update_fields=["status"])
    new = _sign_new(assignment, include_rating=include_rating, hidden=old.hidden)
    old.superseded_by = new
    old.revoked_at = timezone.now()
    old.save(update_fields=["superseded_by", "revoked_at"])
    audit(action=action, target=new, actor=actor, replaces=str(old.public_id))
    return new


def _own_active(credential: Credential, actor: User) -> Credential:
    """Lock ``credential`` and check that ``actor`` owns it."""
    if credential.student_id != getattr(actor, "pk", None):
        raise NotPermitted("Only the student a credential was issued to may change it.")
    return Credential.objects.select_for_update().get(pk=credential.pk)


def credential_set_rating_shown(*, credential: Credential, actor: User, show: bool) -> Credential:
    """Re-issue with (or without) the employer's published rating, as the student chooses."""
    with transaction.atomic():
        locked = _own_active(credential, actor)
        if locked.status != Credential.Status.ACTIVE:
            raise DomainError("Only a valid credential can be changed.", code="not_active")
        if show and ratings_visible(assignment=locked.assignment, role=None)["by_employer"] is None:
            raise DomainError("The employer's rating is not published yet.", code="no_rating")
        if locked.includes_rating == show:
            return locked
        action = "credential.rating_shown" if show else "credential.rating_hidden"
        return _reissue(locked.assignment_id, include_rating=show, action=action, actor=actor)


def credential_set_hidden(*, credential: Credential, actor: User, hidden: bool) -> Credential:
    """Hide the credential from the public record and its public page (or show it again)."""
    with transaction.atomic():
        locked = _own_active(credential, actor)
        if locked.hidden == hidden:
            return locked
        locked.hidden = hidden
        locked.save(update_fields=["hidden"])
        audit(
            action="credential.hidden" if hidden else "credential.shown", target=locked, actor=actor
        )
        return locked


def credential_revoke(*, credential: Credential, actor: User) -> Credential:
    """Revoke for good: the status list marks it, so every copy stops verifying."""
    with transaction.atomic():
        locked = _own_active(credential, actor)
        if locked.status == Credential.Status.REVOKED:
            return locked
        status_move(locked, Credential.Status.REVOKED, "credential")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["status", "revoked_at"])
        audit(action="credential.revoked", target=locked, actor=actor)
        return locked


# --- Academic credit: the supervisor's sign-off -------------------------------------------------


def supervisor_link(sign_off: SupervisorSignOff) -> str:
    token = signing.dumps([sign_off.pk, sign_off.link_nonce], salt=SUPERVISOR_SALT)
    return canonical(reverse("credentials:supervisor", args=[token]))


def assignment_completed(*, assignment_id: int) -> None:
    """The completion hook: issue the credential, then ask a named supervisor to sign off."""
    credential_issue(assignment_id=assignment_id)
    with transaction.atomic():
        sign_off = (
            SupervisorSignOff.objects.select_for_update()
            .filter(assignment_id=assignment_id, requested_at__isnull=True)
            .first()
        )
        if sign_off is not None:
            _request(sign_off)


def _request(sign_off: SupervisorSignOff) -> None:
    """Send the supervisor the link (after commit); the caller holds the row's lock."""
    from .tasks import send_supervisor_request

    sign_off.requested_at = timezone.now()
    sign_off.save(update_fields=["requested_at"])
    audit(action="supervisor.requested", target=sign_off)
    send_supervisor_request.delay_on_commit(sign_off.pk)


def supervisor_name(
    *, assignment: Assignment, actor: User, name: str, institution: str, email: str
) -> SupervisorSignOff:
    """The student names the academic supervisor of a credit assignment.

    The link goes out when the employer has approved the work (now, if the assignment is already
    completed). Naming someone else while no decision was made sends a new link and the old one
    stops working.
    """
    if assignment.student_id != actor.pk:
        raise NotPermitted("Only the student of this assignment may name a supervisor.")
    if assignment.is_paid:
        raise DomainError("Only academic-credit work is signed off by a supervisor.", code="paid")
    if assignment.status == Assignment.Status.CANCELLED:
        raise DomainError("This assignment was cancelled.", code="cancelled")
    fields = {"supervisor_name": name.strip(), "institution": institution.strip()}
    fields["supervisor_email"] = email.strip()
    missing = {key: ["This field is required."] for key, value in fields.items() if not value}
    if missing:
        raise DomainError("Name the supervisor, their institution and e-mail.", fields=missing)
    with transaction.atomic():
        locked = _locked_assignment(assignment.pk)
        sign_off = SupervisorSignOff.objects.select_for_update().filter(assignment=locked).first()
        if sign_off is not None and sign_off.is_decided:
            raise DomainError("Your supervisor has already answered.", code="decided")
        if sign_off is None:
            sign_off = SupervisorSignOff(assignment=locked)
        for key, value in fields.items():
            setattr(sign_off, key, value)
        sign_off.link_nonce = secrets.token_hex(16)
        sign_off.requested_at = None
        sign_off.save()
        audit(action="supervisor.named", target=sign_off, actor=actor)
        if locked.status == Assignment.Status.COMPLETED:
            _request(sign_off)
        return sign_off


def supervisor_decide(
    *, sign_off: SupervisorSignOff, approve: bool, reason: str = ""
) -> SupervisorSignOff:
    """The supervisor signs off the credit (the credential is re-issued with it) or declines."""
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError(
            "Say why you decline, so the student knows what to do.",
            fields={"reason": ["Give a reason."]},
        )
    with transaction.atomic():
        assignment = _locked_assignment(sign_off.assignment_id)
        locked = SupervisorSignOff.objects.select_for_update().get(pk=sign_off.pk)
        target = (
            SupervisorSignOff.Status.SIGNED_OFF if approve else SupervisorSignOff.Status.DECLINED
        )
        if locked.status == target:
            return locked
        if assignment.status != Assignment.Status.COMPLETED:
            raise DomainError("The employer has not approved the work yet.", code="not_completed")
        status_move(locked, target, "sign-off")
        locked.decided_at = timezone.now()
        locked.decline_reason = "" if approve else reason[:2000]
        locked.save(update_fields=["status", "decided_at", "decline_reason"])
        audit(action=f"supervisor.{target}", target=locked, by=locked.supervisor_email)
        if approve:
            _reissue(assignment.pk, include_rating=None, action="credential.signed_off")
        _notify_decision(assignment, locked)
        return locked


def _notify_decision(assignment: Assignment, sign_off: SupervisorSignOff) -> None:
    who = f"{sign_off.supervisor_name} ({sign_off.institution})"
    title = assignment.posting.title
    if sign_off.status == SupervisorSignOff.Status.SIGNED_OFF:
        kind, headline = "credit.signed_off", f"{who} signed off the academic credit for “{title}”"
        body = "The credential now includes the sign-off."
    else:
        kind, headline = "credit.declined", f"{who} declined to sign off the credit for “{title}”"
        body = f"Reason: {sign_off.decline_reason}"
    key = f"supervisor:{sign_off.pk}:{sign_off.status}"
    notify(
        recipient=assignment.student,
        kind=kind,
        title=headline,
        body=body,
        dedupe_key=f"{key}:student",
        link=reverse("credentials:mine"),
    )
    for member in User.objects.members_of(assignment.posting.employer_id):
        notify(
            recipient=member,
            kind=kind,
            title=headline,
            body=body,
            dedupe_key=f"{key}:u{member.pk}",
            link=reverse("applications:assignment", args=[assignment.pk]),
        )


def supervisor_request_email(*, sign_off_id: int) -> None:
    """E-mail the supervisor the signed link (they have no account, so no inbox), once per
    request: a retried or duplicated task finds ``emailed_at`` set and sends nothing."""
    sign_off = (
        SupervisorSignOff.objects.select_related(
            "assignment__posting__employer", "assignment__student"
        )
        .filter(pk=sign_off_id, status=SupervisorSignOff.Status.PENDING)
        .first()
    )
    if sign_off is None or sign_off.requested_at is None:
        return
    if sign_off.emailed_at is not None and sign_off.emailed_at >= sign_off.requested_at:
        return
    student = sign_off.assignment.student
    context = {
        "sign_off": sign_off,
        "link": supervisor_link(sign_off),
        "SITE_NAME": SITE_NAME,
        "student": student,
        "valid_days": settings.SUPERVISOR_LINK_VALID_DAYS,
    }
    student_name = student.display_name
    send_mail(
        subject=f"[{SITE_NAME}] Please sign off academic credit for {student_name}",
        message=render_to_string("credentials/email/supervisor_request.txt", context),
        from_email=None,
        recipient_list=[sign_off.supervisor_email],
    )
    # Only for this request: a supervisor named again meanwhile (new nonce) gets their own e-mail.
    SupervisorSignOff.objects.filter(pk=sign_off.pk, link_nonce=sign_off.link_nonce).update(
        emailed_at=timezone.now()
    )
