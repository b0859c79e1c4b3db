"""Settings, read from the environment (django-environ).

Every variable has an embedded default that runs with no servers (SQLite, a filesystem Celery
broker, a file cache, e-mail to the console), except in production: with
``DJANGO_ENV=production`` the secrets have no default and a missing one stops start-up with an
error that names it. The README lists every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# A .env file fills in what the environment does not set (tests point DJANGO_ENV_FILE elsewhere).
environ.Env.read_env(env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)
# The embedded defaults keep their files here: SQLite database, file cache, broker folders, media.
VAR_DIR = Path(env.str("DJANGO_VAR_DIR", default=str(BASE_DIR / "var")))

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
# The test configuration (pyproject.toml, via pytest-env) sets DJANGO_TESTING: the settings below
# then switch to in-process caches, fast hashing and eager tasks.
TESTING = env.bool("DJANGO_TESTING", default=False)


def required(name: str, dev_default: str) -> str:
    """A secret: its development default, or in production an error naming the variable."""
    if PRODUCTION:
        value = env.str(name, default="")
        if not value:
            raise ImproperlyConfigured(
                f"The environment variable {name} is required when DJANGO_ENV=production."
            )
        return value
    return env.str(name, default=dev_default)


SECRET_KEY = required("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghij")
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "The environment variable DJANGO_ALLOWED_HOSTS is required when DJANGO_ENV=production."
    )
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "django_prometheus",
    "marketplace.core",
    "accounts",
    "postings",
    "applications",
    "payments",
    "notifications",
]

MIDDLEWARE = [
    # First and last: request counts and latencies for /metrics (marketplace/core/metrics.py).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Pages and (outside production, where WhiteNoise serves pre-compressed files) static files
    # go out gzipped: a phone on a slow network waits for a fifth of the bytes. Django pads the
    # compressed body with random bytes (BREACH), and cached pages hold no CSRF token anyway.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "marketplace.core.links.RequestOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "marketplace.core.logs.RequestIdMiddleware",
    "marketplace.core.middleware.UserTimezoneMiddleware",
    "marketplace.core.middleware.UploadRedirectMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.core.context_processors.site",
                "notifications.context_processors.unread",
            ],
        },
    }
]

# --- Data -------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url_config(
        required("DATABASE_URL", f"sqlite:///{VAR_DIR / 'marketplace.sqlite3'}")
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
USING_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if USING_POSTGRES:
    # An unreachable server fails the request (and /readyz) quickly instead of hanging.
    # With the database down every page answers a quick 503 (marketplace.core.views.server_error).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Production needs Redis: the broker and cache must be shared by every container.
REDIS_URL = required("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # A Redis that does not answer degrades to "no cache" (logged), never to an error.
            "BACKEND": "marketplace.core.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="marketplace"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    # A file cache is shared by the web process and the Celery worker, which the health check's
    # task round-trip and the rate limits both need; local memory would not be.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# After a cache error a process answers without the cache for this long before it tries again.
CACHE_DOWN_RETRY_SECONDS = env.float("CACHE_DOWN_RETRY_SECONDS", default=5.0)

AUTH_USER_MODEL = "accounts.User"
SITE_ID = 1

# --- Auth (django-allauth) --------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# allauth's forms with the site's wording (labels in sentence case, one spelling of e-mail).
ACCOUNT_FORMS = {
    "signup": "accounts.forms.SignupForm",
    "login": "accounts.forms.LoginForm",
    "change_password": "accounts.forms.ChangePasswordForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
    "reset_password_from_key": "accounts.forms.ResetPasswordKeyForm",
    "add_email": "accounts.forms.AddEmailForm",
}
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Micro-internships] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# Sign-up keeps the visitor's place: the e-mail link confirms on the first click (no extra
# "Confirm" page) and logs the user in and on to the `next` page they started from. allauth logs
# in only the browser whose session signed up, so a link scanner or a forwarded e-mail confirms
# the address but never opens a session; elsewhere the link confirms and shows the login page.
ACCOUNT_CONFIRM_EMAIL_ON_GET = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Rate limits on login, sign-up and password reset (allauth keeps the counters in the cache).
ACCOUNT_RATE_LIMITS = {
    "login": env.str("RATE_LIMIT_LOGIN", default="30/m/ip"),
    "login_failed": env.str("RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env.str("RATE_LIMIT_SIGNUP", default="20/m/ip"),
    "reset_password": env.str("RATE_LIMIT_RESET_PASSWORD", default="20/m/ip,5/m/key"),
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}

# Two-factor authentication (allauth.mfa): an authenticator app (TOTP) and recovery codes.
# Required for staff (accounts.middleware), offered to everyone in the account settings.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Micro-internships"
MFA_TOTP_TOLERANCE = 1  # a code of the step before or after counts too (clock drift)
# Personal API tokens: made only within this many seconds of a log-in (or a repeated password
# or code), at most this many per user.
API_TOKEN_RECENT_LOGIN_SECONDS = env.int("API_TOKEN_RECENT_LOGIN_SECONDS", default=600)
API_TOKENS_MAX = env.int("API_TOKENS_MAX", default=10)

# --- Internationalisation: instants stored in UTC, shown in the viewer's time zone ------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MAX_LOGO_BYTES = env.int("MAX_LOGO_BYTES", default=2 * 1024 * 1024)

# --- E-mail -----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Micro-internships <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes an anonymous request a 401, not a 403.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "marketplace.core.api.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["marketplace.core.api.FilterBackend"],
    # Documents every operation's error answers (marketplace/core/schema.py).
    "DEFAULT_SCHEMA_CLASS": "marketplace.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.core.api.exception_handler",
    # Throttling (marketplace/core/throttling.py): per anonymous IP, per user, and per user for
    # the writes that cost others (new postings, applications, messages, reports).
    "DEFAULT_THROTTLE_CLASSES": [
        # Per anonymous IP and per user (anonymous: per IP), in one throttle (RateThrottle).
        "marketplace.core.throttling.RateThrottle",
        "marketplace.core.throttling.CostlyWriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "postings": env.str("API_THROTTLE_POSTINGS", default="20/hour"),
        "applications": env.str("API_THROTTLE_APPLICATIONS", default="30/hour"),
        "messages": env.str("API_THROTTLE_MESSAGES", default="60/hour"),
        "reports": env.str("API_THROTTLE_REPORTS", default="10/hour"),
    },
    # Proxies in front of the app: 0 takes REMOTE_ADDR as the client (an X-Forwarded-For that a
    # client sends itself cannot pick a fresh bucket); behind one proxy set 1.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Micro-internship marketplace API",
    "DESCRIPTION": "Postings, applications, assignments and payments for short, paid student work.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery -----------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A message a dead worker held unacknowledged is delivered again after this long: longer
    # than any task's hard limit and any retry countdown (marketplace/core/queues.py).
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    }
else:
    # A broker that needs no server: messages are files in var/broker, shared by every process.
    CELERY_BROKER_URL = "filesystem://localhost//"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Without this the transport writes its control files into ./control of the cwd.
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queues by kind of work (payments, email, sweeps, default), per-task limits and redelivery:
# all in marketplace/core/queues.py.
CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared, so that a worker started without -Q (make run, the tests) consumes all four.
CELERY_TASK_QUEUES = [Queue(name) for name in ("payments", "email", "sweeps", "default")]
CELERY_TASK_ROUTES = ("marketplace.core.queues.route",)
CELERY_TASK_ANNOTATIONS = ("marketplace.core.queues.Annotations",)
# django-celery-beat's database scheduler, writing a heartbeat file that beat_health reads.
CELERY_BEAT_SCHEDULER = "marketplace.core.beat:HeartbeatScheduler"
BEAT_HEARTBEAT_FILE = env.str("BEAT_HEARTBEAT_FILE", default=str(VAR_DIR / "beat.heartbeat"))
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=120)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A send the broker refuses is retried briefly, then kept in the outbox (marketplace.core.outbox)
# and sent again by core.outbox_flush: the request that enqueued it does not wait for Redis.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
OUTBOX_FLUSH_BATCH = env.int("OUTBOX_FLUSH_BATCH", default=200)
# The beat schedule: each app adds its periodic sweeps here (kept in code, synced to the
# database scheduler by django-celery-beat on start).
CELERY_BEAT_SCHEDULE: dict = {
    "core-outbox-flush": {"task": "core.outbox_flush", "schedule": 60.0},
}

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content Security Policy: everything from our own origin, no inline script anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Logging ----------------------------------------------------------------------------------
# One JSON object per line in production (plain text in development), every line with the request
# id, user id and task id it belongs to (marketplace/core/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "marketplace.core.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "marketplace.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Workers log through the handler above too (with the task id), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Object storage ---------------------------------------------------------------------------
# With a bucket, every uploaded file lives there (marketplace/core/storage.py); without, on disk.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_S3_FILE_OVERWRITE = False
AWS_S3_SIGNATURE_VERSION = "s3v4"
# How a private file is handed out after the permission check: "redirect" to a pre-signed URL
# valid this many seconds, or "stream" through the web node.
PRIVATE_FILES_SERVE = env.str("PRIVATE_FILES_SERVE", default="redirect")
if PRIVATE_FILES_SERVE not in {"redirect", "stream"}:
    raise ImproperlyConfigured("PRIVATE_FILES_SERVE must be 'redirect' or 'stream'.")
PRIVATE_FILE_URL_SECONDS = env.int("PRIVATE_FILE_URL_SECONDS", default=60)
S3_STORAGES = {
    "default": {"BACKEND": "marketplace.core.s3.PublicS3Storage"},
    "private": {"BACKEND": "marketplace.core.s3.PrivateS3Storage"},
}

# --- Metrics and error reports ----------------------------------------------------------------
# /metrics answers a request with "Authorization: Bearer <METRICS_TOKEN>" or from these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
METRICS_BUSINESS_SECONDS = env.int("METRICS_BUSINESS_SECONDS", default=60)
# A folder shared by a node's gunicorn workers: each writes its request counters there and
# /metrics sums them (prometheus_client's multiprocess mode; gunicorn.conf.py empties it at start).
# prometheus_client reads the variable itself; it is named here to be documented and checked.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
PROMETHEUS_EXPORT_MIGRATIONS = False
# Query counts and latencies per database (django-prometheus's wrapper of the same backend).
if env.bool("METRICS_DATABASE", default=PRODUCTION):
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
        "django.db.backends.", "django_prometheus.db.backends.", 1
    )
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    # Django and Celery are found and instrumented by the SDK's default integrations.
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=DJANGO_ENV,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )

# --- Product rules ----------------------------------------------------------------------------
SUPPORTED_CURRENCIES = env.list("SUPPORTED_CURRENCIES", default=["USD", "EUR", "GBP", "CAD"])
INVITATION_VALID_FOR = timedelta(days=env.int("INVITATION_VALID_DAYS", default=14))

# --- Tests ------------------------------------------------------------------------------------
if TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Tasks run in-process unless a test starts a real worker (tests/conftest.py).
    CELERY_TASK_ALWAYS_EAGER = True
    MEDIA_ROOT = VAR_DIR / "test-media"
    LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]

# --- Notifications and reminders --------------------------------------------------------------
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", default=200)
CELERY_BEAT_SCHEDULE["notifications-send-due-reminders"] = {
    "task": "notifications.send_due_reminders",
    "schedule": 60.0,
}
# The e-mail outbox: a notification whose e-mail task was lost (broker down at commit) is
# enqueued again after this long; older than the maximum age it is not sent at all.
NOTIFICATION_EMAIL_REQUEUE_AFTER = timedelta(
    minutes=env.int("NOTIFICATION_EMAIL_REQUEUE_AFTER_MINUTES", default=10)
)
NOTIFICATION_EMAIL_MAX_AGE = timedelta(
    hours=env.int("NOTIFICATION_EMAIL_MAX_AGE_HOURS", default=24)
)
CELERY_BEAT_SCHEDULE["notifications-requeue-emails"] = {
    "task": "notifications.requeue_emails",
    "schedule": 300.0,
}

# --- Postings ---------------------------------------------------------------------------------
# Minimum pay per estimated hour of paid work, in minor units; below it a moderator must approve.
PAY_FLOOR_PER_HOUR = env.int("PAY_FLOOR_PER_HOUR", default=2000)
# The largest total per assignment (minor units); anything above is refused as a typo.
POSTING_MAX_AMOUNT = env.int("POSTING_MAX_AMOUNT", default=5_000_000)
# This many open reports suspend a published posting until a moderator looks.
REPORTS_TO_SUSPEND = env.int("REPORTS_TO_SUSPEND", default=3)
POSTING_SWEEP_BATCH_SIZE = env.int("POSTING_SWEEP_BATCH_SIZE", default=200)
CELERY_BEAT_SCHEDULE["postings-close-due"] = {"task": "postings.close_due", "schedule": 60.0}
# Anonymous visitors' list pages (browser and API) are cached this long, keyed by a version that
# every posting change bumps (0 switches the cache off; off under tests unless a test enables it).
_PAGE_CACHE_DEFAULT = 0 if TESTING else 60
POSTINGS_PAGE_CACHE_SECONDS = env.int("POSTINGS_PAGE_CACHE_SECONDS", default=_PAGE_CACHE_DEFAULT)
# A search sorted by relevance ranks at most this many matches (see postings.selectors).
POSTINGS_SEARCH_CANDIDATES = env.int("POSTINGS_SEARCH_CANDIDATES", default=300)
# Saved searches: at most this many per student; each one's digest of new postings goes out once
# a day at this hour of the student's time zone (the sweep runs every minute and picks what is due).
SAVED_SEARCHES_MAX = env.int("SAVED_SEARCHES_MAX", default=20)
SAVED_SEARCH_DIGEST_HOUR = env.int("SAVED_SEARCH_DIGEST_HOUR", default=8)
CELERY_BEAT_SCHEDULE["postings-saved-search-digests"] = {
    "task": "postings.send_saved_search_digests",
    "schedule": 60.0,
}
# Staff get one digest of the postings waiting for review at most this often (when new ones came).
MODERATION_DIGEST_MINUTES = env.int("MODERATION_DIGEST_MINUTES", default=60)
CELERY_BEAT_SCHEDULE["postings-moderation-digest"] = {
    "task": "postings.send_moderation_digest",
    "schedule": MODERATION_DIGEST_MINUTES * 60.0,
}

# --- Applications, assignments and deliverables -----------------------------------------------
# CVs and deliverables: a storage with no URL, outside MEDIA_ROOT (default: a "private-media"
# folder next to it); files are only ever sent by a view that checks permission.
PRIVATE_MEDIA_ROOT = env.str("PRIVATE_MEDIA_ROOT", default="")
STORAGES["private"] = {"BACKEND": "applications.storage.PrivateFileSystemStorage"}
if AWS_STORAGE_BUCKET_NAME:  # the bucket instead (Object storage, above)
    STORAGES.update(S3_STORAGES)
APPLICATION_COVER_NOTE_MIN = env.int("APPLICATION_COVER_NOTE_MIN", default=50)
APPLICATION_COVER_NOTE_MAX = env.int("APPLICATION_COVER_NOTE_MAX", default=3000)
# An offer must be answered within this time (and never later than the work's start).
OFFER_RESPONSE_WINDOW = timedelta(hours=env.int("OFFER_RESPONSE_HOURS", default=72))
# A paid assignment not funded within this time after acceptance is cancelled; the seat frees.
FUNDING_WINDOW = timedelta(hours=env.int("FUNDING_WINDOW_HOURS", default=72))
# An employer who does not review a submission within this time approves it automatically.
REVIEW_WINDOW = timedelta(days=env.int("REVIEW_WINDOW_DAYS", default=7))
RATING_WINDOW = timedelta(days=env.int("RATING_WINDOW_DAYS", default=14))
# Deliverable uploads: per file size, files per submission, and the types allowed (checked by
# content and by extension): pdf png jpeg gif zip docx xlsx pptx txt md csv.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
UPLOAD_MAX_FILES = env.int("UPLOAD_MAX_FILES", default=5)
UPLOAD_ALLOWED_TYPES = env.list(
    "UPLOAD_ALLOWED_TYPES",
    default=["pdf", "png", "jpeg", "gif", "zip", "docx", "xlsx", "pptx", "txt", "md", "csv"],
)
CV_ALLOWED_TYPES = env.list("CV_ALLOWED_TYPES", default=["pdf", "docx", "txt", "md"])
CV_MAX_BYTES = env.int("CV_MAX_BYTES", default=5 * 1024 * 1024)
# Reminders (hours): before an offer expires; after acceptance while funding is pending;
# before a milestone is due; before automatic approval; before the rating window closes.
REMINDER_OFFER_BEFORE = timedelta(hours=env.int("REMINDER_OFFER_BEFORE_HOURS", default=24))
REMINDER_FUNDING_AFTER = timedelta(hours=env.int("REMINDER_FUNDING_AFTER_HOURS", default=24))
REMINDER_MILESTONE_DUE_BEFORE = [
    timedelta(hours=int(h))
    for h in env.list("REMINDER_MILESTONE_DUE_BEFORE_HOURS", default=["48", "2"])
]
REMINDER_AUTO_APPROVAL_BEFORE = [
    timedelta(hours=int(h))
    for h in env.list("REMINDER_AUTO_APPROVAL_BEFORE_HOURS", default=["48", "24"])
]
# A funded assignment's student without a ready payout account is reminded once, this long
# before the first milestone is due.
REMINDER_PAYOUT_ACCOUNT_BEFORE = timedelta(
    hours=env.int("REMINDER_PAYOUT_ACCOUNT_BEFORE_HOURS", default=72)
)
REMINDER_RATING_BEFORE = timedelta(hours=env.int("REMINDER_RATING_BEFORE_HOURS", default=72))
APPLICATIONS_SWEEP_BATCH_SIZE = env.int("APPLICATIONS_SWEEP_BATCH_SIZE", default=200)
for _name, _task in {
    "applications-expire-offers": "applications.expire_offers",
    "applications-expire-unfunded": "applications.expire_unfunded",
    "applications-auto-approve": "applications.auto_approve",
    "applications-close-for-closed-postings": "applications.close_for_closed_postings",
    "applications-publish-ratings": "applications.publish_ratings",
}.items():
    CELERY_BEAT_SCHEDULE[_name] = {"task": _task, "schedule": 60.0}

# --- Payments ---------------------------------------------------------------------------------
# No STRIPE_SECRET_KEY: the offline test provider ("test mode: no real money moves").
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# The signing secrets of the webhook endpoints (platform and Connect), comma-separated.
STRIPE_WEBHOOK_SECRET = env.list("STRIPE_WEBHOOK_SECRET", default=[])
# Only for a local stand-in of the Stripe API (tests); empty means Stripe itself.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=20.0)
STRIPE_NETWORK_RETRY_DELAY = env.float("STRIPE_NETWORK_RETRY_DELAY", default=0.5)
# The platform's own country: students elsewhere get Stripe's "recipient" service agreement.
PAYMENTS_PLATFORM_COUNTRY = env.str("PAYMENTS_PLATFORM_COUNTRY", default="US")
PLATFORM_FEE_PERCENT = env.int("PLATFORM_FEE_PERCENT", default=10)
# A payout (or refund) whose provider call failed transiently is retried with exponential
# backoff from PAYOUT_RETRY_BASE_SECONDS; after PAYOUT_MAX_RETRIES attempts it waits for staff.
PAYOUT_MAX_RETRIES = env.int("PAYOUT_MAX_RETRIES", default=8)
PAYOUT_RETRY_BASE_SECONDS = env.int("PAYOUT_RETRY_BASE_SECONDS", default=60)
# A payout left "processing" longer than this (a worker died mid-call) is run again.
PAYOUT_PROCESSING_LEASE = timedelta(seconds=env.int("PAYOUT_PROCESSING_LEASE_SECONDS", default=600))
PAYMENTS_SWEEP_BATCH = env.int("PAYMENTS_SWEEP_BATCH", default=500)
CELERY_BEAT_SCHEDULE["payments-sweep"] = {"task": "payments.sweep", "schedule": 60.0}
# The nightly reconciliation checks this many fundings per task (each within its time limit).
RECONCILE_CHUNK_SIZE = env.int("RECONCILE_CHUNK_SIZE", default=100)
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.reconcile",
    "schedule": crontab(hour=3, minute=17),
}
# Provider idempotency keys start with this, so that two environments sharing one Stripe account
# (staging and a developer's machine) never answer each other's keys.
PAYMENTS_IDEMPOTENCY_NAMESPACE = env.str(
    "PAYMENTS_IDEMPOTENCY_NAMESPACE", default="test" if TESTING else DJANGO_ENV
)
# A transfer refused for the platform balance ("balance_insufficient") is tried again this much
# later, without counting against PAYOUT_MAX_RETRIES (it waits for money, not for a fix).
PAYOUT_BALANCE_RETRY_SECONDS = env.int("PAYOUT_BALANCE_RETRY_SECONDS", default=3600)
# The sweep hands a due payout or refund to a task and leaves it alone this long; a message lost
# with a killed worker is handed over again after it.
PAYMENTS_CLAIM_SECONDS = env.int("PAYMENTS_CLAIM_SECONDS", default=120)
# In this many seconds before an assignment's funding deadline the sweep retrieves its open
# Checkout Sessions every minute and fulfils a paid one (a lost webhook loses no payment).
FUNDING_CHECK_AHEAD_SECONDS = env.int("FUNDING_CHECK_AHEAD_SECONDS", default=1800)
# A webhook event whose handling failed this many times stops being retried; staff are told.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)

# --- Credentials (Open Badges 3.0) ------------------------------------------------------------
INSTALLED_APPS.append("credentials")
# The private JWK that signs credentials (see credentials/keys.py); empty outside production means
# a development key derived from SECRET_KEY. Rotation: the old key moves to the list below.
CREDENTIALS_SIGNING_KEY = env.str("CREDENTIALS_SIGNING_KEY", default="")
CREDENTIALS_PREVIOUS_KEYS = env.str("CREDENTIALS_PREVIOUS_KEYS", default="")
# 0: credentials of completed work do not expire.
CREDENTIALS_VALID_DAYS = env.int("CREDENTIALS_VALID_DAYS", default=0)
SUPERVISOR_LINK_VALID_DAYS = env.int("SUPERVISOR_LINK_VALID_DAYS", default=60)

# --- Sessions ---------------------------------------------------------------------------------
# Sessions are read from the cache (Redis in production) and written through to the database,
# so a signed-in request costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
