from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = "Applications and assignments"

    def ready(self) -> None:
        from marketplace.core.panels import register_panel

        from .views import employer_panel, student_panel

        register_panel("applications.student", student_panel, order=20)
        register_panel("applications.employer", employer_panel, order=20)
