"""``/api/v1/postings/``: the same operations as the pages, through the same services.

Public: the list of published postings (filters, search, keyset pages) and their detail. Members
of the owning employer: create, update, submit, withdraw, duplicate, their own list. Staff: the
moderation actions. Signed-in users: reports. Students: their saved searches.
"""

from django.urls import URLPattern
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.selectors import employer_for_user
from marketplace.core.api import PAGE_SIZE_PARAMETER, Router, page_size_of
from marketplace.core.errors import AlreadyExists, NotPermitted
from marketplace.core.renderers import ORJSONRenderer

from . import rules, selectors, services
from .cache import cache_anonymous
from .filters import PostingFilter
from .models import Format, Posting, SavedSearch
from .pagination import InvalidCursor, paginate
from .serializers import (
    PostingDetailSerializer,
    PostingListSerializer,
    PostingWriteSerializer,
    ReasonSerializer,
    ReportResultSerializer,
    ReportSerializer,
    SavedSearchCreateSerializer,
    SavedSearchSerializer,
    posting_list_rows,
)

PAGE = inline_serializer(
    name="PostingPage",
    fields={
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": PostingListSerializer(many=True),
    },
)
LIST_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="From a `next`/`previous` link."),
    PAGE_SIZE_PARAMETER,
]


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name):
        return getattr(api_settings, name)


class FilterFormatNegotiation(DefaultContentNegotiation):
    """Here ``?format=`` filters by posting format (nano, micro, ...); it is not DRF's
    renderer override, so the renderer is chosen by the Accept header alone."""

    settings = _NoFormatOverride()  # type: ignore[assignment]


def _detail_queryset():
    return Posting.objects.select_related("employer").prefetch_related("milestones", "questions")


def _detail(
    posting: Posting, request, *, status_code=status.HTTP_200_OK, fresh: bool = True
) -> Response:
    if fresh:
        posting = _detail_queryset().get(pk=posting.pk)
    data = PostingDetailSerializer(posting).data
    if not (
        request.user.is_staff or selectors.posting_is_member(posting=posting, user=request.user)
    ):
        data.pop("flags", None)
    return Response(data, status=status_code)


# The list's answer is a page object, not a list of postings (no array around it in the schema).
set_override(PAGE, "many", False)

ACTION_PERMISSIONS = {"list": permissions.AllowAny, "retrieve": permissions.AllowAny}


def _moderation_action(name: str, service, *, with_reason: bool, description: str):
    """A staff move on a posting, as a ViewSet action at ``postings/<id>/<name>/``."""

    def move(self, request, pk=None):
        posting = selectors.posting_get_visible(pk=pk, user=request.user)
        kwargs = {"posting": posting, "actor": request.user}
        if with_reason:
            serializer = ReasonSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            kwargs["reason"] = serializer.validated_data["reason"]
        return _detail(service(**kwargs), request)

    move.__name__ = name
    slug = name.replace("_", "-")
    move = action(
        detail=True,
        methods=["post"],
        url_path=slug,
        url_name=slug,
        permission_classes=[permissions.IsAdminUser],
    )(move)
    return extend_schema(
        operation_id=f"postings_{name}",
        request=ReasonSerializer if with_reason else None,
        responses=PostingDetailSerializer,
        description=description,
    )(move)


def _owner_action(name: str, service, description: str):
    """A move of the owning organisation's members, at ``postings/<id>/<name>/``."""
    # A duplicate is a new posting (201); the other actions change this one (200).
    code = status.HTTP_201_CREATED if name == "duplicate" else status.HTTP_200_OK

    def move(self, request, pk=None):
        posting = selectors.posting_get_owned(pk=pk, user=request.user)
        result = service(posting=posting, actor=request.user)
        return _detail(result, request, status_code=code)

    move.__name__ = name
    move = action(detail=True, methods=["post"])(move)
    return extend_schema(
        operation_id=f"postings_{name}",
        request=None,
        responses={code: PostingDetailSerializer},
        description=description,
    )(move)


S = services


class PostingViewSet(viewsets.GenericViewSet):
    # Published postings for everyone; their organisation's members write; staff moderate.
    # (A comment: the schema takes each operation's description from its own docstring.)

    queryset = Posting.objects.none()  # the schema's model; every action reads its own rows
    pagination_class = None  # the list pages itself (keyset pages, ``postings.pagination``)
    filter_backends: list = []  # the list filters itself (``PostingFilter``)
    costly_writes = {"create": "postings", "report": "reports"}

    def get_permissions(self):
        if getattr(self, "action", None) in ACTION_PERMISSIONS:
            return [ACTION_PERMISSIONS[self.action]()]
        return super().get_permissions()

    def get_renderers(self):
        # orjson for the list's JSON; its rows are plain dicts (``posting_list_rows``).
        if getattr(self, "action", None) == "list":
            return [ORJSONRenderer(), BrowsableAPIRenderer()]
        return super().get_renderers()

    def get_content_negotiator(self):
        if getattr(self, "action", None) == "list":
            return FilterFormatNegotiation()
        return super().get_content_negotiator()

    @extend_schema(
        operation_id="postings_list",
        parameters=LIST_PARAMETERS
        + [
            OpenApiParameter("q", OpenApiTypes.STR, description="Words to search for."),
            OpenApiParameter("format", OpenApiTypes.STR, many=True, enum=Format.values),
            OpenApiParameter(
                "work_mode", OpenApiTypes.STR, many=True, enum=Posting.WorkMode.values
            ),
            OpenApiParameter("compensation", OpenApiTypes.STR, enum=["paid", "credit"]),
            OpenApiParameter("category", OpenApiTypes.STR, enum=Posting.Category.values),
            OpenApiParameter("skill", OpenApiTypes.STR, many=True, description="Skill slugs."),
            OpenApiParameter("min_pay", OpenApiTypes.DECIMAL, description="Major units."),
            OpenApiParameter("max_hours_per_week", OpenApiTypes.DECIMAL),
            OpenApiParameter("starts_after", OpenApiTypes.DATE),
            OpenApiParameter("starts_before", OpenApiTypes.DATE),
            OpenApiParameter(
                "sort", OpenApiTypes.STR, enum=["newest", "deadline", "pay", "relevance"]
            ),
        ],
        responses=PAGE,
    )
    def list(self, request):
        """Published postings: filter, search (ranked on PostgreSQL) and page with a cursor."""
        page_size = page_size_of(request)
        filterset = PostingFilter(
            request.query_params,
            queryset=selectors.postings_listed(),
            skill_choices="skill" in request.query_params,
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        sort = filterset.sort_name(searching=bool(filterset.form.cleaned_data.get("q")))
        try:
            page = paginate(
                filterset.qs,
                sort=sort,
                cursor=request.query_params.get("cursor"),
                page_size=page_size,
            )
        except InvalidCursor as exc:
            raise ValidationError({"cursor": [str(exc)]}) from exc

        def link(cursor):
            if not cursor:
                return None
            params = request.query_params.copy()
            params["cursor"] = cursor
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        return Response(
            {
                "next": link(page.next_cursor),
                "previous": link(page.previous_cursor),
                "results": posting_list_rows(page.items),
            }
        )

    @extend_schema(
        operation_id="postings_create",
        request=PostingWriteSerializer,
        responses={201: PostingDetailSerializer},
    )
    def create(self, request):
        """Create a draft posting for the caller's organisation."""
        employer = employer_for_user(request.user)
        if employer is None:
            raise NotPermitted("Only members of an employer organisation can create postings.")
        serializer = PostingWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        posting = services.posting_create(
            employer=employer, actor=request.user, values=serializer.to_values()
        )
        return _detail(posting, request, status_code=status.HTTP_201_CREATED)

    @extend_schema(operation_id="postings_retrieve", responses=PostingDetailSerializer)
    def retrieve(self, request, pk=None):
        user = request.user if request.user.is_authenticated else None
        posting = selectors.posting_get_visible(pk=pk, user=user, queryset=_detail_queryset())
        return _detail(posting, request, fresh=False)

    @extend_schema(
        operation_id="postings_partial_update",
        request=PostingWriteSerializer,
        responses=PostingDetailSerializer,
        description="Change a draft or a posting with changes requested. Send only what "
        "changes; `milestones`, `questions` and `skills` replace the current ones when sent.",
    )
    def partial_update(self, request, pk=None):
        posting = selectors.posting_get_owned(pk=pk, user=request.user)
        serializer = PostingWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = serializer.to_values(base=rules.Values.of(posting, with_children=False))
        posting = services.posting_update(posting=posting, actor=request.user, values=values)
        return _detail(posting, request)

    submit = _owner_action(
        "submit",
        S.posting_submit,
        "Send for review (or publish at once: verified employer, no rule flags).",
    )
    withdraw = _owner_action("withdraw", S.posting_withdraw, "Close the posting.")
    duplicate = _owner_action("duplicate", S.posting_duplicate, "Copy into a new draft.")
    approve = _moderation_action(
        "approve",
        S.posting_approve,
        with_reason=True,
        description="Publish a posting waiting for review.",
    )
    request_changes = _moderation_action(
        "request_changes",
        S.posting_request_changes,
        with_reason=True,
        description="Send back with a reason.",
    )
    reject = _moderation_action(
        "reject", S.posting_reject, with_reason=True, description="Reject with a reason."
    )
    suspend = _moderation_action(
        "suspend",
        S.posting_suspend,
        with_reason=True,
        description="Hide a published posting until reviewed.",
    )
    reinstate = _moderation_action(
        "reinstate",
        S.posting_reinstate,
        with_reason=True,
        description="Publish a suspended posting again.",
    )
    remove = _moderation_action(
        "remove", S.posting_remove, with_reason=True, description="Take a posting down for good."
    )
    dismiss_reports = _moderation_action(
        "dismiss_reports",
        S.posting_reports_dismiss,
        with_reason=False,
        description="Resolve open reports.",
    )

    @extend_schema(
        operation_id="postings_report",
        request=ReportSerializer,
        responses={201: ReportResultSerializer},
        description="Report a published posting. Enough open reports suspend it until a "
        "moderator looks.",
    )
    @action(detail=True, methods=["post"], url_path="reports", url_name="report")
    def report(self, request, pk=None):
        posting = selectors.posting_get_visible(pk=pk, user=request.user)
        serializer = ReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        existing = selectors.report_open_by(posting=posting, user=request.user)
        if existing is not None:
            raise AlreadyExists(
                "You have reported this posting already; a moderator will look at it.",
                existing=ReportResultSerializer(existing).data,
            )
        report = services.posting_report(
            posting=posting, reporter=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(ReportResultSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="postings_mine",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=Posting.Status.values)],
        responses=PostingDetailSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def mine(self, request):
        """The postings of the caller's organisation, in every status, most recently changed
        first."""
        employer = employer_for_user(request.user)
        if employer is None:
            raise NotPermitted("Only members of an employer organisation have postings.")
        queryset = _detail_queryset().filter(employer=employer).order_by("-updated_at", "-pk")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Posting.Status.values:
                raise ValidationError({"status": [f"One of {', '.join(Posting.Status.values)}."]})
            queryset = queryset.filter(status=wanted)
        return Response(PostingDetailSerializer(queryset[:200], many=True).data)

    @extend_schema(
        operation_id="postings_moderation_queue",
        responses=inline_serializer(
            name="ModerationQueue",
            fields={
                "pending": PostingDetailSerializer(many=True),
                "suspended": PostingDetailSerializer(many=True),
                "reported": PostingDetailSerializer(many=True),
            },
        ),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="moderation-queue",
        permission_classes=[permissions.IsAdminUser],
    )
    def moderation_queue(self, request):
        queue = selectors.moderation_queue()
        return Response(
            {
                name: PostingDetailSerializer(
                    qs.prefetch_related("milestones", "questions")[:100], many=True
                ).data
                for name, qs in queue.items()
            }
        )


class SavedSearchViewSet(viewsets.GenericViewSet):
    # The caller's saved searches; anyone else's is a 404.

    queryset = SavedSearch.objects.none()  # the schema's model; the actions read the caller's
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="postings_saved_searches_list",
        responses=SavedSearchSerializer(many=True),
    )
    def list(self, request):
        """The caller's saved searches (at most ``SAVED_SEARCHES_MAX``, newest first), and saving
        one: a daily digest of the new postings that match it goes to the inbox and by e-mail."""
        searches = selectors.saved_searches_of(user=request.user)
        return Response(SavedSearchSerializer(searches, many=True).data)

    @extend_schema(
        operation_id="postings_saved_searches_create",
        request=SavedSearchCreateSerializer,
        responses={201: SavedSearchSerializer},
        description="Students only (403 for others). 400 `invalid_filters` for filters the list "
        "refuses, `duplicate` for a search saved already, `limit_reached` at the limit.",
    )
    def create(self, request):
        """The caller's saved searches (at most ``SAVED_SEARCHES_MAX``, newest first), and saving
        one: a daily digest of the new postings that match it goes to the inbox and by e-mail."""
        serializer = SavedSearchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved_search = services.saved_search_create(
            actor=request.user,
            name=serializer.validated_data["name"],
            filters=serializer.validated_data["filters"],
        )
        return Response(SavedSearchSerializer(saved_search).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="postings_saved_searches_retrieve", responses=SavedSearchSerializer)
    def retrieve(self, request, pk=None):
        """One of the caller's saved searches; anyone else's is 404."""
        saved_search = selectors.saved_search_get_own(pk=pk, user=request.user)
        return Response(SavedSearchSerializer(saved_search).data)

    @extend_schema(operation_id="postings_saved_searches_destroy", responses={204: None})
    def destroy(self, request, pk=None):
        """One of the caller's saved searches; anyone else's is 404."""
        saved_search = selectors.saved_search_get_own(pk=pk, user=request.user)
        services.saved_search_delete(saved_search=saved_search, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _cached_list(urls):
    """Anonymous answers of the list are cached briefly, before DRF runs (``postings.cache``)."""
    return [
        URLPattern(u.pattern, cache_anonymous("api", skip_html=True)(u.callback), name=u.name)
        if u.name == "api-posting-list"
        else u
        for u in urls
    ]


router = Router()
router.register("postings/saved-searches", SavedSearchViewSet, basename="api-postings-saved-search")
router.register("postings", PostingViewSet, basename="api-posting")
urlpatterns = _cached_list(router.urls)
