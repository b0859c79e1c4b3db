"""In a real browser: a student downloads the signed credential of completed work and verifies it
on the public verify page; the student names their supervisor, who signs off the academic credit
from the link in the e-mail, without an account."""

import re

import pytest
from django.core import mail

from credentials.models import Credential
from tests.applications.factories import active_assignment
from tests.credentials.conftest import complete
from tests.e2e.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_download_verify_and_supervisor_sign_off(page, live_server, settings):
    settings.SITE_URL = live_server.url  # the links in credentials and e-mails point here
    assignment = active_assignment(credit=True, title="Accessibility audit", skills=["a11y"])
    complete(assignment)  # committed: the completion hook issues the credential
    student = assignment.student

    login(page, student.email, PASSWORD)
    page.get_by_role("link", name="Credentials").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Add to LinkedIn").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download signed credential (.jwt)").click()
    saved = download.value.path()

    page.goto("/credentials/verify/")
    page.get_by_label("…or upload the credential file (.jwt or .json)").set_input_files(saved)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()
    result = page.locator("#verify-result")
    assert result.get_by_role("heading", name="✓ Valid credential").is_visible()
    assert result.get_by_text("completed “Accessibility audit”").is_visible()
    assert result.get_by_text("Not revoked (checked against the signed status list).").is_visible()

    page.goto("/credentials/")
    page.get_by_label("Supervisor's name").fill("Dr Ada Byron")
    page.get_by_label("Institution").fill("University of Example")
    page.get_by_label("Supervisor's e-mail").fill("ada@uni.example")
    page.get_by_role("button", name="Ask my supervisor to sign off").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your supervisor will receive a link to sign off.").is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()

    (message,) = [m for m in mail.outbox if m.to == ["ada@uni.example"]]
    link = re.search(r"http://\S+/credentials/supervisor/\S+/", message.body).group(0)
    page.goto(link)
    assert page.get_by_role("heading", name="Accessibility audit").is_visible()
    assert page.get_by_text("approved by the employer").first.is_visible()
    page.get_by_role("button", name="Sign off the academic credit").click()
    page.wait_for_load_state()
    assert page.get_by_text("You signed off the academic credit").is_visible()

    current = Credential.objects.get(assignment=assignment, status="active")
    assert current.includes_sign_off
