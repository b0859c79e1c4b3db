"""Back links ("← ...") are named for where they go: the words after the arrow are the heading of
the page they open."""

import re
from html import unescape

import pytest
from django.urls import reverse

from tests.applications.factories import ApplicationFactory, active_assignment, employer_of
from tests.factories import PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db

BACK = re.compile(r'<a href="([^"]+)">←\s*([^<]+)</a>')
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def assert_back_links_name_their_pages(client, url: str) -> int:
    page = client.get(url).content.decode()
    links = BACK.findall(page)
    for href, label in links:
        target = client.get(unescape(href).split("#")[0], follow=True).content.decode()
        heading = _text(H1.search(target).group(1))
        assert _text(label) in heading, (url, href, label, heading)
    return len(links)


def test_back_links_lead_to_pages_of_their_name(client):
    posting = PostingFactory(title="Survey analysis")
    student = StudentFactory()
    application = ApplicationFactory(posting=posting, student=student)
    assignment = active_assignment()
    seen = 0
    detail = reverse("postings:detail", args=[posting.pk])
    seen += assert_back_links_name_their_pages(client, detail)
    client.force_login(student)
    for url in (
        reverse("applications:apply", args=[PostingFactory().pk]),
        reverse("applications:detail", args=[application.pk]),
    ):
        seen += assert_back_links_name_their_pages(client, url)
    client.force_login(employer_of(posting))
    for url in (
        reverse("applications:pipeline", args=[posting.pk]),
        reverse("applications:detail", args=[application.pk]),
    ):
        seen += assert_back_links_name_their_pages(client, url)
    client.force_login(assignment.student)
    for url in (
        reverse("applications:assignment", args=[assignment.pk]),
        reverse("applications:submit", args=[assignment.milestones.first().pk]),
    ):
        seen += assert_back_links_name_their_pages(client, url)
    assert seen >= 7
