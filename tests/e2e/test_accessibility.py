"""axe-core over every product page a role can reach, not only the journeys' screens: the demo
data is loaded, each role signs in, and the pages linked from its dashboard and navigation (and
from those pages, one level further) are checked. No critical or serious violation is allowed."""

import io
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError

from accounts.management.commands.seed_demo import DEMO_PASSWORD, STAFF
from accounts.models import User
from tests.e2e.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

SERIOUS = {"critical", "serious"}
MAX_PAGES = 45  # per role: the pages a few clicks from the dashboard, each kind of page
# Not pages of the product: files, the API, the back office, and links that change state.
SKIP = ("/api/", "/admin/", "/accounts/logout/", "/static/", "/media/", "/metrics")
SKIP_ENDINGS = (".csv", ".pdf", ".ics", ".json", ".jwt", ".md", "/download/", "/cv/", "/file/")


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        url = urlsplit(urljoin(page.url, href))
        if f"{url.scheme}://{url.netloc}" != base:
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if url.path.startswith(SKIP) or url.path.endswith(SKIP_ENDINGS):
            continue
        found.append(path)
    return found


def _axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    problems = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [n["target"] for n in violation["nodes"]][:3]
            problems.append(
                f"{page.url}: {violation['id']} [{violation['impact']}] "
                f"{violation['help']} at {targets}"
            )
    return problems


def _crawl(page, base: str, start: str) -> tuple[list[str], list[str]]:
    """Visit ``start`` and the pages it links to, breadth first, up to MAX_PAGES; axe each."""
    queue, seen, visited, problems = [start], {start}, [], []
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        try:
            response = page.goto(path)
        except PlaywrightError as error:  # a download the paths above did not name
            if "Download is starting" in str(error):
                continue
            raise
        page.wait_for_load_state()
        if response is None or response.status >= 400 or not page.url.startswith(base):
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        visited.append(path)
        problems += _axe_problems(page)
        for link in _links(page, base):
            if link.split("?")[0] not in {s.split("?")[0] for s in seen}:
                seen.add(link)
                queue.append(link)
    return visited, problems


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def test_no_serious_accessibility_problem_on_any_page_of_any_role(demo, page, live_server):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    staff = User.objects.get(email=STAFF[0])
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    base = live_server.url
    roles = [
        ("anonymous", None, None),
        ("student", "ana@student.demo.test", None),
        ("employer", "owner@northwind.demo.test", None),
        ("staff", STAFF[0], secret),
    ]
    report, problems = [], []
    for role, email, totp_secret in roles:
        page.context.clear_cookies()
        if email:
            login(page, email, DEMO_PASSWORD, totp_secret=totp_secret)
        visited, found = _crawl(page, base, "/dashboard/" if email else "/")
        report.append(f"{role}: {len(visited)} pages")
        problems += [f"{role} {p}" for p in found]
        # Enough of the product was walked for the check to mean something.
        assert len(visited) >= (5 if role == "anonymous" else 12), (role, visited)
    assert not problems, "\n".join(report + problems)
