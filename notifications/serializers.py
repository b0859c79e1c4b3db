from rest_framework import serializers

from .kinds import KINDS
from .models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    kind_label = serializers.SerializerMethodField()
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "kind_label", "title", "body", "link", "created_at", "read_at"]
        fields += ["is_read"]
        read_only_fields = fields

    def get_kind_label(self, obj) -> str:
        return KINDS.get(obj.kind, obj.kind)

    def get_is_read(self, obj) -> bool:
        return obj.read_at is not None


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were unread.")


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class KindPreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    group = serializers.CharField(read_only=True)
    email = serializers.BooleanField()

    def validate_kind(self, value: str) -> str:
        if value not in KINDS:
            raise serializers.ValidationError(f"Unknown notification kind: {value}.")
        return value


class PreferencesSerializer(serializers.Serializer):
    email_enabled = serializers.BooleanField(
        required=False, help_text="Off: no e-mail at all (the inbox still gets everything)."
    )
    kinds = KindPreferenceSerializer(
        many=True,
        required=False,
        help_text="E-mail on or off per kind. On PATCH, only the kinds listed change.",
    )


class CalendarSerializer(serializers.Serializer):
    url = serializers.URLField(read_only=True, help_text="The secret iCalendar feed URL.")
