from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .serializers import MeSerializer


class MeView(APIView):
    """The signed-in user, with their student profile or their organisation."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = MeSerializer

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        profile_fields = data.pop("student_profile", None)
        employer_fields = data.pop("employer", None)
        services.account_update(
            user=request.user,
            actor=request.user,
            user_fields=data,
            profile_fields=profile_fields,
            employer_fields=employer_fields,
        )
        request.user.refresh_from_db()
        request.user._employer_cache = False  # the organisation may have changed too
        return Response(MeSerializer(request.user).data)


urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
]
