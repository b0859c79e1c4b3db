import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from marketplace.core.models import AuditLog
from postings.models import ModerationDecision
from tests.factories import PostingFactory, StaffFactory

pytestmark = pytest.mark.django_db
URL = "/admin/postings/posting/"


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def test_admin_approve_action_goes_through_the_service(staff_client):
    pending = PostingFactory(status="pending_review")
    draft = PostingFactory(status="draft")
    response = staff_client.post(
        URL, {"action": "approve", ACTION_CHECKBOX_NAME: [pending.pk, draft.pk]}, follow=True
    )
    assert response.status_code == 200
    pending.refresh_from_db()
    draft.refresh_from_db()
    assert pending.status == "published"
    assert draft.status == "draft"  # refused, with the reason shown
    assert "cannot move" in response.content.decode() or "Only a posting" in (
        response.content.decode()
    )
    assert AuditLog.objects.filter(action="posting.approved").count() == 1
    assert pending.decisions.get().action == ModerationDecision.Action.APPROVE


def test_admin_reject_asks_for_a_reason_first(staff_client):
    pending = PostingFactory(status="pending_review")
    data = {"action": "action_reject", ACTION_CHECKBOX_NAME: [pending.pk]}
    page = staff_client.post(URL, data)
    assert page.status_code == 200
    assert "Shown to the employer" in page.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending_review"

    staff_client.post(URL, {**data, "apply": "Reject", "reason": "Asks for a deposit."})
    pending.refresh_from_db()
    assert pending.status == "rejected"
    assert pending.moderation_reason == "Asks for a deposit."


def test_admin_cannot_add_or_delete_postings(staff_client):
    posting = PostingFactory()
    assert staff_client.get(URL + "add/").status_code == 403
    assert staff_client.get(f"{URL}{posting.pk}/change/").status_code == 200
    assert staff_client.get(f"{URL}{posting.pk}/delete/").status_code == 403
