"""The site's own settings (same middleware, same apps), plus a hello view for the baseline."""

from marketplace.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
