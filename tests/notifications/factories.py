from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from notifications.models import Notification, Reminder
from tests.factories import UserFactory


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = "posting.approved"
    title = factory.Sequence(lambda n: f"Notification {n}")
    body = "Something happened."
    link = "/dashboard/"
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")


class ReminderFactory(DjangoModelFactory):
    class Meta:
        model = Reminder

    key = factory.Sequence(lambda n: f"test-reminder:{n}")
    recipient = factory.SubFactory(UserFactory)
    kind = "reminder.milestone_due"
    title = "Milestone “Report” is due in 48 hours"
    body = "Submit your work before the deadline."
    link = "/dashboard/"
    send_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    expires_at = factory.LazyAttribute(lambda o: o.send_at + timedelta(hours=48))
