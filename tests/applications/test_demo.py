"""The demo data: every stage present for the demo users, through the services; idempotent."""

import io

import pytest
from django.core.management import call_command

from applications.models import Application, Assignment, Dispute, Milestone, Rating, ReInvite

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_every_stage_and_is_idempotent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    statuses = set(Application.objects.values_list("status", flat=True))
    assert {"submitted", "shortlisted", "offered", "accepted", "rejected", "withdrawn"} <= statuses
    assert set(Assignment.objects.values_list("status", flat=True)) >= {"active", "completed"}
    paid = Assignment.objects.get(posting__title="Customer survey analysis in Python")
    # Left waiting for funding (the payments demo may fund it).
    assert paid.status in {"awaiting_funding", "active"} and paid.amount == 90000
    assert Milestone.objects.filter(status="submitted").exists()
    assert Dispute.objects.filter(resolved_at__isnull=True).count() == 1
    completed = Assignment.objects.get(status="completed")
    assert completed.student.email == "ana@student.demo.test"
    assert Rating.objects.filter(assignment=completed, published_at__isnull=False).count() == 2
    assert ReInvite.objects.count() == 1
    counts = (Application.objects.count(), Assignment.objects.count(), Rating.objects.count())
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
    assert (Application.objects.count(), Assignment.objects.count(), Rating.objects.count()) == (
        counts
    )
    assert "Applications: 0 demo stories added" in out.getvalue()
