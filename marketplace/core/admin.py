from operator import attrgetter

from django.contrib import admin

from .models import AuditLog
from .money import format_money


class ReadOnlyAdmin(admin.ModelAdmin):
    """The back office shows these rows; every change goes through the app's services.

    ``money_fields`` (minor units in the row's ``currency``) are shown as money on the row's
    page, in place of the bare number."""

    money_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.money_fields:
            setattr(self, f"{name}_money", money_field(name))

    def get_readonly_fields(self, request, obj=None):
        money = [f"{name}_money" for name in self.money_fields]
        return [*super().get_readonly_fields(request, obj), *money]

    def get_fields(self, request, obj=None):
        shown: list[str] = []
        for name in super().get_fields(request, obj):
            name = f"{name}_money" if name in self.money_fields else name
            if name not in shown:
                shown.append(name)
        return shown

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """The audit trail is append-only: nobody edits or deletes it from the back office."""

    list_display = ("created_at", "action", "target_type", "target_id", "actor")
    list_filter = ("action", "target_type")
    search_fields = ("action", "target_id", "actor__email")
    date_hierarchy = "created_at"


def money_field(field: str, *, currency: str = "currency", label: str = ""):
    """A back-office column showing a minor-units ``field`` as money ("1,234.50 USD"), sortable
    by the field; ``currency`` is the attribute path of its currency (``"posting.currency"``).

    Usable in ``list_display`` and, as a class attribute of an admin or inline, by name in
    ``fields``/``readonly_fields`` (it takes the row as its last argument either way)."""

    def show(*args) -> str:
        row = args[-1]
        value = getattr(row, field)
        return "–" if value is None else format_money(value, attrgetter(currency)(row))

    show.short_description = label or field.replace("_", " ").capitalize()  # type: ignore[attr-defined]
    show.admin_order_field = field  # type: ignore[attr-defined]
    show.__name__ = f"{field}_money"
    return show
