"""In a real browser: a student filters the list, saves the search, opens it again from the saved
searches page and deletes it; a visitor follows "Log in to apply" from a posting to its apply
form; a closed posting shows its notice and no Apply."""

import pytest
from playwright.sync_api import expect

from postings import services
from postings.models import SavedSearch
from tests.e2e.conftest import login
from tests.factories import PASSWORD, EmployerUserFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def problems(page) -> list[str]:
    return [e for e in page.console_errors if not e.startswith("Failed to load resource")]


def test_save_a_search_open_it_and_delete_it(page):
    student = StudentFactory()
    PostingFactory(title="Survey analysis for a bakery")
    PostingFactory(title="Logo for a bakery", description="Draw a logo.")
    login(page, student.email, PASSWORD)

    page.goto("/postings/")
    page.get_by_label("Search").fill("survey")
    page.get_by_role("button", name="Show postings").click()
    expect(page.get_by_role("link", name="Survey analysis for a bakery")).to_be_visible()
    save_form = page.get_by_role("form", name="Daily digest of new postings")
    expect(save_form.get_by_label("Save as")).to_have_value("“survey”")
    save_form.get_by_label("Save as").fill("Bakery surveys")
    save_form.get_by_role("button", name="Save this search").click()

    expect(page.get_by_role("heading", name="Saved searches", level=1)).to_be_visible()
    expect(page.get_by_text("Search saved.")).to_be_visible()
    assert SavedSearch.objects.get(user=student).query == "q=survey"

    # Its link opens the list filtered as saved.
    page.get_by_role("link", name="Bakery surveys").click()
    expect(page.get_by_role("link", name="Survey analysis for a bakery")).to_be_visible()
    expect(page.get_by_role("link", name="Logo for a bakery")).to_have_count(0)
    assert page.get_by_label("Search").input_value() == "survey"

    # The navigation leads back to it; delete it (after the confirmation).
    page.get_by_role("link", name="Saved searches").first.click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("You have no saved searches yet.")).to_be_visible()
    assert not SavedSearch.objects.exists()
    assert problems(page) == []


def test_log_in_to_apply_and_a_closed_posting(page):
    student = StudentFactory()
    member = EmployerUserFactory()
    posting = PostingFactory(title="Survey analysis", employer=member.employers.get())
    closed = PostingFactory(title="Old survey work", employer=member.employers.get())
    services.posting_withdraw(posting=closed, actor=member)

    page.goto(f"/postings/{posting.pk}/")
    page.get_by_role("link", name="Log in to apply").click()
    page.get_by_label("E-mail").fill(student.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Apply to “Survey analysis”")).to_be_visible()

    page.goto(f"/postings/{posting.pk}/")
    page.get_by_role("link", name="Apply", exact=True).click()
    expect(page.get_by_role("heading", name="Apply", exact=True)).to_be_in_viewport()
    expect(page.get_by_role("button", name="Send application")).to_be_visible()

    page.goto(f"/postings/{closed.pk}/")
    expect(page.get_by_role("heading", name="Old survey work")).to_be_visible()
    expect(page.get_by_text("This posting is closed.")).to_be_visible()
    expect(page.get_by_role("link", name="Apply", exact=True)).to_have_count(0)
    assert problems(page) == []
