# make demo  - set everything up, then profile an example program
# make test  - set everything up, then run the whole test suite
# make bench - the overhead benchmark (prints medians and ratios)
# make bench-monitor - plumb.monitor on the example shop under wrk beside APM agents
# make bench-monitor-worker - the same gunicorn worker's instructions a request (callgrind)

SHELL := /bin/sh
DEMO_PYTHON = $(shell scripts/pythons.sh 2>/dev/null | tail -n 1 | cut -d' ' -f1)
# The demo uses plumb as installed from its wheel into that venv (make setup).
DEMO_PLUMB = .venv/$(DEMO_PYTHON)/bin/plumb

.PHONY: setup test-deps demo test test-c test-python test-browser test-sanitize test-install bench bench-monitor bench-monitor-venv bench-monitor-worker clean

setup:
	scripts/system-deps.sh
	scripts/setup-venvs.sh

demo: setup
	@echo "== plumb run examples/demo.py (table sorted by cumulative time)"
	$(DEMO_PLUMB) run -s cumulative -n 12 examples/demo.py
	@mkdir -p build
	@echo "== the same run written for KCacheGrind, read back by callgrind_annotate"
	$(DEMO_PLUMB) run -o build/demo.callgrind examples/demo.py >/dev/null
	callgrind_annotate build/demo.callgrind | head -n 24
	@echo "== the same run as an interactive report (flame graph, squaremap, callers, source)"
	$(DEMO_PLUMB) run -o build/demo.html examples/demo.py >/dev/null
	@echo "open build/demo.html in a browser (file://$(CURDIR)/build/demo.html)"

test: setup test-deps test-c test-python test-browser test-sanitize test-install

test-deps:
	scripts/system-deps.sh --test

test-c:
	$(MAKE) -C tests/c run

test-python:
	scripts/run-tests.sh

test-browser:
	scripts/run-browser-tests.sh

test-sanitize:
	scripts/run-sanitized.sh

bench: setup
	python3 benchmarks/overhead.py

# Its own venv: the APM agents it compares against never enter the test venvs.
BENCH_MONITOR_PYTHON = $(shell scripts/pythons.sh 2>/dev/null | awk '$$1 == "3.12" {print $$2}')
BENCH_MONITOR_VENV = .venv/bench-3.12

bench-monitor-venv:
	test -n "$(BENCH_MONITOR_PYTHON)" || { echo "bench-monitor: CPython 3.12 not found" >&2; exit 2; }
	test -x $(BENCH_MONITOR_VENV)/bin/python || $(BENCH_MONITOR_PYTHON) -m venv $(BENCH_MONITOR_VENV)
	$(BENCH_MONITOR_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip setuptools wheel django gunicorn ddtrace newrelic sentry-sdk
	scripts/build-wheel.sh $(BENCH_MONITOR_VENV)/bin/python build/wheels/3.12
	$(BENCH_MONITOR_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps --force-reinstall build/wheels/3.12/plumb-*.whl

bench-monitor: bench-monitor-venv
	$(BENCH_MONITOR_VENV)/bin/python benchmarks/monitor_throughput.py $(BENCH_MONITOR_ARGS)

# The same worker under callgrind: instructions a request, whatever the load.
bench-monitor-worker: bench-monitor-venv
	$(BENCH_MONITOR_VENV)/bin/python benchmarks/monitor_worker_instructions.py $(BENCH_MONITOR_ARGS)

clean:
	rm -rf build .venv plumb/*.so tests/c/build *.egg-info

test-install:
	scripts/check-install.sh
