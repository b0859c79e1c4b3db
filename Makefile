# The two commands of the quick start: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test lint format migrate seed bench clean

# A virtualenv made with the system python3, reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The banner's login link names the address `make run` serves on.
seed: migrate
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py seed_demo

# The whole product on SQLite with a filesystem broker: web, Celery worker and beat together
# (manage.py serve). Ctrl-C stops all three.
run: seed
	$(BIN)/python manage.py serve $(HOST):$(PORT)

serve: install
	$(BIN)/python manage.py serve $(HOST):$(PORT)

# SQLite and eager tasks by default; DATABASE_URL / REDIS_URL / Chromium add the PostgreSQL,
# real-worker and browser tests (skipped with the reason when missing, failing when CI=true).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The production check uses the DATABASE_URL / REDIS_URL of the environment when they are set
# (CI); it only reads settings, so the placeholders below are never connected to.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# Every app; the payment providers strictly (pyproject's override).
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_ENV=production \
	DJANGO_SECRET_KEY=lint-only-$$(date +%s)-a-long-random-looking-secret-value-xyz \
	DJANGO_ALLOWED_HOSTS=example.com \
	DATABASE_URL=$${DATABASE_URL:-postgres://lint@127.0.0.1:5432/lint} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/postings.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
