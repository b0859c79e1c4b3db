"""Deliverables: every version kept, files checked by content and extension, size and count
limits, nothing half-saved when an upload fails, private storage and attachment downloads."""

import os
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from applications import services
from applications.models import Submission, SubmissionFile
from applications.storage import private_storage
from marketplace.core.errors import DomainError
from tests.applications.factories import (
    PDF,
    active_assignment,
    docx,
    employer_of,
    first_milestone,
    pdf,
    png,
    submit,
    text,
)

pytestmark = pytest.mark.django_db


def _stored_files() -> list[str]:
    root = Path(private_storage().location)
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def milestone():
    return first_milestone(active_assignment())


def test_files_stored_privately_and_every_version_kept(milestone):
    first = submit(milestone, files=[pdf(), png(), text(), docx()], links=["https://x.io/a"])
    assert [f.kind for f in first.files.all()] == ["pdf", "png", "md", "docx"]
    services.milestone_request_revision(
        milestone=milestone, actor=employer_of(milestone.assignment.posting), feedback="More."
    )
    second = submit(milestone, files=[pdf("v2.pdf")])
    assert (first.version, second.version) == (1, 2)
    assert SubmissionFile.objects.count() == 5
    stored = _stored_files()
    assert len(stored) == 5
    # Outside MEDIA_ROOT (which may be served), under the private prefix, and with no URL.
    media = str(Path(settings.MEDIA_ROOT).resolve())
    assert all(not path.startswith(media) for path in stored)
    item = second.files.get()
    assert item.file.name.startswith(f"private/submissions/{milestone.pk}/")
    assert item.original_name == "v2.pdf"
    with pytest.raises(ValueError):
        item.file.url  # noqa: B018


def test_download_is_an_attachment_with_the_original_name(client, milestone):
    submission = submit(milestone, files=[pdf("final report.pdf")])
    item = submission.files.get()
    client.force_login(employer_of(milestone.assignment.posting))
    response = client.get(reverse("applications:file", args=[item.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="final_report.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF


@pytest.mark.parametrize(
    "upload, code",
    [
        (SimpleUploadedFile("empty.pdf", b""), "file_empty"),
        # An executable renamed to an allowed extension: its content gives it away.
        (
            SimpleUploadedFile("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00" * 10),
            "file_content_mismatch",
        ),
        (
            SimpleUploadedFile("photo.png", b"\xff\xd8\xff\xe0 a jpeg really"),
            "file_content_mismatch",
        ),
        (SimpleUploadedFile("notes.txt", b"\x00\x01\x02binary"), "file_content_mismatch"),
        (
            SimpleUploadedFile("report.docx", b"PK\x03\x04 not really a zip"),
            "file_content_mismatch",
        ),
        (SimpleUploadedFile("tool.exe", b"MZ\x90\x00"), "file_type_not_allowed"),
        (SimpleUploadedFile("page.html", b"<script>alert(1)</script>"), "file_type_not_allowed"),
        (SimpleUploadedFile("noextension", b"%PDF-1.4"), "file_type_not_allowed"),
    ],
)
def test_bad_files_refused_and_nothing_saved(milestone, upload, code):
    with pytest.raises(DomainError) as exc:
        submit(milestone, files=[pdf("good.pdf"), upload])
    assert exc.value.code == code
    assert "files" in exc.value.fields
    assert not Submission.objects.exists() and not SubmissionFile.objects.exists()
    assert _stored_files() == []
    milestone.refresh_from_db()
    assert milestone.status == "open"


def test_too_large(settings, milestone):
    settings.UPLOAD_MAX_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2000)
    with pytest.raises(DomainError) as exc:
        submit(milestone, files=[big])
    assert exc.value.code == "file_too_large"
    assert "big.pdf" in exc.value.message
    assert not Submission.objects.exists() and _stored_files() == []


def test_too_many_files(settings, milestone):
    settings.UPLOAD_MAX_FILES = 2
    with pytest.raises(DomainError) as exc:
        submit(milestone, files=[pdf("a.pdf"), pdf("b.pdf"), pdf("c.pdf")])
    assert exc.value.code == "too_many_files"
    assert "At most 2 files" in exc.value.message
    assert not Submission.objects.exists() and _stored_files() == []


def test_disallowed_by_settings(settings, milestone):
    settings.UPLOAD_ALLOWED_TYPES = ["pdf"]
    with pytest.raises(DomainError) as exc:
        submit(milestone, files=[png()])
    assert exc.value.code == "file_type_not_allowed"


def test_storage_failure_mid_way_leaves_nothing(milestone):
    """The second file fails to save: the first one is deleted and no row remains."""
    storage = private_storage()
    real_save = storage.save
    calls = []

    def flaky_save(name, content, max_length=None):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(name, content, max_length=max_length)

    with mock.patch.object(storage, "save", side_effect=flaky_save), pytest.raises(OSError):
        submit(milestone, files=[pdf("a.pdf"), pdf("b.pdf")])
    assert len(calls) == 2
    assert not Submission.objects.exists() and not SubmissionFile.objects.exists()
    assert _stored_files() == []
    milestone.refresh_from_db()
    assert milestone.status == "open" and milestone.review_due_at is None


def test_database_failure_after_files_saved_leaves_nothing(milestone):
    with (
        mock.patch("applications.services.deliverables.audit", side_effect=RuntimeError("db down")),
        pytest.raises(RuntimeError),
    ):
        submit(milestone, files=[pdf("a.pdf")])
    assert not SubmissionFile.objects.exists() and _stored_files() == []


def test_upload_errors_on_the_page_beside_the_field(client, settings, milestone):
    settings.UPLOAD_MAX_FILES = 1
    client.force_login(milestone.assignment.student)
    url = reverse("applications:submit", args=[milestone.pk])
    response = client.post(url, {"note": "x", "files": [pdf("a.pdf"), pdf("b.pdf")]})
    assert response.status_code == 400
    assert response.context["form"].errors["files"] == [
        "At most 1 file per submission; you chose 2."
    ]
    renamed = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 an exe")
    response = client.post(url, {"note": "x", "files": [renamed]})
    assert "is not a PDF file" in response.context["form"].errors["files"][0]
    response = client.post(url, {"note": "x", "files": [SimpleUploadedFile("e.pdf", b"")]})
    assert response.status_code == 400
    assert "e.pdf" in str(response.context["form"].errors["files"])
    response = client.post(url, {"note": "only a note"})
    assert response.context["form"].errors["files"] == [
        "Add at least one file or link to your submission."
    ]
    assert not Submission.objects.exists() and _stored_files() == []


def test_api_upload_errors_use_the_error_format(client, settings, milestone):
    client.force_login(milestone.assignment.student)
    renamed = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 an exe")
    response = client.post(
        f"/api/v1/milestones/{milestone.pk}/submit/", {"note": "x", "files": [renamed]}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "file_content_mismatch" and "files" in body["fields"]
    response = client.post(
        f"/api/v1/milestones/{milestone.pk}/submit/", {"note": "x", "files": [pdf(), png()]}
    )
    assert response.status_code == 201
    assert [f["kind"] for f in response.json()["files"]] == ["pdf", "png"]


def test_cv_kept_private_too():
    from tests.factories import PostingFactory, StudentFactory

    application = services.application_submit(
        posting=PostingFactory(),
        student=StudentFactory(),
        cover_note="x" * 60,
        cv=pdf("My CV.pdf"),
    )
    assert application.cv.name.startswith(f"private/cv/{application.posting_id}/")
    assert os.path.exists(application.cv.path)
    assert not application.cv.path.startswith(str(Path(settings.MEDIA_ROOT).resolve()))
