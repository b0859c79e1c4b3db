"""The OpenAPI schema generator: every operation documents the error answers it can give, with
the one error body (``marketplace.core.api.exception_handler``), in this one place rather than on
each view.

Which errors an operation documents follows from what it is (the rules below); a view documents
an error itself only to give it a more specific description.
"""

import copy

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import permissions, serializers

# (Built with inline_serializer: a field called "fields" cannot be a class attribute.)
_ERROR_FIELDS: dict[str, serializers.Field] = {
    "message": serializers.CharField(help_text="A sentence for a person."),
    "code": serializers.CharField(help_text="Stable, for programs: `invalid`, `not_found`, ..."),
    "fields": serializers.DictField(
        child=serializers.JSONField(),
        help_text="Per field, its messages (a nested object for a nested field); empty if none.",
    ),
}
# Every 4xx answer of the API.
ERROR = inline_serializer("Error", _ERROR_FIELDS)
# 409: a move not allowed now, or (code `exists`) what the request would create exists already.
EXISTS = inline_serializer(
    "Exists",
    {
        **_ERROR_FIELDS,
        "existing": serializers.DictField(
            required=False, help_text="With code `exists`: the object that exists already."
        ),
    },
)


ERRORS = {
    "400": "The request is not valid: `fields` has a message per field.",
    "401": "Not signed in, or the token is not valid.",
    "403": "Not allowed for this user (or a session write without its CSRF token).",
    "404": "No such object, or not one this user may see (the two answer alike).",
    "409": (
        "A move not allowed from the object's current status (`invalid_transition`), or what"
        " would be created exists already (`exists`, with the object under `existing`)."
    ),
    "413": "The request body is too large.",
    "415": "The request body's content type is not one the operation reads.",
    "429": "Too many requests: wait the seconds in `Retry-After`.",
}
REDIRECT_TO_FILE = OpenApiResponse(
    description="With files in object storage: a redirect (`Location`) to a short-lived link."
)


def download_responses(*content_types: str) -> dict:
    """The answers of a file download: the file, as one of ``content_types``, or (object storage)
    a redirect to it. The errors are added like everywhere else."""
    return {(200, *content_types): OpenApiTypes.BINARY, 302: REDIRECT_TO_FILE}


def _blank_in_model(field: serializers.Field) -> bool:
    """Whether a model serializer's field comes from a model field that may be blank (DRF drops
    ``allow_blank`` from read-only fields, so the schema would leave "" out of the enum)."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return False
    try:
        return bool(model._meta.get_field(field.source).blank)
    except FieldDoesNotExist:
        return False


UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
WITH_BODY = {"POST", "PUT", "PATCH"}


class AutoSchema(SpectacularAutoSchema):
    def _error_statuses(self) -> list[str]:
        statuses = ["400", "401", "429"]
        if self.method in UNSAFE or not self._open_to_anyone():
            statuses.append("403")
        if "{" in self.path or (self.method == "POST" and self._get_request_body()):
            # The object in the path, or one the body names (the posting applied to, ...).
            statuses.append("404")
        if self.method in WITH_BODY:
            statuses += ["409", "413", "415"]
        return sorted(statuses)

    def _open_to_anyone(self) -> bool:
        return all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not field.allow_blank
            and _blank_in_model(field)
        ):
            field = copy.copy(field)
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status in responses and "content" in responses[status]:
                continue  # the view's own, more specific answer
            body = EXISTS if status == "409" else ERROR
            responses[status] = self._get_response_for_code(
                OpenApiResponse(body, description=ERRORS[status]),
                status,
                ["application/json"],
                direction,
            )
        return responses
