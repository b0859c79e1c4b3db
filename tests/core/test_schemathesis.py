"""The OpenAPI schema is the contract: schemathesis generates requests for every operation of
the schema (valid ones and invalid ones), as an anonymous client, a student and an employer (API
tokens), against a world of their real objects, and checks every answer:

- never a server error;
- a status code the operation documents;
- a content type the operation documents for that status;
- a body that conforms to the documented schema.

Path parameters are drawn from the ids of the world's objects as well as generated values, so
the requests reach real postings, applications, milestones... and missing ones alike. The number
of generated requests per operation is bounded (``MAX_EXAMPLES``) and the run is deterministic
(a fixed seed), so CI is repeatable; raise ``MAX_EXAMPLES`` locally to search harder.
"""

import os

import hypothesis
import hypothesis.strategies as st
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from accounts.models import ApiToken
from applications import services as application_services
from applications.models import Application, Assignment, Milestone, Submission, SubmissionFile
from credentials.models import Credential
from marketplace.wsgi import application as wsgi_application
from notifications.models import Notification
from payments import services as payment_services
from payments.models import Funding
from postings import services as posting_services
from postings.models import Posting, SavedSearch
from tests.applications.factories import ApplicationFactory, first_milestone, pdf, submit, walk_to
from tests.credentials.conftest import complete
from tests.factories import (
    CreditPostingFactory,
    EmployerUserFactory,
    PostingFactory,
    StudentFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The resource named before a path parameter -> the model whose rows fill it.
RESOURCES = {
    "postings": Posting,
    "saved-searches": SavedSearch,
    "applications": Application,
    "assignments": Assignment,
    "milestones": Milestone,
    "submissions": Submission,
    "submission-files": SubmissionFile,
    "notifications": Notification,
    "fundings": Funding,
    "tokens": ApiToken,
    "credentials": Credential,
}


@pytest.fixture
def keep_connection():
    """Django closes the database connection around each request it serves (``CONN_MAX_AGE``);
    here every request runs inside the test's transaction, so the connection must stay open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(settings, django_capture_on_commit_callbacks):
    """A student and an employer with objects in every state the API acts on."""
    settings.STRIPE_SECRET_KEY = ""  # the offline test provider
    employer = EmployerUserFactory()
    organisation = employer.memberships.get().employer
    student = StudentFactory()

    def application(posting, status, who=student):
        return walk_to(ApplicationFactory(posting=posting, student=who), status)

    with django_capture_on_commit_callbacks(execute=True):
        active = application(PostingFactory(employer=organisation), Application.Status.ACCEPTED)
        active = application_services.assignment_mark_funded(assignment=active)
        submit(first_milestone(active), files=[pdf()])
        unfunded = application(PostingFactory(employer=organisation), Application.Status.ACCEPTED)
        payment_services.funding_start(assignment=unfunded, actor=employer)
        credit_posting = CreditPostingFactory(employer=organisation)
        credit = application(credit_posting, Application.Status.ACCEPTED)
        complete(credit)
        open_posting = PostingFactory(employer=organisation)
        application(open_posting, Application.Status.SUBMITTED)
        application(open_posting, Application.Status.SHORTLISTED, who=StudentFactory())
        application(PostingFactory(employer=organisation), Application.Status.OFFERED)
        PostingFactory(employer=organisation, status=Posting.Status.DRAFT, published_at=None)
        application_services.message_send(
            application=active.application, actor=employer, body="Welcome aboard."
        )
    posting_services.saved_search_create(actor=student, name="Data", filters={"q": "survey"})
    account_services.api_token_create(user=student, actor=student, name="Spare")
    return {
        "student": account_services.api_token_create(user=student, actor=student, name="CI")[1],
        "employer": account_services.api_token_create(user=employer, actor=employer, name="CI")[1],
    }


def _ids(resource: str) -> list:
    model = RESOURCES.get(resource)
    if model is None:
        return []
    if model is ApiToken:
        # Never the token the requests are made with (revoking it would end the run).
        rows = ApiToken.objects.exclude(name="CI")
        return list(rows.values_list("pk", flat=True))
    if model is Credential:
        return list(Credential.objects.values_list("public_id", flat=True))
    return list(model.objects.values_list("pk", flat=True))


def _schema():
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_application)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        """Half the time, the ids of real objects in place of the generated ones."""
        segments = context.operation.path.strip("/").split("/")
        real = {}
        for before, segment in zip(segments, segments[1:], strict=False):
            name = segment[1:-1]
            if segment.startswith("{") and name in path_parameters:
                ids = _ids("assignments" if name == "assignment_pk" else before)
                if ids:
                    real[name] = st.sampled_from(ids)
        if not real:
            return st.just(path_parameters)
        existing = st.fixed_dictionaries(
            {name: real.get(name, st.just(value)) for name, value in path_parameters.items()}
        )
        return st.one_of(st.just(path_parameters), existing)

    return schema


def _exercise(operation, mode: GenerationMode, headers: dict) -> None:
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same requests on every run: CI is repeatable
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # the first failure, not shrunk (time)
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        # buffered: the response is read and closed (a download's file too) before checking.
        case.call_and_validate(headers=headers, checks=CHECKS, buffered=True)

    run()


@pytest.mark.parametrize("role", ["anonymous", "student", "employer"])
def test_every_operation_answers_as_documented(world, keep_connection, settings, role):
    # Throttling has its own tests; here every generated request must reach the view.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates, "100000/min"),
    }
    # Uncompressed: the in-process client does not undo the gzip the site applies.
    headers = {"Accept-Encoding": "identity"}
    if role in world:
        headers["Authorization"] = f"Token {world[role]}"
    schema = _schema()
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        modes = [GenerationMode.POSITIVE]
        if operation.path_parameters or operation.query or operation.body:
            # Invalid values of the operation's inputs (without any, there is nothing to break).
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            try:
                _exercise(operation, mode, headers)
            except (Exception, FailureGroup) as exc:  # try every operation, report all
                failures.append(f"--- {role} {operation.label} ({mode.value}):\n{exc}")
    assert operations > 50, "the schema lost its operations"
    assert failures == [], f"{len(failures)} failing operations\n" + "\n".join(failures)
