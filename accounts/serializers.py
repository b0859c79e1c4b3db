from rest_framework import serializers

from .models import Employer, StudentProfile, User, validate_time_zone


class StudentProfileSerializer(serializers.ModelSerializer):
    skills = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=30, required=False
    )
    portfolio_links = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=10, required=False
    )

    class Meta:
        model = StudentProfile
        fields = [
            "school",
            "programme",
            "graduation_year",
            "skills",
            "hours_per_week",
            "bio",
            "portfolio_links",
            "record_public",
            "public_slug",
        ]
        read_only_fields = ["public_slug"]


class EmployerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Employer
        fields = ["id", "name", "website", "description", "verified"]
        read_only_fields = ["id", "verified"]


class MeSerializer(serializers.ModelSerializer):
    time_zone = serializers.CharField(
        max_length=64, validators=[validate_time_zone], required=False
    )
    student_profile = StudentProfileSerializer(required=False)
    employer = EmployerSerializer(required=False)

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
