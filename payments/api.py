"""Payments API: the same reads as the pages (fundings, payouts, earnings, the payout account),
the downloads (a receipt as PDF, the CSV exports), starting a funding (returns the checkout URL)
and the payout onboarding link."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.selectors import employer_for_user
from applications.models import Assignment
from marketplace.core.api import DownloadNegotiation, Router
from marketplace.core.errors import NotPermitted

from . import exports, receipts, selectors, services
from .models import Funding, Payout
from .serializers import (
    NO_PAYOUT_ACCOUNT,
    EarningsSerializer,
    FundingSerializer,
    FundingStartSerializer,
    PayoutAccountSerializer,
    PayoutSerializer,
)

NO_ACCOUNT = {
    "status": NO_PAYOUT_ACCOUNT,
    "transfers_active": False,
    "payouts_enabled": False,
    "details_submitted": False,
    "ready_at": None,
}


def _fundings_visible(user):
    """Staff see every funding, an employer's members their organisation's, others none."""
    if user.is_staff:
        return Funding.objects.prefetch_related("refunds")
    employer = employer_for_user(user)
    if employer is None:
        return Funding.objects.none()
    return selectors.fundings_for_employer(employer=employer)


def _download(content_type: str, description: str):
    return extend_schema(
        request=None,
        responses={(200, content_type): OpenApiTypes.BINARY},
        description=description,
    )


def _student_only(request, message: str) -> None:
    if not request.user.is_student:
        raise NotPermitted(message)


@extend_schema(tags=["payments"])
class FundingViewSet(
    DownloadNegotiation, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The employer's fundings (all of them for staff), their receipts and the CSV export."""

    serializer_class = FundingSerializer
    lookup_value_regex = "[0-9]+"
    download_actions = ("export", "receipt")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Funding.objects.none()
        return _fundings_visible(self.request.user)

    @_download(
        "text/csv",
        "Every funding as CSV (`fundings.csv`, the billing page's export; staff: every "
        "organisation's, `all-fundings.csv`). Amounts in major units with their currency.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def export(self, request):
        if request.user.is_staff:
            return exports.fundings_csv(exports.all_fundings(), "all-fundings.csv")
        employer = employer_for_user(request.user)
        if employer is None:
            raise NotPermitted("Only members of an employer organisation have fundings.")
        return exports.fundings_csv(exports.employer_fundings(employer), "fundings.csv")

    @_download(
        receipts.PDF,
        "The receipt of a paid funding as a PDF attachment (`receipt-<id>.pdf`), with the "
        "figures of the receipt page. Members of the paying organisation and staff; 404 for "
        "anyone else and before the payment clears.",
    )
    @action(detail=True, methods=["get"])
    def receipt(self, request, pk=None):
        funding = get_object_or_404(
            self.get_queryset().select_related("employer", "assignment__student"), pk=pk
        )
        return receipts.receipt_pdf_response(funding)


@extend_schema(tags=["payments"])
class PayoutViewSet(DownloadNegotiation, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The student's payouts (all of them for staff) and the CSV export."""

    serializer_class = PayoutSerializer
    download_actions = ("export",)

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Payout.objects.none()
        if user.is_staff:
            return Payout.objects.select_related("milestone")
        return selectors.payouts_for_student(student=user)

    @_download(
        "text/csv",
        "Every payout as CSV (`payouts.csv`, the earnings page's export; staff: everyone's, "
        "`all-payouts.csv`). Amounts in major units with their currency.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def export(self, request):
        if request.user.is_staff:
            return exports.payouts_csv(exports.all_payouts(), "all-payouts.csv")
        _student_only(request, "Only students have payouts.")
        return exports.payouts_csv(exports.student_payouts(request.user), "payouts.csv")


@extend_schema(tags=["payments"])
class StudentMoneyViewSet(viewsets.ViewSet):
    """The student's side: earnings, the payout account and its onboarding link."""

    @extend_schema(
        responses=EarningsSerializer,
        description="The student's earnings per currency: the same figures as the earnings "
        "page, in minor units.",
    )
    @action(detail=False, methods=["get"])
    def earnings(self, request):
        _student_only(request, "Only students have earnings.")
        summary = selectors.earnings_summary(student=request.user)
        account = selectors.payout_account_for(student=request.user)
        data = {
            "totals": [{"currency": c, **summary[c]} for c in sorted(summary)],
            "payout_account_ready": bool(account and account.is_ready),
        }
        return Response(EarningsSerializer(data).data)

    @extend_schema(responses=PayoutAccountSerializer)
    @action(detail=False, methods=["get"], url_path="payout-account")
    def payout_account(self, request):
        _student_only(request, "Only students have a payout account.")
        account = selectors.payout_account_for(student=request.user)
        if account is None:
            return Response(NO_ACCOUNT)
        return Response(PayoutAccountSerializer(account).data)

    @extend_schema(
        request=inline_serializer(
            "PayoutOnboardingRequest",
            {"country": serializers.CharField(required=False, max_length=2)},
        ),
        responses={201: inline_serializer("PayoutOnboardingLink", {"url": serializers.URLField()})},
        description="A fresh link to the payment provider's onboarding of the student's payout "
        'account (the same as the page\'s "Set up payouts"); open it in a browser. Links '
        "expire: ask again.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="payout-account/onboarding-link",
        url_name="payout-onboarding-link",
    )
    def payout_onboarding_link(self, request):
        _student_only(request, "Only students have a payout account.")
        # The country of the student's bank account: needed once, when the account is made.
        country = request.data.get("country", "") if hasattr(request.data, "get") else ""
        url = services.payout_account_onboarding_url(
            student=request.user,
            refresh_url=request.build_absolute_uri(reverse("payments:payout_account_refresh")),
            return_url=request.build_absolute_uri(reverse("payments:payout_account_return")),
            country=str(country)[:2],
        )
        return Response({"url": request.build_absolute_uri(url)}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["payments"])
class AssignmentFundingViewSet(viewsets.GenericViewSet):
    """Paying for an assignment."""

    lookup_url_kwarg = "assignment_pk"
    lookup_value_regex = "[0-9]+"

    @extend_schema(
        request=FundingStartSerializer,
        responses={201: FundingSerializer},
        description="Start (or resume) paying for an assignment; answers with the checkout URL "
        "to open.",
    )
    @action(detail=True, methods=["post"])
    def funding(self, request, assignment_pk=None):
        serializer = FundingStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Only an assignment the user may see: for anyone else it does not exist (404, as
        # for a missing one; a 403 told outsiders which ids exist).
        assignment = get_object_or_404(
            Assignment.objects.visible_to(request.user).select_related("posting"), pk=assignment_pk
        )
        funding = services.funding_start(
            assignment=assignment,
            actor=request.user,
            amount=serializer.validated_data.get("amount"),
            currency=serializer.validated_data.get("currency"),
        )
        data = FundingSerializer(funding, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


router = Router()
router.register("payments/fundings", FundingViewSet, basename="api-funding")
router.register("payments/payouts", PayoutViewSet, basename="api-payout")
router.register("payments", StudentMoneyViewSet, basename="api")
router.register(
    "payments/assignments", AssignmentFundingViewSet, basename="api-payments-assignment"
)
urlpatterns = router.urls
