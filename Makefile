# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test lint format migrate seed bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# The whole product on SQLite with a filesystem broker: web, Celery worker and beat together.
# Ctrl-C stops all three.
run: seed serve

serve: install
	@echo "Serving on http://$(HOST):$(PORT)/ with a Celery worker and beat (Ctrl-C stops all)."
	@trap 'kill 0' INT TERM; \
	$(BIN)/celery -A marketplace worker --beat --pool=solo --loglevel=INFO \
		--schedule=var/celerybeat-schedule & \
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT) & \
	wait

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_ENV=production DJANGO_SECRET_KEY=lint-only-$$(date +%s)-a-long-random-looking-secret-value-xyz \
		DJANGO_ALLOWED_HOSTS=example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/postings.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
