"""Every staff page answers alike through the one guard: an anonymous visitor is sent to log
in (and back), a signed-in user who is not staff gets 403, staff get the page."""

from urllib.parse import quote

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import EmployerUserFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "postings:moderation",
    "applications:disputes",
    "payments:staff_money",
    "payments:staff_payouts_csv",
    "payments:staff_fundings_csv",
]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_staff_page_for_anonymous_non_staff_and_staff(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse(settings.LOGIN_URL)}?next={quote(url)}"
    for user in (StudentFactory(), EmployerUserFactory()):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 200


def test_a_moderation_post_needs_staff_too(client):
    url = reverse("postings:moderate", args=[1])
    assert client.post(url, {"action": "approve"}).status_code == 302
    client.force_login(StudentFactory())
    assert client.post(url, {"action": "approve"}).status_code == 403
