"""The moderators' back office: postings with moderation actions (each one calls the same
service as the site's queue, so the decision is recorded, audited and the employer told)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import render

from marketplace.core.admin import money_field
from marketplace.core.errors import DomainError

from . import services
from .models import (
    ModerationDecision,
    Posting,
    PostingMilestone,
    Report,
    SavedSearch,
    ScreeningQuestion,
    Skill,
)


class ReasonActionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Shown to the employer.",
    )


def _run(modeladmin, request, queryset, service, *, reason: str | None = None) -> None:
    done, failed = 0, []
    for posting in queryset:
        kwargs = {"posting": posting, "actor": request.user}
        if reason is not None:
            kwargs["reason"] = reason
        try:
            service(**kwargs)
            done += 1
        except DomainError as exc:
            failed.append(f"{posting}: {exc.message}")
    if done:
        modeladmin.message_user(request, f"{done} posting(s) done.", messages.SUCCESS)
    for failure in failed:
        modeladmin.message_user(request, failure, messages.ERROR)


def _with_reason(service, title: str):
    """An admin action that first asks for the reason on an intermediate page."""

    def action(modeladmin, request, queryset):
        form = ReasonActionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            _run(modeladmin, request, queryset, service, reason=form.cleaned_data["reason"])
            return None
        return render(
            request,
            "postings/admin_reason.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": title,
                "form": form,
                "postings": queryset,
                "action": request.POST.get("action"),
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = service.__name__.replace("posting_", "action_")
    return action


class MilestoneInline(admin.TabularInline):
    model = PostingMilestone
    extra = 0
    can_delete = False
    fields = ("position", "title", "due_offset_hours", "amount_money")
    readonly_fields = fields
    amount_money = money_field("amount", currency="posting.currency")


class QuestionInline(admin.TabularInline):
    model = ScreeningQuestion
    extra = 0
    can_delete = False
    readonly_fields = ["position", "text", "required"]


class DecisionInline(admin.TabularInline):
    model = ModerationDecision
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "action", "actor", "reason"]


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "reporter", "reason", "resolved_at", "resolved_by"]


@admin.register(Posting)
class PostingAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "employer",
        "status",
        "format",
        "compensation",
        money_field("amount", label="Pay"),
        "open_reports",
        "application_deadline",
    ]
    list_filter = ["status", "format", "compensation", "employer__verified"]
    search_fields = ["title", "employer__name"]
    list_select_related = ["employer"]
    inlines = [MilestoneInline, QuestionInline, DecisionInline, ReportInline]
    actions = [
        "approve",
        _with_reason(services.posting_request_changes, "Request changes"),
        _with_reason(services.posting_reject, "Reject"),
        _with_reason(services.posting_suspend, "Suspend"),
        "reinstate",
        _with_reason(services.posting_remove, "Remove"),
        "dismiss_reports",
    ]
    # Content and status change only through the employer's pages and the actions above.
    # Every field read-only, the pay shown as money in place of the bare minor units.
    _shown: tuple[str, ...] = tuple(
        [f.name if f.name != "amount" else "amount_money" for f in Posting._meta.fields]
        + ["skills"]
    )
    fields = _shown
    readonly_fields = (*_shown, "amount")
    amount_money = money_field("amount", label="Pay")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Approve and publish")
    def approve(self, request, queryset):
        _run(self, request, queryset, services.posting_approve)

    @admin.action(description="Reinstate (publish again)")
    def reinstate(self, request, queryset):
        _run(self, request, queryset, services.posting_reinstate)

    @admin.action(description="Dismiss open reports")
    def dismiss_reports(self, request, queryset):
        _run(self, request, queryset, services.posting_reports_dismiss)


for _action, _label in [
    ("action_request_changes", "Request changes (asks for a reason)"),
    ("action_reject", "Reject (asks for a reason)"),
    ("action_suspend", "Suspend (asks for a reason)"),
    ("action_remove", "Remove (asks for a reason)"),
]:
    for _a in PostingAdmin.actions:
        if getattr(_a, "__name__", "") == _action:
            _a.short_description = _label  # type: ignore[union-attr]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["posting", "reporter", "created_at", "resolved_at"]
    list_filter = ["resolved_at"]
    readonly_fields = ["posting", "reporter", "reason", "created_at", "resolved_at", "resolved_by"]

    def has_add_permission(self, request):
        return False


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(admin.ModelAdmin):
    list_display = ["posting", "action", "actor", "created_at"]
    list_filter = ["action"]
    readonly_fields = ["posting", "action", "actor", "reason", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    """To look at (support questions about digests); students save and delete their own."""

    list_display = ["name", "user", "query", "created_at", "last_digest_at", "next_digest_at"]
    search_fields = ["user__email", "name"]
    readonly_fields = list_display  # type: ignore[assignment]  # callables are allowed

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
