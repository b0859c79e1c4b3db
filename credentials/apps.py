from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials"
    verbose_name = "Credentials (Open Badges 3.0)"

    def ready(self) -> None:
        from marketplace.core.panels import register_panel

        from . import receivers  # noqa: F401  (issues a credential when an assignment completes)
        from .views import student_panel

        register_panel("credentials.student", student_panel, order=25)
