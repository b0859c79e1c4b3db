"""Verify a credential the way any third party can: signature against the published key set,
issuer, validity dates, and the revocation status list (itself a signed credential).

Accepted input: the VC-JWT text, the JSON credential this site lets students download (matched to
the signed original by its ``id``: the JSON has no signature of its own), a VC 2.0
``EnvelopedVerifiableCredential`` carrying the JWT, or a URL of a credential on this site.
Nothing is fetched from other sites.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from jwcrypto import jws
from jwcrypto.common import JWException, base64url_decode

from . import documents, keys, selectors
from .identity import canonical

LEEWAY_SECONDS = 60
MAX_INPUT = 64 * 1024


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    credential: dict | None = None

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def reason(self) -> str:
        failed = [check.detail for check in self.checks if not check.passed]
        return failed[0] if failed else ""

    def add(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed

    def as_dict(self) -> dict:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "checks": [check.__dict__ for check in self.checks],
            "summary": summary(self.credential) if self.valid else [],
            "credential": self.credential,
        }


class InputError(ValueError):
    """The input is not something that could be a credential (a 400, not a failed check)."""


def verify_input(text: str, *, now: datetime | None = None) -> Verification:
    text = (text or "").strip()
    if not text:
        raise InputError("Paste a credential, upload its file or give its URL.")
    if len(text) > MAX_INPUT:
        raise InputError("That is too long to be a credential (64 KB at most).")
    if text.startswith(("http://", "https://")):
        return verify_url(text, now=now)
    if text.startswith(("{", "[")):
        return verify_json(text, now=now)
    return verify_jwt(text, now=now)


def verify_url(url: str, *, now: datetime | None = None) -> Verification:
    if not url.startswith(settings.SITE_URL + "/"):
        raise InputError(
            f"Only credentials issued by this site can be fetched by URL ({settings.SITE_URL}); "
            "paste or upload any other credential."
        )
    credential = selectors.credential_by_url(url)
    if credential is None:
        result = Verification()
        result.add("found", False, "No credential of this site is published at that URL.")
        return result
    return verify_jwt(credential.jwt, now=now)


def verify_json(text: str, *, now: datetime | None = None) -> Verification:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InputError("That is not valid JSON.") from error
    if not isinstance(data, dict):
        raise InputError("A credential is a JSON object.")
    enveloped = str(data.get("id", ""))
    if data.get("type") == "EnvelopedVerifiableCredential" and "," in enveloped:
        return verify_jwt(enveloped.split(",", 1)[1], now=now)
    credential = selectors.credential_by_url(enveloped) if enveloped else None
    if credential is None:
        result = Verification()
        result.add(
            "found",
            False,
            "This JSON has no signature of its own and its id names no credential issued here.",
        )
        return result
    result = verify_jwt(credential.jwt, now=now)
    same = result.credential == data
    result.add(
        "content",
        same,
        "The JSON is exactly what was signed."
        if same
        else "The JSON differs from the credential that was signed: it was changed.",
    )
    return result


def _header(token: str) -> dict | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(base64url_decode(parts[0]))
    except (ValueError, UnicodeDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _verified_payload(token: str, result: Verification) -> dict | None:
    """Structure, key and signature checks; the payload when all three pass."""
    header = _header(token) or {}
    algorithm = header.get("alg")
    if not result.add(
        "format",
        algorithm in {"EdDSA", "ES256"} and bool(header.get("kid")),
        "A signed credential (VC-JWT, EdDSA or ES256, with a key id)."
        if header
        else "This is not a signed credential (a VC-JWT has three parts separated by dots).",
    ):
        return None
    key = keys.public_key(str(header["kid"]))
    if not result.add(
        "key",
        key is not None,
        f"Signed with the published key {header['kid']}."
        if key is not None
        else f"Signed by an unknown key ({header['kid']}): it is not in this site's key set.",
    ):
        return None
    signed = jws.JWS()
    try:
        signed.deserialize(token)
        signed.verify(key, alg=algorithm)
        payload = json.loads(signed.payload)
    except (JWException, ValueError, TypeError):
        result.add("signature", False, "The signature does not match: the credential was changed.")
        return None
    result.add("signature", True, "The signature matches the content.")
    return payload if isinstance(payload, dict) else None


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int | float) else None


def verify_jwt(token: str, *, now: datetime | None = None) -> Verification:
    now = now or timezone.now()
    result = Verification()
    payload = _verified_payload(token.strip(), result)
    if payload is None:
        return result
    document = payload.get("vc")
    if not isinstance(document, dict):
        document = {}  # no credential inside: the issuer check below fails
    issuer = canonical(reverse("credentials:issuer"))
    ok = payload.get("iss") == issuer and (document.get("issuer") or {}).get("id") == issuer
    if not result.add(
        "issuer",
        ok and payload.get("jti") == document.get("id"),
        f"Issued by {issuer}." if ok else "The issuer is not this site.",
    ):
        return result
    result.credential = document
    _check_dates(payload, now, result)
    _check_status(document, result)
    return result


def _check_dates(payload: dict, now: datetime, result: Verification) -> None:
    leeway = timedelta(seconds=LEEWAY_SECONDS)
    starts, ends = _timestamp(payload.get("nbf")), _timestamp(payload.get("exp"))
    if starts is not None and starts > now + leeway:
        result.add("dates", False, f"Not valid before {starts:%d %B %Y %H:%M} UTC.")
    elif ends is not None and ends <= now - leeway:
        result.add("dates", False, f"Expired on {ends:%d %B %Y}.")
    else:
        result.add("dates", True, "Within its validity period." + ("" if ends else " No expiry."))


def _check_status(document: dict, result: Verification) -> None:
    entry = document.get("credentialStatus") or {}
    list_url = str(entry.get("statusListCredential", ""))
    number = _status_list_number(list_url)
    try:
        index = int(entry.get("statusListIndex", -1))
    except (TypeError, ValueError):
        index = -1
    if number is None or index < 0:
        result.add("revocation", False, "No revocation status list of this site is named.")
        return
    listing = _verified_payload(selectors.status_list_jwt(number), Verification())
    subject = ((listing or {}).get("vc") or {}).get("credentialSubject") or {}
    try:
        revoked = documents.bit_is_set(str(subject.get("encodedList", "")), index)
    except (ValueError, OSError):
        result.add("revocation", False, "The status list could not be read.")
        return
    result.add(
        "revocation",
        not revoked,
        "Revoked: the status list marks it (revoked by the student or replaced by a newer version)."
        if revoked
        else "Not revoked (checked against the signed status list).",
    )


def _status_list_number(url: str) -> int | None:
    if not url.startswith(settings.SITE_URL + "/"):
        return None
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    if match.view_name != "credentials:status_list":
        return None
    return int(match.kwargs["number"])


def summary(document: dict | None) -> list[str]:
    """What a valid credential proves, in plain words."""
    if not document:
        return []
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    creator = (achievement.get("creator") or {}).get("name", "")
    lines = [
        f"{subject.get('name', 'The holder')} completed “{achievement.get('name', '')}” "
        f"for {creator}, and the employer approved the work.",
        achievement.get("description", ""),
    ]
    if subject.get("activityEndDate"):
        lines.append(f"Completed on {subject['activityEndDate'][:10]}.")
    if achievement.get("tag"):
        lines.append("Skills: " + ", ".join(achievement["tag"]) + ".")
    for result in subject.get("result") or []:
        if str(result.get("resultDescription", "")).endswith("#employer-rating"):
            lines.append(f"The employer rated the work {result.get('value')}/5.")
    for evidence in document.get("evidence") or []:
        if evidence.get("narrative"):
            lines.append(evidence["narrative"])
    lines.append(
        "The holder is identified by a salted hash of their e-mail address: ask for the address "
        "and compare."
    )
    return [line for line in lines if line]
