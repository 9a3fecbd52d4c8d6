# Everything a fresh Debian 12 machine needs, installed on first use: Debian packages (when run as root and
# missing), then a virtualenv in .venv with this project and its tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := python3-venv python3-dev postgresql mosquitto nats-server rabbitmq-server tzdata fonts-wqy-microhei libmtdev1 libegl1 libgles2 libgl1-mesa-dri espeak-ng chromium

.PHONY: help run test lint bench bench-city simulate screenshots apt deps clean

run: deps ## the hub (sample district, SQLite in ./var, a managed Mosquitto, HTTP on :8080) with a kiosk, caller and board
	HALL_LOG_FORMAT=$${HALL_LOG_FORMAT:-text} $(BIN)/hall-hub hall

test: deps lint ## lint, type-check and run every test (SQLite and PostgreSQL)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contract.py engine devicekit hub kiosk display caller simulator bench run_kiosk.py

bench: deps ## benchmarks; figures go to docs/PERFORMANCE.md by hand
	$(BIN)/python -m bench.engine_bench
	$(BIN)/python -m bench.store_bench
	$(BIN)/python -m bench.estimate_bench
	$(BIN)/python -m bench.hub_bench
	$(BIN)/python -m bench.kiosk_bench
	$(BIN)/python -m bench.document_bench
	$(BIN)/python -m bench.submission_bench
	$(BIN)/python -m bench.archive_bench
	$(BIN)/python -m bench.board_bench
	$(BIN)/python -m bench.idle_bench
	$(BIN)/python -m bench.web_bench
	$(BIN)/python -m bench.report_bench
	$(BIN)/python -m simulator

bench-city: deps ## city scale (~8 min): one hub with 2,000 sites; boards on a 3-node NATS cluster; takeover
	$(BIN)/python -m bench.city_bench sites
	$(BIN)/python -m bench.city_bench devices
	$(BIN)/python -m bench.takeover_bench

simulate: deps
	$(BIN)/python -m simulator

screenshots: deps ## the web pages' screenshots in docs/screenshots/, taken by the browser tests (Debian's Chromium)
	HALL_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "missing Debian packages (run as root or install them): $$missing"; \
		fi; \
	fi

deps: apt $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# ECharts (report charts) and Swagger UI (/api/docs), served by the hub from here; the lock file pins them.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
