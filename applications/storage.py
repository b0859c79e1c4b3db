"""Private file storage for CVs and deliverables.

Files live outside ``MEDIA_ROOT`` (which may be served publicly, e.g. for employer logos) and
have no URL at all: the only way to read one is a view that checks who is asking and answers
with ``Content-Disposition: attachment``. Configured as ``STORAGES["private"]``; any Django
storage backend can take its place in production (e.g. a private S3 bucket).
"""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages


class PrivateFileSystemStorage(FileSystemStorage):
    """A file system storage rooted at ``PRIVATE_MEDIA_ROOT`` that refuses to make URLs.

    Without ``PRIVATE_MEDIA_ROOT`` the root is a ``private-media`` folder next to
    ``MEDIA_ROOT`` (re-read on every use, so tests that move ``MEDIA_ROOT`` move it too).
    """

    @property
    def base_location(self):
        configured = getattr(settings, "PRIVATE_MEDIA_ROOT", "")
        if configured:
            return str(configured)
        return str(Path(settings.MEDIA_ROOT).parent / "private-media")

    @property
    def location(self):
        return str(Path(self.base_location).resolve())

    def url(self, name):
        raise ValueError("Private files have no URL; serve them through a permission check.")


def private_storage():
    """The storage of every private file (a callable, so the field follows the settings)."""
    return storages["private"]
