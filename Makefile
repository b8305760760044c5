# ruralcast: the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
RURALCAST_HOST ?= 127.0.0.1
RURALCAST_PORT ?= 8000
# The web process (uvicorn) behind nginx, which takes RURALCAST_PORT.
RURALCAST_WEB_PORT ?= $(shell expr $(RURALCAST_PORT) + 1)
# Not 1883: Debian's mosquitto package starts a system broker there where systemd runs.
RURALCAST_MQTT_PORT ?= 18830
export RURALCAST_HOST RURALCAST_PORT RURALCAST_WEB_PORT
# Only the running platform is told where its broker is (the test suite starts its own brokers).
run: export RURALCAST_MQTT_PORT := $(RURALCAST_MQTT_PORT)
# nginx is in front in `make run`: stored files go out by X-Accel-Redirect after Django's check.
run: export RURALCAST_ACCEL_REDIRECT_PREFIX := /_protected/
# ...and the platform reads the client's address from nginx's X-Forwarded-For (uvicorn itself ignores it).
run: export RURALCAST_TRUSTED_PROXIES ?= 127.0.0.1/32
# The demo CAP feed (Procfile demofeed, a stand-in for the county meteorological bureau) on this
# machine: its port, and its host in the feed poller's allow-list.
run: export RURALCAST_DEMO_FEED_PORT ?= 18840
run: export RURALCAST_CAP_FEED_HOSTS ?= 127.0.0.1
# Listening on every address (RURALCAST_HOST=0.0.0.0, to look at the demo from another machine):
# the console answers to this machine's own addresses too.
run: export DJANGO_ALLOWED_HOSTS ?= $(shell scripts/allowed-hosts.sh $(RURALCAST_HOST))
PYTEST_WORKERS ?= 2
# The portal's JavaScript (first screen and player), checked at ES2017 by `make lint`.
PORTAL_JS := ruralcast/portal/static/portal/*.js ruralcast/web/static/vendor/lrud/lrud.js ruralcast/web/static/vendor/hls/hls.min.js ruralcast/web/static/vendor/hls/hls.light.min.js \
	ruralcast/web/static/vendor/htmx1/htmx.min.js

.PHONY: run test lint format drift test-sqlite test-postgres bench schema messages lock demo-passwords postgres clean help

help:
	@echo "make run    - install what is missing, set up the demo and start the platform"
	@echo "make test   - install what is missing and run lint, drift guards and the whole suite on SQLite and PostgreSQL"
	@echo "make lint | bench | schema | messages | lock | demo-passwords | postgres"

run:
	@scripts/bootstrap.sh run
	@$(PY) manage.py migrate --noinput -v0
	@$(PY) manage.py demo_setup
	@# Static files for nginx: symbolic links into the apps, so an edited file shows on reload.
	@$(PY) manage.py collectstatic --noinput --link --clear -v0
	@echo
	@if [ "$(RURALCAST_HOST)" = 0.0.0.0 ]; then for address in $$(scripts/allowed-hosts.sh 0.0.0.0 | tr , ' '); do \
	  echo "ruralcast console: http://$$address:$(RURALCAST_PORT)/   (API docs: /api/v1/docs)"; done; \
	else echo "ruralcast console: http://$(RURALCAST_HOST):$(RURALCAST_PORT)/   (API docs: /api/v1/docs)"; fi
	@echo "Log in with a user above or from $(CURDIR)/.run/demo-credentials.txt. Stop with Ctrl-C."
	@$(PY) -m honcho start -f Procfile

test:
	@scripts/bootstrap.sh test
	@$(MAKE) --no-print-directory lint drift test-sqlite test-postgres

# lint-imports: the import contracts in pyproject.toml ([tool.importlinter]; docs/architecture.md "Layers").
# es-check comes from npm (requirements/js); bootstrap installs it where it is missing or the lock changed.
JS_TOOLS := requirements/js/node_modules/.bin/es-check
$(JS_TOOLS): requirements/js/package-lock.json
	@scripts/bootstrap.sh test
	@touch $@

lint: $(JS_TOOLS)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy ruralcast config bench terminal/ruralcast_terminal
	$(PY) scripts/check_topics.py
	@# The villagers' portal runs on old TV browsers: its scripts stay at ES2017 (issue 17).
	$(JS_TOOLS) es2017 $(PORTAL_JS)

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# Drift guards: models without migrations, and an OpenAPI schema that differs from docs/openapi.json.
drift:
	DJANGO_SETTINGS_MODULE=config.django.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.django.test $(PY) manage.py openapi_schema --check docs/openapi.json

# Browser tests run in their own pytest run: Playwright's sync API keeps an event loop running in
# its worker, which the asyncio tests of the terminal agent cannot share. They drive a server set up
# like `make run` on its own SQLite file, so they run once, not per database.
test-sqlite:
	@echo "== test suite on SQLite =="
	.venv/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not browser"
	@echo "== browser tests (headless Chromium) =="
	.venv/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m browser

test-postgres:
	@echo "== test suite on PostgreSQL =="
	DATABASE_URL=$$(scripts/postgres.sh start) .venv/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not browser"

postgres:
	@scripts/postgres.sh start

# Every benchmark, each printing one JSON line that lands in docs/benchmarks.md. On PostgreSQL:
# BENCH_POSTGRES_URL=$(scripts/postgres.sh start) make bench (each a throwaway database of its own
# there); receipts and reporting compare both databases in any case.
bench:
	@scripts/bootstrap.sh test
	$(PY) bench/regions_import.py
	$(PY) bench/alerts.py
	$(PY) bench/receipts.py
	$(PY) bench/playout.py --part schedule
	$(PY) bench/live_voice.py
	$(PY) bench/reporting.py
	$(PY) bench/media.py
	$(PY) bench/fleet.py
	$(PY) bench/playlists.py
	$(PY) bench/portal.py
	$(PY) bench/common.py terminal/bench_crypto.py
	$(PY) bench/common.py terminal/bench_fanout.py
	$(PY) bench/common.py terminal/bench_clients.py

schema:
	DJANGO_SETTINGS_MODULE=config.django.test $(PY) manage.py openapi_schema --write docs/openapi.json

messages:
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=.run
	$(PY) manage.py compilemessages --ignore=.venv

lock:
	.venv/bin/uv pip compile -q --python-version 3.11 --generate-hashes requirements/base.in -o requirements/base.txt
	.venv/bin/uv pip compile -q --python-version 3.11 --generate-hashes requirements/demo.in -o requirements/demo.txt
	.venv/bin/uv pip compile -q --python-version 3.11 --generate-hashes requirements/dev.in -o requirements/dev.txt

demo-passwords:
	$(PY) manage.py demo_setup --reset-passwords

clean:
	scripts/postgres.sh stop
	rm -rf .run
