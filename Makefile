# The two commands (see README): `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run smoke test lint venv clean-data

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## run: set up, start embedded PostgreSQL + Redis (unless DATABASE_URL/REDIS_URL), migrate, seed, serve
run: $(STAMP)
	$(BIN)/python scripts/run.py

## smoke: the run command, but stop once the site answers
smoke: $(STAMP)
	$(BIN)/python scripts/run.py --smoke

## test: set up, lint, check migrations and the project, run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=true $(BIN)/python manage.py check
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## clean-data: forget the embedded database and Redis (the demo data comes back on `make run`)
clean-data:
	$(BIN)/python -c "from pathlib import Path; from calaim import embedded; embedded.stop_all(Path('.data'))" || true
	rm -rf .data
