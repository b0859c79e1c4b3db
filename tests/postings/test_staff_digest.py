"""Staff hear when postings wait for review: one digest per staff member, only for new arrivals."""

import pytest
from django.conf import settings

from notifications.models import Notification
from postings import tasks
from tests.factories import PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_one_digest_per_staff_member_for_what_waits_and_none_twice():
    moderators = [StaffFactory(), StaffFactory()]
    StaffFactory(is_active=False)
    StudentFactory()
    assert tasks.send_moderation_digest() == 0  # nothing waits: nothing sent
    PostingFactory(status="pending_review", title="Bird survey")
    PostingFactory(status="pending_review", title="Bee survey")
    PostingFactory(status="published")

    assert tasks.send_moderation_digest() == 2
    digests = Notification.objects.filter(kind="moderation.waiting")
    assert sorted(n.recipient_id for n in digests) == sorted(m.pk for m in moderators)
    assert {n.title for n in digests} == {"2 postings are waiting for review"}
    assert all(n.link == "/postings/moderation/" for n in digests)

    # Run again with nothing new: no second digest.
    assert tasks.send_moderation_digest() == 0
    # A new arrival: one more digest each, counting everything that waits.
    PostingFactory(status="pending_review", title="Moth survey")
    assert tasks.send_moderation_digest() == 2
    assert digests.filter(title="3 postings are waiting for review").count() == 2


def test_the_digest_runs_on_the_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["postings-moderation-digest"]
    assert entry["task"] == "postings.send_moderation_digest"
    assert entry["schedule"] == settings.MODERATION_DIGEST_MINUTES * 60
