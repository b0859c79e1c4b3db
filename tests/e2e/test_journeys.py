"""Time to value: each journey of the product, driven by visible labels in a real browser.

Every journey counts the screens the user sees (page loads of the main frame; htmx updates and
dialogs are not page loads) against its goal, photographs each screen on a desktop (1280x800) and a
phone (390x844) into ``test-artifacts/journeys/<journey>/`` (CI keeps the folder), and runs axe-core
on each screen: no critical or serious violation is allowed on any product page, for any role.

| journey | goal |
|---|---|
| employer, signed in: dashboard to posting submitted for review | <= 3 screens |
| student: search result to application sent | <= 2 |
| employer approves a submission to "paid", seen by both (payout account ready) | <= 2, no reload |
| new student: "Log in to apply" to the apply form, via sign-up and the e-mail link | <= 4 |
| staff: a posting waiting to "approved", with a count on the dashboard | <= 2 |
"""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from applications.models import Milestone
from payments import services as payment_services
from payments.models import Funding
from postings.models import Posting
from tests.applications.factories import first_milestone, submit
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import (
    PASSWORD,
    EmployerUserFactory,
    PostingFactory,
    StaffFactory,
    StudentFactory,
)
from tests.payments.factories import AssignmentFactory, employer_of
from tests.payments.helpers import pay_with_test_provider, ready_account

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SERIOUS = {"critical", "serious"}


class Journey:
    """One user's browser tab: counts page loads, photographs and checks each screen."""

    def __init__(self, browser, base_url: str, name: str):
        self.context = browser.new_context(base_url=base_url, viewport=DESKTOP)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.name = name
        self.loads = 0
        self.shots = 0
        self.violations: list[str] = []
        self.folder = ARTIFACTS / "journeys" / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.page.on("load", lambda _page: self._loaded())

    def _loaded(self) -> None:
        self.loads += 1

    def start(self) -> None:
        """From here on, page loads count (signing in is not part of the journey)."""
        self.page.wait_for_load_state()
        self.loads = 0

    def screen(self, label: str) -> None:
        """Photograph the screen on a desktop and a phone, and check it with axe-core."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.wait_for_load_state()
        self.shots += 1
        stem = f"{self.shots:02d}-{label}"
        self.page.screenshot(path=str(self.folder / f"{stem}-desktop.png"), full_page=True)
        self.page.set_viewport_size(PHONE)
        self.page.screenshot(path=str(self.folder / f"{stem}-phone.png"), full_page=True)
        self.page.set_viewport_size(DESKTOP)
        results = Axe().run(self.page)
        for violation in results.response["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [n["target"] for n in violation["nodes"]][:3]
                self.violations.append(
                    f"{self.name}/{label} ({self.page.url}): {violation['id']} "
                    f"[{violation['impact']}] {violation['help']} at {targets}"
                )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def journey(browser, live_server):
    opened: list[Journey] = []

    def open_journey(name: str) -> Journey:
        opened.append(Journey(browser, live_server.url, name))
        return opened[-1]

    yield open_journey
    for j in opened:
        j.close()


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_employer_posts_from_the_dashboard_to_review_in_three_screens(journey):
    employer = EmployerUserFactory(email="owner@garden.test")
    j = journey("employer-posts")
    login(j.page, employer.email, PASSWORD)
    j.page.goto("/dashboard/")
    j.start()
    j.screen("dashboard")

    j.page.get_by_role("link", name="New posting").first.click()
    j.page.get_by_role("heading", name="New posting").wait_for()
    now = timezone.now()
    page = j.page
    page.get_by_label("Title", exact=True).fill("Survey analysis for garden centres")
    page.get_by_label("Description").fill("Analyse our **customer survey** of 2,000 answers.")
    page.get_by_label("Acceptance criteria").fill("A notebook and six slides.")
    page.get_by_label("Work starts").fill(local(now + dt.timedelta(days=14)))
    page.get_by_label("Time box", exact=True).fill("2")
    page.get_by_label("Time box unit").select_option("weeks")
    page.get_by_label("Estimated effort (hours of work in total)").fill("20")
    page.get_by_label("Application deadline").fill(local(now + dt.timedelta(days=7)))
    page.get_by_label("Pay per assignment").fill("500.00")
    # The form says what the employer will pay, fee included, and hides the credit field.
    expect(page.locator("[data-pay-total-with-fee]")).to_have_text("550.00 USD")
    expect(page.get_by_label("Credit arrangement")).to_be_hidden()
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview").get_by_text("Acceptance criteria").wait_for()
    j.screen("new-posting-form")

    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("Submitted for review.").wait_for()
    j.screen("submitted")
    assert Posting.objects.get().status == Posting.Status.PENDING_REVIEW
    assert j.loads <= 2, j.loads  # dashboard + 2 = 3 screens
    assert j.violations == [], "\n".join(j.violations)


def test_student_applies_from_a_search_result_in_two_screens(journey):
    posting = PostingFactory(title="Customer survey analysis", questions=["Which tools?"])
    student = StudentFactory(email="ana@student.test")
    j = journey("student-applies")
    login(j.page, student.email, PASSWORD)
    j.page.goto("/postings/?q=survey")
    j.start()
    j.screen("search-results")

    j.page.get_by_role("link", name="Customer survey analysis").first.click()
    j.page.get_by_role("heading", name="Customer survey analysis").wait_for()
    # The summary leads with what a student decides on, Apply included.
    summary = j.page.locator(".posting-summary")
    for fact in ("Pay", "Time box", "Effort", "Apply by"):
        expect(summary.get_by_text(fact, exact=True)).to_be_visible()
    summary.get_by_role("link", name="Apply", exact=True).click()
    j.page.get_by_label("Cover note").fill(
        "I analysed the survey of our student union (1,500 answers) with pandas and wrote it up."
    )
    j.page.get_by_label("Which tools?").fill("pandas and a notebook")
    j.screen("posting-with-form")

    j.page.get_by_role("button", name="Send application").click()
    j.page.get_by_text("Your application was sent").wait_for()
    j.screen("sent")
    assert posting.applications.count() == 1
    assert j.loads <= 2, j.loads
    assert j.violations == [], "\n".join(j.violations)
    assert "{#" not in j.page.content()  # no template comment leaks into a page


def _submitted_paid_milestone(settings) -> Milestone:
    settings.STRIPE_SECRET_KEY = ""  # the offline test provider
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = payment_services.funding_start(assignment=assignment, actor=employer_of(assignment))
    pay_with_test_provider(funding)
    assert Funding.objects.get(pk=funding.pk).status == Funding.Status.PAID
    ready_account(assignment.student)
    milestone = first_milestone(assignment)
    submit(milestone)
    return milestone


def test_employer_approves_and_both_see_paid_without_reloading(journey, settings):
    milestone = _submitted_paid_milestone(settings)
    assignment = milestone.assignment
    employer = EmployerUserFactory(employer=assignment.posting.employer)
    url = f"/assignments/{assignment.pk}/"

    student = journey("approve-student")
    login(student.page, assignment.student.email, PASSWORD)
    student.page.goto(url)
    student.start()
    student.screen("waiting-for-review")

    j = journey("approve-employer")
    login(j.page, employer.email, PASSWORD)
    j.page.goto(url)
    j.start()
    j.screen("submission")
    j.page.once("dialog", lambda dialog: dialog.accept())
    j.page.get_by_role("button", name="Approve and release 300.00 USD").click()
    name = assignment.student.display_name
    j.page.get_by_text(f"300.00 USD released to {name}").wait_for()
    expect(j.page.locator(f"#ms-status-{milestone.pk}")).to_contain_text("Paid")
    j.screen("paid")
    assert j.loads <= 2, j.loads

    # The student's page shows "Paid" by itself: no reload.
    expect(student.page.locator(f"#ms-status-{milestone.pk}")).to_contain_text(
        "Paid", timeout=20_000
    )
    student.screen("paid")
    assert student.loads == 0, student.loads
    assert j.violations + student.violations == [], "\n".join(j.violations + student.violations)


def test_new_student_signs_up_from_a_posting_and_lands_on_its_apply_form(journey):
    posting = PostingFactory(title="Survey analysis")
    j = journey("new-student")
    j.page.goto(f"/postings/{posting.pk}/")
    j.start()
    j.screen("posting")

    j.page.get_by_role("link", name="Log in to apply").click()
    j.page.wait_for_load_state()
    j.screen("log-in")
    # Either "Sign up" link (the page's or the navigation's) keeps the apply form as the next page.
    for link in j.page.get_by_role("link", name=re.compile("^sign up$", re.I)).all():
        assert f"next=%2Fapply%2F{posting.pk}%2F" in link.get_attribute("href")
    j.page.get_by_role("navigation").get_by_role("link", name="Sign up").click()
    j.page.get_by_role("heading", name="Create your account").wait_for()
    j.page.get_by_label("Student").check()
    j.page.get_by_label("Your name").fill("Sofia Marques")
    j.page.get_by_label("E-mail address").fill("sofia@student.test")
    j.page.get_by_label("Password:", exact=True).fill("a-strong-browser-secret-9")
    j.page.get_by_label("Password (again)").fill("a-strong-browser-secret-9")
    j.screen("sign-up")
    j.page.get_by_role("button", name="Sign up").click()
    j.page.wait_for_load_state()
    j.screen("check-your-e-mail")

    message = next(m for m in reversed(mail.outbox) if m.to == ["sofia@student.test"])
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", message.body).group(0)
    j.page.goto(link)
    j.page.get_by_role("heading", name="Apply to “Survey analysis”").wait_for()
    j.screen("apply-form")
    assert j.page.url.endswith(f"/apply/{posting.pk}/")
    assert j.loads <= 4, j.loads
    # The browser's time zone came with the sign-up.
    from accounts.models import User

    assert User.objects.get(email="sofia@student.test").time_zone != ""
    assert j.violations == [], "\n".join(j.violations)


def test_staff_see_the_waiting_posting_and_approve_it_in_two_screens(journey):
    waiting = PostingFactory(
        title="Bird survey", status="pending_review", submitted_at=timezone.now()
    )
    staff = StaffFactory(email="mod@market.test")
    j = journey("staff-approves")
    login(j.page, staff.email, PASSWORD, totp_secret=staff.totp_secret)
    j.page.goto("/dashboard/")
    j.start()
    expect(j.page.get_by_text("1 posting waiting for review")).to_be_visible()
    expect(j.page.get_by_role("link", name=re.compile(r"Moderation\s+1"))).to_be_visible()
    j.screen("dashboard")

    j.page.get_by_role("link", name="Review the next posting").click()
    j.page.get_by_role("heading", name="Bird survey").wait_for()
    j.screen("posting")
    j.page.get_by_role("button", name="Approve").click()
    j.page.get_by_text("Bird survey: Approved and published.").wait_for()
    j.screen("approved")
    waiting.refresh_from_db()
    assert waiting.status == Posting.Status.PUBLISHED
    assert j.loads <= 2, j.loads
    assert j.violations == [], "\n".join(j.violations)
