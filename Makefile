# Set-up and checks for widget-callbacks. On a fresh Debian machine (root or sudo):
#   make demo   installs everything and opens the quickstart in JupyterLab
#   make test   installs everything and runs every test (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8888
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install chromium js python demo test bench

install: chromium python

chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }

js:
	npm --prefix js ci --no-audit --no-fund
	npm --prefix js run build

python: js
	$(PYTHON) -m pip install -e ".[test]"

demo: install
	cd notebooks && $(PYTHON) -m jupyter lab quickstart.ipynb --port=$(PORT)

test: install
	$(PYTHON) -m pytest

bench: install
	$(PYTHON) -m pip install -e ".[bench]"
	$(PYTHON) -m tests.benchmarks
