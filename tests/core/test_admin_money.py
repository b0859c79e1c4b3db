"""The back office shows amounts as money ("1,234.50 USD", "5,000 JPY"), never as bare minor
units, in its lists and in the milestone rows of a posting or an assignment."""

import pytest

from tests.factories import PostingFactory, StaffFactory
from tests.payments.factories import AssignmentFactory, employer_of
from tests.payments.helpers import pay_with_test_provider

pytestmark = pytest.mark.django_db


def test_admin_lists_and_milestone_rows_show_money(
    client, settings, django_capture_on_commit_callbacks
):
    from payments import services

    settings.STRIPE_SECRET_KEY = ""  # the offline test provider
    assignment = AssignmentFactory(amount=123450, milestones=[123450])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_test_provider(funding)
    yen = PostingFactory(currency="JPY", amount=5000, milestones=[("Final delivery", 24, 5000)])
    client.force_login(StaffFactory())
    pages = {
        "/admin/applications/assignment/": ["1,234.50 USD"],
        f"/admin/applications/assignment/{assignment.pk}/change/": ["1,234.50 USD"],
        f"/admin/payments/funding/{funding.pk}/change/": ["1,357.95 USD", "123.45 USD"],
        "/admin/payments/funding/": ["1,357.95 USD", "123.45 USD"],
        "/admin/payments/ledgerentry/": ["1,234.50 USD"],
        "/admin/postings/posting/": ["5,000 JPY"],
        f"/admin/postings/posting/{yen.pk}/change/": ["5,000 JPY"],
    }
    for url, amounts in pages.items():
        html = client.get(url).content.decode()
        for amount in amounts:
            assert amount in html, (url, amount)
        assert ">123450<" not in html and ">5000<" not in html, url
