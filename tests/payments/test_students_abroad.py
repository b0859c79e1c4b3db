"""Students abroad: the payout account is made in the student's country (asked at set-up), with
the recipient service agreement outside the platform's country, and an offer in a currency the
student cannot be paid out in is refused before it is accepted."""

import pytest

from accounts.models import StudentProfile
from applications.models import Application, Assignment
from marketplace.core.errors import DomainError
from payments import services
from payments.models import PayoutAccount, TestModeObject
from payments.providers import get_provider
from payments.providers.base import ProviderError
from tests.applications.factories import ApplicationFactory, walk_to
from tests.factories import PostingFactory, StudentFactory, StudentProfileFactory

from .factories import AssignmentFactory
from .helpers import assert_ledger_clean

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _student(country=""):
    student = StudentFactory()
    StudentProfile.objects.filter(user=student).delete()
    StudentProfileFactory(user=student, payout_country=country)
    return student


@pytest.mark.parametrize(
    ("country", "agreement"), [("DE", "recipient"), ("GB", "recipient"), ("US", "full")]
)
def test_the_payout_account_is_made_in_the_student_s_country(
    stripe_api, client, country, agreement
):
    student = _student()
    client.force_login(student)
    response = client.post("/payments/payout-account/onboard/", {"country": country})
    assert response.status_code == 302
    assert response.url.startswith("https://connect.stripe.test/setup/")
    account = PayoutAccount.objects.get(student=student)
    remote = stripe_api.state.accounts[account.account_id]
    assert remote["country"] == country
    assert remote["tos_acceptance"] == {"service_agreement": agreement}
    (call,) = stripe_api.calls("POST", "/v1/accounts")
    assert call.params["capabilities"] == {"transfers": {"requested": "true"}}
    assert StudentProfile.objects.get(user=student).payout_country == country
    # The country cannot change afterwards; the next link needs no answer.
    assert client.post("/payments/payout-account/onboard/").status_code == 302
    assert len(stripe_api.calls("POST", "/v1/accounts")) == 1
    assert_ledger_clean()


def test_set_up_without_a_country_or_with_an_unsupported_one_is_a_clear_error(stripe_api, client):
    student = _student()
    client.force_login(student)
    for data in ({}, {"country": "JP"}, {"country": "\x00x"}):
        response = client.post("/payments/payout-account/onboard/", data, follow=True)
        assert response.status_code == 200
        assert b"Choose the country" in response.content or b"not available" in (response.content)
    assert not PayoutAccount.objects.exists()
    assert not stripe_api.calls("POST", "/v1/accounts")
    # The page asks for it.
    page = client.get("/payments/payout-account/").content.decode()
    assert 'name="country"' in page and '<option value="DE">Germany</option>' in page


def test_set_up_in_a_country_that_cannot_be_paid_the_student_s_work_is_refused(test_provider):
    student = _student()
    AssignmentFactory(student=student, currency="GBP", amount=20000, milestones=[20000])
    with pytest.raises(DomainError) as error:
        services.payout_account_onboarding_url(
            student=student, refresh_url="http://t/r", return_url="http://t/r", country="DE"
        )
    assert error.value.code == "payout_currency" and "GBP" in error.value.message
    assert not PayoutAccount.objects.exists()
    # In the UK it can.
    services.payout_account_onboarding_url(
        student=student, refresh_url="http://t/r", return_url="http://t/r", country="GB"
    )
    account = PayoutAccount.objects.get(student=student)
    stored = TestModeObject.objects.get(pk=account.account_id).data  # the test provider's record
    assert (stored["country"], stored["service_agreement"]) == ("GB", "recipient")


@pytest.mark.parametrize(
    ("currency", "accepted"), [("EUR", True), ("USD", True), ("GBP", False), ("JPY", False)]
)
def test_an_offer_in_a_currency_the_student_cannot_be_paid_in_is_refused(currency, accepted):
    student = _student("DE")  # paid in EUR locally, or the US platform's USD
    posting = PostingFactory(currency=currency, amount=50000)
    application = ApplicationFactory(posting=posting, student=student)
    if accepted:
        assignment = walk_to(application, Application.Status.ACCEPTED)
        assert assignment.currency == currency
        return
    with pytest.raises(DomainError) as error:
        walk_to(application, Application.Status.ACCEPTED)
    assert error.value.code == "payout_currency"
    assert currency in error.value.message and "EUR or USD" in error.value.message
    application.refresh_from_db()
    assert application.status == Application.Status.OFFERED
    assert not Assignment.objects.filter(application=application).exists()


def test_a_cross_border_account_without_the_recipient_agreement_is_refused_by_the_stand_in(
    stripe_api,
):
    """The stand-in is as strict as Stripe: this is what the old code (no country, no agreement
    in the request, so the platform's country) could never have noticed."""
    with pytest.raises(ProviderError) as error:
        get_provider().account_create(
            email="s@example.com",
            student_id=1,
            country="DE",
            service_agreement="full",
            idempotency_key="k-abroad",
        )
    assert error.value.code == "invalid_cross_border_account"
    assert not stripe_api.state.accounts
