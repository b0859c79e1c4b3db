"""What a client does on the payments pages, done with an API token: the receipt as a PDF, the
CSV exports, the earnings figures and the payout onboarding link."""

import csv
import io

import pytest
from pypdf import PdfReader

from accounts.services import api_token_create
from applications import services as app_services
from payments import services
from payments.models import Payout
from tests.applications.factories import submit
from tests.factories import EmployerUserFactory, StaffFactory, StudentFactory

from .factories import AssignmentFactory, employer_of
from .helpers import pay_with_test_provider, ready_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(test_provider):
    return AssignmentFactory(amount=50000, milestones=[20000, 30000])


@pytest.fixture
def employer(assignment):
    return employer_of(assignment)


@pytest.fixture
def paid(assignment, employer, on_commit):
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
    funding.refresh_from_db()
    return funding


def _with_token(client, user):
    client.logout()
    _token, key = api_token_create(user=user, actor=user, name="Tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def _text_in_pdf(body: bytes) -> str:
    """The document's text as a PDF reader extracts it (pypdf, not the library that wrote it)."""
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_employer_downloads_the_receipt_as_a_pdf_with_a_token(client, paid, employer):
    _with_token(client, employer)
    url = f"/api/v1/payments/fundings/{paid.pk}/receipt/"
    response = client.get(url, HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="receipt-{paid.pk}.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = _text_in_pdf(response.content)
    title = paid.assignment.posting.title
    assert f"Receipt #{paid.pk}" in text
    assert f"paid for “{title}”" in text and "Test mode: no real money moved." in text
    for line in (
        "Milestone 1: 200.00 USD",
        "Milestone 2: 300.00 USD",
        "Platform fee (10%): 50.00 USD",
        "Total paid: 550.00 USD",
    ):
        assert line in text

    # The receipt page links to the same document, downloaded with the session.
    client.defaults.pop("HTTP_AUTHORIZATION")
    client.force_login(employer)
    page = client.get(f"/payments/fundings/{paid.pk}/receipt/").content.decode()
    assert f'href="/payments/fundings/{paid.pk}/receipt.pdf"' in page
    from_page = client.get(f"/payments/fundings/{paid.pk}/receipt.pdf")
    assert from_page["Content-Type"] == "application/pdf"
    assert from_page.content == response.content


def test_a_receipt_with_characters_outside_the_pdf_font_still_downloads(client, paid, employer):
    # Helvetica covers Windows-1252: the euro sign and curly quotes print, other scripts become "?".
    paid.employer.name = "Żabka € 日本"
    paid.employer.save(update_fields=["name"])
    _with_token(client, employer)
    response = client.get(f"/api/v1/payments/fundings/{paid.pk}/receipt/")
    assert response.status_code == 200
    assert "?abka € ?? paid for “" in _text_in_pdf(response.content)


def test_the_receipt_is_for_the_payer_and_staff_only_and_only_once_paid(
    client, assignment, employer, paid
):
    url = f"/api/v1/payments/fundings/{paid.pk}/receipt/"
    missing = "/api/v1/payments/fundings/987654/receipt/"
    for outsider in (EmployerUserFactory(), assignment.student):
        _with_token(client, outsider)
        assert client.get(url).status_code == client.get(missing).status_code == 404
        assert client.get(url).json()["code"] == "not_found"
    _with_token(client, StaffFactory())
    assert client.get(url).status_code == 200

    unpaid = AssignmentFactory(
        application__posting__employer=assignment.posting.employer, amount=10000, milestones=[10000]
    )
    open_funding = services.funding_start(assignment=unpaid, actor=employer)
    _with_token(client, employer)
    assert client.get(f"/api/v1/payments/fundings/{open_funding.pk}/receipt/").status_code == 404


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_exports_with_a_token_are_the_pages_exports(
    client, assignment, employer, paid, on_commit
):
    with on_commit():
        ready_account(assignment.student)
    milestone = assignment.milestones.order_by("position").first()
    submit(milestone)
    with on_commit():
        app_services.milestone_approve(milestone=milestone, actor=employer)
    payout = Payout.objects.get()

    _with_token(client, employer)
    fundings = client.get("/api/v1/payments/fundings/export/", HTTP_ACCEPT="text/csv")
    assert fundings.status_code == 200 and fundings["Content-Type"] == "text/csv; charset=utf-8"
    assert fundings["Content-Disposition"] == 'attachment; filename="fundings.csv"'
    rows = _csv(fundings)
    assert rows[0][0] == "funding_id" and len(rows) == 2
    assert rows[1][0] == str(paid.pk)
    assert rows[1][5:11] == ["500.00", "50.00", "550.00", "0.00", "USD", "paid"]
    refused = client.get("/api/v1/payments/payouts/export/")
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"

    _with_token(client, assignment.student)
    payouts = client.get("/api/v1/payments/payouts/export/")
    assert payouts.status_code == 200
    assert payouts["Content-Disposition"] == 'attachment; filename="payouts.csv"'
    rows = _csv(payouts)
    assert rows[1][0] == str(payout.pk) and rows[1][5:8] == ["200.00", "USD", "paid"]
    assert client.get("/api/v1/payments/fundings/export/").status_code == 403
    client.defaults.pop("HTTP_AUTHORIZATION")
    client.force_login(assignment.student)
    assert _csv(client.get("/payments/earnings/payouts.csv")) == rows

    _with_token(client, StudentFactory())
    assert _csv(client.get("/api/v1/payments/payouts/export/")) == [rows[0]]  # none of theirs
    _with_token(client, StaffFactory())
    everyone = client.get("/api/v1/payments/payouts/export/")
    assert everyone["Content-Disposition"] == 'attachment; filename="all-payouts.csv"'
    assert len(_csv(everyone)) == 2


def test_the_student_reads_the_earnings_figures_in_minor_units(
    client, assignment, employer, paid, on_commit
):
    _with_token(client, assignment.student)
    url = "/api/v1/payments/earnings/"
    assert client.get(url).json() == {"totals": [], "payout_account_ready": False}

    first, second = assignment.milestones.order_by("position")
    for milestone in (first, second):
        submit(milestone)
        with on_commit():
            app_services.milestone_approve(milestone=milestone, actor=employer)
    # No payout account yet: both payouts wait, on the way.
    assert client.get(url).json() == {
        "totals": [{"currency": "USD", "paid": 0, "pending": 50000, "failed": 0}],
        "payout_account_ready": False,
    }
    with on_commit():
        ready_account(assignment.student)
        services.payments_sweep()
    assert client.get(url).json() == {
        "totals": [{"currency": "USD", "paid": 50000, "pending": 0, "failed": 0}],
        "payout_account_ready": True,
    }
    client.defaults.pop("HTTP_AUTHORIZATION")
    client.force_login(assignment.student)
    assert "Paid: <strong>500.00 USD</strong>" in client.get("/payments/earnings/").content.decode()

    _with_token(client, employer)
    refused = client.get(url)
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"


def test_a_student_gets_the_payout_onboarding_link_with_a_token(client, test_provider):
    student = StudentFactory()
    _with_token(client, student)
    response = client.post(
        "/api/v1/payments/payout-account/onboarding-link/",
        {"country": "US"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["url"].startswith("http://testserver/payments/test-mode/onboarding/")


def test_the_downloads_are_documented_with_their_content_types(client):
    client.force_login(StudentFactory())
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]

    def content(path):
        return paths[path]["get"]["responses"]["200"]["content"]

    receipt = content("/api/v1/payments/fundings/{id}/receipt/")
    assert receipt == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    for path in ("/api/v1/payments/fundings/export/", "/api/v1/payments/payouts/export/"):
        assert list(content(path)) == ["text/csv"]
    cv = content("/api/v1/applications/{id}/cv/")
    assert "application/pdf" in cv and "text/markdown" in cv
    earnings = paths["/api/v1/payments/earnings/"]["get"]["responses"]["200"]["content"]
    ref = earnings["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {
        "totals",
        "payout_account_ready",
    }
