"""Anyone can verify: signature against the published keys, issuer, dates and the revocation
status list. Tampered, revoked, expired and unknown-key credentials fail; bad input is a 400."""

import base64
import datetime as dt
import gzip
import json

import jwt as pyjwt
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from jwcrypto import jwk

from credentials import documents, services
from credentials.models import Credential
from credentials.verification import InputError, verify_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def credential(completed_credit):
    return Credential.objects.get(assignment=completed_credit(title="Churn model"))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def failed(result) -> dict:
    return {check.name: check.detail for check in result.checks if not check.passed}


def test_an_issued_credential_verifies(credential):
    result = verify_input(credential.jwt)
    assert result.valid, result.checks
    assert [c.name for c in result.checks] == [
        "format",
        "key",
        "signature",
        "issuer",
        "dates",
        "revocation",
    ]
    assert result.credential == credential.document


def test_a_tampered_credential_fails(client, credential):
    header, payload, signature = credential.jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["vc"]["credentialSubject"]["achievement"]["name"] = "Chief Data Scientist"
    forged = f"{header}.{b64(claims)}.{signature}"
    result = verify_input(forged)
    assert not result.valid and "signature" in failed(result)
    (published,) = client.get("/.well-known/jwks.json").json()["keys"]
    assert pyjwt.decode(credential.jwt, key=pyjwt.PyJWK(published), algorithms=["EdDSA"])
    with pytest.raises(pyjwt.InvalidSignatureError):  # the independent library agrees
        pyjwt.decode(forged, key=pyjwt.PyJWK(published), algorithms=["EdDSA"])


def test_a_credential_signed_by_an_unknown_key_fails(credential):
    rogue = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid="rogue-1")
    forged = documents.vc_jwt(credential.document, rogue)
    result = verify_input(forged)
    assert not result.valid and "unknown key" in failed(result)["key"]
    # A key that claims our kid does not pass either: the signature does not match ours.
    impostor = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=credential.kid)
    assert "signature" in failed(verify_input(documents.vc_jwt(credential.document, impostor)))


def test_a_revoked_credential_fails_through_the_published_status_list(client, credential, settings):
    services.credential_revoke(credential=credential, actor=credential.student)
    result = verify_input(credential.jwt)
    assert not result.valid and "Revoked" in failed(result)["revocation"]
    # Read the list as an outside verifier would: PyJWT, then the bit by hand.
    entry = credential.document["credentialStatus"]
    token = client.get(entry["statusListCredential"].removeprefix(settings.SITE_URL)).content
    jwks = client.get("/.well-known/jwks.json").json()["keys"]
    claims = pyjwt.decode(token, key=pyjwt.PyJWK(jwks[0]), algorithms=["EdDSA"])
    encoded = claims["vc"]["credentialSubject"]["encodedList"][1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert len(bits) * 8 >= 131_072
    index = int(entry["statusListIndex"])
    assert bits[index // 8] & (0x80 >> (index % 8))
    assert sum(bin(byte).count("1") for byte in bits) == 1


def test_an_unrevoked_neighbour_still_verifies(completed_credit, credential):
    other = Credential.objects.get(assignment=completed_credit())
    services.credential_revoke(credential=credential, actor=credential.student)
    assert verify_input(other.jwt).valid


def test_an_expired_credential_fails(completed_credit, settings):
    settings.CREDENTIALS_VALID_DAYS = 30
    credential = Credential.objects.get(assignment=completed_credit())
    assert credential.document["validUntil"]
    assert verify_input(credential.jwt).valid
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        assert "Expired" in failed(verify_input(credential.jwt))["dates"]


def test_the_downloaded_json_verifies_and_an_edited_copy_does_not(client, credential):
    document = client.get(f"/credentials/{credential.public_id}/credential.json").json()
    assert verify_input(json.dumps(document)).valid
    document["credentialSubject"]["achievement"]["name"] = "Something grander"
    assert "content" in failed(verify_input(json.dumps(document)))


def test_verify_by_url_only_for_this_site(credential):
    assert verify_input(credential.document["id"]).valid
    with pytest.raises(InputError, match="Only credentials issued by this site"):
        verify_input("https://evil.example/credential.jwt")


@pytest.mark.parametrize("text", ["", "   ", "{not json", "[1, 2]", "x" * 70_000])
def test_input_that_is_not_a_credential_is_refused(text):
    with pytest.raises(InputError):
        verify_input(text)


def test_garbage_is_reported_not_valid():
    result = verify_input("hello.world")
    assert not result.valid and "not a signed credential" in result.reason


def test_verify_page_paste_upload_and_url(client, credential):
    response = client.post("/credentials/verify/", {"credential": credential.jwt})
    assert response.status_code == 200 and "Valid credential" in response.content.decode()
    assert "completed “Churn model”" in response.content.decode()
    upload = SimpleUploadedFile("c.jwt", credential.jwt.encode(), content_type="application/jwt")
    response = client.post("/credentials/verify/", {"file": upload})
    assert "Valid credential" in response.content.decode()
    response = client.get("/credentials/verify/", {"url": credential.document["id"]})
    assert "Valid credential" in response.content.decode()
    response = client.post("/credentials/verify/", {"credential": ""})
    assert response.status_code == 400 and "Paste a credential" in response.content.decode()
    response = client.post("/credentials/verify/", {"credential": "https://evil.example/x"})
    assert response.status_code == 400


def test_verify_api(client, credential):
    response = client.post(
        "/api/v1/credentials/verify/",
        {"credential": credential.jwt},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["credential"]["id"] == credential.document["id"]
    assert any("Churn model" in line for line in body["summary"])
    services.credential_revoke(credential=credential, actor=credential.student)
    body = client.post(
        "/api/v1/credentials/verify/",
        {"credential": credential.jwt},
        content_type="application/json",
    ).json()
    assert body["valid"] is False and "Revoked" in body["reason"]
    response = client.post("/api/v1/credentials/verify/", {}, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"
