from django.urls import path

from . import views

app_name = "applications"

urlpatterns = [
    path("apply/<int:posting_pk>/", views.apply, name="apply"),
    path("applications/", views.my_applications, name="mine"),
    path("applications/<int:pk>/", views.application_detail, name="detail"),
    path("applications/<int:pk>/messages/", views.message_post, name="message"),
    path("applications/<int:pk>/cv/", views.cv_download, name="cv"),
    path("applications/<int:pk>/<str:move>/", views.application_move, name="move"),
    path("applicants/", views.employer_postings, name="employer_postings"),
    path("applicants/<int:posting_pk>/", views.pipeline, name="pipeline"),
    path("assignments/", views.assignments, name="assignments"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/cancel/", views.assignment_cancel, name="cancel"),
    path("assignments/<int:pk>/rate/", views.rate, name="rate"),
    path("assignments/<int:pk>/record/", views.record_visibility, name="record_visibility"),
    path("assignments/<int:pk>/invite/", views.reinvite, name="reinvite"),
    path("milestones/<int:milestone_pk>/submit/", views.submit, name="submit"),
    path("milestones/<int:pk>/status/", views.milestone_status, name="milestone_status"),
    path("milestones/<int:pk>/<str:move>/", views.milestone_move, name="milestone_move"),
    path("deliverables/<int:pk>/download/", views.file_download, name="file"),
    path("record/<slug:slug>/", views.record, name="record"),
    path("staff/disputes/", views.disputes, name="disputes"),
]
