"""Every page has a description for search engines and an icon; /favicon.ico is never a 404."""

import pytest
from django.urls import reverse

from tests.factories import PostingFactory

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
