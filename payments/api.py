"""Payments API: the same reads as the pages, and starting a funding (returns the checkout URL)."""

from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import employer_for_user
from applications.models import Assignment
from marketplace.core.errors import NotPermitted

from . import selectors, services
from .models import Funding, Payout
from .serializers import (
    FundingSerializer,
    FundingStartSerializer,
    PayoutAccountSerializer,
    PayoutSerializer,
)


class FundingList(generics.ListAPIView):
    """The employer's fundings (all of them for staff)."""

    serializer_class = FundingSerializer

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Funding.objects.none()
        if user.is_staff:
            return Funding.objects.prefetch_related("refunds")
        employer = employer_for_user(user)
        if employer is None:
            return Funding.objects.none()
        return selectors.fundings_for_employer(employer=employer)


class FundingDetail(generics.RetrieveAPIView):
    serializer_class = FundingSerializer

    def get_queryset(self):
        return FundingList.get_queryset(self)


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
    path("payments/fundings/<int:pk>/", FundingDetail.as_view(), name="api-funding"),
    path("payments/payouts/", PayoutList.as_view(), name="api-payouts"),
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
