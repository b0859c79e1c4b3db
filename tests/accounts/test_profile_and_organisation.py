"""Student profile and organisation pages: editing, bad input, who may see what."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Employer, StudentProfile
from marketplace.core.models import AuditLog
from tests.factories import EmployerFactory, EmployerUserFactory, StudentFactory

pytestmark = pytest.mark.django_db


def png_bytes(size=(64, 64), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (11, 92, 173)).save(buffer, format=fmt)
    return buffer.getvalue()


def profile_data(**overrides) -> dict:
    data = {
        "full_name": "Ana Silva",
        "school": "University of Porto",
        "programme": "Data Science",
        "graduation_year": "2027",
        "skills": "Python,  SQL, python , Data Analysis",
        "hours_per_week": "12",
        "time_zone": "Europe/Lisbon",
        "bio": "I like data.",
        "portfolio_links": "https://github.com/ana\nhttps://ana.example/portfolio",
        "record_public": "on",
    }
    data.update(overrides)
    return data


def org_data(**overrides) -> dict:
    data = {"name": "Acme Robotics", "website": "https://acme.example", "description": "Robots."}
    data.update(overrides)
    return data


# --- Student profile ---------------------------------------------------------------------------


def test_student_edits_profile(client):
    student = StudentFactory()
    client.force_login(student)
    assert client.get("/profile/").status_code == 200
    response = client.post("/profile/", profile_data())
    assert response.status_code == 302
    profile = StudentProfile.objects.get(user=student)
    assert profile.skills == ["python", "sql", "data analysis"]
    assert profile.portfolio_links == ["https://github.com/ana", "https://ana.example/portfolio"]
    assert profile.hours_per_week == 12
    assert profile.record_public is True
    student.refresh_from_db()
    assert (student.full_name, student.time_zone) == ("Ana Silva", "Europe/Lisbon")
    assert AuditLog.objects.filter(action="student_profile.updated").exists()
    # The saved values come back in the form.
    html = client.get("/profile/").content.decode()
    assert "python, sql, data analysis" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("portfolio_links", "not a url", "“not a url” is not a valid web address"),
        ("portfolio_links", "javascript:alert(1)", "is not a valid web address"),
        ("full_name", "n" * 151, "at most 150 characters"),
        ("time_zone", "Mars/Olympus", "Select a valid choice"),
        ("hours_per_week", "0", "greater than or equal to 1"),
        ("graduation_year", "1800", "greater than or equal to 1950"),
    ],
)
def test_bad_profile_input_is_a_form_error(client, field, value, message):
    student = StudentFactory()
    client.force_login(student)
    before = StudentProfile.objects.get(user=student).portfolio_links
    response = client.post("/profile/", profile_data(**{field: value}))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert StudentProfile.objects.get(user=student).portfolio_links == before


def test_employer_is_refused_student_pages_and_student_employer_pages(client):
    client.force_login(EmployerUserFactory())
    assert client.get("/profile/").status_code == 403
    response = client.post("/profile/", profile_data())
    assert response.status_code == 403
    assert "This page is for students." in response.content.decode()

    student = StudentFactory()
    client.force_login(student)
    for path in ("/organisation/", f"/organisation/{EmployerFactory().pk}/edit/"):
        response = client.get(path)
        assert response.status_code == 403
        assert "This page is for employers." in response.content.decode()


def test_anonymous_visitor_is_sent_to_login(client):
    for path in ("/profile/", "/organisation/", "/settings/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


# --- Organisation -----------------------------------------------------------------------------


def test_employer_edits_own_organisation_with_logo(client):
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    client.force_login(owner)
    assert client.get(f"/organisation/{employer.pk}/edit/").status_code == 200
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    response = client.post(f"/organisation/{employer.pk}/edit/", org_data(logo=logo))
    assert response.status_code == 302
    employer.refresh_from_db()
    assert employer.name == "Acme Robotics"
    assert employer.website == "https://acme.example"
    assert employer.logo.name.startswith("logos/")
    assert AuditLog.objects.filter(action="employer.updated", target_id=str(employer.pk)).exists()

    page = client.get("/organisation/").content.decode()
    assert f'src="/employers/{employer.pk}/logo/"' in page
    logo_response = client.get(f"/employers/{employer.pk}/logo/")
    assert logo_response.status_code == 200
    assert logo_response["Content-Type"] == "image/png"
    assert b"".join(logo_response.streaming_content) == png_bytes()


def test_member_can_clear_the_logo(client):
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    client.force_login(owner)
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    client.post(f"/organisation/{employer.pk}/edit/", org_data(logo=logo))
    client.post(f"/organisation/{employer.pk}/edit/", org_data(**{"logo-clear": "on"}))
    employer.refresh_from_db()
    assert not employer.logo
    assert client.get(f"/employers/{employer.pk}/logo/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"website": "not a url at all"}, "website", "Enter a valid web address"),
        ({"website": "ftp://files.example"}, "website", "Enter a valid web address"),
        ({"name": "n" * 151}, "name", "at most 150 characters"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_organisation_input_is_a_form_error(client, overrides, field, message):
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    old_name = employer.name
    client.force_login(owner)
    response = client.post(f"/organisation/{employer.pk}/edit/", org_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert f"<h1>Edit {old_name}</h1>" in html
    employer.refresh_from_db()
    assert employer.name == old_name


def test_non_image_logo_is_a_form_error(client):
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    client.force_login(owner)
    fake = SimpleUploadedFile("logo.png", b"%PDF-1.4 not an image", content_type="image/png")
    response = client.post(f"/organisation/{employer.pk}/edit/", org_data(logo=fake))
    assert response.status_code == 200
    assert "Upload a valid image" in response.context["form"].errors["logo"][0]
    svg = SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    response = client.post(f"/organisation/{employer.pk}/edit/", org_data(logo=svg))
    assert response.status_code == 200
    assert response.context["form"].errors["logo"]
    employer.refresh_from_db()
    assert not employer.logo


def test_oversize_logo_is_a_form_error(client, settings):
    settings.MAX_LOGO_BYTES = 2048
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    client.force_login(owner)
    big = SimpleUploadedFile("big.png", png_bytes(size=(400, 400), fmt="BMP"))
    response = client.post(f"/organisation/{employer.pk}/edit/", org_data(logo=big))
    assert response.status_code == 200
    assert "The logo may be at most 2 KB" in response.context["form"].errors["logo"][0]
    employer.refresh_from_db()
    assert not employer.logo


def test_employer_cannot_edit_another_organisation(client):
    owner = EmployerUserFactory()
    other = EmployerFactory(name="Other Org")
    client.force_login(owner)
    assert client.get(f"/organisation/{other.pk}/edit/").status_code == 404
    response = client.post(f"/organisation/{other.pk}/edit/", org_data(name="Hijacked"))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Other Org"


def test_verified_cannot_be_set_by_the_employer(client):
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    client.force_login(owner)
    client.post(f"/organisation/{employer.pk}/edit/", org_data(verified="on"))
    employer.refresh_from_db()
    assert employer.name == "Acme Robotics"
    assert employer.verified is False


def test_member_sees_members_and_owner_sees_invite_form(client):
    owner = EmployerUserFactory(full_name="Olive Owner")
    employer = owner.memberships.get().employer
    member = EmployerUserFactory(employer=employer, full_name="Max Member")
    client.force_login(member)
    html = client.get("/organisation/").content.decode()
    assert "Olive Owner" in html and "Max Member" in html
    assert "Invite a colleague" not in html
    client.force_login(owner)
    assert "Invite a colleague" in client.get("/organisation/").content.decode()


# --- Public organisation page -----------------------------------------------------------------


def test_public_organisation_page(client):
    employer = EmployerFactory(
        name="Northwind",
        website="https://northwind.example",
        description="Analytics.",
        verified=True,
    )
    Employer.objects.filter(pk=employer.pk).update(
        response_rate=87, rating_average="4.50", rating_count=12
    )
    response = client.get(f"/employers/{employer.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Northwind</h1>" in html
    assert "Verified employer" in html
    assert 'href="https://northwind.example"' in html
    assert "87% of applications answered" in html
    assert "4.5 out of 5 (12 ratings)" in html
    assert "Edit organisation" not in html


def test_public_page_of_a_new_unverified_employer(client):
    employer = EmployerFactory(description="")
    html = client.get(f"/employers/{employer.pk}/").content.decode()
    assert "Not verified yet" in html
    assert "No ratings yet" in html
    assert "Not enough applications yet" in html
    assert client.get("/employers/999999/").status_code == 404
    assert client.get(f"/employers/{employer.pk}/logo/").status_code == 404
