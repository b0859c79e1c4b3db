# The image for every application container of docker-compose.yml: web (gunicorn), the Celery
# worker, the one Celery beat and the one-off migrate. Configured entirely from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production \
    DJANGO_VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media \
    PRIVATE_MEDIA_ROOT=/app/private-media

WORKDIR /app

# The dependencies first, exactly as locked (every version pinned, every file's hash checked), so
# that a code change reuses this layer. requirements/runtime.txt: see requirements/README.md.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install --require-hashes --no-deps -r /tmp/runtime.txt \
    && rm /tmp/runtime.txt

COPY . .

# Static files are collected (hashed and compressed for whitenoise) into the image at build time.
# Production settings insist on their variables; these placeholders only let the settings load:
# nothing connects to them, and none of them reaches the running containers.
RUN DJANGO_SECRET_KEY=collectstatic-only-placeholder-not-used-at-run-time-0123456789 \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    REDIS_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --noinput \
    && rm -rf /app/var /tmp/build.sqlite3

# Run as an unprivileged user; only var/ (scratch space), media/ (logos) and private-media/
# (CVs and deliverables, never served directly) are writable.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin marketplace \
    && mkdir -p /app/var /app/media /app/private-media \
    && chown -R marketplace:marketplace /app/var /app/media /app/private-media
USER marketplace

EXPOSE 8000
CMD ["gunicorn", "marketplace.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
