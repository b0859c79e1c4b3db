"""The student's connected payout account: onboarding links and readiness."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.selectors import student_profile_for
from applications.models import Assignment
from marketplace.core import payout_countries
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted, status_move
from notifications.services import reminder_cancel, reminder_schedule

from ..models import Payout, PayoutAccount
from ..providers import get_provider
from ..providers.base import (
    PaymentError,
)
from .attempts import (
    _refused,
)


def payout_account_onboarding_url(
    *, student, refresh_url: str, return_url: str, country: str = ""
) -> str:
    """A fresh onboarding link (links are single-use): creates the connected account first,
    in the student's country (asked here, kept on the profile), with the ``recipient`` service
    agreement when that is not the platform's country."""
    if not student.is_student:
        raise NotPermitted("Only students have a payout account.")
    provider = get_provider()
    account = PayoutAccount.objects.filter(student=student).first()
    try:
        if account is None:
            country = _payout_country(student=student, country=country)
            remote = provider.account_create(
                email=student.email,
                student_id=student.pk,
                country=country,
                service_agreement=payout_countries.service_agreement(country),
                idempotency_key=(
                    f"{settings.PAYMENTS_IDEMPOTENCY_NAMESPACE}:payout-account:{student.pk}"
                ),
            )
            with transaction.atomic():
                account, created = PayoutAccount.objects.get_or_create(
                    student=student,
                    defaults={"provider": provider.name, "account_id": remote.id},
                )
                if created:
                    audit(action="payout_account.created", target=account, actor=student)
        return provider.account_link_create(
            account_id=account.account_id, refresh_url=refresh_url, return_url=return_url
        )
    except PaymentError as exc:
        raise _refused(exc) from exc


def _payout_country(*, student, country: str) -> str:
    """The student's answer (or the one on their profile), checked against the currencies of
    the paid work they have: each must be payable in that country."""
    profile = student_profile_for(student)
    country = (country or (profile.payout_country if profile else "")).upper()
    if not country:
        raise DomainError(
            "Choose the country of your bank account first.",
            code="payout_country",
            fields={"country": ["Choose the country of your bank account."]},
        )
    payable = payout_countries.payout_currencies(country)
    unpayable = sorted(
        set(
            Assignment.objects.filter(student=student, amount__gt=0)
            .exclude(status=Assignment.Status.CANCELLED)
            .exclude(currency__in=payable)
            .values_list("currency", flat=True)
        )
    )
    if payable and unpayable:
        raise DomainError(
            f"Your work is paid in {', '.join(unpayable)}, which cannot be paid out in that "
            f"country (only {', '.join(sorted(payable))}).",
            code="payout_currency",
            fields={"country": ["Choose the country of a bank account that can be paid."]},
        )
    accounts_services.student_payout_country_set(user=student, country=country)
    return country


def payout_account_sync(*, account_id: str) -> PayoutAccount | None:
    """Re-fetch the connected account and update its readiness (``account.updated``).

    Becoming ready releases every payout that waited for it.
    """
    account = PayoutAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return None
    remote = get_provider().account_retrieve(account_id)
    now = timezone.now()
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account.pk)
        was_ready = account.is_ready
        account.transfers_active = remote.transfers_active
        account.payouts_enabled = remote.payouts_enabled
        account.details_submitted = remote.details_submitted
        account.synced_at = now
        fields = ["transfers_active", "payouts_enabled", "details_submitted", "synced_at"]
        target = (
            PayoutAccount.Status.READY
            if remote.ready
            else (
                PayoutAccount.Status.RESTRICTED
                if account.status != PayoutAccount.Status.ONBOARDING or remote.details_submitted
                else PayoutAccount.Status.ONBOARDING
            )
        )
        if target != account.status:
            status_move(account, target, "payout account")
            fields.append("status")
            audit(action=f"payout_account.{target}", target=account)
        if account.is_ready and not was_ready:
            account.ready_at = now
            fields.append("ready_at")
        account.save(update_fields=fields)
        if account.is_ready and not was_ready:
            reminder_cancel(key_prefix=f"payout-account:{account.student_id}:")
            waiting = list(
                Payout.objects.select_for_update()
                .filter(
                    student_id=account.student_id,
                    status=Payout.Status.PENDING,
                    waiting_for_account=True,
                )
                .values_list("pk", flat=True)
            )
            Payout.objects.filter(pk__in=waiting).update(
                waiting_for_account=False, next_attempt_at=now
            )
            from ..tasks import release_payout

            for payout_id in waiting:
                release_payout.delay_on_commit(payout_id)
    return account


def payout_account_reminder_schedule(*, assignment: Assignment) -> None:
    """A funded assignment whose student cannot be paid yet: one reminder to set up the payout
    account, ``REMINDER_PAYOUT_ACCOUNT_BEFORE`` before the first milestone is due (at once when
    that is sooner). Keyed by the student, so a student is reminded once, never again for a
    later assignment; the account becoming ready cancels it (``payout-account:<id>:`` above)."""
    account = PayoutAccount.objects.filter(student_id=assignment.student_id).first()
    if not assignment.is_paid or (account is not None and account.is_ready):
        return
    first = assignment.milestones.order_by("due_at", "pk").first()
    if first is None:
        return
    send_at = max(timezone.now(), first.due_at - settings.REMINDER_PAYOUT_ACCOUNT_BEFORE)
    reminder_schedule(
        key=f"payout-account:{assignment.student_id}:before-first-due",
        recipient=assignment.student,
        kind="reminder.payout_account",
        title=f"Set up your payout account before “{first.title}” is due",
        body=(
            f"Your first milestone of “{assignment.posting.title}” is due soon. With your payout "
            "account ready, your pay is released as soon as the employer approves the work."
        ),
        send_at=send_at,
        expires_at=first.due_at,
        link=reverse("payments:payout_account"),
    )
