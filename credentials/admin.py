from django.contrib import admin

from marketplace.core.admin import ReadOnlyAdmin

from .models import Credential, SupervisorSignOff


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "student", "assignment", "status", "hidden", "issued_at", "kid"]
    list_filter = ["status", "hidden", "includes_rating", "includes_sign_off"]
    search_fields = ["public_id", "student__email"]
    list_select_related = ["student", "assignment__posting"]


@admin.register(SupervisorSignOff)
class SupervisorSignOffAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "supervisor_name", "institution", "status", "decided_at"]
    list_filter = ["status"]
    search_fields = ["supervisor_name", "supervisor_email", "institution"]
