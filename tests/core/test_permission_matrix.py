"""The permission matrix, generated from the URL conf: every object URL of the pages and the API
(every route with an id, a slug or a token in it; Django's admin aside, which is staff-only as a
whole), every method, as an anonymous visitor, another student, another employer and staff
(without a dispute), against a world of one employer's and one student's objects.

The rules, per answer:
- never a server error;
- a private object answers exactly as a missing one does (same status: existence never leaks),
  and never with success, to anyone outside it;
- a public object (a published posting, an employer's page) is readable by everyone, and a
  missing one is a 404;
- a URL with a secret token in it answers a wrong token with neither success nor an error.
A route without an entry here fails the test: a new URL must say who may use it.
"""

import uuid

import pytest
from django.urls import URLResolver, get_resolver, reverse

from applications import services as application_services
from notifications.models import Notification
from payments import services as payment_services
from postings.models import Posting
from tests.applications.factories import (
    accepted_assignment,
    active_assignment,
    employer_of,
    first_milestone,
    pdf,
    submit,
)
from tests.factories import EmployerUserFactory, PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db

PRIVATE, PUBLIC, TOKEN, STAFF = "private", "public", "token", "staff"
# allauth's e-mail confirmation and password reset pages answer a wrong key with a page that
# says the link is not valid (200); nothing else is shown or done.
LINK_PAGE = "link_page"
METHODS = ("get", "post", "put", "patch", "delete")
MISSING = 987654321

# URL name -> (which object of the world fills the URL, who may use it). STAFF: the owners'
# object that staff also see and act on (moderation, the money view); outsiders get the answer
# of a missing object.
MATRIX = {
    # accounts
    "account_confirm_email": ("key", LINK_PAGE),
    "account_reset_password_from_key": ("reset", LINK_PAGE),
    "accounts:organisation_edit": ("employer", PRIVATE),
    "accounts:employer_detail": ("employer", PUBLIC),
    "accounts:employer_logo": ("employer", PUBLIC),
    "accounts:invitation": ("token", TOKEN),
    "accounts:token_revoke": ("api_token", PRIVATE),
    "api-token-detail": ("api_token", PRIVATE),
    # postings
    "postings:saved_search_delete": ("saved_search", PRIVATE),
    "postings:detail": ("draft", STAFF),
    "postings:edit": ("draft", PRIVATE),
    "postings:submit": ("draft", PRIVATE),
    "postings:withdraw": ("draft", PRIVATE),
    "postings:duplicate": ("draft", PRIVATE),
    "postings:report": ("draft", STAFF),
    "postings:moderate": ("draft", STAFF),
    "api-postings-saved-search-detail": ("saved_search", PRIVATE),
    "api-posting-detail": ("draft", STAFF),
    "api-posting-submit": ("draft", PRIVATE),
    "api-posting-withdraw": ("draft", PRIVATE),
    "api-posting-duplicate": ("draft", PRIVATE),
    "api-posting-report": ("draft", STAFF),
    "api-posting-approve": ("draft", STAFF),
    "api-posting-request-changes": ("draft", STAFF),
    "api-posting-reject": ("draft", STAFF),
    "api-posting-suspend": ("draft", STAFF),
    "api-posting-reinstate": ("draft", STAFF),
    "api-posting-remove": ("draft", STAFF),
    "api-posting-dismiss-reports": ("draft", STAFF),
    # applications and assignments
    "applications:apply": ("draft", PRIVATE),
    "applications:detail": ("application", PRIVATE),
    "applications:message": ("application", PRIVATE),
    "applications:cv": ("application", PRIVATE),
    "applications:move": ("application_move", PRIVATE),
    "applications:pipeline": ("draft", PRIVATE),
    "applications:assignment": ("assignment", PRIVATE),
    "applications:cancel": ("assignment", PRIVATE),
    "applications:rate": ("assignment", PRIVATE),
    "applications:record_visibility": ("assignment", PRIVATE),
    "applications:reinvite": ("assignment", PRIVATE),
    "applications:submit": ("milestone", PRIVATE),
    "applications:milestone_status": ("milestone", PRIVATE),
    "applications:milestone_move": ("milestone_move", PRIVATE),
    "applications:file": ("file", PRIVATE),
    "applications:record": ("record", PRIVATE),
    "api-application-detail": ("application", PRIVATE),
    "api-application-cv": ("application", PRIVATE),
    "api-application-accept": ("application", PRIVATE),
    "api-application-decline": ("application", PRIVATE),
    "api-application-offer": ("application", PRIVATE),
    "api-application-reject": ("application", PRIVATE),
    "api-application-shortlist": ("application", PRIVATE),
    "api-application-withdraw": ("application", PRIVATE),
    "api-assignment-detail": ("assignment", PRIVATE),
    "api-assignment-cancel": ("assignment", PRIVATE),
    "api-milestone-detail": ("milestone", PRIVATE),
    "api-milestone-approve": ("milestone", PRIVATE),
    "api-milestone-dispute": ("milestone", PRIVATE),
    "api-milestone-request-revision": ("milestone", PRIVATE),
    "api-milestone-resolve": ("milestone", PRIVATE),
    "api-milestone-submit": ("milestone", PRIVATE),
    "api-submission-detail": ("submission", PRIVATE),
    "api-submission-file-download": ("file", PRIVATE),
    # notifications
    "notifications:open": ("notification", PRIVATE),
    "notifications:read": ("notification", PRIVATE),
    "notifications:unsubscribe": ("token", TOKEN),
    "notifications:calendar_feed": ("token", TOKEN),
    "api-notification-detail": ("notification", PRIVATE),
    "api-notification-read": ("notification", PRIVATE),
    # payments
    "payments:funding": ("assignment_unfunded", PRIVATE),
    "payments:funding_return": ("funding", STAFF),
    "payments:receipt": ("funding", PRIVATE),
    "payments:receipt_pdf": ("funding", STAFF),
    "payments:test_checkout": ("token", TOKEN),
    "payments:test_onboarding": ("token", TOKEN),
    "api-funding-detail": ("funding", STAFF),
    "api-funding-receipt": ("funding", STAFF),
    "api-payments-assignment-funding": ("assignment_unfunded", PRIVATE),
    # credentials
    "credentials:status_list": ("number", PUBLIC),
    "credentials:supervisor": ("token", TOKEN),
    "credentials:name_supervisor": ("assignment", PRIVATE),
    "credentials:detail": ("credential", PUBLIC),
    "credentials:download_json": ("credential", PUBLIC),
    "credentials:download_jwt": ("credential", PUBLIC),
    "credentials:visibility": ("credential", PRIVATE),
    "credentials:rating": ("credential", PRIVATE),
    "credentials:revoke": ("credential", PRIVATE),
    "assignment-supervisor": ("assignment", PRIVATE),
    "credential-detail": ("credential", PRIVATE),
    "credential-hide": ("credential", PRIVATE),
    "credential-rating": ("credential", PRIVATE),
    "credential-revoke": ("credential", PRIVATE),
}


def _object_routes():
    """(name, keyword names) of every route with a parameter, admin aside."""

    def walk(patterns, prefix="", namespace=None):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif p.pattern.regex.groupindex and not prefix.startswith("admin/"):
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                yield name, tuple(p.pattern.regex.groupindex)

    return dict(walk(get_resolver().url_patterns))


def test_every_object_route_has_an_entry():
    routes = _object_routes()
    assert None not in routes, "every object route needs a name"
    assert sorted(set(routes) - set(MATRIX)) == [], "new routes: add them to MATRIX"
    assert sorted(set(MATRIX) - set(routes)) == [], "routes gone: remove them from MATRIX"


@pytest.fixture
def world(settings, django_capture_on_commit_callbacks):
    settings.STRIPE_SECRET_KEY = ""  # the offline test provider
    assignment = active_assignment()
    employer = employer_of(assignment.posting)
    student = assignment.student
    milestone = first_milestone(assignment)
    submission = submit(milestone, files=[pdf()])
    draft = PostingFactory(
        employer=assignment.posting.employer, status=Posting.Status.DRAFT, published_at=None
    )
    unfunded = accepted_assignment()
    funding = payment_services.funding_start(
        assignment=unfunded, actor=employer_of(unfunded.posting)
    )
    from accounts import services as account_services
    from postings import services as posting_services  # noqa: I001

    api_token, _key = account_services.api_token_create(user=student, actor=student, name="T")
    saved = posting_services.saved_search_create(
        actor=student, name="Data", filters={"q": "survey"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        application_services.message_send(
            application=assignment.application, actor=employer, body="Hello"
        )
    credential = _credential(django_capture_on_commit_callbacks)
    return {
        "employer": assignment.posting.employer.pk,
        "draft": draft.pk,
        "application": assignment.application_id,
        "assignment": assignment.pk,
        "assignment_unfunded": unfunded.pk,
        "milestone": milestone.pk,
        "submission": submission.pk,
        "file": submission.files.get().pk,
        "funding": funding.pk,
        "notification": Notification.objects.filter(recipient=student).first().pk,
        "api_token": api_token.pk,
        "saved_search": saved.pk,
        "record": student.student_profile.public_slug,
        "credential": credential,
    }


def _credential(capture):
    """A credential (issued when credit work completes, after the commit)."""
    from credentials.models import Credential
    from tests.credentials.conftest import complete

    with capture(execute=True):
        assignment = complete(active_assignment(credit=True))
    return Credential.objects.filter(assignment=assignment).values_list("public_id", flat=True)[0]


FILL = {
    "key": lambda w: {"key": "not-a-key"},
    "reset": lambda w: {"uidb36": "zz", "key": "set-password"},
    "token": lambda w: None,  # every string parameter gets a wrong token
    "application_move": lambda w: {"pk": w["application"], "move": "withdraw"},
    "milestone_move": lambda w: {"pk": w["milestone"], "move": "approve"},
    "number": lambda w: {"number": 1},
}


def _kwargs(name, params, world, *, missing: bool):
    kind, _who = MATRIX[name]
    if kind in FILL and FILL[kind](world) is not None:
        kwargs = FILL[kind](world)
        if missing and "pk" in kwargs:
            kwargs["pk"] = MISSING
        return kwargs
    if kind == "token":
        return {p: "wrong-token-" + p for p in params}
    value = world[kind]
    if missing:
        value = (
            uuid.UUID(int=7)
            if isinstance(value, uuid.UUID)
            else ("no-such-record" if isinstance(value, str) else MISSING)
        )
    return {params[0]: value}


ACTORS = ["anonymous", "other_student", "other_employer", "staff"]


def _actor(who):
    return {
        "anonymous": lambda: None,
        "other_student": StudentFactory,
        "other_employer": EmployerUserFactory,
        "staff": StaffFactory,
    }[who]()


def _status(client, method, url):
    response = getattr(client, method)(url, content_type="application/json")
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response.status_code


@pytest.mark.parametrize("who", ACTORS)
def test_the_matrix(client, world, who):
    user = _actor(who)
    if user is not None:
        client.force_login(user)
    routes = _object_routes()
    problems = []
    for name, params in sorted(routes.items()):
        _kind, rule = MATRIX[name]
        real = reverse(name, kwargs=_kwargs(name, params, world, missing=False))
        missing = reverse(name, kwargs=_kwargs(name, params, world, missing=True))
        for method in METHODS:
            got = _status(client, method, real)
            if got >= 500:
                problems.append(f"{who} {method.upper()} {real}: {got}")
                continue
            if rule == LINK_PAGE:
                continue
            if rule == TOKEN:
                if got < 300:
                    problems.append(f"{who} {method.upper()} {real}: {got} for a wrong token")
                continue
            if rule == PUBLIC:
                # (An employer without a logo: its logo URL is a 404 like a missing one.)
                # (A status list is numbered: any number is a list, maybe empty.)
                readable = got == 200 or name == "accounts:employer_logo"
                gone = name == "credentials:status_list" or _status(client, "get", missing) == 404
                if method == "get" and not (readable and gone):
                    problems.append(f"{who} GET {real}: {got} (public)")
                continue
            if rule == STAFF and who == "staff":
                continue
            other = _status(client, method, missing)
            if got != other or 200 <= got < 300:
                problems.append(f"{who} {method.upper()} {real}: {got}, missing id: {other}")
    assert problems == [], "\n".join(problems)
