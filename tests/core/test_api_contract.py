"""The OpenAPI schema says exactly what the server does (the generated requests of
``test_schemathesis.py`` check it broadly; these pin what they found, one rule each):

- every operation documents its error answers with the error body;
- an id that is not a whole number is the API's 404 in the error format, never a 500 or a page;
- one ``page_size`` rule on every list: 1 to 50, anything else a 400;
- enum fields list every value the server returns ("" for a blank choice, "none" for a
  payout account not set up); downloads document the content types they are sent as;
- ``checkout_url`` is absolute wherever a funding is shown.
"""

import pytest
from django.test import Client

from accounts import services as account_services
from applications.models import Application
from applications.uploads import content_types_of
from payments import services as payment_services
from tests.applications.factories import (
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    pdf,
    submit,
)
from tests.factories import EmployerUserFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/?format=json").json()


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method.upper(), operation


def _error(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "code", "fields"} and body["message"]
    assert body["code"] == code
    return body


# --- Errors documented ------------------------------------------------------------------------


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    error_refs = {"#/components/schemas/Error", "#/components/schemas/Exists"}
    for path, method, operation in _operations(schema):
        documented = set(operation["responses"])
        expected = {"400", "401", "429"}
        if "{" in path:
            expected.add("404")
        if method in {"POST", "PUT", "PATCH"}:
            expected |= {"403", "409", "413", "415"}
        assert expected <= documented, (method, path, sorted(documented))
        for status in documented:
            if status.startswith("4"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/json"], (method, path, status)
                assert content["application/json"]["schema"]["$ref"] in error_refs


def test_the_error_schemas_describe_the_body(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"message", "code", "fields"}
    exists = schema["components"]["schemas"]["Exists"]
    assert "existing" in exists["properties"]


def test_a_duplicate_is_documented_and_answered_as_created(client, schema):
    documented = schema["paths"]["/api/v1/postings/{id}/duplicate/"]["post"]["responses"]
    assert "201" in documented and "200" not in documented
    posting = PostingFactory()
    client.force_login(employer_of(posting))
    response = client.post(f"/api/v1/postings/{posting.pk}/duplicate/")
    assert response.status_code == 201


def test_my_postings_is_forbidden_to_a_student_as_documented(client, schema):
    assert "403" in schema["paths"]["/api/v1/postings/mine/"]["get"]["responses"]
    client.force_login(StudentFactory())
    _error(client.get("/api/v1/postings/mine/"), 403, "not_permitted")


# --- Ids that are not numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "method, url",
    [
        ("delete", "/api/v1/tokens/abc/"),
        ("get", "/api/v1/applications/abc/cv/"),
        ("get", "/api/v1/applications/-3/"),
        ("post", "/api/v1/milestones/1.5/approve/"),
        ("get", "/api/v1/no-such-resource/"),
    ],
)
def test_an_id_that_is_not_a_whole_number_is_the_api_404(client, method, url):
    client.force_login(StudentFactory())
    _error(getattr(client, method)(url), 404, "not_found")


def test_pages_keep_their_own_404_page(client):
    response = client.get("/postings/abc/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_the_api_is_a_500_in_the_error_format(settings):
    settings.ROOT_URLCONF = "tests.core.error_urls"
    response = Client(raise_request_exception=False).get("/api/test-errors/boom/")
    body = _error(response, 500, "server_error")
    assert "a bug" not in body["message"]


def test_a_malformed_request_under_the_api_is_a_400_in_the_error_format(settings):
    settings.ROOT_URLCONF = "tests.core.error_urls"
    response = Client(raise_request_exception=False).get("/api/test-errors/suspicious/")
    _error(response, 400, "bad_request")


# --- page_size --------------------------------------------------------------------------------

LISTS = [
    "/api/v1/postings/",
    "/api/v1/applications/",
    "/api/v1/notifications/",
    "/api/v1/payments/fundings/",
]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("page_size", ["0", "51", "1000", "ten", "-1", "2.5"])
def test_a_page_size_out_of_range_is_a_400_on_every_list(client, url, page_size):
    client.force_login(StudentFactory())
    body = _error(client.get(url, {"page_size": page_size}), 400, "invalid")
    assert list(body["fields"]) == ["page_size"]


@pytest.mark.parametrize("url", LISTS)
def test_every_list_takes_a_page_size_up_to_50(client, url):
    client.force_login(StudentFactory())
    assert client.get(url, {"page_size": "50"}).status_code == 200


def test_the_page_size_rule_is_documented_alike_on_every_list(schema):
    rules = []
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "page_size":
                rules.append((parameter["schema"], parameter["description"]))
    assert len(rules) >= 8
    assert all(rule == rules[0] for rule in rules), rules
    assert rules[0][0] == {"type": "integer", "minimum": 1, "maximum": 50}


def test_a_list_pages_by_the_page_size(client):
    assignment = active_assignment()
    student = assignment.student
    for _ in range(3):
        posting = PostingFactory()
        Application.objects.create(posting=posting, student=student, cover_note="x" * 60)
    client.force_login(student)
    page = client.get("/api/v1/applications/", {"page_size": "2"}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None


# --- Enums and content types as returned ------------------------------------------------------


def test_a_payout_account_not_set_up_is_none_and_none_is_in_the_enum(client, schema):
    client.force_login(StudentFactory())
    status = client.get("/api/v1/payments/payout-account/").json()["status"]
    assert status == "none"
    assert status in schema["components"]["schemas"]["PayoutAccountStatusEnum"]["enum"]


def _enum_values(schema, prop):
    values = set()
    for part in prop.get("oneOf", []) + prop.get("allOf", []) + [prop]:
        ref = part.get("$ref")
        if ref:
            values |= set(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"])
        values |= set(part.get("enum", []))
    return values


def test_an_open_application_has_no_closed_reason_and_the_schema_allows_it(client, schema):
    posting = PostingFactory()
    student = StudentFactory()
    Application.objects.create(posting=posting, student=student, cover_note="x" * 60)
    client.force_login(student)
    returned = client.get("/api/v1/applications/").json()["results"][0]["closed_reason"]
    assert returned == ""
    prop = schema["components"]["schemas"]["Application"]["properties"]["closed_reason"]
    assert returned in _enum_values(schema, prop)


def test_a_deliverable_download_is_sent_as_a_documented_type(client, schema, settings):
    assignment = active_assignment()
    submission = submit(first_milestone(assignment), files=[pdf()])
    item = submission.files.get()
    client.force_login(assignment.student)
    response = client.get(f"/api/v1/submission-files/{item.pk}/download/")
    b"".join(response.streaming_content)
    assert response.status_code == 200
    operation = schema["paths"]["/api/v1/submission-files/{id}/download/"]["get"]
    documented = operation["responses"]["200"]["content"]
    assert response["Content-Type"] == "application/pdf"
    assert set(documented) == set(content_types_of(settings.UPLOAD_ALLOWED_TYPES))
    assert "302" in operation["responses"]  # object storage answers with a redirect


# --- checkout_url -----------------------------------------------------------------------------


def test_checkout_url_is_absolute_in_the_list_and_the_detail(client, settings):
    settings.STRIPE_SECRET_KEY = ""  # the offline test provider: its checkout is a local path
    assignment = accepted_assignment()
    employer = employer_of(assignment.posting)
    funding = payment_services.funding_start(assignment=assignment, actor=employer)
    assert funding.checkout_url.startswith("/")
    client.force_login(employer)
    listed = client.get("/api/v1/payments/fundings/").json()["results"][0]["checkout_url"]
    detail = client.get(f"/api/v1/payments/fundings/{funding.pk}/").json()["checkout_url"]
    assert listed == detail == f"http://testserver{funding.checkout_url}"


def test_a_revoked_token_id_answers_404_once_gone(client):
    student = StudentFactory()
    token, _key = account_services.api_token_create(user=student, actor=student, name="T")
    client.force_login(student)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    _error(client.delete(f"/api/v1/tokens/{token.pk}/"), 404, "not_found")
    other = EmployerUserFactory()
    foreign, _key = account_services.api_token_create(user=other, actor=other, name="T")
    _error(client.delete(f"/api/v1/tokens/{foreign.pk}/"), 404, "not_found")
