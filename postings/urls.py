from django.urls import path

from . import views

app_name = "postings"

urlpatterns = [
    path("", views.posting_list, name="list"),
    path("new/", views.posting_create, name="create"),
    path("preview/", views.posting_preview, name="preview"),
    path("mine/", views.my_postings, name="mine"),
    path("formats/", views.format_guide, name="formats"),
    path("saved-searches/", views.saved_searches, name="saved_searches"),
    path("saved-searches/<int:pk>/delete/", views.saved_search_delete, name="saved_search_delete"),
    path("moderation/", views.moderation_queue, name="moderation"),
    path("<int:pk>/", views.posting_detail, name="detail"),
    path("<int:pk>/edit/", views.posting_edit, name="edit"),
    path("<int:pk>/submit/", views.posting_submit, name="submit"),
    path("<int:pk>/withdraw/", views.posting_withdraw, name="withdraw"),
    path("<int:pk>/duplicate/", views.posting_duplicate, name="duplicate"),
    path("<int:pk>/report/", views.posting_report, name="report"),
    path("<int:pk>/moderate/", views.moderate, name="moderate"),
]
