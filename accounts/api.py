from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.errors import NotPermitted

from . import services
from .models import StudentProfile
from .selectors import employer_for_user
from .serializers import MeSerializer


class MeView(APIView):
    """The signed-in user, with their student profile or their organisation."""

    permission_classes = [permissions.IsAuthenticated]

    def _payload(self, user):
        data = MeSerializer(user).data
        data["student_profile"] = (
            MeSerializer()
            .fields["student_profile"]
            .to_representation(StudentProfile.objects.get_or_create(user=user)[0])
            if user.is_student
            else None
        )
        employer = employer_for_user(user)
        data["employer"] = (
            MeSerializer().fields["employer"].to_representation(employer) if employer else None
        )
        return data

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(self._payload(request.user))

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        profile_data = data.pop("student_profile", None)
        employer_data = data.pop("employer", None)
        user = request.user
        with transaction.atomic():
            if profile_data is not None or user.is_student:
                if profile_data and not user.is_student:
                    raise NotPermitted("Only students have a student profile.")
                services.student_profile_update(user=user, **data, **(profile_data or {}))
            elif data:
                services.user_update(user=user, **data)
            if employer_data:
                employer = employer_for_user(user)
                if employer is None:
                    raise NotPermitted("You do not belong to an organisation.")
                services.employer_update(employer=employer, actor=user, **employer_data)
        user.refresh_from_db()
        return Response(self._payload(user))


urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
]
