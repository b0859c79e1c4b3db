import io

import pytest

from notifications.demo import seed_demo
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent(django_capture_on_commit_callbacks):
    demo = [UserFactory(email=f"u{i}@student.demo.test") for i in range(2)]
    UserFactory(email="real@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(stdout=io.StringIO())
        seed_demo(stdout=io.StringIO())
    assert sorted(Notification.objects.values_list("recipient__email", flat=True)) == sorted(
        u.email for u in demo
    )
