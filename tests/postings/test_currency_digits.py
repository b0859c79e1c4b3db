"""Amounts typed on the posting pages are in the posting's currency, with that currency's own
digits: 50000 yen is 50000 minor units (JPY has no smaller unit), 1.500 dinar is 1500 (KWD has
three), and neither is multiplied by 100 on the way in nor divided on the way out."""

import pytest
from django.urls import reverse

from postings.models import Posting
from tests.factories import EmployerUserFactory, PostingFactory
from tests.postings.helpers import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, settings):
    settings.SUPPORTED_CURRENCIES = ["USD", "JPY", "KWD"]
    user = EmployerUserFactory()
    client.force_login(user)
    return user


def yen(**changes) -> dict:
    return form_data(
        **{
            "currency": "JPY",
            "amount": "50000",
            "milestones-0-amount": "20000",
            "milestones-1-amount": "30000",
            **changes,
        }
    )


def test_a_yen_posting_is_saved_in_yen_not_hundredths_of_one(client, member):
    response = client.post(reverse("postings:create"), yen())
    assert response.status_code == 302, response.content.decode()[:2000]
    posting = Posting.objects.get()
    assert (posting.amount, posting.currency) == (50000, "JPY")
    assert [m.amount for m in posting.milestones.all()] == [20000, 30000]
    detail = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    assert "50,000 JPY" in detail and "20,000 JPY" in detail
    assert "5,000,000" not in detail and "500.00 JPY" not in detail


def test_the_edit_page_shows_yen_as_typed_and_saves_them_unchanged(client, member):
    client.post(reverse("postings:create"), yen())
    posting = Posting.objects.get()
    page = client.get(reverse("postings:edit", args=[posting.pk])).content.decode()
    assert 'name="amount" value="50000"' in page
    assert 'name="milestones-0-amount" value="20000"' in page
    assert 'step="any"' in page  # the browser lets 1.500 KWD and 50000 JPY through alike
    # Saving the page as shown changes nothing.
    client.post(reverse("postings:edit", args=[posting.pk]), yen(title="Survey, revised"))
    posting.refresh_from_db()
    assert posting.amount == 50000
    assert [m.amount for m in posting.milestones.all()] == [20000, 30000]


@pytest.mark.parametrize(
    "changes,field_id,message",
    [
        ({"amount": "50000.5"}, "id_amount", "JPY has no smaller unit"),
        ({"milestones-0-amount": "20000.50"}, "id_milestones-0-amount", "JPY has no smaller unit"),
        (
            {"currency": "USD", "amount": "500.005", "milestones-0-amount": "200.005"},
            "id_amount",
            "USD amounts have at most 2 decimals",
        ),
    ],
)
def test_more_decimals_than_the_currency_has_is_an_error_beside_the_field(
    client, member, changes, field_id, message
):
    response = client.post(reverse("postings:create"), yen(**changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and f'id="{field_id}_error"' in html
    assert not Posting.objects.exists()


def test_three_decimal_dinar_are_saved_in_thousandths(client, member):
    data = form_data(
        currency="KWD",
        amount="150.250",
        **{"milestones-0-amount": "50.250", "milestones-1-amount": "100"},
    )
    response = client.post(reverse("postings:create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    posting = Posting.objects.get()
    assert posting.amount == 150250
    assert [m.amount for m in posting.milestones.all()] == [50250, 100000]


def test_the_preview_totals_yen_with_the_fee_in_yen(client, member, settings):
    settings.PLATFORM_FEE_PERCENT = 10
    response = client.post(reverse("postings:preview"), yen(), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "You pay <strong>55,000 JPY</strong> per student" in html
    assert "(5,000 JPY)" in html and "20,000 JPY" in html


def test_the_limit_is_named_in_the_posting_s_currency(client, member, settings):
    settings.POSTING_MAX_AMOUNT = 5_000_000
    response = client.post(
        reverse("postings:create"),
        yen(amount="6000000", **{"milestones-1-amount": "5980000"}),
    )
    assert response.status_code == 400
    assert "above the limit of 5,000,000 JPY per assignment" in response.content.decode()


def test_the_editor_script_learns_each_currency_s_digits(client, member):
    html = client.get(reverse("postings:create")).content.decode()
    assert '<script id="currency-digits" type="application/json">' in html
    assert '{"USD": 2, "JPY": 0, "KWD": 3}' in html


def test_minimum_pay_is_read_in_each_posting_s_currency(client, settings):
    settings.SUPPORTED_CURRENCIES = ["USD", "JPY", "KWD"]
    PostingFactory(title="Dollars", amount=30000, currency="USD")  # 300.00 USD
    PostingFactory(title="Yen", amount=5000, currency="JPY")  # 5,000 JPY
    PostingFactory(title="Dinar", amount=1500, currency="KWD")  # 1.500 KWD

    def titles(query):
        response = client.get(reverse("postings:list") + query)
        assert response.status_code == 200
        return sorted(p.title for p in response.context["page"].items)

    assert titles("?min_pay=1") == ["Dinar", "Dollars", "Yen"]
    assert titles("?min_pay=1.5") == ["Dinar", "Dollars", "Yen"]
    assert titles("?min_pay=2") == ["Dollars", "Yen"]
    assert titles("?min_pay=300") == ["Dollars", "Yen"]
    assert titles("?min_pay=300.01") == ["Yen"]
    assert titles("?min_pay=5000") == ["Yen"]
    assert titles("?min_pay=5001") == []
