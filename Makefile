# Thin wrappers over scripts/: the scripts hold the logic, so CI and people run the same thing.
#   make run                  the board on http://127.0.0.1:8000 (SQLite, filesystem broker, worker)
#   make test                 the whole suite (throwaway PostgreSQL + Redis unless *_URL are set)
#   make test ARGS='-k api'   pass arguments to pytest (PYTEST_ADDOPTS works too)
#   make lint / make fmt      ruff check + format check / apply fixes and formatting
#   make bench                run every bench/bench_*.py (speed and memory figures)
#   make reliability          fault, scale-out, security and fuzz tests (real processes)
#   make load                 bounded loopback load tests of the board and of uploads
#   make clean                remove var/ and caches (keeps .venv)

SHELL := /bin/bash
PY := .venv/bin/python
ARGS ?=

.PHONY: help run test lint fmt bench reliability load clean venv

help:
	@sed -n '2,10p' Makefile | sed 's/^# \{0,1\}//'

run:
	@scripts/run

test:
	@scripts/test $(ARGS)

venv:
	@scripts/lib.sh ensure_venv

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

fmt: venv
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: venv
	@shopt -s nullglob; files=(bench/bench_*.py); \
	if [[ $${#files[@]} -eq 0 ]]; then echo "==> no benchmarks in bench/"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "==> $(PY) $$f"; $(PY) "$$f" || exit $$?; done

reliability: venv
	@scripts/test tests/reliability tests/fuzz tests/test_security.py $(ARGS)

load: venv
	$(PY) bench/load_board.py
	$(PY) bench/load_uploads.py

clean:
	rm -rf var/ staticfiles/ test-output/ .pytest_cache/ .ruff_cache/ .mypy_cache/ build/ *.egg-info
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
