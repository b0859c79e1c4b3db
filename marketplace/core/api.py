"""API building blocks shared by every app: pagination and the one error format.

Every 4xx answer has the same body::

    {"message": "...", "code": "...", "fields": {"field": ["..."]}}
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404
from django_filters import filters, filterset
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import AlreadyExists, DomainError

INVALID_CURSOR = "The page link is not valid; start again from the first page."


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: a deep page costs the same as the first."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering: str | tuple[str, ...] = "-created_at"

    def decode_cursor(self, request):
        # DRF answers a bad cursor with 404; it is bad input (400), as on the postings list.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None


class IdFilterSet(filterset.FilterSet):
    """A filter on a related object takes its id and is never checked for existence: a filter
    on another user's object and one on a missing id both give an empty list (django-filter's
    default choice field answered 400 for the missing one only, telling which ids exist)."""

    FILTER_DEFAULTS = {
        **filterset.FILTER_FOR_DBFIELD_DEFAULTS,
        models.ForeignKey: {"filter_class": filters.NumberFilter},
        models.OneToOneField: {"filter_class": filters.NumberFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = IdFilterSet


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _flatten(value)
        return ""
    if isinstance(detail, list):
        return _flatten(detail[0]) if detail else ""
    return str(detail)


def _error(message: str, code: str, status: int) -> Response:
    return Response({"message": message, "code": code, "fields": {}}, status=status)


def exception_handler(exc, context):
    # Django raises these while reading the body (DATA_UPLOAD_MAX_MEMORY_SIZE, a multipart part
    # it will not read): without this they became Django's HTML 400 page.
    if isinstance(exc, RequestDataTooBig):
        return _error("The request body is too large.", "too_large", 413)
    if isinstance(exc, SuspiciousOperation):
        return _error("The request was refused as malformed.", "bad_request", 400)
    if isinstance(exc, DomainError):
        body = {"message": exc.message, "code": exc.code, "fields": exc.fields}
        if isinstance(exc, AlreadyExists):
            body["existing"] = exc.existing
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        exc = exceptions.ValidationError(fields or {"non_field_errors": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "message": _flatten(detail) or "Invalid input.",
            "code": "invalid",
            "fields": detail,
        }
    else:
        detail = getattr(exc, "detail", str(exc))
        code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        response.data = {
            "message": _flatten(detail),
            "code": code if isinstance(code, str) else "error",
            "fields": {},
        }
    return response


class DownloadNegotiation:
    """For views that answer with a file: the file is sent whatever the ``Accept`` header asks
    for (``Accept: application/pdf`` is not refused with 406), and an error is the JSON body.
    ``download_actions`` names a ViewSet's actions that download; a plain view downloads always.
    """

    download_actions: tuple[str, ...] = ()

    def perform_content_negotiation(self, request, force=False):
        action = getattr(self, "action", None)
        downloads = action is None or action in self.download_actions
        return super().perform_content_negotiation(request, force=force or downloads)
