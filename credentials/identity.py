"""The issuer's fixed identity.

Credentials, the status lists and the supervisor's links name ``SITE_URL``, never the address a
page happened to be reached on (``marketplace.core.links``): an id inside a signed credential
must be the same for every copy and for every verifier, so it cannot follow the request.
"""

from django.conf import settings

SITE_NAME = "Micro-internships"
SUPERVISOR_SALT = "credentials.supervisor-link"


def canonical(path: str) -> str:
    """A site path as an absolute URL on ``SITE_URL``."""
    return f"{settings.SITE_URL}{path}"
