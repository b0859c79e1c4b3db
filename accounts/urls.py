from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile_edit, name="profile"),
    path("organisation/", views.organisation, name="organisation"),
    path("organisation/<int:pk>/edit/", views.organisation_edit, name="organisation_edit"),
    path("organisation/invite/", views.invitation_create, name="invite"),
    path("employers/<int:pk>/", views.employer_detail, name="employer_detail"),
    path("employers/<int:pk>/logo/", views.employer_logo, name="employer_logo"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/tokens/", views.token_create, name="token_create"),
    path("settings/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
