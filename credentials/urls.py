from django.urls import path

from . import views

app_name = "credentials"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("verify/", views.verify, name="verify"),
    path("issuer/", views.issuer, name="issuer"),
    path("status/<int:number>/", views.status_list, name="status_list"),
    path("supervisor/<str:token>/", views.supervisor, name="supervisor"),
    path("assignments/<int:pk>/supervisor/", views.name_supervisor, name="name_supervisor"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/credential.json", views.download_json, name="download_json"),
    path("<uuid:public_id>/credential.jwt", views.download_jwt, name="download_jwt"),
    path("<uuid:public_id>/visibility/", views.visibility, name="visibility"),
    path("<uuid:public_id>/rating/", views.rating, name="rating"),
    path("<uuid:public_id>/revoke/", views.revoke, name="revoke"),
]
