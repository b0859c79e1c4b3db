"""The bucket's storages (``S3_STORAGES`` in the settings; see ``marketplace.core.storage``).

A module of their own so that boto3 is imported only by a process that uses a bucket.
"""

from __future__ import annotations

from django.conf import settings
from storages.backends.s3 import S3Storage  # type: ignore[import-untyped]


class PublicS3Storage(S3Storage):
    def get_default_settings(self):
        return {**super().get_default_settings(), "location": "public", "default_acl": None}


class PrivateS3Storage(S3Storage):
    """Private files: pre-signed URLs only, short-lived, always as a download."""

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "location": "private",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": settings.PRIVATE_FILE_URL_SECONDS,
            "custom_domain": None,
        }

    def attachment_url(self, name: str, *, filename: str, content_type: str) -> str:
        quoted = filename.replace("\\", "_").replace('"', "_")
        return self.url(
            name,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{quoted}"',
                "ResponseContentType": content_type,
                "ResponseCacheControl": "private, no-store",
            },
        )
