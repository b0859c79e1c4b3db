"""Payments API: the same reads as the pages (fundings, payouts, earnings, the payout account),
the downloads (a receipt as PDF, the CSV exports), starting a funding (returns the checkout URL)
and the payout onboarding link."""

from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import employer_for_user
from applications.models import Assignment
from marketplace.core.api import DownloadNegotiation
from marketplace.core.errors import NotPermitted

from . import exports, receipts, selectors, services
from .models import Funding, Payout
from .serializers import (
    EarningsSerializer,
    FundingSerializer,
    FundingStartSerializer,
    PayoutAccountSerializer,
    PayoutSerializer,
)


def _fundings_visible(user):
    """Staff see every funding, an employer's members their organisation's, others none."""
    if user.is_staff:
        return Funding.objects.prefetch_related("refunds")
    employer = employer_for_user(user)
    if employer is None:
        return Funding.objects.none()
    return selectors.fundings_for_employer(employer=employer)


class FundingList(generics.ListAPIView):
    """The employer's fundings (all of them for staff)."""

    serializer_class = FundingSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Funding.objects.none()
        return _fundings_visible(self.request.user)


class FundingDetail(generics.RetrieveAPIView):
    serializer_class = FundingSerializer

    def get_queryset(self):
        return FundingList.get_queryset(self)


def _download(content_type: str, description: str):
    return extend_schema(
        request=None,
        responses={(200, content_type): OpenApiTypes.BINARY},
        description=description,
    )


class FundingReceipt(DownloadNegotiation, APIView):
    @_download(
        receipts.PDF,
        "The receipt of a paid funding as a PDF attachment (`receipt-<id>.pdf`), with the "
        "figures of the receipt page. Members of the paying organisation and staff; 404 for "
        "anyone else and before the payment clears.",
    )
    def get(self, request, pk: int):
        funding = get_object_or_404(
            _fundings_visible(request.user).select_related("employer", "assignment__student"),
            pk=pk,
        )
        return receipts.receipt_pdf_response(funding)


class FundingExport(DownloadNegotiation, APIView):
    @_download(
        "text/csv",
        "Every funding as CSV (`fundings.csv`, the billing page's export; staff: every "
        "organisation's, `all-fundings.csv`). Amounts in major units with their currency.",
    )
    def get(self, request):
        if request.user.is_staff:
            return exports.fundings_csv(exports.all_fundings(), "all-fundings.csv")
        employer = employer_for_user(request.user)
        if employer is None:
            raise NotPermitted("Only members of an employer organisation have fundings.")
        return exports.fundings_csv(exports.employer_fundings(employer), "fundings.csv")


class PayoutExport(DownloadNegotiation, APIView):
    @_download(
        "text/csv",
        "Every payout as CSV (`payouts.csv`, the earnings page's export; staff: everyone's, "
        "`all-payouts.csv`). Amounts in major units with their currency.",
    )
    def get(self, request):
        if request.user.is_staff:
            return exports.payouts_csv(exports.all_payouts(), "all-payouts.csv")
        if not request.user.is_student:
            raise NotPermitted("Only students have payouts.")
        return exports.payouts_csv(exports.student_payouts(request.user), "payouts.csv")


class EarningsView(APIView):
    """The student's earnings per currency: the same figures as the earnings page."""

    @extend_schema(responses=EarningsSerializer)
    def get(self, request):
        if not request.user.is_student:
            raise NotPermitted("Only students have earnings.")
        summary = selectors.earnings_summary(student=request.user)
        account = selectors.payout_account_for(student=request.user)
        data = {
            "totals": [{"currency": c, **summary[c]} for c in sorted(summary)],
            "payout_account_ready": bool(account and account.is_ready),
        }
        return Response(EarningsSerializer(data).data)


class PayoutList(generics.ListAPIView):
    """The student's payouts (all of them for staff)."""

    serializer_class = PayoutSerializer

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Payout.objects.none()
        if user.is_staff:
            return Payout.objects.select_related("milestone")
        return selectors.payouts_for_student(student=user)


class PayoutAccountView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=PayoutAccountSerializer)
    def get(self, request):
        if not request.user.is_student:
            raise NotPermitted("Only students have a payout account.")
        account = selectors.payout_account_for(student=request.user)
        if account is None:
            return Response(
                {
                    "status": "none",
                    "transfers_active": False,
                    "payouts_enabled": False,
                    "details_submitted": False,
                    "ready_at": None,
                }
            )
        return Response(PayoutAccountSerializer(account).data)


class PayoutOnboardingLink(APIView):
    """A fresh link to the payment provider's onboarding of the student's payout account (the
    same as the page's "Set up payouts"); open it in a browser. Links expire: ask again."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=inline_serializer(
            "PayoutOnboardingRequest",
            {"country": serializers.CharField(required=False, max_length=2)},
        ),
        responses={201: inline_serializer("PayoutOnboardingLink", {"url": serializers.URLField()})},
    )
    def post(self, request):
        if not request.user.is_student:
            raise NotPermitted("Only students have a payout account.")
        # The country of the student's bank account: needed once, when the account is made.
        country = request.data.get("country", "") if hasattr(request.data, "get") else ""
        url = services.payout_account_onboarding_url(
            student=request.user,
            refresh_url=request.build_absolute_uri(reverse("payments:payout_account_refresh")),
            return_url=request.build_absolute_uri(reverse("payments:payout_account_return")),
            country=str(country)[:2],
        )
        return Response({"url": request.build_absolute_uri(url)}, status=status.HTTP_201_CREATED)


class FundingStart(APIView):
    """Start (or resume) paying for an assignment; answers with the checkout URL to open."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=FundingStartSerializer, responses={201: FundingSerializer})
    def post(self, request, assignment_pk: int):
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
        data = FundingSerializer(funding).data
        data["checkout_url"] = request.build_absolute_uri(funding.checkout_url)
        return Response(data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("payments/fundings/", FundingList.as_view(), name="api-fundings"),
    path("payments/fundings/export/", FundingExport.as_view(), name="api-fundings-export"),
    path("payments/fundings/<int:pk>/", FundingDetail.as_view(), name="api-funding"),
    path(
        "payments/fundings/<int:pk>/receipt/", FundingReceipt.as_view(), name="api-funding-receipt"
    ),
    path("payments/payouts/", PayoutList.as_view(), name="api-payouts"),
    path("payments/payouts/export/", PayoutExport.as_view(), name="api-payouts-export"),
    path("payments/earnings/", EarningsView.as_view(), name="api-earnings"),
    path("payments/payout-account/", PayoutAccountView.as_view(), name="api-payout-account"),
    path(
        "payments/payout-account/onboarding-link/",
        PayoutOnboardingLink.as_view(),
        name="api-payout-onboarding-link",
    ),
    path(
        "payments/assignments/<int:assignment_pk>/funding/",
        FundingStart.as_view(),
        name="api-funding-start",
    ),
]
