from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Funding, Payout, PayoutAccount, Refund


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "reason", "amount", "fee_amount", "currency", "status", "succeeded_at"]


class FundingSerializer(serializers.ModelSerializer):
    """``checkout_url`` is absolute (the test provider's is a path on this site), or null once
    there is no checkout to open. Needs the request in the context."""

    refunds = RefundSerializer(many=True, read_only=True)
    checkout_url = serializers.SerializerMethodField()

    class Meta:
        model = Funding
        fields = [
            "id",
            "assignment",
            "status",
            "currency",
            "amount",
            "fee_percent",
            "fee_amount",
            "total_amount",
            "checkout_url",
            "paid_at",
            "created_at",
            "refunds",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_checkout_url(self, funding) -> str | None:
        if not funding.checkout_url:
            return None
        return self.context["request"].build_absolute_uri(funding.checkout_url)


class PayoutSerializer(serializers.ModelSerializer):
    milestone_title = serializers.CharField(source="milestone.title", read_only=True)

    class Meta:
        model = Payout
        fields = [
            "id",
            "assignment",
            "milestone",
            "milestone_title",
            "amount",
            "currency",
            "status",
            "waiting_for_account",
            "paid_at",
            "created_at",
        ]


NO_PAYOUT_ACCOUNT = "none"


class PayoutAccountSerializer(serializers.ModelSerializer):
    # "none": the student has not started setting up payouts (no account yet).
    status = serializers.ChoiceField(
        choices=[(NO_PAYOUT_ACCOUNT, "Not set up"), *PayoutAccount.Status.choices], read_only=True
    )

    class Meta:
        model = PayoutAccount
        fields = ["status", "transfers_active", "payouts_enabled", "details_submitted", "ready_at"]


class FundingStartSerializer(serializers.Serializer):
    """Optional checks: when given, they must match what the assignment costs."""

    amount = serializers.IntegerField(
        required=False, min_value=1, help_text="Total in minor units, milestones plus fee."
    )
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$", required=False, help_text="ISO 4217 code of the assignment."
    )


class CurrencyEarningsSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217 code.")
    paid = serializers.IntegerField(help_text="Paid out to the bank account (minor units).")
    pending = serializers.IntegerField(
        help_text="On the way: approved work not paid out yet (minor units)."
    )
    failed = serializers.IntegerField(
        help_text="Delayed: a payout that failed and waits for review (minor units)."
    )


class EarningsSerializer(serializers.Serializer):
    """The figures of the earnings page."""

    totals = CurrencyEarningsSerializer(many=True, help_text="One entry per currency earned in.")
    payout_account_ready = serializers.BooleanField(
        help_text="Whether payouts can be sent now (otherwise they wait for the payout account)."
    )
