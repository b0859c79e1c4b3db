"""A form sent with mistakes comes back with everything the user typed, and an error summary on
top that has the focus and links to each field."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, EmployerUserFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bad_posting_form_keeps_what_was_typed_and_focuses_the_summary(page):
    employer = EmployerUserFactory(email="owner@garden.test")
    login(page, employer.email, PASSWORD)
    page.goto("/postings/new/")
    page.get_by_label("Title", exact=True).fill("Survey analysis for garden centres")
    page.get_by_label("Description").fill("Analyse our **customer survey** of 2,000 answers.")
    # Acceptance criteria, the time box and the deadline are left out.
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert summary.get_attribute("tabindex") == "-1"
    expect(summary.get_by_role("heading")).to_contain_text("problem")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "form-errors-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "form-errors-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    # What was typed is still there.
    expect(page.get_by_label("Title", exact=True)).to_have_value(
        "Survey analysis for garden centres"
    )
    expect(page.get_by_label("Description")).to_have_value(
        "Analyse our **customer survey** of 2,000 answers."
    )
    # Each problem links to its field, and following the link puts the cursor there.
    link = summary.get_by_role("link", name="Acceptance criteria", exact=False).first
    link.click()
    expect(page.get_by_label("Acceptance criteria")).to_be_focused()


def test_a_bad_application_keeps_the_answers_and_focuses_the_summary(page):
    posting = PostingFactory(title="Survey analysis", questions=["Which tools?"])
    student = StudentFactory(email="ana@student.test")
    login(page, student.email, PASSWORD)
    page.goto(f"/apply/{posting.pk}/")
    page.get_by_label("Cover note").fill("Too short.")
    page.get_by_label("Which tools?").fill("pandas and a notebook")
    page.get_by_role("button", name="Send application").click()
    page.wait_for_load_state()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link").first).to_contain_text("Cover note")
    expect(page.get_by_label("Cover note")).to_have_value("Too short.")
    expect(page.get_by_label("Which tools?")).to_have_value("pandas and a notebook")
    assert posting.applications.count() == 0
