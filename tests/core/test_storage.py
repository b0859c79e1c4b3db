"""Files in an S3-compatible bucket, tested against a real S3 API server running locally (moto's
server mode), not a mock of boto3: uploads land in the bucket, a private file is handed out
only after the permission check (a short-lived pre-signed URL, or streamed), logos by URL."""

import urllib.error
import urllib.request

import boto3
import pytest
from django.urls import reverse

from tests.accounts.test_profile_and_organisation import org_data, png_bytes
from tests.applications.factories import active_assignment, employer_of, first_milestone, pdf
from tests.applications.factories import submit as submit_work
from tests.factories import EmployerUserFactory, StudentFactory

BUCKET = "marketplace-files"
CONTENT = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def bucket(s3_server, settings):
    """The settings of a deployment with a bucket (marketplace/core/storage.py)."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.AWS_STORAGE_BUCKET_NAME = BUCKET
    settings.AWS_S3_ENDPOINT_URL = s3_server
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_ACCESS_KEY_ID = "test-key"
    settings.AWS_SECRET_ACCESS_KEY = "test-secret"
    settings.STORAGES = {**settings.STORAGES, **settings.S3_STORAGES}
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])


def fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the local server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def submitted_file():
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    submit_work(milestone, files=[pdf("report.pdf", CONTENT)])
    item = milestone.submissions.get().files.get()
    return assignment, item


@pytest.mark.django_db
def test_a_deliverable_goes_to_the_bucket_and_is_handed_out_by_a_short_lived_url(
    client, bucket, settings
):
    settings.PRIVATE_FILE_URL_SECONDS = 60
    assignment, item = submitted_file()
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"private/{item.file.name}"]

    client.force_login(employer_of(assignment.posting))
    response = client.get(reverse("applications:file", args=[item.pk]))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = response["Location"]
    assert url.startswith(f"{settings.AWS_S3_ENDPOINT_URL}/{BUCKET}/private/")
    assert "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    status, headers, body = fetch(url)
    assert status == 200
    assert body == CONTENT
    assert headers["Content-Disposition"] == 'attachment; filename="report.pdf"'

    # The object itself is not readable without the signature.
    unsigned = url.split("?", 1)[0]
    assert fetch(unsigned)[0] == 403


@pytest.mark.django_db
def test_no_url_for_someone_who_may_not_read_the_file(client, bucket):
    _assignment, item = submitted_file()
    client.force_login(StudentFactory())
    response = client.get(reverse("applications:file", args=[item.pk]))
    assert response.status_code == 404
    assert "Location" not in response


@pytest.mark.django_db
def test_private_files_can_be_streamed_through_the_web_node(client, bucket, settings):
    settings.PRIVATE_FILES_SERVE = "stream"
    assignment, item = submitted_file()
    client.force_login(assignment.student)
    response = client.get(reverse("applications:file", args=[item.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'


@pytest.mark.django_db
def test_a_logo_goes_to_the_bucket_and_is_shown_by_its_url(client, bucket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    client.force_login(owner)
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    client.post(f"/organisation/{employer.pk}/edit/", org_data(logo=logo))
    employer.refresh_from_db()
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"public/{employer.logo.name}"]
    response = client.get(f"/employers/{employer.pk}/logo/")
    assert response.status_code == 302
    status, _headers, body = fetch(response["Location"])
    assert (status, body) == (200, png_bytes())


@pytest.mark.django_db
def test_without_a_bucket_files_stay_on_the_local_disk(client, settings, tmp_path):
    assert not settings.AWS_STORAGE_BUCKET_NAME
    assignment, item = submitted_file()
    assert item.file.storage.path(item.file.name).startswith(str(tmp_path))
    client.force_login(assignment.student)
    response = client.get(reverse("applications:file", args=[item.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
