"""Saved searches: saving the list's search (browser and API, checked by the list's own filters),
the list and delete page, permissions (another student's search is 404), and the daily digest
with frozen time: new matching postings once, nothing when nothing is new, never a posting twice,
harmless to run twice or concurrently, the e-mail with a working link."""

import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from marketplace.core.errors import DomainError, NotPermitted
from notifications.models import Notification
from postings import services, tasks
from postings.filters import InvalidFilters, canonical_query
from postings.models import SavedSearch, SavedSearchHit, Skill
from postings.services import saved_searches
from tests.factories import (
    EmployerUserFactory,
    PostingFactory,
    SkillFactory,
    StaffFactory,
    StudentFactory,
)

URL = "/api/v1/postings/saved-searches/"
# Monday 2 March 2026, 10:00 UTC: the student saves the search; the first digest is at 08:00 the
# next morning (the student's time zone is UTC).
SAVED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FIRST_DIGEST = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def clock(time_machine):
    def move(when):
        time_machine.move_to(when, tick=False)

    move(SAVED_AT)
    return move


def survey(title, *, published_at, **kwargs):
    """A published posting about a survey, micro format (two weeks), deadline well ahead."""
    return PostingFactory(
        title=title,
        published_at=published_at,
        application_deadline=published_at + timedelta(days=20),
        starts_at=published_at + timedelta(days=25),
        **kwargs,
    )


def save(student, name="Survey work", **filters):
    return services.saved_search_create(actor=student, name=name, filters=filters)


# --- The filters, canonical and checked by the list's FilterSet -----------------------------------


@pytest.mark.django_db
def test_canonical_query_is_the_same_for_the_same_search():
    SkillFactory(name="python", slug="python")
    a = canonical_query(
        {
            "cursor": "abc",
            "page_size": "5",
            "sort": "newest",
            "format": ["nano", "micro", "micro"],
            "q": "  survey ",
            "min_pay": "300.00",
            "category": "",
            "skill": "python",
        }
    )
    b = canonical_query({"skill": ["python"], "min_pay": 300, "format": "micro"})
    assert a == "q=survey&format=micro&format=nano&skill=python&min_pay=300"
    assert b == "format=micro&skill=python&min_pay=300"
    assert canonical_query({}) == ""
    assert canonical_query({"sort": "pay"}) == "sort=pay"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters, words",
    [
        ({"format": "huge"}, "Format"),
        ({"min_pay": "lots"}, "Minimum pay"),
        ({"starts_after": "2026-13-45"}, "Starts on or after"),
        ({"skill": "no-such-skill"}, "Skills"),
        ({"colour": "blue"}, "“colour” is not a filter"),
        ({"q": {"nested": "dict"}}, "a text or a list of texts"),
        ({"q": "x" * 600}, "Search"),
    ],
)
def test_garbage_filters_are_refused_clearly(filters, words):
    with pytest.raises(InvalidFilters) as exc:
        canonical_query(filters)
    assert words in "; ".join(exc.value.messages)
    student = StudentFactory()
    with pytest.raises(DomainError) as exc:
        save(student, **filters)
    assert exc.value.code == "invalid_filters"
    assert exc.value.message.startswith("This search cannot be saved:")
    assert any(words in m for m in exc.value.fields["filters"])
    assert not SavedSearch.objects.exists()


# --- Saving, listing and deleting in the browser ---------------------------------------------


@pytest.mark.django_db
def test_student_saves_the_current_search_from_the_list(client):
    student = StudentFactory()
    client.force_login(student)
    response = client.get("/postings/?q=survey&format=micro&sort=newest&cursor=&page_size=10")
    html = response.content.decode()
    assert "Save this search" in html
    assert response.context["save_query"] == "q=survey&format=micro"
    assert response.context["save_name"] == "“survey”, Micro"

    saved = client.post(
        reverse("postings:saved_searches"),
        {"name": response.context["save_name"], "query": response.context["save_query"]},
    )
    assert saved.status_code == 302 and saved["Location"] == reverse("postings:saved_searches")
    search = SavedSearch.objects.get(user=student)
    assert (search.name, search.query) == ("“survey”, Micro", "q=survey&format=micro")
    assert search.next_digest_at > search.created_at

    page = client.get(reverse("postings:saved_searches"))
    html = page.content.decode()
    assert "“survey”, Micro" in html and 'href="/postings/?q=survey&amp;format=micro"' in html

    # The same search again is refused with a message, not saved twice.
    again = client.post(
        reverse("postings:saved_searches"), {"name": "Again", "query": "format=micro&q=survey"}
    )
    assert again.status_code == 400
    assert "You saved this search already, as ““survey”, Micro”." in again.content.decode()
    assert SavedSearch.objects.count() == 1

    # Garbage from a hand-made request: a clear error on the page, nothing saved.
    bad = client.post(reverse("postings:saved_searches"), {"name": "Bad", "query": "format=huge"})
    assert bad.status_code == 400
    assert "This search cannot be saved: Format: Select a valid choice." in bad.content.decode()
    no_name = client.post(reverse("postings:saved_searches"), {"name": "  ", "query": "q=x"})
    assert no_name.status_code == 400 and no_name.context["form"].errors["name"]
    assert SavedSearch.objects.count() == 1

    # Delete it.
    gone = client.post(reverse("postings:saved_search_delete", args=[search.pk]))
    assert gone.status_code == 302
    assert not SavedSearch.objects.exists()


@pytest.mark.django_db
def test_who_sees_the_save_button(client):
    anonymous = client.get("/postings/?q=survey").content.decode()
    assert "Save this search" not in anonymous
    assert (
        'href="/accounts/login/?next=%2Fpostings%2F%3Fq%3Dsurvey">Log in to save this search'
        in (anonymous)
    )
    client.force_login(EmployerUserFactory())
    employer = client.get("/postings/?q=survey").content.decode()
    assert "Save this search" not in employer and "Log in to save" not in employer
    assert client.get(reverse("postings:saved_searches")).status_code == 403
    client.force_login(StudentFactory())
    # An invalid search shows its errors, and no button to save it.
    invalid = client.get("/postings/?format=huge")
    assert invalid.status_code == 400 and "Save this search" not in invalid.content.decode()


@pytest.mark.django_db
def test_at_most_the_limit_per_student(client, settings):
    settings.SAVED_SEARCHES_MAX = 2
    student = StudentFactory()
    save(student, q="one")
    save(student, q="two")
    with pytest.raises(DomainError) as exc:
        save(student, q="three")
    assert exc.value.code == "limit_reached"
    client.force_login(student)
    response = client.post(
        reverse("postings:saved_searches"), {"name": "Three", "query": "q=three"}
    )
    assert response.status_code == 400
    assert "You can keep at most 2 saved searches" in response.content.decode()
    # Another student has their own allowance.
    save(StudentFactory(), q="three")
    assert SavedSearch.objects.filter(user=student).count() == 2


@pytest.mark.django_db
def test_another_students_saved_search_is_404_and_stays(client):
    owner, other = StudentFactory(), StudentFactory()
    search = save(owner, q="survey")
    client.force_login(other)
    assert client.post(reverse("postings:saved_search_delete", args=[search.pk])).status_code == 404
    assert "survey" not in client.get(reverse("postings:saved_searches")).content.decode()
    api = APIClient()
    api.force_authenticate(other)
    assert api.get(f"{URL}{search.pk}/").status_code == 404
    response = api.delete(f"{URL}{search.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert api.get(URL).json() == []
    assert SavedSearch.objects.filter(pk=search.pk).exists()
    with pytest.raises(NotPermitted):
        services.saved_search_delete(saved_search=search, actor=other)


# --- The API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_list_create_retrieve_delete():
    api = APIClient()
    assert api.get(URL).status_code in (401, 403)
    student = StudentFactory()
    api.force_authenticate(student)
    response = api.post(
        URL,
        {"name": "Data", "filters": {"q": "survey", "format": ["nano", "micro"]}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["query"] == "q=survey&format=micro&format=nano"
    assert body["filters"] == {"q": ["survey"], "format": ["micro", "nano"]}
    assert body["link"] == "/postings/?q=survey&format=micro&format=nano"
    assert body["last_digest_at"] is None
    assert [s["id"] for s in api.get(URL).json()] == [body["id"]]
    assert api.get(f"{URL}{body['id']}/").json()["name"] == "Data"

    bad = api.post(
        URL, {"name": "Bad", "filters": {"format": ["huge"], "colour": "blue"}}, format="json"
    )
    assert bad.status_code == 400
    error = bad.json()
    assert error["code"] == "invalid_filters"
    assert "“colour” is not a filter of the postings list." in error["fields"]["filters"]
    assert api.post(URL, {"name": "", "filters": {}}, format="json").json()["fields"]["name"]
    again = api.post(
        URL,
        {"name": "Again", "filters": {"format": ["micro", "nano"], "q": "survey"}},
        format="json",
    )
    assert (again.status_code, again.json()["code"]) == (400, "duplicate")

    assert api.delete(f"{URL}{body['id']}/").status_code == 204
    assert api.get(f"{URL}{body['id']}/").status_code == 404
    assert api.get(URL).json() == []

    api.force_authenticate(EmployerUserFactory())
    refused = api.post(URL, {"name": "Mine", "filters": {}}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "not_permitted")


@pytest.mark.django_db
def test_schema_has_the_saved_search_endpoints():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = json.loads(response.content)["paths"]
    assert set(paths["/api/v1/postings/saved-searches/"]) >= {"get", "post"}
    detail = next(p for p in paths if p.startswith("/api/v1/postings/saved-searches/{"))
    assert set(paths[detail]) >= {"get", "delete"}


# --- The daily digest ---------------------------------------------------------------------------

digest_db = pytest.mark.django_db(transaction=True)  # real commits: the e-mail goes out on commit


def digests(student) -> list[Notification]:
    return list(Notification.objects.filter(recipient=student, kind="digest.saved_search"))


@digest_db
def test_digest_sends_new_matching_postings_once(clock):
    student = StudentFactory(email="ada@example.com")
    search = save(student, name="Survey work", q="survey", format="micro")
    assert search.next_digest_at == FIRST_DIGEST
    clock(SAVED_AT + timedelta(hours=2))
    new = survey("Customer survey analysis", published_at=SAVED_AT + timedelta(hours=1))
    survey(  # no "survey" in it
        "Logo design",
        published_at=SAVED_AT + timedelta(hours=1),
        description="Draw a logo for a bakery.",
    )
    survey("Short survey", published_at=SAVED_AT + timedelta(hours=1), duration_hours=48)  # nano
    survey("Old survey", published_at=SAVED_AT - timedelta(hours=1))  # before the search
    survey("Closed survey", published_at=SAVED_AT + timedelta(hours=1), status="closed")

    clock(FIRST_DIGEST - timedelta(minutes=1))
    assert services.saved_searches_send_digests() == 0
    clock(FIRST_DIGEST)
    assert tasks.send_saved_search_digests.delay().get() == 1
    assert services.saved_searches_send_digests() == 0  # again at once: harmless

    [digest] = digests(student)
    assert digest.title == "1 new posting for your search “Survey work”"
    assert digest.link == "/postings/?q=survey&format=micro"
    assert digest.dedupe_key == f"saved-search:{search.pk}:digest:20260303T0800"
    assert f"{django_settings.SITE_URL}/postings/{new.pk}/" in digest.body
    for other in ("Logo design", "Short survey", "Old survey", "Closed survey"):
        assert other not in digest.body
    assert list(SavedSearchHit.objects.values_list("posting_id", flat=True)) == [new.pk]
    search.refresh_from_db()
    assert (search.last_digest_at, search.next_digest_at) == (FIRST_DIGEST, FIRST_DIGEST + DAY)

    # The e-mail, with a link that opens the list filtered as saved.
    [email] = mail.outbox
    assert email.to == ["ada@example.com"] and "Customer survey analysis" in email.body
    link = re.search(r"Open in .*?: (\S+)", email.body).group(1)
    assert link == f"{django_settings.SITE_URL}/postings/?q=survey&format=micro"
    listed = Client().get(link.removeprefix(django_settings.SITE_URL))
    shown = [p.title for p in listed.context["page"].items]
    assert sorted(shown) == ["Customer survey analysis", "Old survey"]  # every match

    # The next day: nothing new, nothing sent (and the same posting never again).
    clock(FIRST_DIGEST + DAY)
    assert services.saved_searches_send_digests() == 0
    assert len(digests(student)) == 1 and len(mail.outbox) == 1

    # A new one the day after: only it.
    later = survey("Survey dashboard", published_at=FIRST_DIGEST + DAY + timedelta(hours=3))
    clock(FIRST_DIGEST + 2 * DAY)
    assert services.saved_searches_send_digests() == 1
    latest = Notification.objects.filter(kind="digest.saved_search").order_by("-pk").first()
    assert "Survey dashboard" in latest.body and "Customer survey analysis" not in latest.body
    assert set(SavedSearchHit.objects.values_list("posting_id", flat=True)) == {new.pk, later.pk}
    assert len(mail.outbox) == 2


@digest_db
def test_a_posting_committed_after_a_digest_with_an_earlier_time_comes_next_day(clock):
    """``published_at`` is set before the publishing transaction commits: a posting published
    at the digest's minute (same timestamp, a tie) but committed after it ran is not lost, and
    one seen in the digest is not sent again, whatever the ties."""
    student = StudentFactory()
    save(student, q="survey")
    first = survey("Survey one", published_at=FIRST_DIGEST)
    clock(FIRST_DIGEST)
    assert services.saved_searches_send_digests() == 1
    late = survey("Survey two", published_at=FIRST_DIGEST)  # the same instant, committed later
    clock(FIRST_DIGEST + DAY)
    assert services.saved_searches_send_digests() == 1
    bodies = [n.body for n in Notification.objects.order_by("pk")]
    assert "Survey one" in bodies[0] and "Survey two" not in bodies[0]
    assert "Survey two" in bodies[1] and "Survey one" not in bodies[1]
    assert sorted(SavedSearchHit.objects.values_list("posting_id", flat=True)) == sorted(
        [first.pk, late.pk]
    )


@digest_db
def test_one_digest_per_saved_search_listing_many_postings(clock, monkeypatch):
    monkeypatch.setattr(saved_searches, "DIGEST_LISTED", 3)
    student = StudentFactory()
    a = save(student, name="Surveys", q="survey")
    save(student, name="Everything")
    for n in range(5):
        survey(f"Survey {n}", published_at=SAVED_AT + timedelta(minutes=n))
    clock(FIRST_DIGEST)
    assert services.saved_searches_send_digests() == 2
    by_title = {n.title: n for n in digests(student)}
    assert set(by_title) == {
        "5 new postings for your search “Surveys”",
        "5 new postings for your search “Everything”",
    }
    body = by_title["5 new postings for your search “Surveys”"].body
    assert body.count("- Survey") == 3 and "…and 2 more" in body
    assert "Survey 4" in body  # newest first
    assert SavedSearchHit.objects.filter(saved_search=a).count() == 5


@digest_db
def test_digest_hour_follows_the_students_time_zone(clock):
    student = StudentFactory(time_zone="Europe/Berlin")
    search = save(student, q="survey")
    # 08:00 in Berlin on 3 March (UTC+1) is 07:00 UTC.
    assert search.next_digest_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    clock(datetime(2026, 3, 3, 7, 30, tzinfo=UTC))
    services.saved_searches_send_digests()
    search.refresh_from_db()
    assert search.next_digest_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)


@digest_db
def test_no_digest_for_deleted_searches_or_inactive_students(clock):
    gone = StudentFactory()
    services.saved_search_delete(saved_search=save(gone, q="survey"), actor=gone)
    inactive = StudentFactory()
    save(inactive, q="survey")
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    survey("Survey", published_at=SAVED_AT + timedelta(hours=1))
    clock(FIRST_DIGEST)
    assert services.saved_searches_send_digests() == 0
    assert not Notification.objects.exists() and mail.outbox == []
    assert SavedSearch.objects.get().next_digest_at == FIRST_DIGEST + DAY  # not picked again


@digest_db
def test_a_search_that_no_longer_passes_is_skipped_without_holding_up_others(clock):
    Skill.objects.create(name="Rare", slug="rare")
    student = StudentFactory()
    broken = save(student, name="Rare skill", skill="rare")
    fine = save(student, name="Fine", q="survey")
    Skill.objects.filter(slug="rare").delete()
    survey("Survey", published_at=SAVED_AT + timedelta(hours=1))
    clock(FIRST_DIGEST)
    assert services.saved_searches_send_digests() == 1
    assert [n.title for n in digests(student)] == ["1 new posting for your search “Fine”"]
    for search in (broken, fine):
        search.refresh_from_db()
        assert search.next_digest_at == FIRST_DIGEST + DAY


def test_digest_sweep_is_registered_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["postings-saved-search-digests"]
    assert entry == {"task": "postings.send_saved_search_digests", "schedule": 60.0}
    from marketplace.celery import app

    assert "postings.send_saved_search_digests" in app.tasks


@pytest.mark.postgres
@digest_db
def test_two_sweeps_at_once_send_one_digest(clock):
    student = StudentFactory()
    save(student, q="survey")
    survey("Survey", published_at=SAVED_AT + timedelta(hours=1))
    clock(FIRST_DIGEST)
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(services.saved_searches_send_digests())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(digests(student)) == 1 and len(mail.outbox) == 1


@pytest.mark.postgres
@digest_db
def test_a_locked_search_is_skipped_not_waited_for(clock):
    student = StudentFactory()
    search = save(student, q="survey")
    survey("Survey", published_at=SAVED_AT + timedelta(hours=1))
    clock(FIRST_DIGEST)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                SavedSearch.objects.select_for_update().get(pk=search.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        assert services.saved_searches_send_digests() == 0
    finally:
        release.set()
        holder.join()
    assert services.saved_searches_send_digests() == 1
    assert len(digests(student)) == 1


@pytest.mark.django_db
def test_admin_shows_saved_searches_read_only(client):
    save(StudentFactory(), name="Bakery surveys", q="survey")
    client.force_login(StaffFactory())
    assert "Bakery surveys" in client.get("/admin/postings/savedsearch/").content.decode()
    assert client.get("/admin/postings/savedsearch/add/").status_code == 403


@pytest.mark.django_db
def test_the_list_counts_results_and_offers_saving_only_once_filtered(client):
    PostingFactory(title="Survey analysis", description="Analyse a survey.")
    PostingFactory(title="Logo design", description="Draw a logo.")
    client.force_login(StudentFactory())
    everything = client.get("/postings/").content.decode()
    assert "<strong>2</strong> postings" in everything
    assert "Save this search" not in everything  # nothing chosen: nothing to save
    filtered = client.get("/postings/?q=survey").content.decode()
    assert "<strong>1</strong> posting matches your filters" in filtered
    assert "Save this search" in filtered
    # The count comes before the offer to save.
    assert filtered.index("result-count") < filtered.index("Save this search")
    none = client.get("/postings/?q=zebra").content.decode()
    assert "No postings match your filters" in none


@pytest.mark.django_db
def test_the_filters_fold_on_phones_without_javascript(client):
    html = client.get("/postings/").content.decode()
    # A checkbox and its label fold the filters by CSS: no script moves the page after load.
    assert '<input type="checkbox" id="filters-toggle" class="filters-toggle">' in html
    assert '<label for="filters-toggle" class="filters-toggle-label">Filters</label>' in html
    # Invalid filters are shown unfolded, beside their messages.
    invalid = client.get("/postings/?min_pay=abc").content.decode()
    assert 'class="filters-toggle" checked>' in invalid
