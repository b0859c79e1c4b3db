"""Users, student profiles, employer organisations and their memberships.

The e-mail address is the login. A user is a student, an employer member or staff by ``role``.
Moderators are Django staff users (``is_staff``); ``createsuperuser`` makes them with the staff
role, so they neither apply as students nor act for an employer. A staff flag given to a
student or employer account keeps that account's own role beside the moderation rights.
"""

import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from marketplace.core import payout_countries


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone, e.g. Europe/Berlin.")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def members_of(self, employer_id: int):
        """The active users who act for this employer (its team): who is told of its news."""
        return self.filter(memberships__employer_id=employer_id, is_active=True)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        extra.setdefault("role", self.model.Role.STAFF)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        EMPLOYER = "employer", "Employer"
        STAFF = "staff", "Staff"

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STUDENT)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Dates and deadlines are shown in this time zone.",
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]

    @property
    def is_student(self) -> bool:
        return self.role == self.Role.STUDENT

    @property
    def is_employer(self) -> bool:
        return self.role == self.Role.EMPLOYER


class StudentProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="student_profile")
    school = models.CharField(max_length=200, blank=True)
    programme = models.CharField(max_length=200, blank=True)
    graduation_year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1950), MaxValueValidator(2100)]
    )
    # Skill names, normalised to lower case; postings match on them.
    skills = models.JSONField(default=list, blank=True)
    hours_per_week = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(80)],
        help_text="Hours per week you can work.",
    )
    bio = models.TextField(max_length=2000, blank=True)
    portfolio_links = models.JSONField(default=list, blank=True)
    # The verified record: a shareable page listing completed work, only when the student says so.
    public_slug = models.SlugField(max_length=32, unique=True, editable=False)
    record_public = models.BooleanField(
        default=False, help_text="Show my completed work at my public record link."
    )
    # Where the student is paid (asked at payout set-up; fixed once the payout account exists):
    # it decides the payout account's country and the currencies they can be paid in.
    payout_country = models.CharField(
        max_length=2, blank=True, choices=payout_countries.COUNTRY_CHOICES
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    def save(self, *args, **kwargs):
        if not self.public_slug:
            self.public_slug = secrets.token_urlsafe(12).lower().replace("_", "x").replace("-", "y")
        super().save(*args, **kwargs)


class Employer(models.Model):
    """An employer organisation; its members act for it."""

    name = models.CharField(max_length=150)
    website = models.URLField(blank=True)
    description = models.TextField(max_length=5000, blank=True)
    logo = models.ImageField(upload_to="logos/", blank=True)
    # Set only by staff, in the admin: verified employers may publish without review.
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Reputation, kept up to date by the applications side through ``employer_stats_set``:
    # the share of applications answered before the posting closed, and the students' ratings.
    response_rate = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    rating_average = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True, editable=False
    )
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    members = models.ManyToManyField(User, through="Membership", related_name="employers")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # An employer user belongs to one organisation.
            models.UniqueConstraint(fields=["user"], name="membership_one_employer_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.employer}"


class Invitation(models.Model):
    """An owner invites a colleague by e-mail; the link signs them up or in and joins them."""

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    token = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.employer}"

    def save(self, *args, **kwargs):
        if not self.token:
            self.token = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    @property
    def expires_at(self):
        return self.created_at + settings.INVITATION_VALID_FOR

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and timezone.now() < self.expires_at


class ApiToken(models.Model):
    """A named personal API token, like a personal access token elsewhere.

    Only a SHA-256 hash of the key is stored: the key is shown once, when it is made, and a
    copy of the database lets nobody act as the user. The prefix (the key's first characters)
    tells tokens apart in the list.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
