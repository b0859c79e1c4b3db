"""In a real browser, the whole journey of one piece of work: a student applies with screening
answers; the employer shortlists and offers; the student accepts (academic credit, so the work
starts at once) and submits a file; the employer asks for a revision; the student resubmits;
the employer approves; both rate; the work appears on the student's public record."""

import pytest
from playwright.sync_api import expect

from applications.models import Assignment, Rating, SubmissionFile
from tests.applications.factories import COVER_NOTE, PDF
from tests.e2e.conftest import login
from tests.factories import PASSWORD, CreditPostingFactory, EmployerUserFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def test_from_application_to_the_public_record(page, tmp_path):
    employer = EmployerUserFactory(full_name="Nadia Okafor")
    posting = CreditPostingFactory(
        employer=employer.employers.get(),
        title="Data quality checks for a retailer",
        questions=["Which tools would you use?"],
        skills=["sql"],
    )
    student = StudentFactory(full_name="Ana Silva")
    profile = student.student_profile
    profile.record_public = True
    profile.save()
    first_file = tmp_path / "checks-v1.pdf"
    first_file.write_bytes(PDF)
    second_file = tmp_path / "checks-v2.pdf"
    second_file.write_bytes(PDF + b"% version 2\n")

    # The student applies, answering the screening question.
    login(page, student.email, PASSWORD)
    page.goto(f"/apply/{posting.pk}/")
    page.get_by_label("Cover note").fill(COVER_NOTE)
    page.get_by_label("Which tools would you use?").fill("SQL and a notebook")
    page.get_by_role("button", name="Send application").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your application was sent.").is_visible()
    assert page.get_by_text("SQL and a notebook").is_visible()
    log_out(page)

    # The employer shortlists and offers from the pipeline.
    login(page, employer.email, PASSWORD)
    page.goto(f"/applicants/{posting.pk}/")
    page.get_by_role("button", name="Shortlist").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Ana Silva").click()
    page.wait_for_load_state()
    assert page.get_by_text("SQL and a notebook").is_visible()
    page.get_by_role("button", name="Make an offer").click()
    page.wait_for_load_state()
    assert page.get_by_text("The offer was sent.").is_visible()
    log_out(page)

    # The student sees the offer on the dashboard, accepts it and submits a file.
    login(page, student.email, PASSWORD)
    page.goto("/dashboard/")
    page.locator(".app-panel").get_by_role("link", name=posting.title).first.click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Accept the offer").click()
    page.wait_for_load_state()
    assert page.get_by_text("The assignment has started.").is_visible()
    page.get_by_role("link", name="Submit work").click()
    page.get_by_label("Note").fill("The checks, with thresholds.")
    page.get_by_label("Files").set_input_files(str(first_file))
    page.get_by_role("button", name="Submit for review").click()
    # Sent by uploads.js (with its progress), then the browser goes to the assignment.
    expect(page.get_by_text("Version 1 of")).to_be_visible()
    log_out(page)

    # The employer asks for a revision.
    assignment = Assignment.objects.get()
    login(page, employer.email, PASSWORD)
    page.goto("/dashboard/")
    page.locator(".app-panel").get_by_role("link", name="Final delivery").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="checks-v1.pdf").is_visible()
    page.get_by_text("Request a revision").click()
    page.get_by_label("Feedback").fill("Please add a check for late files.")
    page.get_by_role("button", name="Request the revision").click()
    page.wait_for_load_state()
    assert page.get_by_text("The revision was requested.").is_visible()
    log_out(page)

    # The student resubmits.
    login(page, student.email, PASSWORD)
    page.goto(f"/assignments/{assignment.pk}/")
    assert page.get_by_text("Please add a check for late files.").is_visible()
    page.get_by_role("link", name="Submit a revision").click()
    page.get_by_label("Note").fill("Added the late-file check.")
    page.get_by_label("Files").set_input_files(str(second_file))
    page.get_by_role("button", name="Submit for review").click()
    # Sent by uploads.js (with its progress), then the browser goes to the assignment.
    expect(page.get_by_text("Version 2 of")).to_be_visible()
    log_out(page)

    # The employer approves (credit work: the assignment completes) and rates.
    login(page, employer.email, PASSWORD)
    page.goto(f"/assignments/{assignment.pk}/")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.get_by_text("Completed").first.is_visible()
    page.get_by_label("5 / 5").check()
    page.get_by_label("Comment").fill("Careful, well documented work.")
    page.get_by_role("button", name="Save my rating").click()
    page.wait_for_load_state()
    assert page.get_by_text("your rating is saved").is_visible()
    log_out(page)

    # The student rates back; now both ratings show.
    login(page, student.email, PASSWORD)
    page.goto(f"/assignments/{assignment.pk}/")
    assert not page.get_by_text("Careful, well documented work.").count()  # double-blind
    page.get_by_label("4 / 5").check()
    page.get_by_role("button", name="Save my rating").click()
    page.wait_for_load_state()
    assert page.get_by_text("Careful, well documented work.").is_visible()
    log_out(page)

    # The record, public, for anyone with the link.
    page.goto(f"/record/{profile.public_slug}/")
    assert page.get_by_role("heading", name="Ana Silva").is_visible()
    assert page.get_by_role("heading", name=posting.title).is_visible()
    assert page.get_by_text("Careful, well documented work.").is_visible()
    assert page.get_by_text("5/5").first.is_visible()

    assert SubmissionFile.objects.count() == 2
    assert Rating.objects.filter(published_at__isnull=False).count() == 2
    # No script or Content Security Policy errors (the browser's favicon request may 404).
    assert [e for e in page.console_errors if not e.startswith("Failed to load resource")] == []
