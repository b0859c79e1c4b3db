"""Account settings (name, time zone), the personal API token, and dates in the viewer's zone."""

import datetime as dt

import pytest
import time_machine

from accounts import services
from marketplace.core.errors import NotPermitted
from marketplace.core.models import AuditLog
from tests.factories import EmployerUserFactory, StudentFactory

pytestmark = pytest.mark.django_db

INSTANT = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)


def test_settings_change_name_and_time_zone(client):
    user = EmployerUserFactory(time_zone="UTC")
    client.force_login(user)
    response = client.post("/settings/", {"full_name": "Grace H", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.time_zone) == ("Grace H", "Asia/Tokyo")
    assert AuditLog.objects.filter(action="user.updated", target_id=str(user.pk)).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"full_name": "G", "time_zone": "Not/AZone"}, "time_zone"),
        ({"full_name": "G" * 151, "time_zone": "UTC"}, "full_name"),
        ({"full_name": "", "time_zone": "UTC"}, "full_name"),
    ],
)
def test_settings_bad_input_is_a_form_error(client, data, field):
    user = StudentFactory(full_name="Kept", time_zone="UTC")
    client.force_login(user)
    response = client.post("/settings/", data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    user.refresh_from_db()
    assert user.full_name == "Kept"


def test_nobody_manages_another_users_token_or_settings():
    user, other = StudentFactory(), StudentFactory()
    with pytest.raises(NotPermitted):
        services.api_token_create(user=user, actor=other, name="Theirs")
    with pytest.raises(NotPermitted):
        services.user_update(user=user, actor=other, time_zone="Asia/Tokyo")
    token, _key = services.api_token_create(user=user, actor=user, name="Mine")
    with pytest.raises(NotPermitted):
        services.api_token_revoke(token=token, actor=other)
    assert user.api_tokens.count() == 1


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Asia/Tokyo", "11 Mar 2026, 08:30 JST"),
        ("America/Toronto", "10 Mar 2026, 19:30 EDT"),
        ("UTC", "10 Mar 2026, 23:30 UTC"),
    ],
)
def test_dates_are_shown_in_the_viewers_time_zone(client, zone, shown):
    user = StudentFactory(time_zone=zone)
    with time_machine.travel(INSTANT, tick=False):
        services.api_token_create(user=user, actor=user, name="Laptop")
    client.force_login(user)
    html = client.get("/settings/").content.decode()
    assert f">{shown}</time>" in html
    assert 'datetime="' in html
    assert f"Times are shown in {zone}." in html


def test_invitation_dates_follow_the_owner_time_zone(client):
    owner = EmployerUserFactory(time_zone="Asia/Tokyo")
    employer = owner.memberships.get().employer
    with time_machine.travel(INSTANT, tick=False):
        services.invitation_create(employer=employer, actor=owner, email="c@example.com")
    client.force_login(owner)
    assert "sent <time" in client.get("/organisation/").content.decode()
    assert "11 Mar 2026, 08:30 JST" in client.get("/organisation/").content.decode()
