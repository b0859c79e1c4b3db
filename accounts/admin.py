from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Employer, Invitation, Membership, StudentProfile, User
from .services import employer_set_verified


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )


@admin.register(StudentProfile)
class StudentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "school", "programme", "graduation_year", "hours_per_week")
    search_fields = ("user__email", "school", "programme")
    list_select_related = ("user",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ("name", "website", "verified", "created_at")
    list_filter = ("verified",)
    search_fields = ("name", "website")
    readonly_fields = ("verified",)
    inlines = [MembershipInline]
    actions = ["verify", "unverify"]

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
    list_display = ("email", "employer", "created_at", "accepted_at")
    search_fields = ("email", "employer__name")
    readonly_fields = ("token",)
