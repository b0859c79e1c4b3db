"""The API base: OpenAPI schema and docs, session and token auth, the one error format, /me/."""

import json
import re

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from accounts import services
from accounts.models import StudentProfile
from tests.factories import EmployerUserFactory, StudentFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def assert_error_format(response, status, code=None):
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"message", "code", "fields"}
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["code"] == code
    return body


@pytest.fixture
def api():
    return APIClient()


# --- Schema and docs --------------------------------------------------------------------------


def test_schema_is_a_valid_openapi_3_document(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    spec = json.loads(response.content)
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/api/v1/me/" in spec["paths"]
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/me/"])
    schemes = spec["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["type"] == "apiKey"
    assert schemes["cookieAuth"]["type"] == "apiKey"


def test_schema_as_yaml_is_the_same_document(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    spec = yaml.safe_load(response.content)
    validate(spec)
    assert spec == json.loads(client.get("/api/schema/?format=json").content)


def test_docs_are_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = [
        url
        for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html)
        if url.startswith(("http://", "https://", "//"))
    ]
    assert external == []
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html
    # Its scripts are files on our own origin, so the strict policy lets them run.
    scripts = re.findall(r"""<script[^>]*src=["']([^"']+)""", html)
    assert scripts and all(src.startswith("/") for src in scripts)
    assert "<script>" not in html.replace(" ", "")
    for src in scripts:
        script = client.get(src)
        script.close()  # a streamed static file
        assert script.status_code == 200


# --- /api/v1/me/ ------------------------------------------------------------------------------


def test_me_needs_authentication(api):
    body = assert_error_format(api.get(ME), 401, "not_authenticated")
    assert "credentials were not provided" in body["message"]
    assert api.get(ME).headers["WWW-Authenticate"] == "Token"
    assert_error_format(api.patch(ME, {"full_name": "x"}, format="json"), 401)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error_format(api.get(ME), 401, "authentication_failed")


def test_me_with_session_answers_the_signed_in_student(api):
    student = StudentFactory(email="ana@example.com", time_zone="Europe/Lisbon")
    StudentFactory(email="other@example.com")
    api.force_login(student)  # a session, as the browser has
    response = api.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "ana@example.com"
    assert body["id"] == student.pk
    assert body["role"] == "student"
    assert body["time_zone"] == "Europe/Lisbon"
    assert body["student_profile"]["skills"] == ["python", "data analysis"]
    assert body["employer"] is None


def test_me_with_token_answers_the_tokens_owner(api):
    owner = EmployerUserFactory(email="boss@example.com")
    EmployerUserFactory(email="other-boss@example.com")
    token, key = services.api_token_create(user=owner, actor=owner, name="Script")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = api.get(ME).json()
    assert body["email"] == "boss@example.com"
    assert body["student_profile"] is None
    assert body["employer"]["name"] == owner.memberships.get().employer.name
    assert body["employer"]["verified"] is False

    services.api_token_revoke(token=token, actor=owner)
    assert_error_format(api.get(ME), 401, "authentication_failed")


def test_session_write_needs_csrf(api):
    student = StudentFactory()
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(student)
    response = csrf_client.patch(ME, {"full_name": "No token"}, format="json")
    assert_error_format(response, 403)
    student.refresh_from_db()
    assert student.full_name != "No token"


def test_token_write_needs_no_csrf(api):
    student = StudentFactory()
    _token, key = services.api_token_create(user=student, actor=student, name="Script")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.patch(ME, {"full_name": "Tok En"}, format="json").status_code == 200
    student.refresh_from_db()
    assert student.full_name == "Tok En"


def test_student_patches_profile_and_time_zone(api):
    student = StudentFactory()
    api.force_login(student)
    response = api.patch(
        ME,
        {
            "time_zone": "Asia/Tokyo",
            "student_profile": {"skills": ["Figma", "figma", " UX  research"], "bio": "Hi"},
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "Asia/Tokyo"
    assert body["student_profile"]["skills"] == ["figma", "ux research"]
    profile = StudentProfile.objects.get(user=student)
    assert profile.bio == "Hi"
    assert profile.school == "University of Leeds"  # untouched by a partial update


def test_employer_patches_organisation_but_not_verified(api):
    owner = EmployerUserFactory()
    api.force_login(owner)
    response = api.patch(
        ME,
        {"employer": {"name": "Renamed Ltd", "verified": True}, "email": "hijack@example.com"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["employer"]["name"] == "Renamed Ltd"
    assert body["employer"]["verified"] is False
    assert body["email"] == owner.email  # read-only


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"full_name": "x" * 151}, "full_name"),
        ({"student_profile": {"portfolio_links": ["not a url"]}}, "student_profile"),
        ({"student_profile": {"hours_per_week": 0}}, "student_profile"),
    ],
)
def test_bad_patch_is_a_400_in_the_error_format(api, payload, field):
    student = StudentFactory(time_zone="UTC")
    api.force_login(student)
    body = assert_error_format(api.patch(ME, payload, format="json"), 400, "invalid")
    assert field in body["fields"]
    student.refresh_from_db()
    assert student.time_zone == "UTC"


def test_bad_time_zone_message(api):
    api.force_login(StudentFactory())
    body = api.patch(ME, {"time_zone": "Mars/Olympus"}, format="json").json()
    assert body["message"] == "“Mars/Olympus” is not a known time zone, e.g. Europe/Berlin."
    assert body["fields"]["time_zone"] == [body["message"]]


def test_wrong_part_for_the_role_is_403(api):
    owner = EmployerUserFactory()
    api.force_login(owner)
    response = api.patch(ME, {"student_profile": {"school": "X"}}, format="json")
    assert_error_format(response, 403, "not_permitted")
    student = StudentFactory()
    api.force_login(student)
    response = api.patch(ME, {"employer": {"name": "Mine now"}}, format="json")
    assert_error_format(response, 403, "not_permitted")


def test_other_methods_are_405_in_the_error_format(api):
    api.force_login(StudentFactory())
    assert_error_format(api.delete(ME), 405)
    assert_error_format(api.post(ME, {}, format="json"), 405)
