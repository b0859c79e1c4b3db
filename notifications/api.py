"""The inbox, preferences and calendar link over the API (mounted under /api/v1/).

Every endpoint is about the signed-in user only: someone else's notification is a 404.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.core.api import CursorPagination, Router

from . import selectors, services
from .serializers import (
    CalendarSerializer,
    MarkedSerializer,
    NotificationSerializer,
    PreferencesSerializer,
    UnreadCountSerializer,
)
from .views import calendar_url


class InboxPagination(CursorPagination):
    ordering = ("-created_at", "-id")


def _preferences_payload(user) -> dict:
    enabled, groups = selectors.email_preferences(user=user)
    return {
        "email_enabled": enabled,
        "kinds": [
            {"kind": kind, "label": label, "group": group, "email": on}
            for group, kinds in groups
            for kind, label, on in kinds
        ],
    }


@extend_schema(tags=["notifications"])
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your notifications (newest first, cursor pagination), marking them read, your e-mail
    preferences and your calendar link."""

    serializer_class = NotificationSerializer
    pagination_class = InboxPagination
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        unread_only = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return selectors.inbox(user=self.request.user, unread_only=unread_only)

    def get_object(self):
        notification = selectors.notification_get(user=self.request.user, pk=self.kwargs["pk"])
        if notification is None:
            raise Http404
        return notification

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "unread", OpenApiTypes.BOOL, description="Only unread notifications when true."
            )
        ],
        summary="Your notifications, newest first",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One of your notifications")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one read")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        services.notification_mark_read(notification=notification, actor=request.user)
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses=MarkedSerializer, summary="Mark all read")
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_all_read(actor=request.user)})

    @extend_schema(responses=UnreadCountSerializer, summary="How many are unread")
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})

    @extend_schema(
        methods=["GET"], responses=PreferencesSerializer, summary="Your e-mail preferences"
    )
    @extend_schema(
        methods=["PATCH"],
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
        summary="Change e-mail preferences (only what you send changes)",
    )
    @action(detail=False, methods=["get", "patch"])
    def preferences(self, request):
        """E-mail on or off, altogether and per kind. In-app notifications are always kept."""
        if request.method == "PATCH":
            serializer = PreferencesSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            services.notification_preferences_update(
                user=request.user,
                actor=request.user,
                email_enabled=data.get("email_enabled"),
                kinds={item["kind"]: item["email"] for item in data.get("kinds", [])},
            )
        return Response(_preferences_payload(request.user))

    @extend_schema(responses=CalendarSerializer, summary="Your calendar feed URL")
    @action(detail=False, methods=["get"])
    def calendar(self, request):
        """The secret URL of your deadlines calendar (iCalendar)."""
        prefs = services.notification_settings_get(user=request.user)
        return Response({"url": calendar_url(prefs.calendar_token)})

    @extend_schema(
        request=None,
        responses=CalendarSerializer,
        summary="Replace the calendar URL (the old one stops working)",
    )
    @action(detail=False, methods=["post"], url_path="calendar/regenerate")
    def calendar_regenerate(self, request):
        prefs = services.calendar_token_regenerate(user=request.user, actor=request.user)
        return Response({"url": calendar_url(prefs.calendar_token)})


router = Router()
router.register("notifications", NotificationViewSet, basename="api-notification")
urlpatterns = router.urls
