# Two commands a new user needs: `make demo` (offline run on bundled pages) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install browser postgres faketime demo test test-later lint bench clean realpages chaos fuzz screenshots

$(BIN)/watcher: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/watcher

install: $(BIN)/watcher

demo: install
	$(BIN)/watcher demo

lint: install
	$(BIN)/ruff check watcher tests benchmarks
	$(BIN)/ruff format --check watcher tests benchmarks
	$(BIN)/mypy

# The page's tests drive Debian's Chromium through chromedriver; install them when missing (needs root).
browser:
	@command -v chromedriver >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium chromium-driver >/dev/null; } || echo "chromium not installed: browser tests will be skipped"
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq fonts-wqy-microhei >/dev/null; } || echo "no Chinese font: screenshots will show boxes"

# The PostgreSQL tests start a throwaway server from Debian's packages; install them when missing (needs root).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
		echo "postgresql not installed: the PostgreSQL tests will be skipped"

# Debian's faketime (libfaketime) runs the suite's date-sensitive part with the clock moved ahead.
faketime:
	@command -v faketime >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq faketime >/dev/null; } || echo "faketime not installed: the suite runs on today's date only"

# The tests where dates decide what happens (alerts, reminders, digests, the schedule, the daemon, checks,
# the stores, the page): run again with every clock, the processes' and PostgreSQL's too, 400 days ahead.
DATED := tests/test_alerts.py tests/test_alerts_crash.py tests/test_attachments.py tests/test_check.py \
	tests/test_cli.py tests/test_daemon.py tests/test_dispatch.py tests/test_postgres.py tests/test_read.py \
	tests/test_reliability.py tests/test_schedule.py tests/test_state.py tests/test_web.py
LATER ?= +400d

test: lint browser postgres faketime
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory test-later

test-later: install
	@if command -v faketime >/dev/null; then \
		echo "== the date-sensitive tests again, the clock moved $(LATER)"; \
		faketime -f "$(LATER)" $(BIN)/pytest -q -p no:cacheprovider $(DATED); \
	elif [ -n "$$WATCHER_REQUIRE_FAKETIME" ]; then echo "faketime is required here" >&2; exit 1; \
	else echo "faketime not installed: skipped the suite a year ahead"; fi

bench: install
	$(BIN)/python benchmarks/extract_bench.py
	$(BIN)/python benchmarks/check_bench.py
	$(BIN)/python benchmarks/classify_bench.py
	$(BIN)/python benchmarks/alert_bench.py
	$(BIN)/python benchmarks/daemon_bench.py

# The page at desktop and phone width, into docs/ (the test checks the shipped ones keep their shape).
screenshots: install browser
	WATCHER_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_web.py -k screenshots

clean:
	rm -rf $(VENV) state/*.db*

# Extraction scored on the real-page corpus (tests/realpages), a line per page and the totals.
realpages: install
	$(BIN)/python benchmarks/realpages.py

# kill -9 at random moments of checks, sends and the daemon (loopback only, about 10 minutes).
chaos: install
	$(BIN)/python benchmarks/chaos.py --kills 200

# 100,000 random mutations of real pages through decoding and extraction (a few minutes).
fuzz: install
	$(BIN)/python benchmarks/fuzz.py --n 100000
