from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import (
    Application,
    Assignment,
    Dispute,
    Message,
    Milestone,
    Rating,
    Submission,
    SubmissionFile,
)


class PartyBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class ApplicationSerializer(serializers.ModelSerializer):
    student = PartyBriefSerializer(read_only=True)
    posting_title = serializers.CharField(source="posting.title", read_only=True)
    cv_url = serializers.SerializerMethodField()
    assignment = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "posting",
            "posting_title",
            "student",
            "status",
            "cover_note",
            "answers",
            "portfolio_links",
            "cv_url",
            "rejection_message",
            "offer_expires_at",
            "closed_reason",
            "assignment",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cv_url(self, obj) -> str | None:
        return reverse("applications:cv", args=[obj.pk]) if obj.cv else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_assignment(self, obj) -> int | None:
        assignment = getattr(obj, "assignment", None)
        return assignment.pk if assignment else None


class ApplicationCreateSerializer(serializers.Serializer):
    posting = serializers.IntegerField()
    cover_note = serializers.CharField(max_length=settings.APPLICATION_COVER_NOTE_MAX)
    answers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        help_text='{"<screening question id>": "answer"}',
    )
    portfolio_links = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, max_length=5
    )
    cv = serializers.FileField(required=False)


class ApplicationRejectSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ApplicationOfferSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class DeliverableFileSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = SubmissionFile
        fields = ["id", "original_name", "size", "kind", "content_type", "download_url"]

    def get_download_url(self, obj) -> str:
        return reverse("api-submission-file-download", args=[obj.pk])


class SubmissionSerializer(serializers.ModelSerializer):
    files = DeliverableFileSerializer(many=True, read_only=True)

    class Meta:
        model = Submission
        fields = [
            "id",
            "milestone",
            "version",
            "note",
            "links",
            "files",
            "outcome",
            "feedback",
            "created_at",
            "reviewed_at",
        ]
        read_only_fields = fields


class SubmissionCreateSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    links = serializers.ListField(child=serializers.CharField(max_length=500), required=False)
    files = serializers.ListField(child=serializers.FileField(), required=False)


class MilestoneDisputeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dispute
        fields = [
            "id",
            "reason",
            "created_at",
            "resolution",
            "student_amount",
            "resolution_note",
            "resolved_at",
        ]
        read_only_fields = fields


class AssignmentMilestoneSerializer(serializers.ModelSerializer):
    dispute = serializers.SerializerMethodField()

    class Meta:
        model = Milestone
        fields = [
            "id",
            "assignment",
            "position",
            "title",
            "amount",
            "due_at",
            "status",
            "revisions_used",
            "submitted_at",
            "review_due_at",
            "approved_at",
            "auto_approved",
            "paid_at",
            "dispute",
        ]
        read_only_fields = fields

    @extend_schema_field(MilestoneDisputeSerializer(allow_null=True))
    def get_dispute(self, obj):
        dispute = getattr(obj, "dispute", None) if hasattr(obj, "dispute") else None
        return MilestoneDisputeSerializer(dispute).data if dispute else None


class AssignmentSerializer(serializers.ModelSerializer):
    student = PartyBriefSerializer(read_only=True)
    posting_title = serializers.CharField(source="posting.title", read_only=True)
    employer = serializers.CharField(source="posting.employer.name", read_only=True)
    milestones = AssignmentMilestoneSerializer(many=True, read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "application",
            "posting",
            "posting_title",
            "employer",
            "student",
            "status",
            "amount",
            "currency",
            "allowed_revisions",
            "starts_at",
            "ends_at",
            "funding_due_at",
            "funded_at",
            "completed_at",
            "cancelled_at",
            "cancel_reason",
            "rating_due_at",
            "milestones",
            "created_at",
        ]
        read_only_fields = fields


class RevisionRequestSerializer(serializers.Serializer):
    feedback = serializers.CharField(max_length=5000)


class DisputeOpenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=3000)


class DisputeResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Dispute.Resolution.choices)
    student_amount = serializers.IntegerField(
        required=False, min_value=0, help_text="For a split: the student's part (minor units)."
    )
    note = serializers.CharField(max_length=3000, required=False, allow_blank=True)


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["id", "assignment", "direction", "score", "comment", "created_at", "published"]
        read_only_fields = ["id", "direction", "created_at", "published"]

    published = serializers.SerializerMethodField()

    def get_published(self, obj) -> bool:
        return obj.published_at is not None


class RatingCreateSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ThreadMessageSerializer(serializers.ModelSerializer):
    sender = PartyBriefSerializer(read_only=True)

    class Meta:
        model = Message
        fields = ["id", "application", "sender", "body", "created_at"]
        read_only_fields = ["id", "sender", "created_at"]


class ThreadMessageCreateSerializer(serializers.Serializer):
    application = serializers.IntegerField()
    body = serializers.CharField(max_length=5000)
