"""The API list's lean path (plain rows, orjson) answers byte for byte what the serializer and
DRF's JSON renderer would: the documented schema's output, only cheaper."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.models import Employer
from marketplace.core.renderers import ORJSONRenderer
from postings.models import Posting
from postings.selectors import postings_listed
from postings.serializers import PostingListSerializer, posting_list_rows
from tests.factories import CreditPostingFactory, EmployerFactory, PostingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def postings():
    rated = EmployerFactory(name="Café «Nord»", verified=True)
    Employer.objects.filter(pk=rated.pk).update(
        rating_average=Decimal("4.5"), rating_count=7, response_rate=83
    )
    return [
        PostingFactory(employer=rated, title="Line\u2028separator and emoji 🎉", skills=["sql"]),
        CreditPostingFactory(work_mode="onsite", location="Zürich"),
        PostingFactory(duration_hours=24 * 7 * 5, effort_hours=33),
    ]


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles"])
def test_rows_and_bytes_are_the_serializers(postings, zone):
    with timezone.override(zone):
        rows = list(postings_listed().order_by("pk"))
        expected = PostingListSerializer(rows, many=True).data
        lean = posting_list_rows(rows)
        assert lean == expected
        body = {"next": None, "previous": "http://testserver/?cursor=x", "results": lean}
        assert ORJSONRenderer().render(body) == JSONRenderer().render(body)
    assert b"\\u2028" in ORJSONRenderer().render(lean)


def test_the_api_list_answers_what_the_serializer_would(client, postings):
    response = client.get("/api/v1/postings/?sort=deadline")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    ordered = list(postings_listed().order_by("application_deadline", "pk"))
    expected = {
        "next": None,
        "previous": None,
        "results": PostingListSerializer(ordered, many=True).data,
    }
    assert response.content == JSONRenderer().render(expected)
    assert Posting.objects.count() == 3


def test_errors_and_the_browsable_api_still_render(client):
    bad = client.get("/api/v1/postings/?min_pay=abc")
    assert bad.status_code == 400 and "min_pay" in bad.json()["fields"]
    page = client.get("/api/v1/postings/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"<html" in page.content
