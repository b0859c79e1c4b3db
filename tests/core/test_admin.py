"""The back office's read-only pages: rows that only services write are shown, never edited."""

import pytest
from django.contrib import admin

from marketplace.core.admin import ReadOnlyAdmin
from marketplace.core.audit import audit
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_every_read_only_admin_refuses_add_change_and_delete(rf):
    request = rf.get("/admin/")
    request.user = StaffFactory()
    read_only = [a for a in admin.site._registry.values() if isinstance(a, ReadOnlyAdmin)]
    names = {a.model._meta.label for a in read_only}
    # Each app's service-written rows use the one base.
    assert {
        "core.AuditLog",
        "applications.Application",
        "payments.Payout",
        "notifications.Notification",
        "notifications.Reminder",
        "notifications.NotificationSettings",
    } <= names
    for model_admin in read_only:
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_audit_log_cannot_be_added_or_deleted_through_the_admin(client):
    staff = StaffFactory()
    entry = audit(action="test.done", target=staff, actor=staff)
    client.force_login(staff)
    assert client.get("/admin/core/auditlog/add/").status_code == 403
    assert client.get(f"/admin/core/auditlog/{entry.pk}/delete/").status_code == 403
    assert client.get(f"/admin/core/auditlog/{entry.pk}/change/").status_code == 200  # view only
