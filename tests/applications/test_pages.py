"""The pages, end to end through the test client: apply, select, offer, accept, submit, review,
rate, the public record; form errors beside their fields; domain refusals as clear messages."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.models import Application, Assignment, Milestone, Rating, Submission
from postings.models import ScreeningQuestion
from tests.applications.factories import (
    COVER_NOTE,
    ApplicationFactory,
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    pdf,
    submit,
    walk_to,
)
from tests.factories import CreditPostingFactory, PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def _apply_data(posting, **changes):
    data = {"cover_note": COVER_NOTE, "portfolio_links": "https://github.com/ana"}
    for q in posting.questions.all():
        data[f"answer_{q.pk}"] = "pandas and a notebook"
    data.update(changes)
    return data


def test_apply_with_screening_answers_and_cv(client):
    posting = PostingFactory(questions=["Which tools would you use?", "When can you start?"])
    ScreeningQuestion.objects.filter(posting=posting, position=1).update(required=False)
    employer = employer_of(posting)
    student = StudentFactory()
    client.force_login(student)
    url = reverse("applications:apply", args=[posting.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Which tools would you use?" in page.content.decode()
    data = _apply_data(posting)
    q2 = posting.questions.get(position=1)
    data[f"answer_{q2.pk}"] = ""
    data["cv"] = pdf("cv.pdf")
    response = client.post(url, data)
    application = Application.objects.get(student=student)
    assert response.status_code == 302
    assert response["Location"] == reverse("applications:detail", args=[application.pk])
    q1 = posting.questions.get(position=0)
    assert application.answers == {str(q1.pk): "pandas and a notebook", str(q2.pk): ""}
    assert application.portfolio_links == ["https://github.com/ana"]
    assert application.cv_name == "cv.pdf"
    assert employer.notifications.filter(kind="application.received").count() == 1
    detail = client.get(response["Location"])
    assert "Your application to" in detail.content.decode()


def test_apply_errors_beside_fields(client):
    posting = PostingFactory(questions=["Which tools would you use?"])
    client.force_login(StudentFactory())
    url = reverse("applications:apply", args=[posting.pk])
    response = client.post(url, {"cover_note": "Too short", "portfolio_links": "not a link"})
    assert response.status_code == 400
    form = response.context["form"]
    q = posting.questions.get()
    assert "cover_note" in form.errors
    assert f"answer_{q.pk}" in form.errors
    assert not Application.objects.exists()
    # A valid form with a bad link: the service's message lands beside the field.
    response = client.post(url, _apply_data(posting, portfolio_links="ftp://x"))
    assert "portfolio_links" in response.context["form"].errors
    # A CV that is not a PDF/DOCX/text, whatever its name says.
    response = client.post(url, _apply_data(posting, cv=pdf("cv.pdf", b"MZ\x90\x00 binary")))
    assert "cv" in response.context["form"].errors
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"application_deadline": -1}, "deadline"),
        ({"seats_filled": 1}, "Every seat"),
        ({"status": "closed"}, "not open"),
    ],
)
def test_apply_refused_clearly(client, change, message):
    posting = PostingFactory()
    if "application_deadline" in change:
        posting.application_deadline = timezone.now() - dt.timedelta(hours=1)
    else:
        for key, value in change.items():
            setattr(posting, key, value)
    posting.save()
    client.force_login(StudentFactory())
    url = reverse("applications:apply", args=[posting.pk])
    # A closed posting stays readable (read-only), so its apply page says why, like the others.
    page = client.get(url)
    assert message in page.content.decode()
    response = client.post(url, _apply_data(posting))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Application.objects.exists()


def test_empty_post_after_the_deadline_is_a_clear_400(client):
    # A POST without any form fields (or with a JSON body) to a posting that no longer takes
    # applications shows the reason, never a 500.
    posting = PostingFactory()
    posting.application_deadline = timezone.now() - dt.timedelta(hours=1)
    posting.save()
    client.force_login(StudentFactory())
    url = reverse("applications:apply", args=[posting.pk])
    for response in (
        client.post(url),
        client.post(url, data="{}", content_type="application/json"),
    ):
        assert response.status_code == 400
        assert "deadline" in response.content.decode()
    assert not Application.objects.exists()


def test_empty_post_to_an_open_posting_shows_field_errors(client):
    posting = PostingFactory()
    client.force_login(StudentFactory())
    response = client.post(reverse("applications:apply", args=[posting.pk]))
    assert response.status_code == 400
    assert "cover_note" in response.context["form"].errors
    assert not Application.objects.exists()


def test_applying_twice_redirects_to_the_application(client):
    application = ApplicationFactory()
    client.force_login(application.student)
    response = client.get(reverse("applications:apply", args=[application.posting_id]))
    assert response["Location"] == reverse("applications:detail", args=[application.pk])


def test_employer_pipeline_shortlist_offer_and_student_accepts(client):
    posting = CreditPostingFactory(openings=2)
    employer = employer_of(posting)
    applications = [ApplicationFactory(posting=posting) for _ in range(3)]
    client.force_login(employer)
    page = client.get(reverse("applications:pipeline", args=[posting.pk]))
    assert page.status_code == 200
    assert [len(items) for _k, _l, items in page.context["columns"]][:2] == [3, 0]
    first = applications[0]
    client.post(reverse("applications:move", args=[first.pk, "shortlist"]))
    client.post(
        reverse("applications:move", args=[applications[1].pk, "reject"]),
        {"message": "We chose someone with more SQL."},
    )
    client.post(reverse("applications:move", args=[first.pk, "offer"]), {"expires_at": ""})
    first.refresh_from_db()
    assert first.status == "offered"
    assert first.offer_expires_at is not None
    page = client.get(reverse("applications:pipeline", args=[posting.pk]))
    columns = {k: items for k, _l, items in page.context["columns"]}
    assert [a.pk for a in columns["offered"]] == [first.pk]
    assert [a.pk for a in columns["rejected"]] == [applications[1].pk]

    client.force_login(first.student)
    detail = client.get(reverse("applications:detail", args=[first.pk]))
    assert "You have an offer" in detail.content.decode()
    response = client.post(reverse("applications:move", args=[first.pk, "accept"]))
    assignment = Assignment.objects.get(application=first)
    assert response["Location"] == reverse("applications:assignment", args=[assignment.pk])
    assert assignment.status == "active"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Submit work" in page.content.decode()


def test_refused_move_is_a_message_not_an_error(client):
    application = ApplicationFactory()
    walk_to(application, "rejected")
    client.force_login(employer_of(application.posting))
    response = client.post(
        reverse("applications:move", args=[application.pk, "offer"]), follow=True
    )
    assert response.status_code == 200
    assert "cannot move from rejected to offered" in response.content.decode()


def test_submit_revise_approve_and_rate_through_pages(client):
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    employer = employer_of(assignment.posting)
    client.force_login(assignment.student)
    url = reverse("applications:submit", args=[milestone.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"note": "First draft", "links": "", "files": [pdf()]})
    assert response.status_code == 302
    client.force_login(employer)
    client.post(
        reverse("applications:milestone_move", args=[milestone.pk, "revision"]),
        {"feedback": "Add the charts, please."},
    )
    milestone.refresh_from_db()
    assert milestone.status == "revision_requested"
    client.force_login(assignment.student)
    page = client.get(url)
    assert "Add the charts, please." in page.content.decode()
    client.post(url, {"note": "With charts", "links": "https://example.com/report"})
    client.force_login(employer)
    client.post(reverse("applications:milestone_move", args=[milestone.pk, "approve"]))
    assignment.refresh_from_db()
    assert assignment.status == "completed"
    assert list(Submission.objects.values_list("version", "outcome").order_by("version")) == [
        (1, "revision_requested"),
        (2, "approved"),
    ]
    client.post(
        reverse("applications:rate", args=[assignment.pk]), {"score": "5", "comment": "Great"}
    )
    client.force_login(assignment.student)
    page = client.get(reverse("applications:assignment", args=[assignment.pk]))
    # Double-blind: the student does not see the employer's rating before rating.
    assert "Great" not in page.content.decode()
    client.post(
        reverse("applications:rate", args=[assignment.pk]), {"score": "4", "comment": "Clear"}
    )
    page = client.get(reverse("applications:assignment", args=[assignment.pk]))
    assert "Great" in page.content.decode()
    assert Rating.objects.filter(published_at__isnull=False).count() == 2


def test_cancel_by_agreement_through_pages(client):
    assignment = accepted_assignment()
    client.force_login(assignment.student)
    client.post(reverse("applications:cancel", args=[assignment.pk]))
    assignment.refresh_from_db()
    assert assignment.status == "awaiting_funding"
    assert assignment.cancel_agreed_by_student_at is not None
    client.force_login(employer_of(assignment.posting))
    page = client.get(reverse("applications:assignment", args=[assignment.pk]))
    assert "The other side proposes to cancel" in page.content.decode()
    client.post(reverse("applications:cancel", args=[assignment.pk]))
    assignment.refresh_from_db()
    assert assignment.status == "cancelled"
    assignment.posting.refresh_from_db()
    assert assignment.posting.seats_filled == 0


def test_dispute_through_pages_and_staff_list(client):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone)
    client.force_login(employer_of(assignment.posting))
    client.post(
        reverse("applications:milestone_move", args=[milestone.pk, "dispute"]),
        {"reason": "The report is copied from the web."},
    )
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.DISPUTED
    staff = StaffFactory()
    client.force_login(staff)
    page = client.get(reverse("applications:disputes"))
    assert "The report is copied from the web." in page.content.decode()
    # Staff read the thread and the assignment of a disputed assignment.
    assert client.get(reverse("applications:assignment", args=[assignment.pk])).status_code == 200
    assert (
        client.get(reverse("applications:detail", args=[assignment.application_id])).status_code
        == 200
    )


def test_reinvite_page(client):
    assignment = active_assignment(credit=True)
    milestone = first_milestone(assignment)
    submit(milestone)
    employer = employer_of(assignment.posting)
    from applications import services

    services.milestone_approve(milestone=milestone, actor=employer)
    new_posting = PostingFactory(employer=assignment.posting.employer)
    client.force_login(employer)
    url = reverse("applications:reinvite", args=[assignment.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"posting": new_posting.pk, "message": "Again?"})
    assert response.status_code == 302
    note = assignment.student.notifications.get(kind="invitation.received")
    assert note.link == reverse("applications:apply", args=[new_posting.pk])
    client.force_login(assignment.student)
    page = client.get(note.link)
    assert "invited you to apply" in page.content.decode()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example"]
)
def test_no_open_redirect_after_a_move(client, next_url):
    application = ApplicationFactory()
    client.force_login(employer_of(application.posting))
    response = client.post(
        reverse("applications:move", args=[application.pk, "shortlist"]), {"next": next_url}
    )
    assert response["Location"] == reverse("applications:detail", args=[application.pk])


def test_pipeline_shortlist_returns_to_the_pipeline(client):
    application = ApplicationFactory()
    client.force_login(employer_of(application.posting))
    url = reverse("applications:pipeline", args=[application.posting_id])
    response = client.post(
        reverse("applications:move", args=[application.pk, "shortlist"]), {"next": url}
    )
    assert response["Location"] == url


# --- Applying from the posting's page ----------------------------------------------------------


def test_a_student_applies_from_the_postings_page_and_then_sees_the_application(client):
    posting = PostingFactory(questions=["Which tools?"])
    student = StudentFactory()
    client.force_login(student)
    page = client.get(f"/postings/{posting.pk}/").content.decode()
    assert "Send application" in page and "Which tools?" in page
    question = posting.questions.get()
    sent = client.post(
        f"/apply/{posting.pk}/",
        {"cover_note": "I cleaned survey data for two clubs. " * 3, f"answer_{question.pk}": "R"},
    )
    application = Application.objects.get(posting=posting, student=student)
    assert sent["Location"] == f"/applications/{application.pk}/"
    page = client.get(f"/postings/{posting.pk}/").content.decode()
    assert "Send application" not in page
    assert f'href="/applications/{application.pk}/">See your application</a>' in page


# --- The assignment page: the brief, approving with the amount, a status that updates itself ---


def test_the_assignment_page_holds_the_brief_and_disputes_wait_for_work(client):
    from tests.applications.factories import active_assignment, employer_of, first_milestone, submit

    assignment = active_assignment(
        description="Count the **hedgehogs**.", acceptance_criteria="A table of _sightings_."
    )
    client.force_login(assignment.student)
    url = reverse("applications:assignment", args=[assignment.pk])
    html = client.get(url).content.decode()
    assert "<strong>hedgehogs</strong>" in html and "<em>sightings</em>" in html
    assert "Open a dispute" not in html  # nothing submitted yet: nothing to dispute
    submit(first_milestone(assignment))
    client.force_login(employer_of(assignment.posting))
    html = client.get(url).content.decode()
    assert "Something wrong? Open a dispute" in html


def test_approving_names_the_amount_and_who_receives_it(client):
    from tests.applications.factories import active_assignment, employer_of, first_milestone, submit

    assignment = active_assignment(amount=30000, milestones=[("Report", 24, 30000)])
    milestone = first_milestone(assignment)
    submit(milestone)
    client.force_login(employer_of(assignment.posting))
    url = reverse("applications:assignment", args=[assignment.pk])
    html = client.get(url).content.decode()
    assert ">Approve and release 300.00 USD</button>" in html
    assert f'data-confirm="Release 300.00 USD to {assignment.student.display_name}' in html
    response = client.post(
        reverse("applications:milestone_move", args=[milestone.pk, "approve"]), follow=True
    )
    name = assignment.student.display_name
    assert f"is approved: 300.00 USD released to {name}." in response.content.decode()


def test_the_milestone_status_asks_again_until_it_is_settled(client):
    from tests.applications.factories import active_assignment, first_milestone, submit

    assignment = active_assignment(amount=30000, milestones=[("Report", 24, 30000)])
    milestone = first_milestone(assignment)
    submit(milestone)
    client.force_login(assignment.student)
    url = reverse("applications:milestone_status", args=[milestone.pk])
    waiting = client.get(url).content.decode()
    assert f'hx-get="{url}"' in waiting and "Submitted for review" in waiting
    Milestone.objects.filter(pk=milestone.pk).update(status="paid")
    paid = client.get(url).content.decode()
    assert "hx-get" not in paid and "Paid" in paid
    client.force_login(StudentFactory())
    assert client.get(url).status_code == 404


def test_applicant_cards_show_the_cover_note_start_and_no_stray_comma(client):
    from accounts.models import StudentProfile
    from tests.applications.factories import ApplicationFactory, employer_of

    application = ApplicationFactory(cover_note="I ran the survey of our rowing club. " * 10)
    StudentProfile.objects.filter(user=application.student).update(programme="", school="Porto")
    client.force_login(employer_of(application.posting))
    html = client.get(reverse("applications:pipeline", args=[application.posting.pk])).content
    html = html.decode()
    assert "“I ran the survey of our rowing club. I ran" in html
    assert '<p class="app-card-line">Porto</p>' in html


def test_a_refused_message_comes_back_with_what_was_typed(client):
    application = ApplicationFactory()
    client.force_login(application.student)
    detail = reverse("applications:detail", args=[application.pk])
    url = reverse("applications:message", args=[application.pk])
    too_long = "Here is my long question about the data. " * 130  # over 5000 characters
    response = client.post(url, {"body": too_long}, follow=True)
    html = response.content.decode()
    assert too_long.strip() in html  # in the textarea again
    assert "data-error-summary" in html
    assert not application.messages.exists()
    # Shown once: the next visit starts empty.
    assert too_long.strip() not in client.get(detail).content.decode()
