"""The documents this app signs and publishes, built from plain values (no database access).

- ``achievement_credential``: an Open Badges 3.0 ``OpenBadgeCredential`` (a W3C Verifiable
  Credential, data model 2.0) for one completed assignment.
- ``vc_jwt``: the credential signed as a VC-JWT (Open Badges 3.0, "JSON Web Token Proof
  Format"): the credential in the ``vc`` claim, with ``iss``, ``jti``, ``nbf`` and, when the
  credential expires, ``exp``; the header names the key (``kid``).
- ``status_list_credential``: a ``BitstringStatusListCredential`` (W3C Bitstring Status List):
  bit *n* of the GZIP-compressed list, base64url encoded, is 1 when the credential whose
  ``statusListIndex`` is *n* is revoked. The first index is the left-most bit of the first byte.
"""

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jwcrypto import jwk, jwt

from .keys import algorithm_for

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
# 16 KB of bits, the minimum the specification asks for so that one revocation reveals little.
STATUS_LIST_BITS = 131_072


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def email_hash(email: str, salt: str) -> str:
    """The Open Badges hashed identity: ``sha256$`` + hex SHA-256 of the address and the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


@dataclass
class SignOffFacts:
    supervisor_name: str
    institution: str
    decided_at: datetime


@dataclass
class CredentialFacts:
    """Everything a credential states, gathered by the service from the models."""

    credential_url: str
    issuer_url: str
    site_name: str
    site_url: str
    achievement_url: str
    title: str
    format_label: str
    time_box: str
    effort_hours: int
    acceptance_criteria: str
    skills: list[str]
    employer_name: str
    employer_url: str
    credit: bool
    student_name: str
    email: str
    salt: str
    started_at: datetime
    completed_at: datetime
    issued_at: datetime
    status_list_url: str
    status_index: int
    valid_until: datetime | None = None
    rating: int | None = None
    sign_off: SignOffFacts | None = None
    milestones: list[str] = field(default_factory=list)


def _achievement(facts: CredentialFacts) -> dict:
    kind = "academic-credit" if facts.credit else "paid"
    achievement: dict[str, Any] = {
        "id": facts.achievement_url,
        "type": ["Achievement"],
        "achievementType": "Assignment",
        "name": facts.title,
        "description": (
            f"A {facts.format_label.split(' (')[0].lower()} assignment ({kind}, time box "
            f"{facts.time_box}, about {facts.effort_hours} hours of work) for "
            f"{facts.employer_name}, delivered through {facts.site_name} and approved by the "
            "employer."
        ),
        "criteria": {"narrative": facts.acceptance_criteria},
        "creator": {
            "id": facts.employer_url,
            "type": ["Profile"],
            "name": facts.employer_name,
        },
        "tag": list(facts.skills),
    }
    descriptions = []
    if facts.rating is not None:
        descriptions.append(
            {
                "id": f"{facts.achievement_url}#employer-rating",
                "type": ["ResultDescription"],
                "name": "The employer's rating of the work",
                "resultType": "RawScore",
                "valueMin": "1",
                "valueMax": "5",
            }
        )
    if facts.sign_off is not None:
        descriptions.append(
            {
                "id": f"{facts.achievement_url}#academic-credit",
                "type": ["ResultDescription"],
                "name": "Academic credit signed off by the student's supervisor",
                "resultType": "Status",
            }
        )
    if descriptions:
        achievement["resultDescription"] = descriptions
    return achievement


def _subject(facts: CredentialFacts) -> dict:
    subject: dict = {
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": email_hash(facts.email, facts.salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": facts.salt,
            },
            {
                "type": "IdentityObject",
                "identityHash": facts.student_name,
                "identityType": "name",
                "hashed": False,
            },
        ],
        "name": facts.student_name,
        "achievement": _achievement(facts),
        "activityStartDate": iso(facts.started_at),
        "activityEndDate": iso(facts.completed_at),
    }
    results = []
    if facts.rating is not None:
        results.append(
            {
                "type": ["Result"],
                "resultDescription": f"{facts.achievement_url}#employer-rating",
                "value": str(facts.rating),
            }
        )
    if facts.sign_off is not None:
        results.append(
            {
                "type": ["Result"],
                "resultDescription": f"{facts.achievement_url}#academic-credit",
                "status": "Completed",
            }
        )
    if results:
        subject["result"] = results
    return subject


def achievement_credential(facts: CredentialFacts) -> dict:
    document = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": facts.credential_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{facts.title} · {facts.employer_name}",
        "issuer": {
            "id": facts.issuer_url,
            "type": ["Profile"],
            "name": facts.site_name,
            "url": facts.site_url,
            "description": f"Issued by {facts.site_name} for work done for {facts.employer_name}.",
        },
        "validFrom": iso(facts.issued_at),
        "credentialSubject": _subject(facts),
        "credentialStatus": {
            "id": f"{facts.status_list_url}#{facts.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(facts.status_index),
            "statusListCredential": facts.status_list_url,
        },
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if facts.valid_until is not None:
        document["validUntil"] = iso(facts.valid_until)
    evidence = [
        {
            "type": ["Evidence"],
            "name": title,
            "description": f"Deliverable approved by {facts.employer_name}.",
        }
        for title in facts.milestones
    ]
    if facts.sign_off is not None:
        evidence.append(
            {
                "type": ["Evidence"],
                "name": "Academic credit sign-off",
                "narrative": (
                    f"{facts.sign_off.supervisor_name} ({facts.sign_off.institution}), the "
                    f"student's academic supervisor, signed off the academic credit on "
                    f"{facts.sign_off.decided_at:%d %B %Y}."
                ),
            }
        )
    if evidence:
        document["evidence"] = evidence
    return document


def vc_jwt(document: dict, key: jwk.JWK) -> str:
    """Sign ``document`` as a VC-JWT with ``key`` (its ``kid`` goes in the header)."""
    claims = {"vc": document, "iss": document["issuer"]["id"], "jti": document["id"]}
    claims["nbf"] = int(datetime.fromisoformat(document["validFrom"]).timestamp())
    claims["iat"] = claims["nbf"]
    if "validUntil" in document:
        claims["exp"] = int(datetime.fromisoformat(document["validUntil"]).timestamp())
    header = {"alg": algorithm_for(key), "kid": key["kid"], "typ": "JWT"}
    token = jwt.JWT(header=header, claims=json.dumps(claims, separators=(",", ":")))
    token.make_signed_token(key)
    return token.serialize()


def encode_bits(indexes: list[int], size: int = STATUS_LIST_BITS) -> str:
    """The ``encodedList`` of a status list with the bits at ``indexes`` set (multibase ``u``)."""
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def bit_is_set(encoded: str, index: int) -> bool:
    """Read bit ``index`` of an ``encodedList`` (what a verifier does)."""
    text = encoded[1:] if encoded.startswith("u") else encoded
    bits = gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if index < 0 or index // 8 >= len(bits):
        raise ValueError("The status list index is outside the list.")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    *, list_url: str, issuer_url: str, site_name: str, revoked: list[int], issued_at: datetime
) -> dict:
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": site_name},
        "validFrom": iso(issued_at),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bits(revoked),
        },
    }
