"""In a real browser: an employer and a student sign up, verify their e-mail, log in, edit their
organisation and profile, and are kept out of each other's pages."""

import io
import re

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from accounts.models import Employer, StudentProfile, User
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import EmployerFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-strong-browser-secret-9"


def logo_file(tmp_path):
    path = tmp_path / "logo.png"
    image = Image.new("RGB", (120, 120), (11, 92, 173))
    for x in range(30, 90):
        for y in range(30, 90):
            image.putpixel((x, y), (255, 159, 28))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def sign_up(page, *, role: str, name: str, email: str, organisation: str = "") -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Employer" if role == "employer" else "Student").check()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    if organisation:
        page.get_by_label("Organisation name").fill(organisation)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    assert page.url.endswith("/accounts/confirm-email/"), page.url


def verify_email_and_log_in(page, email: str) -> None:
    """Open the link from the e-mail (it confirms and logs in the browser that signed up), log
    out, and log in with the password."""
    message = next(m for m in reversed(mail.outbox) if m.to == [email])
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", message.body).group(0)
    page.goto(link)
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Log out").is_visible()
    if page.get_by_role("button", name="Log out").count():
        page.get_by_role("button", name="Log out").click()
        page.wait_for_load_state()
    login(page, email, PASSWORD)
    assert page.get_by_role("button", name="Log out").is_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Log in").first.is_visible()


def test_employer_and_student_sign_up_edit_and_stay_in_their_lane(page, live_server, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    other = EmployerFactory(name="Someone Else Ltd")

    # --- The sign-up page, as a visitor sees it -----------------------------------------------
    page.goto("/accounts/signup/")
    page.screenshot(path=str(ARTIFACTS / "accounts-signup.png"), full_page=True)

    # The organisation's name is asked of employers only.
    assert not page.get_by_label("Organisation name").is_visible()
    page.get_by_label("Employer").check()
    assert page.get_by_label("Organisation name").is_visible()

    # Bad input is answered beside the field, not with an error page.
    page.get_by_label("Your name").fill("Nadia Okafor")
    page.get_by_label("E-mail address").fill("nadia@northwind.example")
    page.get_by_label("Password:", exact=True).fill("short")
    page.get_by_label("Password (again)").fill("short")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    assert page.locator("#id_organisation_name_error").inner_text() == (
        "Employers need the organisation's name."
    )
    assert "too short" in page.locator("#id_password1_error").inner_text()

    # --- Employer ---------------------------------------------------------------------------
    sign_up(
        page,
        role="employer",
        name="Nadia Okafor",
        email="nadia@northwind.example",
        organisation="Northwind Analytics",
    )
    verify_email_and_log_in(page, "nadia@northwind.example")
    employer = Employer.objects.get(name="Northwind Analytics")

    page.goto("/organisation/")
    page.get_by_role("link", name="Edit organisation").click()
    page.get_by_label("Website").fill("northwind.example")
    page.get_by_label("Description").fill("A small analytics consultancy working with retailers.")
    page.get_by_label("Logo").set_input_files(str(logo_file(tmp_path)))
    page.get_by_role("button", name="Save organisation").click()
    # Sent by uploads.js (with its progress), then the browser goes to the saved page.
    expect(page.get_by_text("The organisation is saved.")).to_be_visible()
    employer.refresh_from_db()
    assert employer.website == "https://northwind.example"
    assert employer.logo
    logo = page.get_by_role("img", name="Northwind Analytics logo")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 120
    page.screenshot(path=str(ARTIFACTS / "accounts-organisation.png"), full_page=True)

    page.get_by_role("link", name="See the public page").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Northwind Analytics").is_visible()
    assert page.get_by_text("Not verified yet").is_visible()
    page.screenshot(path=str(ARTIFACTS / "accounts-employer-public.png"), full_page=True)

    # The employer is refused the student's pages, and another organisation's edit page.
    response = page.goto("/profile/")
    assert response.status == 403
    assert page.get_by_role("heading", name="You can't open this page").is_visible()
    response = page.goto(f"/organisation/{other.pk}/edit/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    log_out(page)

    # --- Student ----------------------------------------------------------------------------
    sign_up(page, role="student", name="Ana Silva", email="ana@student.example")
    verify_email_and_log_in(page, "ana@student.example")

    page.goto("/profile/")
    page.get_by_label("School").fill("University of Porto")
    page.get_by_label("Skills").fill("Python, SQL, data analysis")
    page.get_by_label("Hours per week available").fill("12")
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_label("Portfolio links").fill("not a link")
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_load_state()
    assert "is not a valid web address" in page.locator("#id_portfolio_links_error").inner_text()
    page.get_by_label("Portfolio links").fill("https://github.com/ana")
    page.get_by_role("button", name="Save profile").click()
    page.wait_for_load_state()
    assert "Your profile is saved." in page.content()
    profile = StudentProfile.objects.get(user__email="ana@student.example")
    assert profile.skills == ["python", "sql", "data analysis"]
    assert profile.portfolio_links == ["https://github.com/ana"]
    assert User.objects.get(email="ana@student.example").time_zone == "Europe/Lisbon"
    page.screenshot(path=str(ARTIFACTS / "accounts-profile.png"), full_page=True)

    # The student is refused the employer's pages.
    for path in ("/organisation/", f"/organisation/{employer.pk}/edit/"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.get_by_text("This page is for employers.").is_visible()

    # No page broke the Content-Security-Policy or threw a script error along the way (the
    # browser also logs each 403/404 answer above as a failed resource; those are expected).
    problems = [e for e in page.console_errors if not e.startswith("Failed to load resource")]
    assert problems == []
