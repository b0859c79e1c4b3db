"""Private file storage for CVs and deliverables.

Files live outside ``MEDIA_ROOT`` (which may be served publicly, e.g. for employer logos) and
have no URL at all: the only way to read one is a view that checks who is asking and answers
with ``Content-Disposition: attachment``. Configured as ``STORAGES["private"]``; any Django
storage backend can take its place in production (e.g. a private S3 bucket).
"""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


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


class _PrivateStorage(LazyObject):
    """``STORAGES["private"]``, looked up when first used (and again after the setting changes),
    so that the file fields follow the settings: the local disk or the bucket
    (``marketplace.core.storage``)."""

    def _setup(self):
        self._wrapped = storages["private"]


_private = _PrivateStorage()


@receiver(setting_changed)
def _storages_changed(setting, **kwargs):
    if setting == "STORAGES":
        _private._wrapped = empty


def private_storage():
    """The storage of every private file (a callable, so the field follows the settings)."""
    return _private
