"""The back office: read the pipeline and the work, and decide disputes.

Nothing here writes a model directly: the dispute decision and the staff cancellation call the
services. Private files are linked through the permission-checking download view (staff may
download the deliverables of an assignment with a dispute), never through a storage URL.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from marketplace.core.admin import ReadOnlyAdmin, money_field
from marketplace.core.errors import DomainError

from . import services
from .models import Application, Assignment, Dispute, Milestone, Rating, ReInvite, Submission


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("posting", "student", "status", "created_at", "employer_responded_at")
    list_filter = ("status", "closed_reason")
    search_fields = ("posting__title", "student__email", "student__full_name")
    list_select_related = ("posting", "student")
    exclude = ("cv",)
    date_hierarchy = "created_at"


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = (
        "position",
        "title",
        "amount_money",
        "due_at",
        "status",
        "revisions_used",
        "review_due_at",
    )
    readonly_fields = fields
    amount_money = money_field("amount", currency="assignment.currency")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Cancel the selected assignments (staff decision)")
def cancel_assignments(modeladmin, request, queryset):
    done = 0
    for assignment in queryset:
        try:
            services.assignment_cancel(
                assignment=assignment,
                actor=request.user,
                reason="Cancelled by staff from the back office.",
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{assignment}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} assignment(s) cancelled.", messages.SUCCESS)


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = ("posting", "student", "status", money_field("amount"), "created_at")
    list_filter = ("status", "currency")
    search_fields = ("posting__title", "student__email")
    list_select_related = ("posting", "student")
    inlines = [MilestoneInline]
    actions = [cancel_assignments]


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("milestone", "version", "outcome", "created_at")
    list_filter = ("outcome",)
    readonly_fields = ("download_links",)
    list_select_related = ("milestone",)

    @admin.display(description="Files")
    def download_links(self, obj):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("applications:file", args=[f.pk]), f.original_name) for f in obj.files.all()),
        )


class DisputeDecisionForm(forms.ModelForm):
    class Meta:
        model = Dispute
        fields = ("resolution", "student_amount", "resolution_note")

    def clean(self):
        data = super().clean()
        amount = self.instance.milestone.amount
        if data.get("resolution") == Dispute.Resolution.SPLIT:
            part = data.get("student_amount")
            if part is None or not 0 < part < amount:
                self.add_error(
                    "student_amount",
                    f"For a split, the student's part is between 1 and {amount - 1} (minor units).",
                )
        if not data.get("resolution"):
            self.add_error("resolution", "Choose release, refund or split.")
        return data


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    """Staff decide a dispute here; payments carries out the money part."""

    form = DisputeDecisionForm
    list_display = ("milestone", "opened_by", "created_at", "resolution", "resolved_at")
    list_filter = ("resolution",)
    list_select_related = ("milestone__assignment__posting", "opened_by")
    search_fields = ("milestone__title", "milestone__assignment__posting__title")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        base = ["context", "opened_by", "reason", "created_at", "resolved_by", "resolved_at"]
        if obj is not None and obj.resolved_at:
            base += ["resolution", "student_amount", "resolution_note"]
        return base

    def get_fields(self, request, obj=None):
        return [
            "context",
            "opened_by",
            "reason",
            "created_at",
            "resolution",
            "student_amount",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]

    @admin.display(description="Work")
    def context(self, obj):
        assignment = obj.milestone.assignment
        return format_html(
            '{} · “{}” ({} {} minor units) · <a href="{}">assignment and deliverables</a> · '
            '<a href="{}#thread">thread</a>',
            assignment,
            obj.milestone.title,
            obj.milestone.amount,
            assignment.currency,
            reverse("applications:assignment", args=[assignment.pk]),
            reverse("applications:detail", args=[assignment.application_id]),
        )

    def save_model(self, request, obj, form, change):
        try:
            services.dispute_resolve(
                dispute=obj,
                actor=request.user,
                resolution=form.cleaned_data["resolution"],
                student_amount=form.cleaned_data.get("student_amount"),
                note=form.cleaned_data.get("resolution_note", ""),
            )
        except DomainError as exc:
            messages.error(request, exc.message)


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ("assignment", "direction", "score", "created_at", "published_at")
    list_filter = ("direction", "score")


@admin.register(ReInvite)
class ReInviteAdmin(ReadOnlyAdmin):
    list_display = ("posting", "student", "invited_by", "created_at")
