"""Rendering less per request changes nothing a visitor sees: the list with cards from the
cache is the page rendered card by card, and a posting's page shows its Markdown as rendering
it on the spot would."""

import re

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client

from postings import cards
from postings.markdown import render_markdown
from postings.models import Posting, Skill
from postings.selectors import postings_listed
from tests.factories import CreditPostingFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db


def without_token(html: bytes) -> bytes:
    """A signed-in page's forms carry the CSRF token masked anew on every request."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


class CountingCache:
    """The real cache, counting the round trips the cards make."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(cache, name)


@pytest.fixture
def postings():
    return [
        PostingFactory(title="Survey <analysis> & report", skills=["python", "sql"]),
        CreditPostingFactory(title="Literature review", work_mode="hybrid", location="Porto"),
        PostingFactory(title="Landing page copy", duration_hours=24 * 7 * 6),
    ]


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_list_is_the_same_before_and_after_its_cards_are_cached(
    client, monkeypatch, postings, signed_in
):
    if signed_in:
        client.force_login(StudentFactory())
    counting = CountingCache()
    monkeypatch.setattr(cards, "cache", counting)

    cold = client.get("/postings/")
    assert counting.calls == ["get_many", "set_many"]  # one look-up, one store for the page
    counting.calls.clear()
    warm = client.get("/postings/")
    assert counting.calls == ["get_many"]  # every card from the cache
    assert cold.status_code == warm.status_code == 200
    assert without_token(cold.content) == without_token(warm.content)

    # Each card is what the card template renders for that posting.
    html = cold.content.decode()
    for posting in postings_listed():
        card = render_to_string("postings/_card.html", {"posting": posting})
        assert card in html
    assert "Survey &lt;analysis&gt; &amp; report" in html


def test_a_changed_posting_shows_at_once(client, postings):
    client.get("/postings/")
    # Even a change that does not touch updated_at (the key is made of what the card shows).
    Posting.objects.filter(pk=postings[1].pk).update(title="Systematic literature review")
    html = client.get("/postings/").content.decode()
    assert "Systematic literature review" in html


def test_a_posting_page_shows_the_markdown_as_rendering_it_now_would(client):
    posting = PostingFactory(
        description="## Goal\n\nAnalyse **2,000** answers. <script>alert(1)</script>\n\n- a\n- b",
        acceptance_criteria="A *short* report, [example](https://example.com).",
    )
    stored = Posting.objects.get(pk=posting.pk)
    assert stored.description_html == render_markdown(stored.description)
    assert stored.criteria_html == render_markdown(stored.acceptance_criteria)
    assert "<script>" not in stored.description_html and "<h2>Goal</h2>" in stored.description_html

    page = client.get(f"/postings/{posting.pk}/").content.decode()
    assert render_markdown(posting.description) in page
    assert render_markdown(posting.acceptance_criteria) in page
    api = client.get(f"/api/v1/postings/{posting.pk}/").json()
    assert api["description_html"] == render_markdown(posting.description)

    # A save that changes the text renders it again, also with update_fields.
    stored.description = "Now *different*."
    stored.save(update_fields=["description"])
    assert Posting.objects.get(pk=posting.pk).description_html == "<p>Now <em>different</em>.</p>"


# The filter form's loops as the list template had them, the reference for options_html.
OLD_LOOPS = {
    "checkbox": '{% for value, text in choices %}<label><input type="checkbox" name="{{ name }}" '
    'value="{{ value }}"{% if value in chosen %} checked{% endif %}> {{ text }}</label>'
    "{% endfor %}",
    "option": '{% for value, text in choices %}<option value="{{ value }}"'
    "{% if value in chosen %} selected{% endif %}>{{ text }}</option>{% endfor %}",
}


@pytest.mark.parametrize(
    "query",
    ["", "format=nano&format=micro&work_mode=onsite", "skill=a-b&sort=pay&compensation=credit"],
)
def test_the_filter_options_are_what_the_template_loops_made(rf, query):
    from django.template import Context, Template

    from postings.filter_form import options_html
    from postings.filters import PostingFilter

    Skill.objects.create(name="A & <b>", slug="a-b")
    request = rf.get(f"/postings/?{query}")
    fields = PostingFilter(request.GET, queryset=Posting.objects.none()).form.fields
    for kind, names in [("checkbox", ["format", "work_mode"]), ("option", FILTER_SELECTS)]:
        for name in names:
            chosen = request.GET.getlist(name)
            context = {"choices": fields[name].choices, "name": name, "chosen": chosen}
            before = Template(OLD_LOOPS[kind]).render(Context(context))
            assert options_html(kind, name, fields[name].choices, chosen) == before
    page = Client().get(f"/postings/?{query}").content.decode()
    assert (
        options_html("option", "skill", fields["skill"].choices, request.GET.getlist("skill"))
        in page
    )


FILTER_SELECTS = ["compensation", "category", "skill", "sort"]


def test_the_result_count_reads_a_bounded_number_of_matches(
    client, monkeypatch, postings, django_capture_on_commit_callbacks
):
    from postings import counts
    from postings.cache import postings_changed
    from postings.views import finding as views

    monkeypatch.setattr(counts, "COUNT_LIMIT", 3)
    monkeypatch.setattr(views, "COUNT_LIMIT", 3)
    page = client.get("/postings/?page_size=2").content.decode()
    assert "<strong>3</strong> postings" in page, re.findall(r"result-count.{0,80}", page)
    with django_capture_on_commit_callbacks(execute=True):
        PostingFactory()
        postings_changed()
    page = client.get("/postings/?page_size=2").content.decode()
    assert "<strong>3+</strong> postings" in page, re.findall(r"result-count.{0,80}", page)


def _count_queries(queries) -> int:
    return sum("COUNT(*)" in q["sql"] for q in queries)


def test_a_first_page_holding_every_match_is_not_counted(client, postings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/postings/").content.decode()
    assert "<strong>3</strong> postings" in page
    assert _count_queries(queries.captured_queries) == 0


def test_a_search_is_counted_once_for_its_pages_and_sorts_until_a_posting_changes(
    client, postings, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from postings.cache import postings_changed

    def count_shown(url: str) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        shown = re.search(r"<strong>([\d,+]+)</strong> postings", page)
        return (shown.group(1) if shown else ""), _count_queries(queries.captured_queries)

    paid = str(Posting.objects.filter(compensation="paid").count())
    assert paid == "2"
    assert count_shown("/postings/?compensation=paid&page_size=1") == (paid, 1)
    # The same matches on another page, in another order, for another visitor: no count.
    first = client.get("/postings/?compensation=paid&page_size=1")
    assert count_shown(f"/postings/{first.context['next_link']}") == (paid, 0)
    assert count_shown("/postings/?compensation=paid&page_size=1&sort=pay") == (paid, 0)
    assert count_shown("/postings/?page_size=1&sort=deadline&compensation=paid") == (paid, 0)
    # Other filters are other matches, counted on their own.
    assert count_shown("/postings/?page_size=1") == ("3", 1)
    # A change to the postings is counted at once.
    with django_capture_on_commit_callbacks(execute=True):
        PostingFactory()
        postings_changed()
    assert count_shown("/postings/?compensation=paid&page_size=1") == ("3", 1)
