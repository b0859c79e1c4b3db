"""The back office for money: everything visible, nothing edited by hand.

Money rows change only through services; the admin's actions call them (retry a failed payout
or refund, mark an issue resolved).
"""

from django.contrib import admin, messages

from marketplace.core.admin import ReadOnlyAdmin, money_field
from marketplace.core.errors import DomainError

from . import services
from .models import (
    Chargeback,
    Funding,
    LedgerEntry,
    Payout,
    PayoutAccount,
    ReconciliationIssue,
    Refund,
    TestModeObject,
    WebhookEvent,
)


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = (
        "student",
        "account_id",
        "status",
        "transfers_active",
        "payouts_enabled",
        "ready_at",
    )
    list_filter = ("status", "provider")
    search_fields = ("student__email", "account_id")


@admin.register(Funding)
class FundingAdmin(ReadOnlyAdmin):
    money_fields = ("amount", "fee_amount", "total_amount")
    list_display = (
        "pk",
        "assignment",
        "employer",
        "status",
        money_field("total_amount", label="Total"),
        money_field("fee_amount", label="Fee"),
        "paid_at",
    )
    list_filter = ("status", "currency", "provider")
    search_fields = ("checkout_session_id", "payment_intent_id", "charge_id", "employer__name")
    date_hierarchy = "created_at"


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = (
        "pk",
        "student",
        "milestone",
        money_field("amount"),
        "status",
        "waiting_for_account",
        "attempts",
        "next_attempt_at",
        "transfer_id",
    )
    list_filter = ("status", "waiting_for_account", "currency")
    search_fields = ("transfer_id", "student__email")
    date_hierarchy = "created_at"
    actions = ["retry_payouts"]

    @admin.action(description="Retry the selected failed payouts")
    def retry_payouts(self, request, queryset):
        done = 0
        for payout in queryset:
            try:
                services.payout_retry(payout=payout, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"Payout #{payout.pk}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, f"{done} payout(s) sent round again.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    money_fields = ("amount", "fee_amount")
    list_display = (
        "pk",
        "key",
        "reason",
        money_field("amount"),
        money_field("fee_amount", label="Fee"),
        "status",
        "attempts",
        "refund_id",
    )
    list_filter = ("status", "reason")
    search_fields = ("key", "refund_id")
    actions = ["retry_refunds"]

    @admin.action(description="Retry the selected failed refunds")
    def retry_refunds(self, request, queryset):
        for refund in queryset:
            try:
                services.refund_retry(refund=refund, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"Refund #{refund.pk}: {exc.message}", messages.WARNING)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    money_fields = ("amount",)
    list_display = (
        "created_at",
        "transaction_id",
        "account",
        money_field("amount"),
        "assignment",
    )
    list_filter = ("account", "currency")
    search_fields = ("transaction_id",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "event_id", "type", "status", "attempts", "object_id", "note")
    list_filter = ("status", "type", "provider")
    search_fields = ("event_id", "object_id")


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "description", "assignment", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("description", "key")
    actions = ["resolve"]

    @admin.action(description="Mark the selected issues resolved")
    def resolve(self, request, queryset):
        for issue in queryset:
            services.issue_resolve(issue=issue, actor=request.user)


@admin.register(TestModeObject)
class TestModeObjectAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "created_at")
    list_filter = ("kind",)


@admin.register(Chargeback)
class ChargebackAdmin(ReadOnlyAdmin):
    """Disputed card payments; answered in the Stripe dashboard, moved only by its events."""

    money_fields = ("amount",)
    list_display = (
        "dispute_id",
        "funding",
        money_field("amount"),
        "reason",
        "stripe_status",
        "status",
        "evidence_due_by",
        "payouts_released_at",
    )
    list_filter = ("status", "stripe_status")
    search_fields = ("dispute_id",)
    actions = ["pay_held_payouts"]

    @admin.action(description="Pay the held payouts from the platform")
    def pay_held_payouts(self, request, queryset):
        """A lost chargeback's decision: the platform pays the student's approved work."""
        for chargeback in queryset:
            try:
                released = services.chargeback_release_payouts(
                    chargeback=chargeback, actor=request.user
                )
            except DomainError as exc:
                self.message_user(
                    request, f"Dispute {chargeback.dispute_id}: {exc.message}", messages.WARNING
                )
            else:
                self.message_user(
                    request,
                    f"Dispute {chargeback.dispute_id}: {released} payout(s) released; later "
                    "approvals are paid too.",
                    messages.SUCCESS,
                )
