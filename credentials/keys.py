"""The platform's signing keys: the current one signs, every published one verifies.

- Production: ``CREDENTIALS_SIGNING_KEY`` is a private JWK (JSON) with a ``kid``, an Ed25519
  (``EdDSA``) or P-256 (``ES256``) key; ``manage.py credentials_new_key`` makes one. Without it
  nothing is signed (``ImproperlyConfigured``), so a production site never signs with a key that
  was not chosen for it.
- Development and tests: an Ed25519 key derived from ``SECRET_KEY``, the same in every process
  (web, worker) with no file to share.
- Rotation: put the new key in ``CREDENTIALS_SIGNING_KEY`` and move the old one (its public part
  is enough) into ``CREDENTIALS_PREVIOUS_KEYS`` (a JSON list of JWKs). Both stay in the JWKS, so
  credentials signed before keep verifying; a key removed from the list makes its credentials
  fail as "signed by an unknown key".
"""

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwk

ALGORITHMS = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}


@dataclass(frozen=True)
class KeyRing:
    signing: jwk.JWK | None
    published: dict[str, jwk.JWK]  # kid -> public key


def algorithm_for(key: jwk.JWK) -> str:
    params = key.export_public(as_dict=True)
    algorithm = ALGORITHMS.get((params.get("kty"), params.get("crv")))
    if algorithm is None:
        raise ImproperlyConfigured("Credential keys must be Ed25519 (EdDSA) or P-256 (ES256).")
    return algorithm


def _parse(text: str, name: str) -> jwk.JWK:
    try:
        key = jwk.JWK(**json.loads(text)) if isinstance(text, str) else jwk.JWK(**text)
    except (ValueError, TypeError, jwk.InvalidJWKValue) as error:
        raise ImproperlyConfigured(f"{name} is not a JSON Web Key: {error}") from error
    if not key.get("kid"):
        raise ImproperlyConfigured(f"{name} needs a 'kid'.")
    algorithm_for(key)
    return key


def development_key(secret: str) -> jwk.JWK:
    seed = hashlib.sha256(b"credentials-development-key:" + secret.encode()).digest()
    key = jwk.JWK.from_pyca(Ed25519PrivateKey.from_private_bytes(seed))
    return jwk.JWK(**{**key.export(as_dict=True), "kid": f"dev-{key.thumbprint()[:16]}"})


@lru_cache(maxsize=8)
def _ring(signing: str, previous: str, secret: str, production: bool) -> KeyRing:
    if signing:
        current = _parse(signing, "CREDENTIALS_SIGNING_KEY")
        if not current.has_private:
            raise ImproperlyConfigured("CREDENTIALS_SIGNING_KEY must be a private key.")
    elif production:
        current = None
    else:
        current = development_key(secret)
    published: dict[str, jwk.JWK] = {}
    if current is not None:
        published[current["kid"]] = jwk.JWK(**current.export_public(as_dict=True))
    if previous:
        try:
            listed = json.loads(previous)
        except ValueError as error:
            raise ImproperlyConfigured("CREDENTIALS_PREVIOUS_KEYS is not a JSON list.") from error
        for item in listed if isinstance(listed, list) else []:
            key = _parse(json.dumps(item), "CREDENTIALS_PREVIOUS_KEYS")
            published.setdefault(key["kid"], jwk.JWK(**key.export_public(as_dict=True)))
    return KeyRing(signing=current, published=published)


def key_ring() -> KeyRing:
    return _ring(
        settings.CREDENTIALS_SIGNING_KEY,
        settings.CREDENTIALS_PREVIOUS_KEYS,
        settings.SECRET_KEY,
        settings.PRODUCTION,
    )


def signing_key() -> jwk.JWK:
    key = key_ring().signing
    if key is None:
        raise ImproperlyConfigured(
            "The environment variable CREDENTIALS_SIGNING_KEY is required to issue credentials "
            "when DJANGO_ENV=production (manage.py credentials_new_key makes one)."
        )
    return key


def public_key(kid: str) -> jwk.JWK | None:
    return key_ring().published.get(kid)


def jwks() -> dict:
    """The published key set: the current key and the previous ones, public parts only."""
    keys = []
    for key in key_ring().published.values():
        params = key.export_public(as_dict=True)
        keys.append({**params, "alg": algorithm_for(key), "use": "sig"})
    return {"keys": keys}


def new_key(*, kid: str, algorithm: str = "EdDSA") -> jwk.JWK:
    """A fresh private key for ``CREDENTIALS_SIGNING_KEY``."""
    if algorithm == "ES256":
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    else:
        key = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)
    return key
