# Developer shortcuts. Everything runs from the project's own .venv, so a fresh
# clone needs nothing but python3 (and make) to get going.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
URL    := http://127.0.0.1:8000

.PHONY: run test e2e screenshots lint graph messages clean

# Reinstall only when pyproject.toml changed since the last install: pip is slow
# even when there is nothing to do. Order-only on the venv, because a freshly
# made venv has no stamp and so installs anyway.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

$(PY):
	$(PYTHON) -m venv $(VENV)

run: export DEBUG = 1
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_lab --with-tickets
	@echo
	@echo "  Portal (end users)  $(URL)/"
	@echo "  Agent console       $(URL)/agents/"
	@echo "  Admin               $(URL)/admin/"
	@echo
	@# The demo logins: load_lab above has just printed them.
	@# Without a broker there is no Celery beat: the SLA watch and the lifecycle timers run
	@# every minute in a process of their own beside the dev server, and stop with it.
	$(PY) manage.py run_timers --loop & timers=$$!; \
	trap 'kill $$timers 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	$(VENV)/bin/pytest

# The real-browser scenarios alone (Chromium at /usr/bin/chromium: apt-get install chromium).
e2e: $(STAMP)
	$(VENV)/bin/pytest -m e2e

# Retake the scenarios' screenshots into docs/screenshots/ (the README shows four of them).
screenshots: $(STAMP)
	E2E_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -m e2e

# Management commands with the settings `make run` uses (DEBUG on; SQLite, mail and uploads under
# var/): `make shell`, or `make manage ARGS="createsuperuser"`. A bare `python manage.py ...` gets
# the production defaults, and stops at once without a SECRET_KEY.
.PHONY: shell manage
shell manage: export DEBUG = 1
shell: $(STAMP)
	$(PY) manage.py shell

manage: $(STAMP)
	$(PY) manage.py $(ARGS)

# ruff, then the import contracts of pyproject.toml ([tool.importlinter]; docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/lint-imports

# Needs Graphviz's `dot` program on PATH (Debian: apt-get install graphviz);
# the Python package alone only writes the .dot source.
graph: $(STAMP)
	@command -v dot >/dev/null || { echo "make graph needs Graphviz's 'dot' (apt-get install graphviz)" >&2; exit 1; }
	DEBUG=1 $(PY) manage.py graph_transitions -o docs/lifecycle.svg tickets.Ticket
	@# graphviz also leaves its .dot source beside the picture; only the SVG is kept.
	rm -f docs/lifecycle

# The translation catalogues (locale/; docs/i18n.md): every string of the code and the
# templates into each shipped language's .po (new ones empty, for a translator), then
# compiled to the .mo files Django reads. Needs GNU gettext (Debian: apt-get install gettext).
# tests/i18n/ runs the same extraction and fails on a string the catalogues lack.
MESSAGES_IGNORE := --ignore=.venv --ignore=tests --ignore=bench --ignore=docs --ignore=var --ignore=build --ignore=deploy
messages: $(STAMP)
	DEBUG=1 $(PY) manage.py makemessages -l fr -l de -l ar --no-obsolete --add-location=file $(MESSAGES_IGNORE)
	DEBUG=1 $(PY) manage.py compilemessages $(MESSAGES_IGNORE)

# Keeps .venv (slow to rebuild); var/ holds the local SQLite database, mail and
# uploads, all of which `make run` recreates.
clean:
	rm -rf var/ build/ *.egg-info .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
