# One verb per target. `make run` and `make test` are the only two commands a user needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT
NPM := $(shell command -v npm)

.PHONY: run test test-fast lint tools check catalogue safety-report interview-report docs soak lock clean bench browser

# durable-rules ships only an sdist: it is compiled with gcc against the pinned setuptools,
# never a newer one pulled in by build isolation (dependencies.md 1.1).
$(BIN)/.runtime: requirements.lock requirements-build.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else "forefoot-triage needs Python 3.11 or 3.12 (durable-rules does not import on 3.13)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements-build.lock
	$(BIN)/python -m pip install -q --require-hashes --no-build-isolation -r requirements.lock
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.lock
	$(BIN)/python -m pip install -q --require-hashes --no-build-isolation -r requirements-dev.lock
	touch $@

# Spectral and Redocly (npm) lint openapi.yaml; openapi-typescript, openapi-fetch and TypeScript
# build the TypeScript example client (examples/). Without npm they are skipped here, and so are
# their tests.
# --ignore-scripts: no install script runs (one dependency's postinstall only sends telemetry).
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

tools: $(if $(NPM),node_modules/.installed)
	@$(if $(NPM),:,echo "npm not found: Spectral, Redocly and the TypeScript tools not installed; their tests are skipped")

run: $(BIN)/.runtime
	$(BIN)/gunicorn -c gunicorn.conf.py service.wsgi:app

# Branch coverage of service/ measured on every run, with a floor. Two workers (pytest-xdist):
# much of the suite waits on real servers, browsers and node; pytest-cov combines both workers'
# coverage. worksteal, not loadfile: loadfile groups by test id and would run one of
# schemathesis' twenty test_contract items (they share one id).
test: $(BIN)/.dev tools
	$(BIN)/python -m pytest -n 2 --dist worksteal --cov --cov-fail-under=95 --durations=15

# The quick loop (about 25 s on an idle 2-core machine): no real server, browser, property test,
# contract check or app of its own, few hypothesis examples; bytecode is cached between runs.
test-fast: $(BIN)/.dev
	env -u PYTHONDONTWRITEBYTECODE HYPOTHESIS_PROFILE=fast $(BIN)/python -m pytest -q -p no:schemathesis \
	  -m "not (system or browser or property or contract or slow)" \
	  --ignore=tests/system --ignore=tests/contract --ignore=tests/web/test_browser.py \
	  --ignore=tests/web/test_interview_browser.py

# Debian's headless chromium and chromedriver for tests/web/test_browser.py (skipped without
# them). Needs root, as .ci/run has; `make test` itself never installs them.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium chromium-driver fonts-dejavu-core)

# Rule review (rules/README.md): cases and coverage, the catalogue, the safety report.
check: $(BIN)/.runtime
	$(BIN)/python -m service.review check

catalogue: $(BIN)/.runtime
	$(BIN)/python -m service.review catalogue --out docs/rules.md

safety-report: $(BIN)/.runtime
	$(BIN)/python -m service.review report --out docs/safety-report.md

# Every vignette and rule case replayed as a patient of POST /v1/interview: questions asked and
# any disposition differing from the full form's (must be none; tests/test_interview_report.py).
interview-report: $(BIN)/.runtime
	$(BIN)/python -m service.review.interview_report --out docs/interview-report.md

# After a rule change: every generated document, then commit them with the change.
docs: catalogue safety-report interview-report $(BIN)/.dev
	$(BIN)/python -m tools.readme

# The service against a bare Flask endpoint under the same gunicorn settings, driven by wrk
# (Debian package, installed here when missing); writes docs/benchmarks.md.
bench: $(BIN)/.dev
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

# 100,000 requests against the real server on 127.0.0.1; worker RSS must grow less than 5 MB.
soak: $(BIN)/.dev
	$(BIN)/python scripts/soak.py

lint: $(BIN)/.dev tools
	$(BIN)/ruff check service tests tools bench scripts examples
	$(BIN)/ruff format --check service tests tools bench scripts examples
	$(BIN)/mypy service bench
	$(BIN)/lint-imports
	$(BIN)/openapi-spec-validator openapi.yaml
	$(BIN)/hadolint Dockerfile
	node_modules/.bin/spectral lint openapi.yaml --ruleset .spectral.yaml --fail-severity=warn
	REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint openapi.yaml --config redocly.yaml

# Regenerate the hashed locks after a change to pyproject.toml (needs pip-tools).
lock:
	$(BIN)/python -m pip install -q pip-tools==7.6.2
	$(BIN)/python -m piptools compile -q --strip-extras --generate-hashes --allow-unsafe -o requirements.lock pyproject.toml
	$(BIN)/python -m piptools compile -q --strip-extras --generate-hashes --allow-unsafe --extra dev -o requirements-dev.lock pyproject.toml
	$(BIN)/python -m piptools compile -q --strip-extras --generate-hashes --allow-unsafe -o requirements-build.lock requirements-build.in

clean:
	rm -rf $(VENV)
