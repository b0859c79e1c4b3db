"""One "can a student apply to this posting" check: the posting's page (its Apply button and
form), the apply page, the API and the service refuse for the same reasons, in the same words."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from applications import services
from applications.models import Application
from marketplace.core.errors import DomainError
from postings.models import Posting
from tests.factories import CreditPostingFactory, StudentFactory

pytestmark = pytest.mark.django_db

CASES = [
    ({"status": Posting.Status.DRAFT}, "posting_not_open", "not open for applications"),
    (
        {"application_deadline": timezone.now() - dt.timedelta(minutes=1)},
        "deadline_passed",
        "deadline for this posting has passed",
    ),
    ({"openings": 2, "seats_filled": 2}, "posting_full", "Every seat of this posting is taken"),
]


def _posting(**changes) -> Posting:
    posting = CreditPostingFactory()
    Posting.objects.filter(pk=posting.pk).update(**changes)
    posting.refresh_from_db()
    return posting


def test_an_open_posting_takes_applications(client):
    posting = _posting()
    assert posting.application_refusal() is None and posting.accepts_applications
    client.force_login(StudentFactory())
    detail = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    assert 'name="cover_note"' in detail  # the form on the posting's page


@pytest.mark.parametrize("changes,code,words", CASES, ids=[c[1] for c in CASES])
def test_every_way_in_refuses_alike(client, changes, code, words):
    posting = _posting(**changes)
    student = StudentFactory()
    assert posting.application_refusal()[0] == code
    assert not posting.accepts_applications

    with pytest.raises(DomainError) as exc:
        services.application_submit(posting=posting, student=student, cover_note="x" * 200)
    assert exc.value.code == code and words in str(exc.value)

    api = APIClient()
    api.force_authenticate(student)
    answer = api.post(
        "/api/v1/applications/", {"posting": posting.pk, "cover_note": "x" * 200}, format="json"
    )
    client.force_login(student)
    page = client.post(reverse("applications:apply", args=[posting.pk]), {})
    if posting.status == Posting.Status.PUBLISHED:
        assert answer.status_code == 400 and words in answer.content.decode()
        assert page.status_code == 400 and words in page.content.decode()
        detail = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
        assert 'name="cover_note"' not in detail
    else:  # a draft does not exist for a student
        assert answer.status_code == page.status_code == 404
    assert not Application.objects.exists()
