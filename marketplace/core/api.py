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
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination, routers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import AlreadyExists, DomainError
from .paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PAGE_SIZE_RULE,
    InvalidPageSize,
    page_size_from,
)

INVALID_CURSOR = "The page link is not valid; start again from the first page."
PAGE_SIZE_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
PAGE_SIZE_PARAMETER = OpenApiParameter("page_size", PAGE_SIZE_SCHEMA, description=PAGE_SIZE_RULE)


def page_size_of(request) -> int:
    """The request's ``page_size`` (``marketplace.core.paging``); out of range is a 400."""
    try:
        return page_size_from(request.query_params.get("page_size"))
    except InvalidPageSize as exc:
        raise exceptions.ValidationError({"page_size": [str(exc)]}) from None


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: a deep page costs the same as the first. ``page_size`` follows the
    one rule of every list (DRF's own clamps or ignores a bad one)."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering: str | tuple[str, ...] = "-created_at"

    def get_page_size(self, request):
        return page_size_of(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = dict(PAGE_SIZE_SCHEMA)
                parameter["description"] = PAGE_SIZE_RULE
        return parameters

    def decode_cursor(self, request):
        # DRF answers a bad cursor with 404; it is bad input (400), as on the postings list.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None


class Router(routers.SimpleRouter):
    """The API's router: path converters, and an object's URL takes a whole number as its id
    unless the ViewSet names another converter (``lookup_value_converter``), so ``/tokens/abc/``
    matches no route and is the API's 404 (``marketplace.core.views.page_not_found``), never a
    500 from looking up "abc"."""

    def __init__(self):
        super().__init__(use_regex_path=False)

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        converter = getattr(viewset, "lookup_value_converter", None)
        if converter is None:
            converter = "int" if lookup_field == "pk" else "str"
        return f"<{converter}:{lookup_prefix}{lookup_url_kwarg}>"


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
