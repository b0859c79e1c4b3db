from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from marketplace.core.panels import register_panel

        from . import calendar  # noqa: F401  (registers the built-in calendar source)
        from .views import notifications_panel

        register_panel("notifications.inbox", notifications_panel, order=80)
