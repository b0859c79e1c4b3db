"""In a real browser, with the test provider: the student sets up a payout account, the employer
funds the assignment through the test checkout page, the student submits, the employer approves,
and the student sees the payout paid on the earnings page."""

import pytest

from applications.models import Assignment
from payments.models import Funding, Payout
from tests.e2e.conftest import login
from tests.factories import PASSWORD, EmployerUserFactory
from tests.payments.factories import AssignmentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def test_fund_deliver_approve_and_get_paid(page, settings):
    settings.STRIPE_SECRET_KEY = ""  # the test provider
    assignment = AssignmentFactory(amount=20000, milestones=[20000])
    employer = EmployerUserFactory(employer=assignment.posting.employer)
    student = assignment.student

    # The student sets up a payout account on the (test) provider's onboarding page.
    login(page, student.email, PASSWORD)
    page.goto("/payments/payout-account/")
    page.get_by_label("Country of your bank account").select_option("US")
    page.get_by_role("button", name="Set up my payout account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Test mode: no real money moves.").is_visible()
    page.get_by_role("button", name="Finish set-up").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your payout account is ready.").is_visible()
    log_out(page)

    # The employer sees the fee before paying, and pays on the test checkout page.
    login(page, employer.email, PASSWORD)
    page.goto("/dashboard/")
    page.get_by_role("link", name="fund 200.00 USD plus fee", exact=False).click()
    page.wait_for_load_state()
    assert page.locator("#quote-fee").inner_text() == "20.00 USD"
    assert page.locator("#quote-total").inner_text() == "220.00 USD"
    page.get_by_role("button", name="Pay 220.00 USD").click()
    page.wait_for_load_state()
    assert page.get_by_text("Test mode: no real money moves.").is_visible()
    page.get_by_role("button", name="Pay 220.00 USD (test)").click()
    page.wait_for_load_state()
    page.locator("#funding-status .badge-ok").wait_for()
    assert "220.00 USD received" in page.locator("#funding-status").inner_text()
    assert Funding.objects.get().status == Funding.Status.PAID
    assert Assignment.objects.get().status == Assignment.Status.ACTIVE
    log_out(page)

    # The student submits the work.
    login(page, student.email, PASSWORD)
    page.goto(f"/assignments/{assignment.pk}/")
    page.get_by_role("link", name="Submit work").click()
    page.wait_for_load_state()
    page.get_by_label("Links").fill("https://example.com/my-report")
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_load_state()
    log_out(page)

    # The employer approves it.
    login(page, employer.email, PASSWORD)
    page.goto(f"/assignments/{assignment.pk}/")
    # The button names the amount and asks before releasing it.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve and release 200.00 USD").click()
    page.get_by_text("released to").wait_for()
    log_out(page)

    # The student sees the payout paid.
    login(page, student.email, PASSWORD)
    page.goto("/payments/earnings/")
    payout = Payout.objects.get()
    row = page.locator(f'tr[data-payout="{payout.pk}"]')
    assert "200.00 USD" in row.inner_text()
    assert row.locator(".badge-ok").inner_text() == "Paid"
    # Nothing broke in the page (CSP, scripts); the favicon is not ours to serve here.
    assert [e for e in page.console_errors if "404" not in e] == []
