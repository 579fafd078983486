# One place for every command the README names.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up test-deps test test-fast check lint lint-infra types bench faults clean deploy destroy

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH (or make PY=python3)"; exit 1; }
	$(PY) -m venv $(VENV)
	@# Pinned: chalice 1.34 (which packages with pip) requires pip<26.3.
	$(BIN)/pip install --quiet pip==26.2.1
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# Built by the setuptools pinned in requirements-dev.txt (3.12+ venvs have none of their own).
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The whole pipeline on this machine (docs/local-mode.md); Ctrl-C stops it.
up: install
	$(BIN)/tally up

# System packages the tests start for real: redis-server, Debian's Sidekiq 6.4.1 / ActiveJob 6.1,
# Chromium with its driver for the browser tests, curl for the README's examples.
# Node's npm (Debian's nodejs and npm when there is none) installs the trackers the browser tests
# load unmodified, pinned by tests/e2e/browser/package-lock.json.
APT_PACKAGES := redis-server ruby-sidekiq ruby-activejob chromium chromium-driver curl
BROWSER_JS := tests/e2e/browser
test-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@test $(BROWSER_JS)/node_modules/.package-lock.json -nt $(BROWSER_JS)/package-lock.json || \
	  (cd $(BROWSER_JS) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

# Every tier: tests/unit (no network), tests/functional (moto, Redis), tests/e2e (subprocesses,
# Ruby, Chromium, fault scenarios).
test: install test-deps
	$(BIN)/python -m pytest

# The unit tier alone: no network, nothing to install beyond the venv, well under 30 s.
test-fast: install
	$(BIN)/python -m pytest -q tests/unit

lint: install lint-infra
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# cfn-lint over infra/template.yaml and over what `chalice package` makes of each stage of each
# Chalice project (the ingest with the processor and the rollup; the dashboard with the admin API:
# docs/architecture.md), built in a temp dir from a bytecode-free copy: vendor/ symlinks would
# otherwise ship __pycache__.
CHALICE_STAGES := dev prod
CHALICE_PROJECTS := . dashboard_app
# The packages the Lambda zips carry: one symlink each in <project>/vendor/.
VENDORED := $(sort $(foreach p,$(CHALICE_PROJECTS),$(notdir $(wildcard $(p)/vendor/*))))
lint-infra: install
	$(BIN)/cfn-lint infra/template.yaml
	@for p in $(CHALICE_PROJECTS); do \
	  tmp=$$(mktemp -d) && \
	  tar -c --exclude=__pycache__ --exclude='*.pyc' --exclude=.chalice/deployments --exclude=.chalice/deployed \
	    $$p/app.py $$p/requirements.txt $$p/.chalice $$p/vendor $$(ls $$p/vendor) | tar -x -C "$$tmp" && \
	  for s in $(CHALICE_STAGES); do \
	    (cd "$$tmp/$$p" && PYTHONDONTWRITEBYTECODE=1 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	      $(CURDIR)/$(BIN)/chalice package --stage $$s "out-$$s" >/dev/null) || { rm -rf "$$tmp"; exit 1; }; \
	    echo "cfn-lint: $$p: chalice package --stage $$s" && \
	      $(BIN)/cfn-lint "$$tmp/$$p/out-$$s/sam.json" || { rm -rf "$$tmp"; exit 1; }; \
	  done; rm -rf "$$tmp"; \
	done

types: install
	$(BIN)/mypy

check: lint types test

bench: install
	$(BIN)/python -m bench

# Fault scenarios at full volume (docs/faults.md); `make test` runs them small. Prints the ledger.
faults: install test-deps
	rm -rf test-artifacts/faults
	TALLY_FAULTS_SCALE=full $(BIN)/python -m pytest -p no:cacheprovider -q --durations=0 tests/e2e/faults
	$(BIN)/python -m tests.support.faults.report

clean:
	rm -rf $(VENV) build .tally *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts $(BROWSER_JS)/node_modules

# Deploy one stage: the stack (queues, tables, alarms, dashboard), then the two Chalice apps
# (ingest; dashboard and admin API), then the ingest API's throttling. Settings per stage: infra/stages/<stage>.params and
# .chalice/config.json. ALARM_EMAIL=you@example.com subscribes an address to the alarms.
STAGE ?= dev
AWS ?= aws
ALARM_EMAIL ?=
deploy: install
	@test -f infra/stages/$(STAGE).params || { echo "no infra/stages/$(STAGE).params"; exit 1; }
	$(AWS) cloudformation deploy --template-file infra/template.yaml --stack-name tally-$(STAGE) \
	  --no-fail-on-empty-changeset \
	  --parameter-overrides Stage=$(STAGE) AlarmEmail=$(ALARM_EMAIL) $$(grep -v '^#' infra/stages/$(STAGE).params)
	find $(VENDORED) -name __pycache__ -prune -exec rm -rf {} +
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/chalice deploy --stage $(STAGE)
	cd dashboard_app && PYTHONDONTWRITEBYTECODE=1 $(CURDIR)/$(BIN)/chalice deploy --stage $(STAGE)
	$(BIN)/python infra/throttle.py --stage $(STAGE)

# Remove the apps, then the stack. The stack owns the tables: their data goes with them.
destroy: install
	cd dashboard_app && $(CURDIR)/$(BIN)/chalice delete --stage $(STAGE)
	$(BIN)/chalice delete --stage $(STAGE)
	$(AWS) cloudformation delete-stack --stack-name tally-$(STAGE)
	$(AWS) cloudformation wait stack-delete-complete --stack-name tally-$(STAGE)
