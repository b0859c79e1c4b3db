"""Existence never leaks through a list filter: a filter on another user's object (a draft
posting, an application, an assignment, a milestone) answers exactly as one on a missing id."""

import pytest

from postings.models import Posting
from tests.applications.factories import active_assignment, first_milestone
from tests.factories import EmployerUserFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db

MISSING = 987654321


@pytest.fixture
def others():
    draft = PostingFactory(status=Posting.Status.DRAFT, published_at=None)
    assignment = active_assignment()
    return {
        "posting": draft.pk,
        "assignment": assignment.pk,
        "milestone": first_milestone(assignment).pk,
        "application": assignment.application_id,
    }


FILTERS = [
    ("/api/v1/applications/", "posting"),
    ("/api/v1/assignments/", "posting"),
    ("/api/v1/milestones/", "assignment"),
    ("/api/v1/submissions/", "milestone"),
    ("/api/v1/ratings/", "assignment"),
    ("/api/v1/messages/", "application"),
]


@pytest.mark.parametrize("who", [StudentFactory, EmployerUserFactory])
@pytest.mark.parametrize("url, name", FILTERS)
def test_a_filter_on_anothers_object_answers_as_a_missing_one(client, others, who, url, name):
    client.force_login(who())
    theirs = client.get(url, {name: others[name]})
    missing = client.get(url, {name: MISSING})
    assert theirs.status_code == missing.status_code == 200
    assert theirs.json()["results"] == missing.json()["results"] == []


def test_a_filter_that_is_not_an_id_is_a_400_in_the_error_format(client):
    client.force_login(StudentFactory())
    response = client.get("/api/v1/applications/", {"posting": "abc"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "posting" in response.json()["fields"]
