"""Reads with logic: who sees which credential, the status list, the supervisor's link."""

import datetime as dt
import re
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import connection
from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from applications.models import Assignment, Submission

from . import documents, keys
from .identity import SITE_NAME, SUPERVISOR_SALT, canonical
from .models import Credential, SupervisorSignOff

REVOKED = [Credential.Status.REVOKED, Credential.Status.SUPERSEDED]


def credentials_for_student(user) -> list[Credential]:
    """The student's credentials, newest first, without the versions that were replaced."""
    return list(
        Credential.objects.filter(student=user)
        .exclude(status=Credential.Status.SUPERSEDED)
        .select_related("assignment__posting__employer", "assignment__supervisor_sign_off")
        .order_by("-issued_at", "-id")
    )


def credit_work_in_progress(user) -> list[Assignment]:
    """The student's academic-credit assignments not yet completed: a supervisor can be named
    before the work is approved (the link goes out on approval)."""
    return list(
        Assignment.objects.visible_to(user)
        .filter(
            student=user,
            amount=0,
            status__in=[Assignment.Status.AWAITING_FUNDING, Assignment.Status.ACTIVE],
        )
        .select_related("posting__employer", "supervisor_sign_off")
        .order_by("-created_at")
    )


def credential_for_viewer(*, public_id, user) -> tuple[Credential, bool]:
    """A credential and whether the viewer owns it; hidden ones exist only for their owner."""
    credential = (
        Credential.objects.select_related("assignment__posting__employer", "student")
        .filter(public_id=public_id)
        .first()
    )
    if credential is None:
        raise Http404("No such credential.")
    is_owner = getattr(user, "is_authenticated", False) and user.pk == credential.student_id
    if credential.hidden and not is_owner:
        raise Http404("No such credential.")
    return credential, is_owner


def credential_by_url(url: str) -> Credential | None:
    """The credential a URL of this site names (its page or a download), or None."""
    for credential_id in _ids_in(url):
        found = Credential.objects.filter(public_id=credential_id, hidden=False).first()
        if found is not None:
            return found
    return None


def _ids_in(url: str):
    for match in re.findall(r"[0-9a-fA-F-]{36}", url):
        try:
            yield uuid.UUID(match)
        except ValueError:
            continue


def record_credentials(*, assignment_ids: list[int]) -> dict[int, Credential]:
    """The shown, active credential of each of these assignments (for the public record)."""
    rows = Credential.objects.filter(
        assignment_id__in=assignment_ids, status=Credential.Status.ACTIVE, hidden=False
    )
    return {row.assignment_id: row for row in rows}


def revoked_positions(number: int) -> list[int]:
    size = documents.STATUS_LIST_BITS
    ids = Credential.objects.filter(
        status__in=REVOKED, pk__gte=number * size, pk__lt=(number + 1) * size
    ).values_list("pk", flat=True)
    return [pk - number * size for pk in ids]


def status_list_jwt(number: int) -> str:
    """The signed status list credential ``number`` (fresh at every request: revocation is
    immediate)."""
    list_url = canonical(reverse("credentials:status_list", args=[number]))
    document = documents.status_list_credential(
        list_url=list_url,
        issuer_url=canonical(reverse("credentials:issuer")),
        site_name=SITE_NAME,
        revoked=revoked_positions(number),
        issued_at=timezone.now(),
    )
    return documents.vc_jwt(document, keys.signing_key())


def sign_off_for_token(token: str) -> SupervisorSignOff:
    """The sign-off a supervisor's link names; a forged, stale or replaced link is a 404."""
    max_age = settings.SUPERVISOR_LINK_VALID_DAYS * 24 * 3600
    try:
        pk, nonce = signing.loads(token, salt=SUPERVISOR_SALT, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise Http404("This link is not valid (or has expired).") from error
    sign_off = (
        SupervisorSignOff.objects.select_related(
            "assignment__posting__employer", "assignment__student"
        )
        .filter(pk=pk, link_nonce=nonce)
        .first()
    )
    if sign_off is None:
        raise Http404("This link is no longer valid.")
    return sign_off


def supervisor_view(sign_off: SupervisorSignOff) -> dict:
    """What the supervisor sees: the work, the deliverables' titles and the employer's approval."""
    assignment: Assignment = sign_off.assignment
    milestones = list(
        assignment.milestones.prefetch_related(
            Prefetch(
                "submissions",
                queryset=Submission.objects.prefetch_related("files").order_by("-version"),
            )
        )
    )
    deliverables = []
    for milestone in milestones:
        latest = milestone.submissions.all()[0] if milestone.submissions.all() else None
        files = [f.original_name for f in latest.files.all()] if latest else []
        deliverables.append(
            {
                "milestone": milestone,
                "files": files,
                "links": latest.links if latest else [],
                "approved": milestone.approved_at,
                "auto": milestone.auto_approved,
            }
        )
    return {"assignment": assignment, "deliverables": deliverables}


def linkedin_add_url(credential: Credential) -> str:
    """LinkedIn's "add to profile" link for a certification, filled in from the credential."""
    issued = timezone.localtime(credential.issued_at, dt.UTC)
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": credential.document.get("name", ""),
        "organizationName": SITE_NAME,
        "issueYear": issued.year,
        "issueMonth": issued.month,
        "certUrl": credential.document.get("id", ""),
        "certId": str(credential.public_id),
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


def student_summary(user) -> dict:
    """For the dashboard: valid credentials, and supervisors still to answer. One statement of
    two counts, written out: the ORM spends more building it than the database answering it
    (only table and column names are written into it; the values are parameters)."""
    credential = Credential._meta.db_table
    sign_off = SupervisorSignOff._meta.db_table
    assignment = Assignment._meta.db_table
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {credential} WHERE student_id = %s AND status = %s),"  # noqa: S608
        f" (SELECT COUNT(*) FROM {sign_off} s JOIN {assignment} a ON a.id = s.assignment_id"
        " WHERE a.student_id = %s AND s.status = %s)"
    )
    params = [
        user.pk,
        Credential.Status.ACTIVE.value,
        user.pk,
        SupervisorSignOff.Status.PENDING.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        valid, waiting = cursor.fetchone()
    return {"valid": valid, "waiting_sign_off": waiting}
