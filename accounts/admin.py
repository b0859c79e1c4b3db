from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.db import models
from rest_framework.authtoken.models import TokenProxy

from marketplace.core.admin import ReadOnlyAdmin

from .models import ApiToken, Employer, Invitation, Membership, StudentProfile, User
from .services import api_token_revoke, employer_set_verified


class UserCreationForm(AdminUserCreationForm):
    """Django's admin creation form, for a user whose login is the e-mail address."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "role")
        field_classes = {}


class UserChangeForm(BaseUserChangeForm):
    class Meta(BaseUserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes = {}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ("email", "full_name", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "role", "time_zone")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(StudentProfile)
class StudentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "school", "programme", "graduation_year", "hours_per_week")
    search_fields = ("user__email", "user__full_name", "school", "programme")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("public_slug",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ("name", "website", "verified", "response_rate", "rating_average", "created_at")
    list_filter = ("verified",)
    search_fields = ("name", "website")
    # ``verified`` changes only through the actions below, which record who verified whom.
    readonly_fields = ("verified", "response_rate", "rating_average", "rating_count")
    inlines = [MembershipInline]
    actions = ["verify", "unverify"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.action(description="Verify the selected employers")
    def verify(self, request, queryset):
        for employer in queryset:
            employer_set_verified(employer=employer, actor=request.user, verified=True)
        messages.success(request, f"{queryset.count()} employer(s) verified.")

    @admin.action(description="Remove verification")
    def unverify(self, request, queryset):
        for employer in queryset:
            employer_set_verified(employer=employer, actor=request.user, verified=False)
        messages.success(request, f"{queryset.count()} employer(s) unverified.")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "employer", "invited_by", "created_at", "accepted_at")
    list_select_related = ("employer", "invited_by")
    search_fields = ("email", "employer__name")
    readonly_fields = ("token",)
    raw_id_fields = ("employer", "invited_by")


# The old one-per-user plain tokens were moved to ApiToken (hashed); their admin is gone too.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Names and fingerprints only (the key is never stored); staff can revoke a token."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("name", "user__email", "prefix")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.select_related("user"):
            api_token_revoke(token=token, actor=request.user)
        messages.success(request, "Token(s) revoked.")
