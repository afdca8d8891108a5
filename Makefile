# Set-up and checks for widget-callbacks. On a fresh Debian machine (root or sudo):
#   make demo   installs everything and opens the quickstart in JupyterLab
#   make test   installs everything and runs every test (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8888
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install system js python demo test bench screenshot

install: system python

# Debian packages: Chromium (browser tests, image export) and, if missing, Node.js + npm.
system:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y $$missing; fi

js: system
	npm --prefix js ci --no-audit --no-fund
	npm --prefix js run build

python: js
	$(PYTHON) -m pip install -e ".[test]"

demo: install
	cd notebooks && $(PYTHON) -m jupyter lab quickstart.ipynb --port=$(PORT) \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: install
	$(PYTHON) -m pytest

bench: install
	$(PYTHON) -m pip install -e ".[bench]"
	$(PYTHON) -m tests.benchmarks

# The README's screenshot, taken by the quickstart's browser test from a real run.
screenshot: install
	WC_UPDATE_SCREENSHOT=1 $(PYTHON) -m pytest tests/browser/test_quickstart_live.py
