"""Every page has a description for search engines and an icon; /favicon.ico is never a 404."""

import gzip

import pytest
from django.urls import reverse

from tests.factories import PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_pages_have_a_description_and_an_icon(client):
    posting = PostingFactory(description="Count the **hedgehogs** in the garden.")
    for url in ("/", reverse("postings:list"), reverse("postings:detail", args=[posting.pk])):
        html = client.get(url).content.decode()
        assert '<meta name="description" content="' in html, url
        assert '<link rel="icon" href="/static/favicon.svg"' in html, url
    detail = client.get(reverse("postings:detail", args=[posting.pk])).content.decode()
    assert "Count the hedgehogs in the garden." in detail.split('name="description"')[1][:300]


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    icon.close()  # a file response: close the file


def test_pages_and_static_files_are_compressed_for_browsers_that_accept_it(client):
    """A phone on a slow network downloads a fifth of the bytes (Lighthouse's text compression)."""
    PostingFactory()
    page = client.get(reverse("postings:list"), HTTP_ACCEPT_ENCODING="gzip, br")
    assert page["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in page["Vary"]
    assert b"<html" in gzip.decompress(page.content)
    css = client.get("/static/css/site.css", HTTP_ACCEPT_ENCODING="gzip")
    body = b"".join(css.streaming_content) if css.streaming else css.content
    assert css["Content-Encoding"] == "gzip"
    assert b":root" in gzip.decompress(body)
    plain = client.get(reverse("postings:list"))
    assert "Content-Encoding" not in plain and b"<html" in plain.content


def test_htmx_is_sent_only_to_signed_in_pages_that_use_it(client):
    """Public pages have no hx- attribute: the 52 KB library would only cost a phone its time."""
    posting = PostingFactory()
    for url in ("/", reverse("postings:list"), reverse("postings:detail", args=[posting.pk])):
        html = client.get(url).content.decode()
        assert "hx-" not in html.replace("htmx-config", ""), url
        assert "htmx.min.js" not in html, url
    client.force_login(StudentFactory())
    assert "htmx.min.js" in client.get(reverse("notifications:inbox")).content.decode()
