"""On a phone, with JavaScript switched off, the menu still opens and leads somewhere."""

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
