"""In a real browser: an employer writes a paid micro posting with two milestones and a screening
question and submits it; a moderator approves it in the queue; an anonymous visitor finds it by
a word of its description and by filters, and opens it."""

import datetime as dt

import pytest
from django.utils import timezone

from postings.models import Posting
from tests.e2e.conftest import login
from tests.factories import PASSWORD, EmployerUserFactory, PostingFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)


def local(value: dt.datetime) -> str:
    return timezone.localtime(value, dt.UTC).strftime("%Y-%m-%dT%H:%M")


def test_post_moderate_find(browser, page, live_server):
    employer = EmployerUserFactory(email="nadia@northwind.test", employer__name="Northwind")
    staff = StaffFactory(email="mod@example.test")
    PostingFactory(
        title="Other posting about logos",
        description="Draw a logo for a bakery.",
        duration_hours=48,
        effort_hours=6,
        amount=30000,
    )
    now = timezone.now()

    # The employer writes the posting.
    login(page, employer.email, PASSWORD)
    page.goto("/postings/new/")
    page.get_by_label("Title", exact=True).fill("Survey analysis for garden centres")
    page.get_by_label("Description").fill(
        "Analyse the **satisfaction survey** of our rhododendron customers.\n\n- clean data\n"
        "- find drivers"
    )
    page.get_by_label("Acceptance criteria").fill("A notebook and six slides.")
    page.get_by_label("Skills").fill("python, pandas")
    page.get_by_label("Work starts").fill(local(now + dt.timedelta(days=14)))
    page.get_by_label("Time box", exact=True).fill("2")
    page.get_by_label("Time box unit").select_option("weeks")
    page.get_by_label("Estimated effort (hours of work in total)").fill("20")
    page.get_by_label("Application deadline").fill(local(now + dt.timedelta(days=7)))
    page.get_by_label("Pay per assignment").fill("500.00")
    page.get_by_label("Milestone 1 title").fill("Cleaned data")
    page.get_by_label("Milestone 1 due after").fill("5")
    page.get_by_label("Milestone 1 unit").select_option("days")
    page.get_by_label("Milestone 1 amount").fill("200.00")
    page.get_by_label("Milestone 2 title").fill("Slides")
    page.get_by_label("Milestone 2 due after").fill("2")
    page.get_by_label("Milestone 2 unit").select_option("weeks")
    page.get_by_label("Milestone 2 amount").fill("300.00")
    page.get_by_label("Question 1", exact=True).fill("Which tools would you use?")

    # The htmx preview shows the rendered Markdown and the derived facts.
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    preview.locator("strong", has_text="satisfaction survey").wait_for()
    assert "Micro" in preview.inner_text()
    assert "25.00 USD per estimated hour" in preview.inner_text()

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("The draft is saved").wait_for()
    posting = Posting.objects.get(title="Survey analysis for garden centres")
    assert [m.amount for m in posting.milestones.all()] == [20000, 30000]
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Submitted for review.").wait_for()
    posting.refresh_from_db()
    assert posting.status == Posting.Status.PENDING_REVIEW

    # The moderator approves it from the queue.
    moderator = browser.new_context(base_url=live_server.url)
    mod_page = moderator.new_page()
    login(mod_page, staff.email, PASSWORD, totp_secret=staff.totp_secret)
    mod_page.goto("/postings/moderation/")
    item = mod_page.get_by_role("article", name="Survey analysis for garden centres")
    item.get_by_role("button", name="Approve").click()
    mod_page.get_by_text("Approved and published.").wait_for()
    moderator.close()
    posting.refresh_from_db()
    assert posting.status == Posting.Status.PUBLISHED

    # An anonymous visitor finds it by a word of its description...
    visitor = browser.new_context(base_url=live_server.url)
    v = visitor.new_page()
    v.goto("/postings/")
    v.get_by_label("Search").fill("rhododendron")
    v.get_by_role("button", name="Show postings").click()
    cards = v.locator("article.posting-card")
    cards.first.wait_for()
    assert cards.count() == 1
    assert "Survey analysis for garden centres" in cards.first.inner_text()

    # ... and by filters (format and minimum pay), then opens it.
    v.goto("/postings/")
    v.get_by_label("Micro (up to 4 weeks)").check()
    v.get_by_label("Minimum pay").fill("450")
    v.get_by_label("Sort by").select_option("pay")
    v.get_by_role("button", name="Show postings").click()
    v.wait_for_url("**format=micro**")
    titles = v.locator("article.posting-card h2").all_inner_texts()
    assert titles == ["Survey analysis for garden centres"]
    v.get_by_role("link", name="Survey analysis for garden centres").click()
    v.get_by_role("heading", name="Survey analysis for garden centres").wait_for()
    facts = v.locator("aside.posting-facts").inner_text()
    assert "500.00 USD" in facts and "2 weeks" in facts and "1 of 1" in facts
    assert v.locator(".prose strong", has_text="satisfaction survey").count() == 1
    # htmx and the page scripts ran under the strict Content Security Policy.
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
    visitor.close()


def test_the_editor_adds_milestone_and_question_rows(page):
    """Two rows are offered; "Add a milestone" makes a third one that is saved with the rest."""
    employer = EmployerUserFactory(email="rows@northwind.test")
    now = timezone.now()
    login(page, employer.email, PASSWORD)
    page.goto("/postings/new/")
    page.get_by_label("Title", exact=True).fill("Three-part market study")
    page.get_by_label("Description").fill("Study the market for garden furniture.")
    page.get_by_label("Acceptance criteria").fill("Three short reports.")
    page.get_by_label("Work starts").fill(local(now + dt.timedelta(days=14)))
    page.get_by_label("Time box", exact=True).fill("3")
    page.get_by_label("Time box unit").select_option("weeks")
    page.get_by_label("Estimated effort (hours of work in total)").fill("30")
    page.get_by_label("Application deadline").fill(local(now + dt.timedelta(days=7)))
    page.get_by_label("Pay per assignment").fill("900.00")
    page.get_by_role("button", name="Add a milestone").click()
    for n, (title, weeks) in enumerate([("Survey", 1), ("Interviews", 2), ("Report", 3)], 1):
        page.get_by_label(f"Milestone {n} title").fill(title)
        page.get_by_label(f"Milestone {n} due after").fill(str(weeks))
        page.get_by_label(f"Milestone {n} unit").select_option("weeks")
        page.get_by_label(f"Milestone {n} amount").fill("300.00")
    page.get_by_role("button", name="Add a question").click()
    page.get_by_label("Question 3", exact=True).fill("Which survey tools do you know?")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("The draft is saved").wait_for()

    posting = Posting.objects.get(title="Three-part market study")
    assert [(m.title, m.amount) for m in posting.milestones.all()] == [
        ("Survey", 30000),
        ("Interviews", 30000),
        ("Report", 30000),
    ]
    assert [q.text for q in posting.questions.all()] == ["Which survey tools do you know?"]
    assert page.console_errors == []


def test_the_editor_totals_yen_without_decimals(browser, page, live_server, settings):
    """The editor's running total counts each currency's own digits: 50000 yen plus a 10% fee
    is 55,000 JPY, and switching to dollars shows cents again."""
    settings.SUPPORTED_CURRENCIES = ["USD", "JPY"]
    settings.PLATFORM_FEE_PERCENT = 10
    employer = EmployerUserFactory()
    login(page, employer.email, PASSWORD)
    page.goto("/postings/new/")
    page.get_by_label("Currency").select_option("JPY")
    page.get_by_label("Pay per assignment").fill("50000")
    total = page.locator("[data-pay-total-with-fee]")
    assert total.inner_text() == "55,000 JPY"
    assert page.locator("[data-pay-total]").inner_text() == "50,000 JPY"
    assert page.locator("[data-pay-floor]").inner_text() == "2,000 JPY"
    page.get_by_label("Currency").select_option("USD")
    page.get_by_label("Pay per assignment").fill("500")
    assert total.inner_text() == "550.00 USD"
    assert page.console_errors == []


def test_a_card_s_first_heading_sits_at_the_card_s_padding(page):
    """A card that opens with a heading ("About the work") shows no extra space above it: the
    heading's own top margin does not add to the card's padding."""
    posting = PostingFactory(title="Survey analysis for a food bank")
    page.goto(f"/postings/{posting.pk}/")
    card = page.locator("section.card", has=page.get_by_role("heading", name="About the work"))
    heading = card.get_by_role("heading", name="About the work")
    padding = card.evaluate("el => parseFloat(getComputedStyle(el).paddingTop)")
    gap = heading.bounding_box()["y"] - card.bounding_box()["y"]
    assert padding > 0
    assert gap <= padding + 2, (gap, padding)  # the border, rounded
