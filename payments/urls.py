from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("assignments/<int:assignment_pk>/fund/", views.funding, name="funding"),
    path("fundings/<int:pk>/return/", views.funding_return, name="funding_return"),
    path("fundings/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("fundings/<int:pk>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("payout-account/", views.payout_account, name="payout_account"),
    path("payout-account/onboard/", views.payout_account_onboard, name="payout_account_onboard"),
    path("payout-account/refresh/", views.payout_account_refresh, name="payout_account_refresh"),
    path("payout-account/return/", views.payout_account_return, name="payout_account_return"),
    path("billing/", views.billing, name="billing"),
    path("billing/fundings.csv", views.billing_csv, name="billing_csv"),
    path("earnings/", views.earnings, name="earnings"),
    path("earnings/payouts.csv", views.earnings_csv, name="earnings_csv"),
    path("staff/", views.staff_money, name="staff_money"),
    path("staff/payouts.csv", views.staff_payouts_csv, name="staff_payouts_csv"),
    path("staff/fundings.csv", views.staff_fundings_csv, name="staff_fundings_csv"),
    path("test-mode/checkout/<str:session_id>/", views.test_checkout, name="test_checkout"),
    path("test-mode/onboarding/<str:link_id>/", views.test_onboarding, name="test_onboarding"),
]
