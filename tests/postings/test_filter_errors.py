"""The postings list's filters: an invalid filter answers 400 with the error summary on top,
a link from it to the field, the error beside the field and the value typed kept in it."""

import re

import pytest

from tests.factories import PostingFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "typed"),
    [("min_pay", "-5"), ("max_hours_per_week", "200"), ("starts_after", "2026-02-31")],
)
def test_invalid_filter_shows_the_error_summary_linking_to_the_field(client, name, typed):
    PostingFactory(title="Survey analysis")
    response = client.get("/postings/", {name: typed, "q": "survey"})
    assert response.status_code == 400
    html = response.content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*data-error-summary.*?</div>', html, re.S)
    assert summary, "no error summary"
    link = re.search(rf'<a href="#id_{name}">([^<]+)</a>', summary.group(0))
    assert link, f"the summary does not link to {name}"
    # The link reaches a real field, which keeps what was typed (and the search beside it).
    field = re.search(rf'<input[^>]*id="id_{name}"[^>]*>', html)
    assert field and f'value="{typed}"' in field.group(0)
    assert 'value="survey"' in html
    assert html.count('class="error-summary"') == 1


def test_valid_filters_show_no_error_summary(client):
    PostingFactory(title="Survey analysis")
    response = client.get("/postings/", {"min_pay": "100", "q": "survey"})
    assert response.status_code == 200
    assert "error-summary" not in response.content.decode()
