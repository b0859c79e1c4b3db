"""``manage.py refresh_search_vectors``: recompute every posting's stored search and skill
vectors (PostgreSQL; nothing to do on SQLite).

The services keep them up to date on every save. Run it after a release that changes what the
vectors hold: postings that the previous code saved while the release rolled out were written
without the new content.
"""

from django.core.management.base import BaseCommand
from django.db import connection

from postings.services import search_vectors_refresh


class Command(BaseCommand):
    help = "Recompute every posting's stored search and skill vectors (PostgreSQL)."

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite searches without stored vectors: nothing to do.")
            return
        search_vectors_refresh()
        self.stdout.write("Search and skill vectors recomputed.")
