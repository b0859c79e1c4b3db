"""Files in object storage when one is configured, on the local disk otherwise.

With ``AWS_STORAGE_BUCKET_NAME`` set, every uploaded file goes to that S3-compatible bucket
(django-storages with boto3; endpoint, region and credentials from the environment), so every
web and worker node sees the same files: public ones (logos) under ``public/``, private ones
(CVs, deliverables) under ``private/`` with no public access. Without it, ``make run`` keeps
them on the local disk as before.

A private file is handed out only after the view's permission check, by
``private_file_response``: with ``PRIVATE_FILES_SERVE=redirect`` (the default with a bucket)
the answer is a redirect to a pre-signed URL valid for ``PRIVATE_FILE_URL_SECONDS`` that makes
the browser download it (``Content-Disposition: attachment``); with ``stream`` the web node
reads it from the bucket and sends it itself (for buckets the browser cannot reach).

The bucket's storage classes are in ``marketplace.core.s3``, imported only when a bucket is
configured: boto3 takes a while to import, and ``make run`` has no bucket.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase


def private_file_response(field_file, filename: str, content_type: str):
    """Answer with a private file the caller has already checked the user may read."""
    storage = field_file.storage
    response: HttpResponseBase
    attachment_url = getattr(storage, "attachment_url", None)
    if attachment_url is not None and settings.PRIVATE_FILES_SERVE == "redirect":
        response = HttpResponseRedirect(
            attachment_url(field_file.name, filename=filename, content_type=content_type)
        )
    else:
        try:
            handle = storage.open(field_file.name, "rb")
        except (FileNotFoundError, OSError):
            raise Http404("The file is missing.") from None
        response = FileResponse(
            handle, as_attachment=True, filename=filename, content_type=content_type
        )
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
