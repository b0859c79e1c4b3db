import io

import pytest
from django.core import mail
from django.core.management import call_command

from credentials.models import Credential, SupervisorSignOff

pytestmark = pytest.mark.django_db


def test_demo_has_a_credential_and_a_supervisor_link(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    credential = Credential.objects.get(status="active")
    assert credential.student.email == "ana@student.demo.test"
    assert Credential.objects.count() == 1
    sign_off = SupervisorSignOff.objects.get()
    assert sign_off.assignment == credential.assignment and sign_off.status == "pending"
    assert [m.to for m in mail.outbox if m.to == ["h.carter@leeds.demo.test"]] == [
        ["h.carter@leeds.demo.test"]
    ]
