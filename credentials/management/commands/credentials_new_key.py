"""Print a new private signing key (a JWK) for CREDENTIALS_SIGNING_KEY."""

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from credentials.keys import new_key


class Command(BaseCommand):
    help = "Print a new credential signing key (JWK) for the CREDENTIALS_SIGNING_KEY variable."

    def add_arguments(self, parser):
        parser.add_argument("--kid", default="", help="Key id (default: the date)")
        parser.add_argument("--alg", choices=["EdDSA", "ES256"], default="EdDSA")

    def handle(self, *args, **options):
        kid = options["kid"] or f"platform-{timezone.now():%Y-%m-%d}"
        key = new_key(kid=kid, algorithm=options["alg"])
        self.stdout.write(json.dumps(key.export(as_dict=True, private_key=True)))
