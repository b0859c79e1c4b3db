"""Credentials over the API: the student's own (list, read, hide, include the rating, revoke),
naming a supervisor, and public verification. The same services and verifier as the pages."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from applications.selectors import assignment_get_for_user
from marketplace.core.api import CursorPagination, Router
from marketplace.core.errors import DomainError

from . import selectors, services
from .models import Credential, SupervisorSignOff
from .verification import MAX_INPUT, InputError, verify_input


class CredentialSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    assignment = serializers.IntegerField(source="assignment_id", read_only=True)
    linkedin_url = serializers.SerializerMethodField()

    class Meta:
        model = Credential
        fields = [
            "id",
            "assignment",
            "status",
            "issued_at",
            "valid_until",
            "hidden",
            "includes_rating",
            "includes_sign_off",
            "kid",
            "jwt",
            "document",
            "linkedin_url",
        ]
        read_only_fields = fields

    def get_linkedin_url(self, obj) -> str:
        return selectors.linkedin_add_url(obj)


class FlagSerializer(serializers.Serializer):
    value = serializers.BooleanField()


class VerifySerializer(serializers.Serializer):
    credential = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_INPUT, trim_whitespace=True
    )
    file = serializers.FileField(required=False)


class SupervisorSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupervisorSignOff
        fields = ["supervisor_name", "institution", "supervisor_email", "status", "decided_at"]
        read_only_fields = ["status", "decided_at"]


class NewestFirst(CursorPagination):
    ordering = ("-issued_at", "-id")


@extend_schema(tags=["credentials"])
class CredentialViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in student's credentials (replaced versions are left out)."""

    serializer_class = CredentialSerializer
    pagination_class = NewestFirst
    lookup_field = "public_id"
    queryset = Credential.objects.none()  # the schema's model; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Credential.objects.none()
        return (
            Credential.objects.filter(student=self.request.user)
            .exclude(status=Credential.Status.SUPERSEDED)
            .select_related("assignment")
        )

    def _flag(self, request) -> bool:
        serializer = FlagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["value"]

    @extend_schema(request=FlagSerializer, responses=CredentialSerializer)
    @action(detail=True, methods=["post"])
    def hide(self, request, public_id=None):
        credential = services.credential_set_hidden(
            credential=self.get_object(), actor=request.user, hidden=self._flag(request)
        )
        return Response(CredentialSerializer(credential).data)

    @extend_schema(request=FlagSerializer, responses=CredentialSerializer)
    @action(detail=True, methods=["post"])
    def rating(self, request, public_id=None):
        """Re-issue with (value=true) or without the employer's published rating."""
        credential = services.credential_set_rating_shown(
            credential=self.get_object(), actor=request.user, show=self._flag(request)
        )
        return Response(CredentialSerializer(credential).data)

    @extend_schema(request=None, responses=CredentialSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, public_id=None):
        credential = services.credential_revoke(credential=self.get_object(), actor=request.user)
        return Response(CredentialSerializer(credential).data)


@extend_schema(tags=["credentials"], request=VerifySerializer, responses=dict)
class VerifyView(APIView):
    """Verify a credential (VC-JWT, JSON or a URL on this site); no account needed."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]

    def post(self, request):
        serializer = VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data.get("file")
        text = serializer.validated_data.get("credential", "")
        if upload is not None:
            if upload.size > MAX_INPUT:
                raise DomainError("That file is too large to be a credential.", code="too_large")
            text = upload.read().decode("utf-8", errors="replace")
        try:
            result = verify_input(text)
        except InputError as error:
            raise DomainError(str(error), code="invalid_input") from error
        return Response(result.as_dict(), status=status.HTTP_200_OK)


@extend_schema(tags=["credentials"])
class AssignmentSupervisorViewSet(viewsets.GenericViewSet):
    """The academic supervisor of a credit assignment."""

    @extend_schema(
        request=SupervisorSerializer,
        responses={201: SupervisorSerializer},
        description="The student names the academic supervisor of a credit assignment.",
    )
    @action(detail=True, methods=["post"])
    def supervisor(self, request, pk=None):
        assignment, _ = assignment_get_for_user(pk=pk, user=request.user)
        serializer = SupervisorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sign_off = services.supervisor_name(
            assignment=assignment,
            actor=request.user,
            name=data["supervisor_name"],
            institution=data["institution"],
            email=data["supervisor_email"],
        )
        return Response(SupervisorSerializer(sign_off).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("credentials", CredentialViewSet, basename="credential")

assignments = Router()
assignments.register("assignments", AssignmentSupervisorViewSet, basename="assignment")

urlpatterns = [
    path("credentials/verify/", VerifyView.as_view(), name="credential-verify"),
    *assignments.urls,
    *router.urls,
]
