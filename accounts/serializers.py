from rest_framework import serializers

from .models import ApiToken, Employer, StudentProfile, User, validate_time_zone
from .selectors import employer_for_user, student_profile_for
from .services import PROFILE_FIELDS


class StudentProfileSerializer(serializers.ModelSerializer):
    skills = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=30, required=False
    )
    portfolio_links = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=10, required=False
    )

    class Meta:
        model = StudentProfile
        # What a student may change (the profile service's list), and the public link.
        fields = [*PROFILE_FIELDS, "public_slug"]
        read_only_fields = ["public_slug"]


class EmployerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Employer
        fields = [
            "id",
            "name",
            "website",
            "description",
            "verified",
            "response_rate",
            "rating_average",
            "rating_count",
        ]
        # ``verified`` is set only by staff; the reputation figures by the applications side.
        read_only_fields = ["id", "verified", "response_rate", "rating_average", "rating_count"]


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user; ``student_profile`` for students, ``employer`` for employer members
    (null otherwise). A PATCH may change the name, the time zone and either part."""

    time_zone = serializers.CharField(
        max_length=64, validators=[validate_time_zone], required=False
    )
    student_profile = StudentProfileSerializer(required=False, allow_null=True)
    employer = EmployerSerializer(required=False, allow_null=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "role",
            "time_zone",
            "is_staff",
            "student_profile",
            "employer",
        ]
        read_only_fields = ["id", "email", "role", "is_staff"]

    def to_representation(self, user):
        # The two parts come from the selectors, not from attributes of the user row.
        profile = student_profile_for(user)
        employer = employer_for_user(user)
        return {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "time_zone": user.time_zone,
            "is_staff": user.is_staff,
            "student_profile": StudentProfileSerializer(profile).data if profile else None,
            "employer": EmployerSerializer(employer).data if employer else None,
        }


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(help_text="The token itself: shown this once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields
