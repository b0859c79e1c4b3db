"""Back office: read-only views of notifications and reminders (changes go through services)."""

from django.contrib import admin

from marketplace.core.admin import ReadOnlyAdmin

from .models import Notification, NotificationSettings, Reminder


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at", "email_status"]
    list_filter = ["kind", "email_status"]
    search_fields = ["recipient__email", "title", "dedupe_key"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = [
        "send_at",
        "recipient",
        "kind",
        "title",
        "expires_at",
        "sent_at",
        "cancelled_at",
    ]
    list_filter = ["kind"]
    search_fields = ["recipient__email", "key", "title"]
    list_select_related = ["recipient"]
    date_hierarchy = "send_at"


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(ReadOnlyAdmin):
    list_display = ["user", "email_enabled", "updated_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    exclude = ["calendar_token"]
