"""A completed assignment gets a signed Open Badges 3.0 credential that anyone can check with the
published key set, using a different JWT library (PyJWT) than the one that signed (jwcrypto)."""

import json
from pathlib import Path

import jsonschema
import jwt as pyjwt
import pytest
from django.urls import reverse

from credentials import keys, services
from credentials.documents import email_hash
from credentials.models import Credential
from marketplace.core.models import AuditLog
from tests.applications.factories import active_assignment

from .conftest import complete

pytestmark = pytest.mark.django_db
SCHEMA = json.loads(
    (Path(__file__).parent / "schema" / "ob_v3p0_achievementcredential_schema.json").read_text()
)


def verify_with_pyjwt(client, token: str) -> dict:
    """What an outside verifier does: fetch the JWKS, pick the key by kid, check with PyJWT."""
    jwks = client.get("/.well-known/jwks.json").json()
    kid = pyjwt.get_unverified_header(token)["kid"]
    entry = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = pyjwt.PyJWK(entry)
    return pyjwt.decode(token, key=key, algorithms=["EdDSA", "ES256"])


def test_completion_issues_a_credential_that_pyjwt_verifies(client, completed_credit):
    assignment = completed_credit(title="Survey dashboard")
    credential = Credential.objects.get(assignment=assignment)
    assert credential.status == "active" and credential.kid == keys.signing_key()["kid"]

    claims = verify_with_pyjwt(client, credential.jwt)
    vc = claims["vc"]
    assert claims["iss"] == vc["issuer"]["id"] == "http://127.0.0.1:8000/credentials/issuer/"
    assert claims["jti"] == vc["id"]
    assert vc["credentialSubject"]["achievement"]["name"] == "Survey dashboard"
    assert vc["credentialSubject"]["achievement"]["creator"]["name"] == (
        assignment.posting.employer.name
    )
    assert sorted(vc["credentialSubject"]["achievement"]["tag"]) == ["Data analysis", "Excel"]
    assert "about 20 hours" in vc["credentialSubject"]["achievement"]["description"]
    assert vc["credentialSubject"]["achievement"]["criteria"]["narrative"] == (
        assignment.posting.acceptance_criteria
    )
    assert assignment.student.notifications.filter(kind="credential.issued").count() == 1


def test_the_student_is_named_and_their_email_hashed_with_salt(completed_credit):
    assignment = completed_credit()
    vc = Credential.objects.get(assignment=assignment).document
    emails, names = vc["credentialSubject"]["identifier"]
    assert emails["hashed"] is True and emails["identityType"] == "emailAddress"
    assert assignment.student.email not in json.dumps(vc)
    assert emails["identityHash"] == email_hash(assignment.student.email, emails["salt"])
    assert names == {
        "type": "IdentityObject",
        "identityHash": assignment.student.display_name,
        "identityType": "name",
        "hashed": False,
    }


def test_credential_validates_against_the_open_badges_schema(completed_credit):
    vc = Credential.objects.get(assignment=completed_credit()).document
    jsonschema.Draft201909Validator(SCHEMA).validate(vc)


def test_schema_catches_a_broken_credential(completed_credit):
    vc = Credential.objects.get(assignment=completed_credit()).document
    del vc["credentialSubject"]["achievement"]["criteria"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(SCHEMA).validate(vc)


def test_issuing_is_idempotent_and_only_for_completed_work(completed_credit):
    assignment = completed_credit()
    first = Credential.objects.get(assignment=assignment)
    assert services.credential_issue(assignment_id=assignment.pk) == first
    assert Credential.objects.filter(assignment=assignment).count() == 1
    assert AuditLog.objects.filter(action="credential.issued").count() == 1
    active = active_assignment(credit=True)
    assert services.credential_issue(assignment_id=active.pk) is None


def test_a_rolled_back_completion_issues_nothing(django_capture_on_commit_callbacks):
    assignment = active_assignment(credit=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        complete(assignment)
    assert callbacks  # the issuing task waits for the commit ...
    assert not Credential.objects.exists()  # ... and nothing was issued before it


def test_paid_work_completes_when_paid_and_gets_a_credential(django_capture_on_commit_callbacks):
    from applications import services as app_services

    assignment = active_assignment(credit=False)
    with django_capture_on_commit_callbacks(execute=True):
        complete_paid = assignment.milestones.first()
        from tests.applications.factories import employer_of, submit

        submit(complete_paid)
        app_services.milestone_approve(
            milestone=complete_paid, actor=employer_of(assignment.posting)
        )
        app_services.milestone_mark_paid(milestone=complete_paid)
    vc = Credential.objects.get(assignment=assignment).document
    assert "paid" in vc["credentialSubject"]["achievement"]["description"]


def test_jwks_publishes_public_keys_only(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
    assert "d" not in key and key["kid"] == keys.signing_key()["kid"]


def test_key_rotation_keeps_old_credentials_verifiable(client, completed_credit, settings):
    old = Credential.objects.get(assignment=completed_credit())
    new_key = keys.new_key(kid="platform-2027", algorithm="ES256")
    previous = keys.signing_key().export_public(as_dict=True)
    settings.CREDENTIALS_SIGNING_KEY = json.dumps(new_key.export(as_dict=True))
    settings.CREDENTIALS_PREVIOUS_KEYS = json.dumps([previous])
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert kids == {"platform-2027", previous["kid"]}
    assert verify_with_pyjwt(client, old.jwt)["jti"] == old.document["id"]
    newer = Credential.objects.get(assignment=completed_credit())
    assert pyjwt.get_unverified_header(newer.jwt) == {
        "alg": "ES256",
        "kid": "platform-2027",
        "typ": "JWT",
    }
    assert verify_with_pyjwt(client, newer.jwt)["jti"] == newer.document["id"]


def test_production_without_a_key_refuses_to_sign(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.PRODUCTION = True
    settings.CREDENTIALS_SIGNING_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="CREDENTIALS_SIGNING_KEY"):
        keys.signing_key()
    assert reverse("credentials-jwks") == "/.well-known/jwks.json"
