from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.api import Router
from marketplace.core.errors import NotPermitted

from . import selectors, services
from .authentication import recently_logged_in
from .models import ApiToken
from .serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MeSerializer,
)


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


@extend_schema(tags=["tokens"])
class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your personal API tokens: listed by name (never the key), made, revoked.

    A token is made only from a browser session that logged in recently (the session cookie
    and CSRF token of the site): a stolen token cannot make more tokens. The key is in the
    answer to the creation, once; only its hash is stored.
    """

    serializer_class = ApiTokenSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApiToken.objects.none()
        return selectors.api_tokens_of(self.request.user)

    def get_object(self):
        return selectors.api_token_get(pk=self.kwargs["pk"], user=self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        if request.auth is not None or not recently_logged_in(request):
            raise NotPermitted(
                "Log in again in the browser (within the last few minutes) to make a token.",
                code="reauthentication_required",
            )
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(
            user=request.user, actor=request.user, name=data.validated_data["name"]
        )
        token.key = key
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.api_token_revoke(token=instance, actor=self.request.user)


router = Router()
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    *router.urls,
]
