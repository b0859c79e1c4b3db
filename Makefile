# The two commands of the quick start: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

UV := $(BIN)/uv
# The lock files: exact versions with hashes, for every platform (see requirements/README.md).
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet

.PHONY: install run serve test lint format migrate seed bench clean lock upgrade uv

# Python keeps the bytecode of what it imports (in __pycache__, ignored by git). A shell with
# PYTHONDONTWRITEBYTECODE set would make every process of `make run` (migrate, seed_demo, the web
# server, the worker) compile the same ~1,700 modules again; here the first one writes them.
unexport PYTHONDONTWRITEBYTECODE

# A virtualenv made with the system python3, with exactly the locked versions (hashes checked);
# reinstalled whenever pyproject.toml or a lock file changes. A dependency added to pyproject.toml
# and not yet in the lock is locked first (keeping every other pin): commit the lock files.
$(STAMP): pyproject.toml requirements/dev.txt requirements/tools.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	@test -x $(UV) || $(MAKE) --no-print-directory uv
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r requirements/dev.txt
	@$(BIN)/python requirements/check_lock.py || { $(MAKE) --no-print-directory lock \
		&& $(UV) pip install --quiet --python $(BIN)/python --require-hashes -r requirements/dev.txt; }
	@touch $(STAMP)

# uv, the installer, bootstrapped into the virtualenv by the system's pip (no pip in .venv: a
# virtualenv without it is made in a second instead of tens). pip does not ask PyPI whether a
# newer pip exists (a network round trip, or a wait for a timeout when offline).
uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --disable-pip-version-check --python $(BIN)/python \
		install --quiet --require-hashes -r requirements/tools.txt \
		|| { $(BIN)/python -m ensurepip --default-pip >/dev/null \
		&& $(BIN)/python -m pip --disable-pip-version-check \
		install --quiet --require-hashes -r requirements/tools.txt; }

# Lock what pyproject.toml asks for, keeping the versions already locked where they still fit.
lock:
	@test -x $(UV) || $(MAKE) --no-print-directory uv
	$(UV) pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/runtime.txt
	$(UV) pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements/dev.txt

# The newest versions pyproject.toml allows; review the diff, run the tests, commit.
upgrade:
	@test -x $(UV) || $(MAKE) --no-print-directory uv
	$(UV) pip compile pyproject.toml --upgrade $(LOCK_FLAGS) -o requirements/runtime.txt
	$(UV) pip compile pyproject.toml --extra dev --upgrade $(LOCK_FLAGS) -o requirements/dev.txt
	$(MAKE) --no-print-directory install

install: $(STAMP)

# The system checks run once, when `serve` starts runserver; migrate and seed_demo skip them (they
# import every view and URL module, a few seconds each time).
migrate: install
	$(BIN)/python manage.py migrate --noinput --skip-checks

# The banner's login link names the address `make run` serves on.
seed: migrate
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py seed_demo --skip-checks

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
	$(BIN)/python requirements/check_lock.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# Every app; the payment providers strictly (pyproject's override).
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check_migrations
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
