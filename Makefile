# gr-wigenai: two commands do all the set-up on a fresh Debian 12 machine, as root.
#   make demo   the main job on the shipped models
#   make test   the whole suite (lint, C++ QA, Python QA, pytest, flowgraphs)
# Both run scripts/bootstrap.sh first, which is idempotent.

VENV    := $(CURDIR)/.venv
PY      := $(VENV)/bin/python
BLOCKS  := $(VENV)/share/gnuradio/grc/blocks
CXX_SRC := $(shell find gr-wigenai python/gnuradio -name '*.h' -o -name '*.cc' 2>/dev/null)
export GRC_BLOCKS_PATH := $(BLOCKS)

.PHONY: bootstrap demo test lint ctest pytest clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(PY) apps/demo.py

lint: bootstrap
	$(VENV)/bin/ruff check python apps tests
	$(VENV)/bin/ruff format --check python apps tests
	clang-format --dry-run --Werror $(CXX_SRC)

ctest: bootstrap
	cd build && ctest --output-on-failure

pytest: bootstrap
	$(PY) -m pytest -q tests

test: lint ctest pytest

clean:
	rm -rf build
