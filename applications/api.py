"""Applications, assignments, milestones, submissions, ratings and messages over the API.

The same services as the pages. Object-level permission is the queryset: a student sees their
own, an employer's members see their postings' (staff: the assignments with a dispute); for
anyone else an object is a 404. A move the actor may not make is a 403, a move the status does
not allow a 409, with the one error format ``{"message", "code", "fields"}``.
"""

from django.conf import settings
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.selectors import employer_for_user
from marketplace.core.api import CursorPagination, DownloadNegotiation, Router
from marketplace.core.errors import AlreadyExists, NotPermitted
from marketplace.core.schema import download_responses
from postings.selectors import posting_get_visible

from . import selectors, services
from .models import Application, Assignment, Message, Milestone, Rating, Submission
from .serializers import (
    ApplicationCreateSerializer,
    ApplicationOfferSerializer,
    ApplicationRejectSerializer,
    ApplicationSerializer,
    AssignmentMilestoneSerializer,
    AssignmentSerializer,
    DisputeOpenSerializer,
    DisputeResolveSerializer,
    RatingCreateSerializer,
    RatingSerializer,
    RevisionRequestSerializer,
    SubmissionCreateSerializer,
    SubmissionSerializer,
    ThreadMessageCreateSerializer,
    ThreadMessageSerializer,
)
from .uploads import content_types_of
from .views import _attachment, cv_response


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")


class ByPosition(CursorPagination):
    ordering = ("assignment_id", "position", "id")


# Every type a CV may be served as (a file stored without a known extension: a generic binary).
CV_TYPES = [*content_types_of(settings.CV_ALLOWED_TYPES), "application/octet-stream"]
PARSERS = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]


@extend_schema(tags=["applications"])
class ApplicationViewSet(
    DownloadNegotiation,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """A student's own applications; an employer's applicants. Moves are POST actions."""

    download_actions = ("cv",)
    serializer_class = ApplicationSerializer
    pagination_class = NewestFirst
    parser_classes = PARSERS
    costly_writes = {"create": "applications"}
    filterset_fields = ["status", "posting"]

    def get_queryset(self):
        return Application.objects.visible_to(self.request.user).select_related(
            "posting__employer", "student", "assignment"
        )

    def _done(self, application):
        application.refresh_from_db()
        return Response(ApplicationSerializer(application).data)

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSerializer})
    def create(self, request):
        """Apply to a published posting (multipart when a CV is attached)."""
        data = ApplicationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        posting = posting_get_visible(pk=data.validated_data["posting"], user=request.user)
        application = services.application_submit(
            posting=posting,
            student=request.user,
            cover_note=data.validated_data["cover_note"],
            answers=data.validated_data.get("answers", {}),
            portfolio_links=data.validated_data.get("portfolio_links", []),
            cv=data.validated_data.get("cv"),
        )
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=download_responses(*CV_TYPES),
        description="The CV sent with the application, always as an attachment "
        "(`Content-Disposition: attachment; filename=...`) with the content type of the file "
        "(checked on upload); 404 if none. The applicant and the posting's employer only.",
    )
    @action(detail=True, methods=["get"])
    def cv(self, request, pk=None):
        application, _role = selectors.application_get_for_user(pk=pk, user=request.user)
        return cv_response(application)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        application = self.get_object()
        return self._done(
            services.application_withdraw(application=application, actor=request.user)
        )

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def shortlist(self, request, pk=None):
        application = self.get_object()
        return self._done(
            services.application_shortlist(application=application, actor=request.user)
        )

    @extend_schema(request=ApplicationRejectSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        application = self.get_object()
        data = ApplicationRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(
            services.application_reject(
                application=application,
                actor=request.user,
                message=data.validated_data.get("message", ""),
            )
        )

    @extend_schema(request=ApplicationOfferSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def offer(self, request, pk=None):
        application = self.get_object()
        data = ApplicationOfferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(
            services.application_offer(
                application=application,
                actor=request.user,
                expires_at=data.validated_data.get("expires_at"),
            )
        )

    @extend_schema(request=None, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        application = self.get_object()
        assignment = services.application_accept(application=application, actor=request.user)
        assignment = _assignments_visible(request.user).get(pk=assignment.pk)
        return Response(AssignmentSerializer(assignment).data)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        application = self.get_object()
        return self._done(services.application_decline(application=application, actor=request.user))


def _assignments_visible(user):
    return Assignment.objects.visible_to(user).select_related("posting__employer", "student")


@extend_schema(tags=["assignments"])
class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AssignmentSerializer
    pagination_class = NewestFirst
    filterset_fields = ["status", "posting"]

    def get_queryset(self):
        return _assignments_visible(self.request.user).prefetch_related("milestones__dispute")

    @extend_schema(
        request=None,
        responses=AssignmentSerializer,
        description="Agree to cancel (before any submission); cancelled once both sides agree.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        assignment = self.get_object()
        services.assignment_cancel_agree(assignment=assignment, actor=request.user)
        return Response(AssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data)


@extend_schema(tags=["assignments"])
class MilestoneViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AssignmentMilestoneSerializer
    pagination_class = ByPosition
    parser_classes = PARSERS
    filterset_fields = ["assignment", "status"]

    def get_queryset(self):
        return Milestone.objects.filter(
            assignment__in=Assignment.objects.visible_to(self.request.user)
        ).select_related("dispute")

    def _done(self, milestone):
        return Response(
            AssignmentMilestoneSerializer(self.get_queryset().get(pk=milestone.pk)).data
        )

    @extend_schema(
        request={"multipart/form-data": SubmissionCreateSerializer},
        responses={201: SubmissionSerializer},
        description="Submit a version of the deliverable: a note, links and files.",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        milestone = self.get_object()
        data = SubmissionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        files = request.FILES.getlist("files") if hasattr(request, "FILES") else []
        submission = services.submission_create(
            milestone=milestone,
            actor=request.user,
            note=data.validated_data.get("note", ""),
            links=data.validated_data.get("links", []),
            files=files,
        )
        submission = Submission.objects.prefetch_related("files").get(pk=submission.pk)
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=AssignmentMilestoneSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        milestone = self.get_object()
        return self._done(services.milestone_approve(milestone=milestone, actor=request.user))

    @extend_schema(request=RevisionRequestSerializer, responses=AssignmentMilestoneSerializer)
    @action(detail=True, methods=["post"], url_path="request-revision")
    def request_revision(self, request, pk=None):
        milestone = self.get_object()
        data = RevisionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(
            services.milestone_request_revision(
                milestone=milestone, actor=request.user, feedback=data.validated_data["feedback"]
            )
        )

    @extend_schema(
        request=DisputeResolveSerializer,
        responses=AssignmentMilestoneSerializer,
        description="Staff decide a dispute: release to the student, refund the employer, or "
        "split (the student's part in minor units, between 1 and the milestone's amount less "
        "1); payments then move the money. 409 when the milestone has no dispute or its "
        "dispute was decided already.",
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        milestone = self.get_object()
        data = DisputeResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = selectors.dispute_of(milestone=milestone)
        services.dispute_resolve(
            dispute=dispute,
            actor=request.user,
            resolution=data.validated_data["resolution"],
            student_amount=data.validated_data.get("student_amount"),
            note=data.validated_data.get("note", ""),
            only_open=True,
        )
        return self._done(milestone)

    @extend_schema(request=DisputeOpenSerializer, responses=AssignmentMilestoneSerializer)
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        milestone = self.get_object()
        data = DisputeOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_open(
            milestone=milestone, actor=request.user, reason=data.validated_data["reason"]
        )
        return self._done(milestone)


@extend_schema(tags=["assignments"])
class SubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every version of every deliverable you may see."""

    serializer_class = SubmissionSerializer
    pagination_class = NewestFirst
    filterset_fields = ["milestone"]

    def get_queryset(self):
        return Submission.objects.filter(
            milestone__assignment__in=Assignment.objects.visible_to(self.request.user)
        ).prefetch_related("files")


@extend_schema(tags=["assignments"])
class SubmissionFileViewSet(DownloadNegotiation, viewsets.GenericViewSet):
    """The files of the deliverables you may see."""

    download_actions = ("download",)

    @extend_schema(
        request=None,
        responses=download_responses(*content_types_of(settings.UPLOAD_ALLOWED_TYPES)),
        description="Download a deliverable file (always as an attachment).",
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        item = selectors.submission_file_get_for_user(pk=pk, user=request.user)
        return _attachment(item.file, item.original_name, item.content_type)


def _own_direction(user):
    if getattr(user, "is_student", False):
        return Rating.Direction.BY_STUDENT
    if employer_for_user(user) is not None:
        return Rating.Direction.BY_EMPLOYER
    return None


@extend_schema(tags=["ratings"])
class RatingViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Ratings on your assignments: yours always, the other side's once published
    (both have rated, or the rating window closed)."""

    serializer_class = RatingSerializer
    pagination_class = NewestFirst
    filterset_fields = ["assignment"]

    def get_queryset(self):
        user = self.request.user
        visible = Q(published_at__isnull=False)
        own = _own_direction(user)
        if own:
            visible |= Q(direction=own)
        return Rating.objects.filter(visible, assignment__in=Assignment.objects.visible_to(user))

    @extend_schema(request=RatingCreateSerializer, responses={201: RatingSerializer})
    def create(self, request):
        data = RatingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment, role = selectors.assignment_get_for_user(
            pk=data.validated_data["assignment"], user=request.user
        )
        existing = selectors.rating_given(assignment=assignment, role=role)
        if existing is not None:
            raise AlreadyExists(
                "You have rated this assignment already.", existing=RatingSerializer(existing).data
            )
        rating = services.rating_create(
            assignment=assignment,
            actor=request.user,
            score=data.validated_data["score"],
            comment=data.validated_data.get("comment", ""),
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["messages"],
    parameters=[OpenApiParameter("application", OpenApiTypes.INT, description="Only this thread.")],
)
class MessageViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The thread of each application (it continues into the assignment)."""

    serializer_class = ThreadMessageSerializer
    pagination_class = NewestFirst
    costly_writes = {"create": "messages"}
    filter_backends: list = []

    def get_queryset(self):
        user = self.request.user
        # Staff read the thread of an assignment with a dispute (part of ``visible_to``).
        qs = Message.objects.filter(
            application__in=Application.objects.visible_to(user).values("pk")
        ).select_related("sender")
        application = self.request.query_params.get("application")
        if application:
            qs = qs.filter(application_id=application if application.isdigit() else 0)
        return qs

    @extend_schema(request=ThreadMessageCreateSerializer, responses={201: ThreadMessageSerializer})
    def create(self, request):
        data = ThreadMessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application, role = selectors.application_get_for_user(
            pk=data.validated_data["application"], user=request.user
        )
        if role == selectors.STAFF:
            raise NotPermitted("Staff read disputed threads; they do not write in them.")
        message = services.message_send(
            application=application, actor=request.user, body=data.validated_data["body"]
        )
        return Response(ThreadMessageSerializer(message).data, status=status.HTTP_201_CREATED)


router = Router()
router.register("applications", ApplicationViewSet, basename="api-application")
router.register("assignments", AssignmentViewSet, basename="api-assignment")
router.register("milestones", MilestoneViewSet, basename="api-milestone")
router.register("submissions", SubmissionViewSet, basename="api-submission")
router.register("ratings", RatingViewSet, basename="api-rating")
router.register("messages", MessageViewSet, basename="api-message")
router.register("submission-files", SubmissionFileViewSet, basename="api-submission-file")
urlpatterns = router.urls
