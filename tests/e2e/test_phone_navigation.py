"""On a phone, with JavaScript switched off, the menu still opens and leads somewhere."""

import re

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_phone_menu_works_without_javascript(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        page.goto("/")
        nav = page.get_by_role("navigation", name="Main")
        find_work = nav.get_by_role("link", name="Find work")
        assert not find_work.is_visible()
        page.get_by_text("Menu", exact=True).click()
        assert find_work.is_visible()
        find_work.click()
        page.wait_for_url("**/postings/")
        # The postings filters fold the same way.
        assert not page.get_by_label("Search").is_visible()
        page.get_by_text("Filters", exact=True).click()
        assert page.get_by_label("Search").is_visible()
    finally:
        context.close()


def test_a_long_table_on_a_phone_says_it_scrolls_and_scrolls_sideways(browser, live_server):
    from django.urls import reverse

    from tests.applications.factories import ApplicationFactory
    from tests.e2e.conftest import login
    from tests.factories import PASSWORD

    application = ApplicationFactory()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        login(page, application.student.email, PASSWORD)
        page.goto(reverse("applications:mine"))
        region = page.get_by_role("region", name=re.compile("scrolls sideways"))
        assert region.count() == 1
        assert region.get_by_text("Scroll sideways to see every column").is_visible()
        # The table is wider than the phone; its box scrolls, not the page.
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        region.evaluate("el => { el.scrollLeft = 200; }")
        assert region.evaluate("el => el.scrollLeft") > 0
    finally:
        context.close()


def test_a_posting_page_with_its_milestones_table_fits_a_phone(browser, live_server):
    from tests.factories import PostingFactory

    posting = PostingFactory(title="Survey analysis")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"/postings/{posting.pk}/")
        assert page.get_by_role("region", name="Milestones, scrolls sideways").count() == 1
        # The table scrolls in its box; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_a_desktop_shows_the_links_and_no_menu_button(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto("/")
        nav = page.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Find work").is_visible()
        assert not nav.get_by_text("Menu", exact=True).is_visible()
    finally:
        context.close()
