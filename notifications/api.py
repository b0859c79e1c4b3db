"""The inbox, preferences and calendar link over the API (mounted under /api/v1/).

Every endpoint is about the signed-in user only: someone else's notification is a 404.
"""

from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.api import CursorPagination

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


@extend_schema(
    tags=["notifications"],
    parameters=[
        OpenApiParameter(
            "unread", OpenApiTypes.BOOL, description="Only unread notifications when true."
        )
    ],
)
class NotificationListView(generics.ListAPIView):
    """Your notifications, newest first (cursor pagination)."""

    serializer_class = NotificationSerializer
    pagination_class = InboxPagination
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):
        unread_only = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return selectors.inbox(user=self.request.user, unread_only=unread_only)


def _own(request, pk: int):
    notification = selectors.notification_get(user=request.user, pk=pk)
    if notification is None:
        raise Http404
    return notification


@extend_schema(tags=["notifications"])
class NotificationDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=NotificationSerializer, summary="One of your notifications")
    def get(self, request, pk: int):
        return Response(NotificationSerializer(_own(request, pk)).data)


@extend_schema(tags=["notifications"])
class NotificationReadView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one read")
    def post(self, request, pk: int):
        notification = _own(request, pk)
        services.notification_mark_read(notification=notification, actor=request.user)
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)


@extend_schema(tags=["notifications"])
class NotificationReadAllView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=MarkedSerializer, summary="Mark all read")
    def post(self, request):
        return Response({"marked": services.notifications_mark_all_read(actor=request.user)})


@extend_schema(tags=["notifications"])
class UnreadCountView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=UnreadCountSerializer, summary="How many are unread")
    def get(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})


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
class PreferencesView(APIView):
    """E-mail on or off, altogether and per kind. In-app notifications are always kept."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=PreferencesSerializer, summary="Your e-mail preferences")
    def get(self, request):
        return Response(_preferences_payload(request.user))

    @extend_schema(
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
        summary="Change e-mail preferences (only what you send changes)",
    )
    def patch(self, request):
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


@extend_schema(tags=["notifications"])
class CalendarView(APIView):
    """The secret URL of your deadlines calendar (iCalendar)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=CalendarSerializer, summary="Your calendar feed URL")
    def get(self, request):
        prefs = services.notification_settings_get(user=request.user)
        return Response({"url": calendar_url(prefs.calendar_token)})


@extend_schema(tags=["notifications"])
class CalendarRegenerateView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses=CalendarSerializer,
        summary="Replace the calendar URL (the old one stops working)",
    )
    def post(self, request):
        prefs = services.calendar_token_regenerate(user=request.user, actor=request.user)
        return Response({"url": calendar_url(prefs.calendar_token)})


urlpatterns = [
    path("notifications/", NotificationListView.as_view(), name="api-notifications"),
    path(
        "notifications/<int:pk>/", NotificationDetailView.as_view(), name="api-notification-detail"
    ),
    path(
        "notifications/<int:pk>/read/",
        NotificationReadView.as_view(),
        name="api-notification-read",
    ),
    path(
        "notifications/read-all/",
        NotificationReadAllView.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/unread-count/",
        UnreadCountView.as_view(),
        name="api-notifications-unread-count",
    ),
    path(
        "notifications/preferences/",
        PreferencesView.as_view(),
        name="api-notification-preferences",
    ),
    path("notifications/calendar/", CalendarView.as_view(), name="api-notification-calendar"),
    path(
        "notifications/calendar/regenerate/",
        CalendarRegenerateView.as_view(),
        name="api-notification-calendar-regenerate",
    ),
]
