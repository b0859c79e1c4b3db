"""The deployment files match the project: docker-compose.yml's services and commands point at
modules that exist, its containers set only variables the settings read (and those settings pass
``check --deploy``), the Dockerfile builds a non-root image with collected static files, and the
README documents every variable."""

import json
import os
import re
import shlex
import socket
import subprocess
from importlib import import_module
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.utils.module_loading import import_string

from tests.core.django_process import DjangoProcess

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (BASE_DIR / "marketplace" / "settings.py").read_text()
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: s for name, s in SERVICES.items() if "build" in s}
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()
README = (BASE_DIR / "README.md").read_text()

# Values for the variables docker-compose.yml requires from its .env file.
COMPOSE_INPUT = {
    "DJANGO_SECRET_KEY": "k3#vP9!qL2@wZ7$rT5^yN8&bM4*cX6(hJ1)dF0-gS-compose-test-secret-value",
    "DJANGO_ALLOWED_HOSTS": "marketplace.example.com",
    "SITE_URL": "https://marketplace.example.com",
    "POSTGRES_PASSWORD": "pw",
}


@pytest.fixture
def run_django(tmp_path):
    return DjangoProcess(tmp_path).run


def settings_env_names() -> set[str]:
    """Every environment variable marketplace/settings.py reads (env.*("X"), required("X"))."""
    names = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", SETTINGS_SOURCE))
    names |= set(re.findall(r"\brequired\(\s*\"([A-Z][A-Z0-9_]*)\"", SETTINGS_SOURCE))
    return names


def command_words(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution, and $$ escapes."""

    def substitute(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {arg}")
        return arg or ""

    value = re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, str(value))
    return value.replace("$$", "$")


def test_settings_env_names_are_found():
    names = settings_env_names()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ENV"} <= names


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_has_the_production_services():
    assert {"db", "redis", "migrate", "web", "worker", "beat"} <= set(SERVICES)
    assert SERVICES["db"]["image"].split(":")[1].startswith("16")
    assert SERVICES["db"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"] == "redis:7" or SERVICES["redis"]["image"].startswith(
        "redis:7"
    )
    assert set(APP_SERVICES) == {
        "migrate",
        "web",
        "worker",
        "worker-payments",
        "worker-email",
        "beat",
    }


def test_web_runs_gunicorn_on_the_projects_wsgi_application():
    words = command_words(SERVICES["web"])
    assert words[0] == "gunicorn"
    module, _, attribute = words[1].partition(":")
    application = getattr(import_module(module), attribute)
    assert callable(application)
    assert any(w.startswith("--bind=0.0.0.0:") for w in words)


WORKERS = ("worker", "worker-payments", "worker-email")


def test_worker_and_beat_run_the_projects_celery_app():
    for name in (*WORKERS, "beat"):
        words = command_words(SERVICES[name])
        assert words[:3] == ["celery", "-A", "marketplace"], name
        # `celery -A marketplace` finds the app as marketplace.celery_app.
        assert import_module("marketplace").celery_app.main == "marketplace"
    for name in WORKERS:
        assert command_words(SERVICES[name])[3] == "worker"
    assert command_words(SERVICES["beat"])[3] == "beat"


def test_workers_per_queue_group_cover_every_queue_once_with_their_own_health_check():
    from marketplace.core.queues import QUEUES

    consumed: list[str] = []
    for name in WORKERS:
        words = command_words(SERVICES[name])
        queues = words[words.index("-Q") + 1].split(",")
        consumed += queues
        node = words[words.index("-n") + 1]
        assert node.endswith("@%h"), name
        # The health check pings exactly this worker's node, on its own host.
        check = SERVICES[name]["healthcheck"]["test"]
        expected = f"worker_health --node {node.replace('%h', '$$HOSTNAME')}"
        assert expected in check[1], name
    assert sorted(consumed) == sorted(QUEUES)
    assert command_words(SERVICES["worker-payments"])[5] == "payments"


def test_web_and_beat_health_checks_use_their_own_checks():
    web = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "/readyz" in web
    assert SERVICES["beat"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "manage.py",
        "beat_health",
    ]


def test_exactly_one_beat_with_the_database_scheduler():
    beats = [
        name
        for name, service in SERVICES.items()
        if "beat" in command_words(service) or {"-B", "--beat"} & set(command_words(service))
    ]
    assert beats == ["beat"]
    assert SERVICES["beat"].get("deploy", {}).get("replicas", 1) == 1
    words = command_words(SERVICES["beat"])
    scheduler = next(w.split("=", 1)[1] for w in words if w.startswith("--scheduler="))
    module, _, cls = scheduler.partition(":")
    from django_celery_beat.schedulers import DatabaseScheduler

    assert issubclass(import_string(f"{module}.{cls}"), DatabaseScheduler)
    assert scheduler == settings.CELERY_BEAT_SCHEDULER


def test_migrations_run_once_before_the_app_starts():
    assert command_words(SERVICES["migrate"]) == ["python", "manage.py", "migrate", "--noinput"]
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", *WORKERS, "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_app_containers_set_only_variables_the_settings_read():
    known = settings_env_names()
    for name, service in APP_SERVICES.items():
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


def test_app_containers_point_at_the_compose_database_and_redis():
    for name, service in APP_SERVICES.items():
        env = {k: interpolate(v, COMPOSE_INPUT) for k, v in service["environment"].items()}
        assert env["DJANGO_ENV"] == "production", name
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_compose_refuses_to_start_without_its_secrets():
    web_env = SERVICES["web"]["environment"]
    for required in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "POSTGRES_PASSWORD"):
        given = {k: v for k, v in COMPOSE_INPUT.items() if k != required}
        with pytest.raises(KeyError, match=required):
            for value in web_env.values():
                interpolate(value, given)


def test_the_compose_environment_passes_check_deploy(run_django):
    """The variables exactly as the web container gets them: production settings load and pass."""
    env = {k: interpolate(v, COMPOSE_INPUT) for k, v in SERVICES["web"]["environment"].items()}
    result = run_django(args=["check", "--deploy", "--fail-level", "WARNING"], env=env)
    assert result.returncode == 0, result.stderr


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_builds_from_python_311_slim_as_a_non_root_user():
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in {"root", "0"}
    # The user is switched before the command runs, after everything that needs root.
    assert DOCKERFILE.rindex("USER ") > DOCKERFILE.rindex("RUN ")


def test_dockerfile_collects_static_files_at_build_time_in_production_mode():
    collect = next(block for block in DOCKERFILE.split("\nRUN ") if "collectstatic" in block)
    assert "--noinput" in collect
    assert "DJANGO_ENV=production" in DOCKERFILE
    # The settings it needs at build time are placeholders for required variables only.
    for name in re.findall(r"\b([A-Z][A-Z0-9_]+)=", collect):
        assert name in settings_env_names(), name


def test_dockerfile_sets_only_variables_the_settings_or_python_read():
    env_block = re.search(r"^ENV (.*?)\n\n", DOCKERFILE, re.M | re.S).group(1)
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", env_block))
    unknown = {n for n in names if not n.startswith(("PYTHON", "PIP_"))} - settings_env_names()
    assert not unknown, sorted(unknown)


def test_every_volume_of_the_app_is_writable_by_its_user():
    chown = next(line for line in DOCKERFILE.splitlines() if "chown" in line)
    for name, service in APP_SERVICES.items():
        for volume in service.get("volumes", []):
            target = volume.split(":")[1]
            assert target in chown.split(), f"{name}: {target} is not writable in the image"


def test_dockerfile_default_command_is_the_web_server():
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M).group(1))
    assert cmd[:2] == ["gunicorn", "marketplace.wsgi:application"]


def test_production_static_files_collect_and_pages_render(run_django, tmp_path):
    """What the image does at build time, then a page served with the hashed, compressed files."""
    env = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": COMPOSE_INPUT["DJANGO_SECRET_KEY"],
        "DJANGO_ALLOWED_HOSTS": "marketplace.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    collected = run_django(args=["collectstatic", "--noinput", "-v0"], env=env)
    assert collected.returncode == 0, collected.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert "css/site.css" in manifest["paths"]
    assert (tmp_path / "static" / (manifest["paths"]["css/site.css"] + ".gz")).exists()

    migrated = run_django(args=["migrate", "--noinput", "-v0"], env=env)
    assert migrated.returncode == 0, migrated.stderr
    served = run_django(
        code=(
            "import json\n"
            "from django.test import Client\n"
            "c = Client(HTTP_HOST='marketplace.example.com')\n"
            "home = c.get('/', secure=True)\n"
            "plain = c.get('/', secure=False)\n"
            "health = c.get('/healthz', secure=False)\n"
            "print(json.dumps({'home': home.status_code, 'html': home.content.decode(),\n"
            "  'hsts': home.headers.get('Strict-Transport-Security', ''),\n"
            "  'plain': plain.status_code, 'location': plain.headers.get('Location', ''),\n"
            "  'health': health.status_code}))\n"
        ),
        env=env,
    )
    assert served.returncode == 0, served.stderr
    answer = json.loads(served.stdout.strip().splitlines()[-1])
    assert answer["home"] == 200
    assert f"/static/{manifest['paths']['css/site.css']}" in answer["html"]
    assert "max-age=31536000" in answer["hsts"]
    assert answer["plain"] == 301 and answer["location"].startswith("https://")
    assert answer["health"] == 200  # the health checks are exempt from the HTTPS redirect


# --- README -----------------------------------------------------------------------------------


def test_readme_quick_start_is_make_run_and_make_test():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*(make \w+)\s*$", quick_start, re.M)
    assert commands == ["make run", "make test"]


def test_readme_documents_every_variable_the_settings_read():
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", README, re.M))
    missing = settings_env_names() - documented
    assert not missing, f"add these to the README's variable table: {sorted(missing)}"
    stale = documented - settings_env_names()
    assert not stale, f"the README documents variables settings.py no longer reads: {sorted(stale)}"


def test_env_example_names_only_variables_that_are_used():
    compose_inputs = set(re.findall(r"\$\{(\w+)", (BASE_DIR / "docker-compose.yml").read_text()))
    example = (BASE_DIR / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    unknown = names - settings_env_names() - compose_inputs
    assert not unknown, sorted(unknown)


# --- .ci/run ----------------------------------------------------------------------------------


def test_ci_fails_with_a_clear_message_when_postgresql_is_unreachable(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    # No local cluster to start in this test (CI would start one that is down).
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "pg_lsclusters").write_text("#!/bin/sh\nexit 0\n")
    (stubs / "pg_lsclusters").chmod(0o755)
    url = f"postgres://postgres@127.0.0.1:{closed_port}/test"
    result = subprocess.run(
        ["bash", str(BASE_DIR / ".ci" / "run")],
        env={**os.environ, "DATABASE_URL": url, "PATH": f"{stubs}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"CI FAILED: PostgreSQL is not reachable at {url}" in result.stderr
    assert "make test" not in result.stdout  # it stopped before the tests
