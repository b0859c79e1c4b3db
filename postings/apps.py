from django.apps import AppConfig


class PostingsConfig(AppConfig):
    name = "postings"
    verbose_name = "Postings"

    def ready(self) -> None:
        from marketplace.core.panels import register_panel

        from .views import employer_panel, recommended_panel, staff_panel

        register_panel("postings.recommended", recommended_panel, order=10)
        register_panel("postings.employer", employer_panel, order=10)
        register_panel("postings.staff", staff_panel, order=5)
