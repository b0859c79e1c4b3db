"""The applications side's signals carried out (approval, cancellation, dispute decisions), the
ledger's checks and the nightly reconciliation, and the transition maps."""

import pytest
from django.core.management import CommandError, call_command

from applications import services as application_services
from applications.models import Assignment, Dispute, Milestone
from marketplace.core.errors import InvalidTransition, check_transition
from marketplace.core.models import AuditLog
from payments import services
from payments.models import (
    Funding,
    LedgerEntry,
    Payout,
    PayoutAccount,
    ReconciliationIssue,
    Refund,
    TestModeObject,
)
from payments.providers.test import failure_set
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean, balances, pay_with_test_provider, ready_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(test_provider, on_commit):
    assignment = AssignmentFactory(amount=50000, milestones=[20000, 30000])
    employer = employer_of(assignment)
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
        ready_account(assignment.student)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE
    return assignment, employer


def test_approval_by_the_employer_pays_the_milestone_through_the_signal(funded, on_commit):
    assignment, employer = funded
    milestone = assignment.milestones.order_by("position").first()
    Milestone.objects.filter(pk=milestone.pk).update(status=Milestone.Status.SUBMITTED)
    with on_commit():
        application_services.milestone_approve(milestone=milestone, actor=employer)
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.PAID
    assert Payout.objects.get(milestone=milestone).status == Payout.Status.PAID


def test_a_staff_cancellation_refunds_the_rest_through_the_signal(funded, on_commit):
    assignment, _ = funded
    with on_commit():
        application_services.assignment_cancel(
            assignment=assignment, actor=StaffFactory(), reason="The company closed."
        )
    refund = Refund.objects.get(assignment=assignment)
    assert refund.reason == Refund.Reason.CANCELLATION
    assert (refund.amount, refund.fee_amount, refund.status) == (55000, 5000, "succeeded")
    assert refund.key == f"assignment:{assignment.pk}:cancel"
    assert balances(assignment)["refunds"] == 55000
    # A second signal, or the sweep, changes nothing.
    with on_commit():
        services.assignment_refund_unreleased(assignment=assignment)
        services.payments_sweep()
    assert Refund.objects.count() == 1
    assert_ledger_clean()


@pytest.mark.parametrize(
    ("resolution", "student_amount", "paid", "refunded", "fee_back"),
    [
        ("release", None, 30000, 0, 0),
        ("refund", None, 0, 33000, 3000),
        ("split", 12000, 12000, 19800, 1800),
    ],
)
def test_a_dispute_decision_is_carried_out(
    funded, on_commit, resolution, student_amount, paid, refunded, fee_back
):
    assignment, employer = funded
    milestone = assignment.milestones.order_by("position").last()
    Milestone.objects.filter(pk=milestone.pk).update(status=Milestone.Status.DISPUTED)
    dispute = Dispute.objects.create(milestone=milestone, opened_by=employer, reason="Late.")
    with on_commit():
        application_services.dispute_resolve(
            dispute=dispute,
            actor=StaffFactory(),
            resolution=resolution,
            student_amount=student_amount,
        )
    payout = Payout.objects.filter(milestone=milestone).first()
    refund = Refund.objects.filter(key=f"dispute:{dispute.pk}").first()
    assert (payout.amount if payout else 0) == paid
    assert (refund.amount if refund else 0) == refunded
    assert (refund.fee_amount if refund else 0) == fee_back
    if payout:
        assert payout.status == Payout.Status.PAID
    if refund:
        assert refund.status == Refund.Status.SUCCEEDED
    # Settling again (a second signal, the sweep) changes nothing.
    with on_commit():
        services.dispute_settle(dispute=dispute)
        assert services.payments_sweep().disputes_settled == 0
    assert Payout.objects.filter(milestone=milestone).count() == (1 if paid else 0)
    assert Refund.objects.count() == (1 if refunded else 0)
    assert_ledger_clean()


def test_a_payment_arriving_after_cancellation_is_refunded_in_full(test_provider, on_commit):
    assignment = AssignmentFactory(amount=10000, milestones=[10000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.CANCELLED)
    with on_commit():
        pay_with_test_provider(funding)
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    refund = Refund.objects.get()
    assert refund.reason == Refund.Reason.LATE_PAYMENT and refund.amount == 11000
    assert balances(assignment)["refunds"] == 11000
    assert_ledger_clean()


def test_a_refund_failing_transiently_is_retried_then_left_for_staff(funded, on_commit, settings):
    settings.PAYOUT_MAX_RETRIES = 2
    assignment, _ = funded
    failure_set(mode="unavailable", times=2)
    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.CANCELLED)
    with on_commit():
        refund = services.assignment_refund_unreleased(assignment=assignment)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING and refund.attempts == 1
    services.refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert ReconciliationIssue.objects.filter(kind="refund_failed").exists()
    with on_commit():
        services.refund_retry(refund=refund, actor=StaffFactory())
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED, (refund.attempts, refund.last_error)
    assert_ledger_clean()


def test_a_declined_transfer_in_test_mode_fails_the_payout(funded, on_commit):
    assignment, _ = funded
    failure_set(mode="declined", times=1)
    approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.FAILED
    assert assignment.student.notifications.filter(kind="payout.failed").exists()


def test_staff_retry_a_failed_payout_once_and_it_is_paid(funded, on_commit):
    assignment, _ = funded
    failure_set(mode="declined", times=1)
    approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.FAILED
    staff = StaffFactory()
    with on_commit():
        services.payout_retry(payout=payout, actor=staff)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID, (payout.attempts, payout.last_error)
    assert payout.failed_at is None
    assert (
        AuditLog.objects.filter(
            action="payout.retried", target_id=str(payout.pk), actor=staff
        ).count()
        == 1
    )
    with pytest.raises(InvalidTransition, match="Only a failed payout can be retried"):
        services.payout_retry(payout=payout, actor=staff)
    assert_ledger_clean()


# --- The ledger -----------------------------------------------------------------------------


def test_ledger_check_passes_on_clean_books_and_names_each_problem(funded, on_commit, capsys):
    assignment, _ = funded
    approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    call_command("ledger_check")
    assert "The ledger balances." in capsys.readouterr().out

    # A transaction that does not sum to zero.
    LedgerEntry.objects.create(
        transaction_id="manual:1", account="held", amount=5, currency="USD", assignment=assignment
    )
    with pytest.raises(CommandError, match="problem"):
        call_command("ledger_check")
    err = capsys.readouterr().err
    assert "transaction manual:1 does not sum to zero (off by 5)" in err
    assert (
        f"assignment #{assignment.pk}: funded 50000 != paid 20000 + refunded 0 + held 30005" in err
    )

    # A payout marked paid with no booking: the ledger and the rows disagree.
    LedgerEntry.objects.filter(transaction_id="manual:1").delete()
    LedgerEntry.objects.filter(transaction_id__endswith=":paid").delete()
    with pytest.raises(CommandError):
        call_command("ledger_check")
    err = capsys.readouterr().err
    assert "the ledger has 0 paid to the student but the paid payouts sum to 20000" in err


def test_ledger_post_refuses_an_unbalanced_transaction_and_books_once(funded):
    assignment, _ = funded
    with pytest.raises(ValueError, match="does not balance"):
        services.ledger_post(
            transaction_id="x:1",
            assignment=assignment,
            currency="USD",
            lines={"held": -10, "refunds": 9},
        )
    lines = {"held": -10, "refunds": 10}
    assert services.ledger_post(
        transaction_id="x:2", assignment=assignment, currency="USD", lines=lines
    )
    assert not services.ledger_post(
        transaction_id="x:2", assignment=assignment, currency="USD", lines=lines
    )
    assert LedgerEntry.objects.filter(transaction_id="x:2").count() == 2


def test_nightly_reconciliation_flags_a_transfer_we_did_not_record(funded, on_commit):
    assignment, _ = funded
    staff = StaffFactory()
    assert services.ledger_reconcile() == 0
    TestModeObject.objects.create(
        id="tr_test_stranger",
        kind="transfer",
        data={
            "id": "tr_test_stranger",
            "amount": 700,
            "currency": "USD",
            "destination": PayoutAccount.objects.get().account_id,
            "source_transaction": "",
            "transfer_group": f"assignment_{assignment.pk}",
            "metadata": {},
        },
    )
    assert services.ledger_reconcile() == 1
    issue = ReconciliationIssue.objects.get(kind="provider_difference")
    assert "tr_test_stranger" in issue.description
    assert staff.notifications.filter(kind="payments.issue").count() == 1
    assert services.ledger_reconcile() == 0  # flagged once


# --- Transition maps ------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Funding, Payout, Refund, PayoutAccount])
def test_every_move_of_the_transition_maps(model):
    statuses = [choice for choice, _ in model.Status.choices]
    for current in statuses:
        for target in statuses:
            allowed = target in model.TRANSITIONS[current]
            if allowed:
                check_transition(
                    transitions=model.TRANSITIONS, current=current, target=target, what="x"
                )
            else:
                with pytest.raises(InvalidTransition):
                    check_transition(
                        transitions=model.TRANSITIONS, current=current, target=target, what="x"
                    )
    assert set(model.TRANSITIONS) == set(statuses)


def test_a_paid_payout_cannot_be_retried(funded, on_commit):
    assignment, _ = funded
    approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    with pytest.raises(InvalidTransition):
        services.payout_retry(payout=Payout.objects.get(), actor=StaffFactory())


def test_money_that_moved_stays_moved():
    """Terminal states have no way out: a paid funding, a reversed payout. A paid payout can
    only be reversed and a refund that succeeded can only fail (both only by Stripe: a transfer
    reversal, a card refund failing after success), and a refund waiting for the bank moves
    only to what the bank says."""
    assert Payout.TRANSITIONS[Payout.Status.PAID] == {Payout.Status.REVERSED}
    assert Payout.TRANSITIONS[Payout.Status.REVERSED] == set()
    assert Funding.TRANSITIONS[Funding.Status.PAID] == set()
    assert Refund.TRANSITIONS[Refund.Status.SUCCEEDED] == {Refund.Status.FAILED}
    assert Refund.TRANSITIONS[Refund.Status.SUBMITTED] == {
        Refund.Status.SUCCEEDED,
        Refund.Status.FAILED,
    }
    # Failures go back round only through "pending" (a staff retry).
    assert Payout.TRANSITIONS[Payout.Status.FAILED] == {Payout.Status.PENDING}
    assert Refund.TRANSITIONS[Refund.Status.FAILED] == {Refund.Status.PENDING}


def test_the_nightly_task_reconciles_in_chunks_and_finds_the_same(funded, settings, on_commit):
    from celery.signals import task_prerun

    from payments.tasks import reconcile

    assignment, _ = funded
    others = [AssignmentFactory(amount=10000, milestones=[10000]) for _ in range(2)]
    for other in others:
        funding = services.funding_start(assignment=other, actor=employer_of(other))
        with on_commit():
            pay_with_test_provider(funding)
    TestModeObject.objects.create(
        id="tr_test_unknown",
        kind="transfer",
        data={
            "id": "tr_test_unknown",
            "amount": 900,
            "currency": "USD",
            "destination": PayoutAccount.objects.get().account_id,
            "source_transaction": "",
            "transfer_group": f"assignment_{others[1].pk}",
            "metadata": {},
        },
    )
    settings.RECONCILE_CHUNK_SIZE = 2
    chunks: list[list[int]] = []

    def record(sender=None, args=None, **kwargs):
        if sender.name == "payments.reconcile_chunk":
            chunks.append(list(args[0]))

    task_prerun.connect(record, weak=False, dispatch_uid="reconcile-chunks")
    try:
        reconcile.delay()
    finally:
        task_prerun.disconnect(dispatch_uid="reconcile-chunks")
    assert [len(chunk) for chunk in chunks] == [2, 1]  # three paid fundings, two per chunk
    assert sorted(sum(chunks, [])) == sorted(Funding.objects.values_list("pk", flat=True))
    issue = ReconciliationIssue.objects.get(kind="provider_difference")
    assert "tr_test_unknown" in issue.description
    assert services.ledger_reconcile() == 0  # the whole run in one go finds nothing new
