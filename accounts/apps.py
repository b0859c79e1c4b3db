from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from marketplace.core.panels import register_panel

        from .views import account_panel

        register_panel("accounts.account", account_panel, order=0)
