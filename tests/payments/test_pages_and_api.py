"""Pages and API with the test provider; bad input refused clearly with money state unchanged."""

import csv
import io

import pytest
from django.urls import reverse

from applications.models import Assignment
from payments import services
from payments.models import (
    Funding,
    LedgerEntry,
    Payout,
    PayoutAccount,
    ReconciliationIssue,
    WebhookEvent,
)
from tests.factories import EmployerUserFactory, StaffFactory, StudentFactory

from .factories import AssignmentFactory, employer_of
from .helpers import approve, pay_with_test_provider, ready_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(test_provider):
    return AssignmentFactory(amount=50000, milestones=[20000, 30000])


@pytest.fixture
def employer(assignment):
    return employer_of(assignment)


def money_state():
    return (
        list(Funding.objects.values_list("pk", "status", "checkout_session_id")),
        LedgerEntry.objects.count(),
        Payout.objects.count(),
        WebhookEvent.objects.count(),
    )


# --- Funding in the browser -----------------------------------------------------------------


def test_the_funding_page_shows_the_fee_before_paying_and_pays_through_the_test_checkout(
    client, assignment, employer, on_commit
):
    client.force_login(employer)
    page = client.get(f"/payments/assignments/{assignment.pk}/fund/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Platform fee (10%)" in body and "50.00 USD" in body and "550.00 USD" in body
    assert "Test mode: no real money moves." in body

    response = client.post(f"/payments/assignments/{assignment.pk}/fund/")
    funding = Funding.objects.get(assignment=assignment)
    assert response.status_code == 302 and response.url == funding.checkout_url
    checkout = client.get(funding.checkout_url)
    assert "test mode: no real money moves" in checkout.content.decode().lower()

    declined = client.post(funding.checkout_url, {"outcome": "fail"})
    assert declined.status_code == 402 and "declined" in declined.content.decode()
    funding.refresh_from_db()
    assert funding.status == Funding.Status.OPEN

    with on_commit():
        paid = client.post(funding.checkout_url, {"outcome": "pay"})
    assert paid.status_code == 302
    assert paid.url == (
        f"/payments/fundings/{funding.pk}/return/?session_id={funding.checkout_session_id}"
    )
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    page = client.get(paid.url)
    assert "Paid" in page.content.decode()
    receipt = client.get(f"/payments/fundings/{funding.pk}/receipt/")
    assert receipt.status_code == 200 and "550.00 USD" in receipt.content.decode()


def test_the_return_page_shows_processing_until_the_event_is_handled(
    client, assignment, employer, django_capture_on_commit_callbacks
):
    funding = services.funding_start(assignment=assignment, actor=employer)
    with django_capture_on_commit_callbacks(execute=False):
        pay_with_test_provider(funding)  # the event is stored; its task has not run yet
    client.force_login(employer)
    url = f"/payments/fundings/{funding.pk}/return/?session_id={funding.checkout_session_id}"
    body = client.get(url).content.decode()
    assert "Processing" in body and 'hx-trigger="every 2s"' in body
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.AWAITING_FUNDING


def test_replaying_the_return_url_changes_nothing(client, assignment, employer, on_commit):
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
    funding.refresh_from_db()
    client.force_login(employer)
    url = f"/payments/fundings/{funding.pk}/return/?session_id={funding.checkout_session_id}"
    before = money_state()
    for _ in range(3):
        with on_commit():
            response = client.get(url)
        assert response.status_code == 200
        assert "already recorded" in response.content.decode()
    assert money_state() == before
    forged = client.get(f"/payments/fundings/{funding.pk}/return/?session_id=cs_test_other")
    assert forged.status_code == 400
    assert "does not belong" in forged.content.decode()
    assert money_state() == before
    # The checkout page of a paid session cannot be paid again.
    again = client.post(funding.checkout_url, {"outcome": "pay"})
    assert again.status_code == 402
    assert money_state() == before


def test_another_employer_can_neither_fund_nor_see_the_payment(client, assignment, employer):
    funding = services.funding_start(assignment=assignment, actor=employer)
    other = EmployerUserFactory()
    before = money_state()
    client.force_login(other)
    assert client.get(f"/payments/assignments/{assignment.pk}/fund/").status_code == 404
    assert client.post(f"/payments/assignments/{assignment.pk}/fund/").status_code == 404
    assert client.get(funding.checkout_url).status_code == 403
    assert client.post(funding.checkout_url, {"outcome": "pay"}).status_code == 403
    assert client.get(f"/payments/fundings/{funding.pk}/return/").status_code == 404
    response = client.post(f"/api/v1/payments/assignments/{assignment.pk}/funding/", {})
    assert response.status_code == 404  # as for a missing assignment: existence does not leak
    assert response.json()["code"] == "not_found"
    assert money_state() == before
    client.force_login(assignment.student)
    assert client.get(f"/payments/assignments/{assignment.pk}/fund/").status_code == 403


# --- API ------------------------------------------------------------------------------------


def test_api_starts_funding_and_refuses_mismatched_amounts_and_currencies(
    client, assignment, employer
):
    client.force_login(employer)
    url = f"/api/v1/payments/assignments/{assignment.pk}/funding/"
    wrong_amount = client.post(
        url, {"amount": 50000, "currency": "USD"}, content_type="application/json"
    )
    assert wrong_amount.status_code == 400
    assert wrong_amount.json()["code"] == "amount_mismatch"
    assert wrong_amount.json()["fields"] == {"amount": ["Must be 55000."]}
    wrong_currency = client.post(url, {"currency": "EUR"}, content_type="application/json")
    assert wrong_currency.status_code == 400
    assert wrong_currency.json()["code"] == "currency_mismatch"
    bad = client.post(url, {"amount": -5, "currency": "dollars"}, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"amount", "currency"}
    assert not Funding.objects.exists()

    ok = client.post(url, {"amount": 55000, "currency": "usd"}, content_type="application/json")
    assert ok.status_code == 201
    data = ok.json()
    assert data["total_amount"] == 55000 and data["fee_amount"] == 5000
    assert data["checkout_url"].startswith("http://testserver/payments/test-mode/checkout/cs_test_")
    listing = client.get("/api/v1/payments/fundings/").json()
    assert [f["id"] for f in listing["results"]] == [data["id"]]
    assert client.get(f"/api/v1/payments/fundings/{data['id']}/").status_code == 200


def test_api_refuses_funding_what_is_funded_already(client, assignment, employer, on_commit):
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
    client.force_login(employer)
    response = client.post(f"/api/v1/payments/assignments/{assignment.pk}/funding/", {})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_a_paid_session_that_does_not_match_the_funding_is_not_accepted(stripe_api, on_commit):
    """Amounts or currencies that do not match the assignment: refused, staff told."""
    staff = StaffFactory()
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    stripe_api.complete_checkout(funding.checkout_session_id, amount=100)
    with on_commit():
        services.funding_confirm(session_id=funding.checkout_session_id)
    funding.refresh_from_db()
    assignment.refresh_from_db()
    assert funding.status == Funding.Status.OPEN
    assert assignment.status == Assignment.Status.AWAITING_FUNDING
    assert not LedgerEntry.objects.exists()
    issue = ReconciliationIssue.objects.get(kind="payment_mismatch")
    assert "amount 100 instead of 33000" in issue.description
    assert staff.notifications.filter(kind="payments.issue").exists()


def test_student_reads_payouts_and_account_through_the_api(client, assignment, employer, on_commit):
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
    client.force_login(assignment.student)
    assert client.get("/api/v1/payments/payout-account/").json()["status"] == "none"
    with on_commit():
        ready_account(assignment.student)
    approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    assert client.get("/api/v1/payments/payout-account/").json()["status"] == "ready"
    payouts = client.get("/api/v1/payments/payouts/").json()["results"]
    assert [(p["amount"], p["status"], p["milestone_title"]) for p in payouts] == [
        (20000, "paid", "Milestone 1")
    ]
    # Another student sees none of them.
    client.force_login(AssignmentFactory().student)
    assert client.get("/api/v1/payments/payouts/").json()["results"] == []


def test_the_payments_endpoints_are_in_the_openapi_schema(client, employer):
    client.force_login(employer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in [
        "/api/v1/payments/fundings/",
        "/api/v1/payments/fundings/{id}/",
        "/api/v1/payments/payouts/",
        "/api/v1/payments/payout-account/",
        "/api/v1/payments/assignments/{assignment_pk}/funding/",
    ]:
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/payments/assignments/{assignment_pk}/funding/"]


# --- Payout account, earnings, billing, staff -----------------------------------------------


def test_payout_account_onboarding_uses_a_fresh_link_each_time(client, assignment, on_commit):
    client.force_login(assignment.student)
    page = client.get("/payments/payout-account/")
    assert "Not set up" in page.content.decode()
    first = client.post("/payments/payout-account/onboard/", {"country": "US"})
    refresh = client.get("/payments/payout-account/refresh/")
    assert first.status_code == refresh.status_code == 302
    assert first.url != refresh.url  # a fresh link
    assert first.url.startswith("/payments/test-mode/onboarding/")
    with on_commit():
        done = client.post(refresh.url)
    assert done.status_code == 302 and done.url == "/payments/payout-account/return/"
    back = client.get(done.url, follow=True)
    assert "Your payout account is ready." in back.content.decode()
    dashboard = client.get("/dashboard/").content.decode()
    assert "Payout account ready" in dashboard


def test_another_student_cannot_finish_someones_onboarding_link(client, assignment):
    client.force_login(assignment.student)
    link = client.post("/payments/payout-account/onboard/", {"country": "US"}).url
    other = StudentFactory()
    client.force_login(other)
    client.post(
        "/payments/payout-account/onboard/", {"country": "US"}
    )  # the other student has an account too
    assert client.get(link).status_code == 403
    assert client.post(link).status_code == 403
    account = PayoutAccount.objects.get(student=assignment.student)
    assert account.status == PayoutAccount.Status.ONBOARDING and not account.payouts_enabled
    client.force_login(assignment.student)
    assert client.get(link).status_code == 200
    assert client.get("/payments/test-mode/onboarding/link_test_nonesuch/").status_code == 404


def test_test_mode_pages_answer_404_to_an_id_with_a_nul_character(client, assignment, employer):
    # PostgreSQL refuses NUL in a query; the lookup must not reach it (a 500 before).
    client.force_login(employer)
    assert client.get("/payments/test-mode/checkout/cs_test_%00/").status_code == 404
    assert client.post("/payments/test-mode/checkout/cs_test_%00/").status_code == 404
    client.force_login(assignment.student)
    assert client.post("/payments/test-mode/onboarding/link_test_%00/").status_code == 404


def test_earnings_billing_staff_pages_and_csv_exports(client, assignment, employer, on_commit):
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
        ready_account(assignment.student)
    approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    payout = Payout.objects.get()

    client.force_login(assignment.student)
    earnings = client.get("/payments/earnings/").content.decode()
    assert f'data-payout="{payout.pk}"' in earnings and "Paid" in earnings
    rows = list(
        csv.reader(io.StringIO(client.get("/payments/earnings/payouts.csv").content.decode()))
    )
    assert rows[0][0] == "payout_id" and rows[1][5:8] == ["200.00", "USD", "paid"]

    client.force_login(employer)
    billing = client.get("/payments/billing/").content.decode()
    assert "550.00 USD" in billing and "Receipt" in billing
    rows = list(
        csv.reader(io.StringIO(client.get("/payments/billing/fundings.csv").content.decode()))
    )
    assert rows[1][5:11] == ["500.00", "50.00", "550.00", "0.00", "USD", "paid"]
    assert client.get("/payments/staff/").status_code == 403  # signed in, not staff

    client.force_login(StaffFactory())
    staff = client.get("/payments/staff/")
    assert staff.status_code == 200 and "student_paid" in staff.content.decode()
    assert (
        len(
            list(
                csv.reader(io.StringIO(client.get("/payments/staff/payouts.csv").content.decode()))
            )
        )
        == 2
    )
    assert client.get("/payments/staff/fundings.csv").status_code == 200


def test_the_employer_dashboard_lists_assignments_to_fund(client, assignment, employer):
    client.force_login(employer)
    body = client.get("/dashboard/").content.decode()
    assert f"/payments/assignments/{assignment.pk}/fund/" in body


def test_the_admin_lists_every_payments_model(client):
    client.force_login(StaffFactory())
    for name in [
        "payoutaccount",
        "funding",
        "payout",
        "refund",
        "ledgerentry",
        "webhookevent",
        "reconciliationissue",
    ]:
        assert client.get(f"/admin/payments/{name}/").status_code == 200, name


# --- Payouts set up before money waits --------------------------------------------------------


def test_the_student_is_asked_for_a_payout_account_until_it_is_ready(client, assignment, on_commit):
    client.force_login(assignment.student)
    url = reverse("applications:assignment", args=[assignment.pk])
    html = client.get(url).content.decode()
    assert "Set up your payout account now" in html
    assert f'href="{reverse("payments:payout_account")}">Set up my payout account' in html
    with on_commit():
        ready_account(assignment.student)
    assert "Set up your payout account now" not in client.get(url).content.decode()


def test_the_payout_account_page_updates_itself_until_ready(client, assignment, on_commit):
    student = assignment.student
    client.force_login(student)
    page = reverse("payments:payout_account")
    assert "hx-trigger" not in client.get(page).content.decode()  # nothing started: no polling
    services.payout_account_onboarding_url(
        country="US", student=student, refresh_url="http://t/r", return_url="http://t/r"
    )
    html = client.get(page).content.decode()
    assert f'hx-get="{page}" hx-trigger="every 3s" hx-select="#payout-account-status"' in html
    with on_commit():
        ready_account(student)
    html = client.get(page).content.decode()
    assert "hx-trigger" not in html and "You can receive payouts." in html


def test_the_employer_sees_a_payout_waiting_for_the_students_account(
    client, assignment, employer, on_commit
):
    from applications import services as app_services
    from tests.applications.factories import submit

    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
    milestone = assignment.milestones.order_by("position").first()
    submit(milestone)
    with on_commit():
        app_services.milestone_approve(milestone=milestone, actor=employer)
    assert Payout.objects.get(milestone=milestone).waiting_for_account
    client.force_login(employer)
    html = client.get(reverse("applications:assignment", args=[assignment.pk])).content.decode()
    name = assignment.student.display_name
    assert f"Payout waiting for {name}’s payout account" in html


def test_a_student_gets_a_payout_onboarding_link_over_the_api(client, test_provider):
    student = StudentFactory()
    client.force_login(student)
    missing = client.post("/api/v1/payments/payout-account/onboarding-link/")
    assert missing.status_code == 400 and missing.json()["code"] == "payout_country"
    response = client.post(
        "/api/v1/payments/payout-account/onboarding-link/",
        {"country": "US"},
        content_type="application/json",
    )
    assert response.status_code == 201
    url = response.json()["url"]
    assert url.startswith("http://testserver/payments/test-mode/onboarding/")
    assert client.get(url).status_code == 200  # the student's own link opens
    client.force_login(EmployerUserFactory())
    refused = client.post("/api/v1/payments/payout-account/onboarding-link/")
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
