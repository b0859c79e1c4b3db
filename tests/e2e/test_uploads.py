"""In a real browser, uploads with progress (static/js/uploads.js): a file over the limit is
refused before anything is sent; a valid one shows its bar reach 100 % and lands on the success
page; when the server fails, the form keeps what was typed and "Try again" succeeds."""

import pytest
from playwright.sync_api import expect

from applications.models import Submission, SubmissionFile
from tests.applications.factories import PDF, active_assignment, first_milestone
from tests.e2e.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "The cleaned sheet, with a tab of the rows I dropped and why."


def _submit_page(page):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    login(page, assignment.student.email, PASSWORD)
    url = f"/milestones/{milestone.pk}/submit/"
    page.goto(url)
    return url


def _posts_to(page, url: str) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: r.method == "POST" and url in r.url and sent.append(r.url))
    return sent


# Every distinct value the progress bar takes, in order.
RECORD_PROGRESS = """() => {
  sessionStorage.setItem("upload-progress", "0");
  new MutationObserver(() => {
    document.querySelectorAll("progress").forEach((bar) => {
      const seen = sessionStorage.getItem("upload-progress").split(",");
      if (seen[seen.length - 1] !== String(bar.value)) {
        seen.push(String(bar.value));
        sessionStorage.setItem("upload-progress", seen.join(","));
      }
    });
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["value"] });
}"""


def test_too_large_is_refused_before_sending_and_a_valid_file_shows_its_progress(page, settings):
    settings.UPLOAD_MAX_BYTES = 2048  # the page's limits come from the settings
    url = _submit_page(page)
    sent = _posts_to(page, url)
    files = page.get_by_label("Files")
    assert files.get_attribute("data-max-bytes") == "2048"

    page.get_by_label("Note").fill(NOTE)
    files.set_input_files(
        {"name": "big.pdf", "mimeType": "application/pdf", "buffer": PDF + b"0" * 4096}
    )
    expect(page.get_by_text("big.pdf is 4 KB; the limit is 2 KB per file.")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(files).to_be_focused()
    expect(files).to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(300)
    assert sent == [] and Submission.objects.count() == 0

    # A valid file. Its bar is recorded as it moves (in sessionStorage, which outlives the
    # page the browser then leaves for the success page).
    page.evaluate(RECORD_PROGRESS)
    files.set_input_files({"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF})
    expect(page.get_by_text("big.pdf is")).to_be_hidden()
    expect(page.get_by_role("progressbar", name="Upload of report.pdf")).to_have_attribute(
        "value", "0"
    )
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Version 1 of")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('upload-progress')") == "0,100"
    assert len(sent) == 1
    assert page.url.endswith(f"/assignments/{Submission.objects.get().milestone.assignment_id}/")
    assert SubmissionFile.objects.get().original_name == "report.pdf"
    assert Submission.objects.get().note == NOTE


def test_a_failed_upload_keeps_the_form_and_a_retry_succeeds(page):
    url = _submit_page(page)
    attempts = []

    def gateway(route):
        attempts.append(route.request.url)
        if len(attempts) == 1:
            route.fulfill(status=502, body="Bad gateway", content_type="text/plain")
        else:
            route.continue_()

    page.route(f"**{url}", gateway)
    expect(page.get_by_role("button", name="Try again")).to_be_hidden()
    page.get_by_label("Note").fill(NOTE)
    page.get_by_label("Links").fill("https://example.com/sheet")
    page.get_by_label("Files").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Submit for review").click()

    expect(page.get_by_text("The upload failed (the server answered 502).")).to_be_visible()
    assert page.url.endswith(url) and Submission.objects.count() == 0
    expect(page.get_by_label("Note")).to_have_value(NOTE)
    expect(page.get_by_label("Links")).to_have_value("https://example.com/sheet")
    retry = page.get_by_role("button", name="Try again")
    expect(retry).to_be_focused()
    retry.click()

    expect(page.get_by_text("Version 1 of")).to_be_visible()
    assert len(attempts) == 2
    submission = Submission.objects.get()
    assert submission.note == NOTE and submission.files.get().original_name == "report.pdf"


def test_a_file_the_server_rejects_comes_back_with_the_typed_text(page):
    url = _submit_page(page)
    page.get_by_label("Note").fill(NOTE)
    # A .pdf that is not a PDF: only the server, reading the content, can tell.
    page.get_by_label("Files").set_input_files(
        {"name": "fake.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf at all"}
    )
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".errorlist").filter(has_text="fake.pdf")).to_be_visible()
    expect(page.get_by_label("Note")).to_have_value(NOTE)
    assert page.url.endswith(url) and Submission.objects.count() == 0

    page.get_by_label("Files").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Version 1 of")).to_be_visible()
    assert Submission.objects.get().note == NOTE
