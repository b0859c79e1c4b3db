import pytest
from django.urls import reverse

from marketplace.core.models import AuditLog
from notifications.models import Notification
from postings.models import Posting
from tests.factories import (
    CreditPostingFactory,
    EmployerUserFactory,
    PostingFactory,
    StaffFactory,
    StudentFactory,
    StudentProfileFactory,
    UserFactory,
)
from tests.postings.helpers import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    user = EmployerUserFactory()
    client.force_login(user)
    return user


# --- Employer pages ---------------------------------------------------------------------


def test_create_page_saves_a_draft_with_milestones_and_questions(client, member):
    response = client.post(reverse("postings:create"), form_data())
    posting = Posting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("postings:detail", args=[posting.pk])
    assert posting.status == Posting.Status.DRAFT
    assert posting.employer == member.employers.get()
    assert posting.duration_hours == 336
    assert posting.amount == 50000
    assert [(m.title, m.due_offset_hours, m.amount) for m in posting.milestones.all()] == [
        ("Cleaned data", 120, 20000),
        ("Final report", 336, 30000),
    ]
    assert posting.questions.get().text == "Which tools would you use?"


@pytest.mark.parametrize(
    "changes,field_id,fragment",
    [
        (
            {"duration_value": "13", "duration_unit": "weeks"},
            "id_duration_value",
            "from 1 hour to 12 weeks",
        ),
        ({"duration_value": "0"}, "id_duration_value", "greater than or equal to 1"),
        ({"amount": "0"}, "id_amount", "positive amount"),
        ({"amount": "-5"}, "id_amount", "positive amount"),
        ({"amount": "99999999.00"}, "id_amount", "above the limit"),
        ({"currency": "XYZ"}, "id_currency", "Select a valid choice"),
        ({"milestones-1-amount": "100.00"}, "milestones", "must be equal"),
        (
            {"application_deadline": "2099-01-01T00:00"},
            "id_application_deadline",
            "before the start",
        ),
        ({"title": "x" * 200}, "id_title", "at most 120 characters"),
        ({"effort_hours": "500"}, "id_effort_hours", "do not fit a time box"),
        ({"amount": "abc"}, "id_amount", "Enter a number"),
    ],
)
def test_create_page_shows_errors_beside_fields(client, member, changes, field_id, fragment):
    response = client.post(reverse("postings:create"), form_data(**changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert fragment in html
    if field_id.startswith("id_"):
        assert f'id="{field_id}_error"' in html
    assert not Posting.objects.exists()


def test_preview_renders_markdown_inert_and_warns_about_the_pay_floor(client, member):
    data = form_data(
        description="**Bold** <script>alert('x')</script> [x](javascript:alert(1))",
        amount="100.00",
        **{"milestones-TOTAL_FORMS": "0"},
    )
    response = client.post(reverse("postings:preview"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html and "javascript:" not in html
    assert "can be published only after a moderator approves it" in html
    assert "Micro" in html and "5.00 USD per estimated hour" in html


def test_detail_shows_script_inert(client):
    posting = PostingFactory(
        description="Hello <script>document.title='pwned'</script> <img src=x onerror=alert(1)>"
    )
    html = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    assert "document.title" not in html
    assert "onerror" not in html
    assert "Hello" in html


def test_edit_submit_withdraw_and_duplicate(client, member):
    client.post(reverse("postings:create"), form_data())
    posting = Posting.objects.get()
    response = client.post(
        reverse("postings:edit", args=[posting.pk]), form_data(title="Survey analysis, revised")
    )
    assert response.status_code == 302
    posting.refresh_from_db()
    assert posting.title == "Survey analysis, revised"

    client.post(reverse("postings:submit", args=[posting.pk]))
    posting.refresh_from_db()
    assert posting.status == Posting.Status.PENDING_REVIEW
    # No longer editable: the edit page sends back to the detail.
    response = client.get(reverse("postings:edit", args=[posting.pk]))
    assert response.status_code == 302

    client.post(reverse("postings:duplicate", args=[posting.pk]))
    copy = Posting.objects.exclude(pk=posting.pk).get()
    assert copy.status == Posting.Status.DRAFT
    assert copy.milestones.count() == 2 and copy.questions.count() == 1

    client.post(reverse("postings:withdraw", args=[posting.pk]))
    posting.refresh_from_db()
    assert posting.status == Posting.Status.CLOSED
    assert posting.close_reason == Posting.CloseReason.WITHDRAWN


def test_my_postings_lists_status_counts(client, member):
    employer = member.employers.get()
    PostingFactory(employer=employer, status="draft")
    PostingFactory(employer=employer, status="draft")
    PostingFactory(employer=employer, status="published")
    PostingFactory(status="draft")  # someone else's
    response = client.get(reverse("postings:mine"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'All <span class="count">3</span>' in html
    assert 'Draft <span class="count">2</span>' in html
    assert len(response.context["postings"]) == 3
    only = client.get(reverse("postings:mine") + "?status=published")
    assert len(only.context["postings"]) == 1


@pytest.mark.parametrize("who", ["anonymous", "student", "other_employer"])
def test_others_cannot_see_or_change_a_draft(client, who):
    draft = PostingFactory(status="draft", title="Secret draft posting")
    if who == "student":
        client.force_login(StudentFactory())
    elif who == "other_employer":
        client.force_login(EmployerUserFactory())
    assert client.get(reverse("postings:detail", args=[draft.pk])).status_code == 404
    expected = 404 if who == "other_employer" else (302 if who == "anonymous" else 403)
    for name in ("edit", "submit", "withdraw", "duplicate"):
        response = client.post(reverse(f"postings:{name}", args=[draft.pk]), form_data())
        assert response.status_code == expected, name
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.title == "Secret draft posting"
    assert Posting.objects.count() == 1
    api = client.get(f"/api/v1/postings/{draft.pk}/")
    assert api.status_code == 404
    assert client.patch(
        f"/api/v1/postings/{draft.pk}/", {"title": "Hacked"}, content_type="application/json"
    ).status_code in (401, 403, 404)
    draft.refresh_from_db()
    assert draft.title == "Secret draft posting"


def test_colleague_sees_the_draft(client):
    owner = EmployerUserFactory()
    colleague = EmployerUserFactory(employer=owner.employers.get())
    draft = PostingFactory(employer=owner.employers.get(), status="draft")
    client.force_login(colleague)
    assert client.get(reverse("postings:detail", args=[draft.pk])).status_code == 200


# --- Moderation ---------------------------------------------------------------------------


def test_staff_queue_and_actions(client):
    member = EmployerUserFactory()
    pending = PostingFactory(employer=member.employers.get(), status="pending_review")
    client.force_login(StaffFactory())
    response = client.get(reverse("postings:moderation"))
    assert pending.title in response.content.decode()

    url = reverse("postings:moderate", args=[pending.pk])
    client.post(url, {"action": "request_changes", "reason": "Say how many hours a week."})
    pending.refresh_from_db()
    assert pending.status == "changes_requested"
    assert Notification.objects.get(recipient=member).body == "Say how many hours a week."

    client.post(url, {"action": "approve"})
    pending.refresh_from_db()
    assert pending.status == "published"
    client.post(url, {"action": "suspend", "reason": "Checking a complaint."})
    client.post(url, {"action": "reinstate"})
    client.post(url, {"action": "remove", "reason": "Asks for a fee."})
    pending.refresh_from_db()
    assert pending.status == "removed"
    actions = list(
        AuditLog.objects.filter(target_id=str(pending.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "posting.changes_requested",
        "posting.approved",
        "posting.suspended",
        "posting.reinstated",
        "posting.suspended",
        "posting.removed",
    ]


def test_moderation_refusal_is_a_message_not_a_500(client):
    posting = PostingFactory(status="pending_review")
    client.force_login(StaffFactory())
    url = reverse("postings:moderate", args=[posting.pk])
    response = client.post(url, {"action": "reject", "reason": ""}, follow=True)
    assert "Give the employer a reason" in response.content.decode()
    response = client.post(url, {"action": "explode"}, follow=True)
    assert "Unknown moderation action" in response.content.decode()
    posting.refresh_from_db()
    assert posting.status == "pending_review"


@pytest.mark.parametrize("reason", ["Fine.", "x" * 2001])
def test_moderation_returns_only_to_pages_on_this_site(client, reason):
    posting = PostingFactory(status="pending_review")
    client.force_login(StaffFactory())
    url = reverse("postings:moderate", args=[posting.pk])
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = client.post(url, {"action": "reject", "reason": reason, "next": outside})
        assert response.status_code == 302
        assert response["Location"] == reverse("postings:moderation")
    inside = reverse("postings:list")  # (from the posting's own page the next one follows)
    response = client.post(url, {"action": "reject", "reason": reason, "next": inside})
    assert response["Location"] == inside


@pytest.mark.parametrize("user_factory", [StudentFactory, EmployerUserFactory])
def test_queue_is_for_staff_only(client, user_factory):
    client.force_login(user_factory())
    assert client.get(reverse("postings:moderation")).status_code == 403
    posting = PostingFactory(status="pending_review")
    client.post(reverse("postings:moderate", args=[posting.pk]), {"action": "approve"})
    posting.refresh_from_db()
    assert posting.status == "pending_review"


def test_report_page(client, settings):
    settings.REPORTS_TO_SUSPEND = 2
    posting = PostingFactory()
    for _ in range(2):
        client.force_login(UserFactory())
        response = client.post(
            reverse("postings:report", args=[posting.pk]), {"reason": "Asks for a fee."}
        )
        assert response.status_code == 302
    posting.refresh_from_db()
    assert posting.status == "suspended"
    response = client.post(reverse("postings:report", args=[posting.pk]), {"reason": ""})
    assert response.status_code in (400, 404)


# --- Finding work ------------------------------------------------------------------------


def test_list_filters_and_search(client):
    match = PostingFactory(
        title="Brand voice guide",
        description="Write a tone-of-voice guide for a bakery chain.",
        duration_hours=48,
        effort_hours=6,
        amount=30000,
        work_mode="remote",
        skills=["copywriting"],
    )
    PostingFactory(title="Warehouse data cleanup", work_mode="onsite", location="Leeds")
    PostingFactory(title="Draft one", status="draft", description="tone-of-voice bakery")

    def titles(query):
        response = client.get(reverse("postings:list") + query)
        assert response.status_code == 200, response.content[:500]
        return [p.title for p in response.context["page"].items]

    assert titles("?q=bakery") == ["Brand voice guide"]
    assert titles("?q=copywriting") == ["Brand voice guide"]  # skills are searched too
    assert titles("?format=nano") == ["Brand voice guide"]
    assert titles("?work_mode=onsite") == ["Warehouse data cleanup"]
    assert titles("?skill=copywriting") == ["Brand voice guide"]
    assert titles("?min_pay=400") == ["Warehouse data cleanup"]
    assert titles("?max_hours_per_week=7") == ["Brand voice guide"]
    assert titles("?compensation=credit") == []
    assert sorted(titles("")) == ["Brand voice guide", "Warehouse data cleanup"]
    assert match.pk


@pytest.mark.parametrize(
    "query",
    [
        "?format=gigantic",
        "?min_pay=lots",
        "?min_pay=-5",
        "?min_pay=1e999",
        "?min_pay=NaN",
        "?max_hours_per_week=abc",
        "?starts_after=not-a-date",
        "?starts_after=99999-01-01",
        "?sort=random",
        "?skill=unknown-skill",
        "?compensation=beer",
        "?page_size=0",
        "?page_size=51",
        "?page_size=abc",
        "?cursor=garbage!!",
        "?cursor=WzEsMiwibiJd",
        "?q=" + "x" * 300,
    ],
)
def test_garbage_filters_are_a_400_with_a_message(client, query):
    PostingFactory()
    response = client.get(reverse("postings:list") + query)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    api = client.get("/api/v1/postings/" + query)
    assert api.status_code == 400
    body = api.json()
    assert body["code"] == "invalid" and body["message"]


def test_detail_shows_the_facts(client):
    employer = EmployerUserFactory(employer__verified=True).employers.get()
    employer.response_rate = 87
    employer.save()
    posting = PostingFactory(
        employer=employer,
        amount=50000,
        effort_hours=20,
        openings=3,
        seats_filled=1,
        work_mode="hybrid",
        location="Porto",
        skills=["sql"],
    )
    html = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    for text in [
        "Micro",
        "2 weeks",
        "about 20 hours",
        "10 hours per week",
        "500.00 USD",
        "25.00 USD per estimated hour",
        "Hybrid, Porto",
        "Light: a contact for questions",
        "2 of 3",
        "Verified employer",
        "answers 87% of applications",
        "sql",
    ]:
        assert text in html, text


def test_format_guide_and_what_fits_me(client):
    # Something open fits each question below, so the links are not widened.
    PostingFactory(duration_hours=5 * 24, effort_hours=5)  # micro, 5 hours a week
    PostingFactory(format="internship", duration_hours=10 * 7 * 24, effort_hours=100)
    response = client.get(reverse("postings:formats"))
    assert response.status_code == 200
    assert "/postings/?format=internship" in response.content.decode()
    response = client.get(reverse("postings:formats") + "?hours_per_week=5&goal=deep")
    advice = response.context["advice"]
    assert advice["formats"] == ["Micro (up to 4 weeks)"]  # too few hours for an internship
    assert "max_hours_per_week=5" in advice["link"]
    response = client.get(reverse("postings:formats") + "?hours_per_week=20&goal=deep")
    assert response.context["advice"]["formats"][0].startswith("Internship")
    response = client.get(reverse("postings:formats") + "?hours_per_week=12&goal=earn")
    assert "compensation=paid" in response.context["advice"]["link"]
    response = client.get(reverse("postings:formats") + "?hours_per_week=abc&goal=zzz")
    assert response.status_code == 400


def test_student_dashboard_recommends_by_skills_and_hours(rf):
    from postings.views import recommended_panel

    student = StudentProfileFactory(skills=["python", "sql"], hours_per_week=10).user
    best = PostingFactory(title="Best", skills=["python", "sql"])
    PostingFactory(title="Some", skills=["python", "figma"])
    PostingFactory(title="Too many hours", skills=["python", "sql"], effort_hours=100)
    PostingFactory(title="Not published", skills=["python", "sql"], status="draft")
    request = rf.get("/dashboard/")
    request.user = student
    template, context = recommended_panel(request)
    titles = [p.title for p in context["postings"]]
    assert titles[:2] == ["Best", "Some"]
    assert "Too many hours" not in titles and "Not published" not in titles
    assert best.pk == context["postings"][0].pk


# --- Posting in one go (the editor submits; preview and totals) ------------------------------


def test_the_editor_submits_for_review_in_one_go(client, member):
    response = client.post(reverse("postings:create"), {**form_data(), "then": "submit"})
    posting = Posting.objects.get()
    assert response["Location"] == reverse("postings:detail", args=[posting.pk])
    assert posting.status == Posting.Status.PENDING_REVIEW
    page = client.get(response["Location"]).content.decode()
    assert "Submitted for review. A moderator checks it" in page


def test_save_draft_keeps_a_draft(client, member):
    client.post(reverse("postings:create"), {**form_data(), "then": "draft"})
    assert Posting.objects.get().status == Posting.Status.DRAFT


def test_the_editor_offers_submit_and_draft_and_shows_the_pay_floor_currency(client, member):
    html = client.get(reverse("postings:create")).content.decode()
    assert '<button type="submit" name="then" value="submit">Submit for review</button>' in html
    assert 'value="draft"' in html
    assert ">20.00 USD</strong> per estimated hour" in html  # PAY_FLOOR_PER_HOUR, default USD
    # One legend for the compensation, not "Compensation" twice.
    assert html.count("<legend>Compensation</legend>") == 1
    assert "Paid or for academic credit?" in html
    assert 'data-show-for="credit"' in html and "data-fee-percent=" in html


def test_preview_shows_criteria_milestones_and_the_total_with_the_fee(client, member, settings):
    settings.PLATFORM_FEE_PERCENT = 10
    response = client.post(reverse("postings:preview"), form_data(), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Acceptance criteria" in html and "three recommendations" in html
    assert "Cleaned data" in html and "Final report" in html
    assert "200.00 USD" in html and "300.00 USD" in html
    # 500.00 of pay and 10% on top.
    assert "You pay <strong>550.00 USD</strong> per student" in html
    assert "(50.00 USD)" in html


def test_the_employer_sees_the_total_with_the_fee_on_the_posting_and_at_the_offer(client, settings):
    from tests.applications.factories import ApplicationFactory

    settings.PLATFORM_FEE_PERCENT = 10
    posting = PostingFactory(amount=30000)
    owner = EmployerUserFactory(employer=posting.employer)
    application = ApplicationFactory(posting=posting)
    client.force_login(owner)
    detail = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    assert "Each assignment costs you <strong>330.00 USD</strong>" in detail
    offer = client.get(reverse("applications:detail", args=[application.pk])).content.decode()
    assert "you fund <strong>330.00 USD</strong>" in offer
    client.force_login(StudentFactory())
    public = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    assert "costs you" not in public


# --- Staff see their work -------------------------------------------------------------------


def test_staff_dashboard_and_navigation_count_what_waits(client):
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    oldest = PostingFactory(status="pending_review", submitted_at=now - dt.timedelta(hours=5))
    PostingFactory(status="pending_review", submitted_at=now - dt.timedelta(hours=1))
    PostingFactory(status="published", open_reports=1)
    PostingFactory(status="published")
    client.force_login(StaffFactory())
    html = client.get(reverse("dashboard")).content.decode()
    assert "<strong>2</strong> postings waiting for review" in html
    assert "<strong>1</strong> published posting with open reports" in html
    assert "<strong>0</strong> open disputes" in html
    next_link = reverse("postings:detail", args=[oldest.pk])
    assert f'<a class="button" href="{next_link}">Review the next posting</a>' in html
    assert 'aria-label="2 waiting for review">2</span>' in html  # in the navigation


def test_staff_counts_are_for_staff_only(client):
    PostingFactory(status="pending_review")
    client.force_login(EmployerUserFactory())
    html = client.get(reverse("dashboard")).content.decode()
    assert "waiting for review" not in html


def test_the_queue_shows_the_description_and_decides_in_place(client):
    posting = PostingFactory(
        status="pending_review", description="Count the **rhododendrons** in the garden."
    )
    client.force_login(StaffFactory())
    html = client.get(reverse("postings:moderation")).content.decode()
    assert "<strong>rhododendrons</strong>" in html
    assert 'value="approve"' in html and 'value="request_changes"' in html
    queue = reverse("postings:moderation")
    response = client.post(
        reverse("postings:moderate", args=[posting.pk]), {"action": "approve", "next": queue}
    )
    assert response["Location"] == queue  # the queue shows the next itself
    posting.refresh_from_db()
    assert posting.status == "published"


def test_a_decision_on_a_postings_page_leads_to_the_next_waiting(client):
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    first = PostingFactory(status="pending_review", submitted_at=now - dt.timedelta(hours=3))
    second = PostingFactory(status="pending_review", submitted_at=now - dt.timedelta(hours=2))
    client.force_login(StaffFactory())
    page = reverse("postings:detail", args=[first.pk])
    response = client.post(
        reverse("postings:moderate", args=[first.pk]), {"action": "approve", "next": page}
    )
    assert response["Location"] == reverse("postings:detail", args=[second.pk])
    page = reverse("postings:detail", args=[second.pk])
    response = client.post(
        reverse("postings:moderate", args=[second.pk]),
        {"action": "request_changes", "reason": "Name the tools.", "next": page},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("postings:moderation")
    assert "Nothing else is waiting for review." in response.content.decode()


def test_recommendations_rank_a_bounded_set_and_top_up_by_deadline(monkeypatch):
    """The dashboard's cost does not grow with the postings: only the newest postings sharing a
    skill are ranked (here one), the rest of the panel is filled by the soonest deadlines."""
    from postings import selectors

    older_best = PostingFactory(title="Older, both skills", skills=["python", "sql"])
    newest = PostingFactory(title="Newest, one skill", skills=["sql"])
    other = PostingFactory(title="No skill in common", skills=["figma"])
    monkeypatch.setattr(selectors, "RECOMMEND_CANDIDATES", 1)
    found = selectors.postings_recommended(skills=["Python", "SQL"], hours_per_week=40, limit=3)
    assert found[0].pk == newest.pk and found[0].overlap == 1
    assert {p.pk for p in found[1:]} == {older_best.pk, other.pk}
    assert all(p.overlap == 0 for p in found[1:])
    monkeypatch.setattr(selectors, "RECOMMEND_CANDIDATES", 500)
    found = selectors.postings_recommended(skills=["python", "sql"], hours_per_week=40, limit=3)
    assert [p.pk for p in found[:2]] == [older_best.pk, newest.pk]


def test_recommended_for_you_leaves_out_postings_already_applied_to(client):
    from tests.applications.factories import ApplicationFactory
    from tests.factories import StudentFactory

    applied = PostingFactory(title="Survey analysis already applied to", skills=["python"])
    fresh = PostingFactory(title="Fresh cleaning of survey data", skills=["python"])
    student = StudentFactory()
    other = StudentFactory()
    ApplicationFactory(posting=applied, student=student)
    client.force_login(student)
    html = client.get(reverse("dashboard")).content.decode()
    panel = html.split('id="panel-recommended"')[1].split("</section>")[0]
    assert fresh.title in panel and applied.title not in panel
    # Another student still gets it recommended.
    client.force_login(other)
    html = client.get(reverse("dashboard")).content.decode()
    assert applied.title in html.split('id="panel-recommended"')[1].split("</section>")[0]


def test_what_fits_me_widens_instead_of_leading_to_an_empty_list(client):
    micro = CreditPostingFactory(title="Tidy a survey")
    assert micro.hours_per_week > 2
    url = reverse("postings:formats") + "?hours_per_week=2&goal=earn"
    advice = client.get(url).context["advice"]
    # Nothing paid fits 2 hours a week: the link drops the hours and the pay, and says so.
    assert advice["widened"] == (
        "No open posting fits exactly right now, so the link shows postings without the limit "
        "on weekly hours, paid or for credit."
    )
    assert "max_hours_per_week" not in advice["link"] and "compensation" not in advice["link"]
    listed = client.get(advice["link"])
    assert micro.title in listed.content.decode()
    assert "fit-widened" in client.get(url).content.decode()

    # Deep work wants projects and internships: none is open, so every format is shown.
    advice = client.get(reverse("postings:formats") + "?hours_per_week=30&goal=deep").context[
        "advice"
    ]
    assert advice["widened"].endswith("without the limit on weekly hours, of every format.")
    assert micro.title in client.get(advice["link"]).content.decode()

    # When something fits exactly, nothing is widened.
    paid = PostingFactory(title="Paid quick task", format="nano", duration_hours=24, effort_hours=2)
    advice = client.get(url).context["advice"]
    assert advice["widened"] == "" and "max_hours_per_week=2" in advice["link"]
    assert paid.title in client.get(advice["link"]).content.decode()
