"""``/api/v1/postings/``: the same operations as the pages, through the same services.

Public: the list of published postings (filters, search, keyset pages) and their detail. Members
of the owning employer: create, update, submit, withdraw, duplicate, their own list. Staff: the
moderation actions. Signed-in users: reports. Students: their saved searches.
"""

from collections.abc import Callable

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.selectors import employer_for_user
from marketplace.core.api import PAGE_SIZE_PARAMETER, page_size_of
from marketplace.core.errors import AlreadyExists, NotPermitted
from marketplace.core.renderers import ORJSONRenderer

from . import rules, selectors, services
from .cache import cache_anonymous
from .filters import PostingFilter
from .models import Format, Posting
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


class PostingListView(APIView):
    """Published postings: filter, search (ranked on PostgreSQL) and page with a cursor."""

    permission_classes = [permissions.AllowAny]
    costly_writes = {"post": "postings"}
    filterset_class = PostingFilter
    content_negotiation_class = FilterFormatNegotiation
    # orjson for the JSON; the rows are plain dicts (``posting_list_rows``).
    renderer_classes = [ORJSONRenderer, BrowsableAPIRenderer]

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

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
    def get(self, request):
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
    def post(self, request):
        employer = employer_for_user(request.user)
        if employer is None:
            raise NotPermitted("Only members of an employer organisation can create postings.")
        serializer = PostingWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        posting = services.posting_create(
            employer=employer, actor=request.user, values=serializer.to_values()
        )
        return _detail(posting, request, status_code=status.HTTP_201_CREATED)


class PostingDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    def get_permissions(self):
        if self.request.method != "GET":
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(operation_id="postings_retrieve", responses=PostingDetailSerializer)
    def get(self, request, pk: int):
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
    def patch(self, request, pk: int):
        posting = selectors.posting_get_owned(pk=pk, user=request.user)
        serializer = PostingWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = serializer.to_values(base=rules.Values.of(posting, with_children=False))
        posting = services.posting_update(posting=posting, actor=request.user, values=values)
        return _detail(posting, request)


def _owner_action(name: str, service, description: str):
    # A duplicate is a new posting (201); the other actions change this one (200).
    code = status.HTTP_201_CREATED if name == "duplicate" else status.HTTP_200_OK

    class View(APIView):
        permission_classes = [permissions.IsAuthenticated]

        @extend_schema(
            operation_id=f"postings_{name}",
            request=None,
            responses={code: PostingDetailSerializer},
            description=description,
        )
        def post(self, request, pk: int):
            posting = selectors.posting_get_owned(pk=pk, user=request.user)
            result = service(posting=posting, actor=request.user)
            return _detail(result, request, status_code=code)

    View.__name__ = f"Posting{name.title()}View"
    return View


def _moderation_action(name: str, service, *, with_reason: bool, description: str):
    class View(APIView):
        permission_classes = [permissions.IsAdminUser]

        @extend_schema(
            operation_id=f"postings_{name}",
            request=ReasonSerializer if with_reason else None,
            responses=PostingDetailSerializer,
            description=description,
        )
        def post(self, request, pk: int):
            posting = selectors.posting_get_visible(pk=pk, user=request.user)
            kwargs = {"posting": posting, "actor": request.user}
            if with_reason:
                serializer = ReasonSerializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                kwargs["reason"] = serializer.validated_data["reason"]
            return _detail(service(**kwargs), request)

    View.__name__ = f"Posting{name.title().replace('_', '')}View"
    return View


class PostingReportView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    costly_writes = {"post": "reports"}

    @extend_schema(
        operation_id="postings_report",
        request=ReportSerializer,
        responses={201: ReportResultSerializer},
        description="Report a published posting. Enough open reports suspend it until a "
        "moderator looks.",
    )
    def post(self, request, pk: int):
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


class MyPostingsView(APIView):
    """The postings of the caller's organisation, in every status, most recently changed first."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="postings_mine",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=Posting.Status.values)],
        responses=PostingDetailSerializer(many=True),
    )
    def get(self, request):
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


class SavedSearchListView(APIView):
    """The caller's saved searches (at most ``SAVED_SEARCHES_MAX``, newest first), and saving
    one: a daily digest of the new postings that match it goes to the inbox and by e-mail."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="postings_saved_searches_list",
        responses=SavedSearchSerializer(many=True),
    )
    def get(self, request):
        searches = selectors.saved_searches_of(user=request.user)
        return Response(SavedSearchSerializer(searches, many=True).data)

    @extend_schema(
        operation_id="postings_saved_searches_create",
        request=SavedSearchCreateSerializer,
        responses={201: SavedSearchSerializer},
        description="Students only (403 for others). 400 `invalid_filters` for filters the list "
        "refuses, `duplicate` for a search saved already, `limit_reached` at the limit.",
    )
    def post(self, request):
        serializer = SavedSearchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved_search = services.saved_search_create(
            actor=request.user,
            name=serializer.validated_data["name"],
            filters=serializer.validated_data["filters"],
        )
        return Response(SavedSearchSerializer(saved_search).data, status=status.HTTP_201_CREATED)


class SavedSearchDetailView(APIView):
    """One of the caller's saved searches; anyone else's is 404."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(operation_id="postings_saved_searches_retrieve", responses=SavedSearchSerializer)
    def get(self, request, pk: int):
        saved_search = selectors.saved_search_get_own(pk=pk, user=request.user)
        return Response(SavedSearchSerializer(saved_search).data)

    @extend_schema(operation_id="postings_saved_searches_destroy", responses={204: None})
    def delete(self, request, pk: int):
        saved_search = selectors.saved_search_get_own(pk=pk, user=request.user)
        services.saved_search_delete(saved_search=saved_search, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModerationQueueView(APIView):
    permission_classes = [permissions.IsAdminUser]

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
    def get(self, request):
        queue = selectors.moderation_queue()
        return Response(
            {
                name: PostingDetailSerializer(
                    qs.prefetch_related("milestones", "questions")[:100], many=True
                ).data
                for name, qs in queue.items()
            }
        )


S = services
urlpatterns = [
    # Anonymous answers are cached briefly, before DRF runs (see ``postings.cache``).
    path(
        "postings/",
        cache_anonymous("api", skip_html=True)(PostingListView.as_view()),
        name="api-postings",
    ),
    path("postings/mine/", MyPostingsView.as_view(), name="api-postings-mine"),
    path(
        "postings/saved-searches/",
        SavedSearchListView.as_view(),
        name="api-postings-saved-searches",
    ),
    path(
        "postings/saved-searches/<int:pk>/",
        SavedSearchDetailView.as_view(),
        name="api-postings-saved-search",
    ),
    path(
        "postings/moderation-queue/",
        ModerationQueueView.as_view(),
        name="api-postings-moderation-queue",
    ),
    path("postings/<int:pk>/", PostingDetailView.as_view(), name="api-posting"),
    path(
        "postings/<int:pk>/submit/",
        _owner_action(
            "submit",
            S.posting_submit,
            "Send for review (or publish at once: verified employer, no rule flags).",
        ).as_view(),
        name="api-posting-submit",
    ),
    path(
        "postings/<int:pk>/withdraw/",
        _owner_action("withdraw", S.posting_withdraw, "Close the posting.").as_view(),
        name="api-posting-withdraw",
    ),
    path(
        "postings/<int:pk>/duplicate/",
        _owner_action("duplicate", S.posting_duplicate, "Copy into a new draft.").as_view(),
        name="api-posting-duplicate",
    ),
    path("postings/<int:pk>/reports/", PostingReportView.as_view(), name="api-posting-report"),
]
_MODERATION: list[tuple[str, Callable[..., Posting], bool, str]] = [
    ("approve", S.posting_approve, True, "Publish a posting waiting for review."),
    ("request_changes", S.posting_request_changes, True, "Send back with a reason."),
    ("reject", S.posting_reject, True, "Reject with a reason."),
    ("suspend", S.posting_suspend, True, "Hide a published posting until reviewed."),
    ("reinstate", S.posting_reinstate, True, "Publish a suspended posting again."),
    ("remove", S.posting_remove, True, "Take a posting down for good."),
    ("dismiss_reports", S.posting_reports_dismiss, False, "Resolve open reports."),
]
for _name, _service, _reason, _text in _MODERATION:
    urlpatterns.append(
        path(
            f"postings/<int:pk>/{_name.replace('_', '-')}/",
            _moderation_action(_name, _service, with_reason=_reason, description=_text).as_view(),
            name=f"api-posting-{_name.replace('_', '-')}",
        )
    )
