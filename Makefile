# Set-up and checks for widget-callbacks. On a fresh Debian machine (root or sudo):
#   make demo   installs everything and opens the quickstart in JupyterLab
#   make test   installs everything and runs every test (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8888
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install system js python torch venv-lab42 venv-colab venv-ipykernel6 demo test bench screenshot

install: system python torch venv-lab42 venv-colab venv-ipykernel6

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

# PyTorch for the backend matrix (tests/test_backends.py), a CPU build. Not in the test
# extra: PyPI's Linux torch (2.14.1, a 555 MB wheel) is a CUDA build that pulls about 2.2 GB
# more of CUDA wheels (cuBLAS, cuDNN, NCCL, ...).
# torch==2.13.0+cpu (a 192 MB wheel, about 860 MB installed with sympy and networkx, 20 s
# here) comes from pip's find-links (this machine kind keeps it on disk) or from PyTorch's
# CPU wheel index, named with TORCH_PIP_ARGS="--extra-index-url <index>".
TORCH_CPU ?= torch==2.13.0+cpu
torch: python
	@$(PYTHON) -c "import torch, sys; sys.exit(not torch.__version__.endswith('+cpu'))" 2>/dev/null || \
	  $(PYTHON) -m pip install -q "$(TORCH_CPU)" $(TORCH_PIP_ARGS)

# JupyterLab 4.2 (no kernel subshells, as VS Code and JupyterLab < 4.4) for the browser
# tests of the controls without subshells; its kernels are this environment's Python.
LAB42 := .venvs/lab42
venv-lab42:
	@if [ ! -x $(LAB42)/bin/jupyter-lab ] || ! $(LAB42)/bin/python -c "import jupyterlab, sys; import jupyterlab_widgets as w; sys.exit(not (jupyterlab.__version__.startswith('4.2.') and w.__version__ == '3.0.13'))"; then \
	  $(PYTHON) -m venv $(LAB42) && \
	  $(LAB42)/bin/python -m pip install -q "jupyterlab==4.2.*" "jupyterlab_widgets==3.0.13" \
	    "anywidget==$$($(PYTHON) -c 'import anywidget; print(anywidget.__version__)')"; fi

# Colab's runtime (ipykernel 6, no subshells): tests/test_kernel_colab.py runs a kernel
# here. Exactly these pins (Colab's public list, Aug 2026), our package without deps, pytest.
# Python 3.13 as Colab when there is one (pyenv's), else $(PYTHON). About 1 min, 1.9 GB.
COLAB := .venvs/colab
COLAB_PINS := ipykernel==6.17.1 ipython==7.34.0 ipywidgets==7.7.1 anywidget==0.9.21 \
  traitlets==5.7.1 jupyter-client==7.4.9 plotly==5.24.1 keras==3.13.2 \
  $(if $(filter x86_64,$(shell uname -m)),tensorflow-cpu,tensorflow)==2.20.0
COLAB_PYTHON ?= $(firstword $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null) \
  $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(PYTHON))
venv-colab: js
	@freeze="$$($(COLAB)/bin/python -m pip freeze 2>/dev/null | tr 'A-Z_' 'a-z-')"; ok=1; \
	for pin in $(COLAB_PINS); do grep -qx "$$pin" <<<"$$freeze" || ok=0; done; \
	$(COLAB)/bin/python -c "import widget_callbacks as w, sys; sys.exit(not w.__file__.startswith('$(CURDIR)/'))" \
	  2>/dev/null || ok=0; \
	if [ $$ok = 0 ]; then \
	  $(COLAB_PYTHON) -m venv $(COLAB) && \
	  $(COLAB)/bin/python -m pip install -q $(COLAB_PINS) pytest numpy && \
	  $(COLAB)/bin/python -m pip install -q -e . --no-deps && \
	  $(COLAB)/bin/python -m pip check; fi

# ipykernel 6.17.1 (Colab's) over this environment's packages (ipywidgets 8), for the
# browser test in JupyterLab 4.2: JupyterLab 4's widget manager renders no ipywidgets 7
# models, so the exact Colab pins (.venvs/colab) are tested on the wire.
IPYKERNEL6 := .venvs/ipykernel6
venv-ipykernel6: python
	@if ! $(IPYKERNEL6)/bin/python -c "import ipykernel, sys; sys.exit(ipykernel.__version__ != '6.17.1')" 2>/dev/null; then \
	  $(PYTHON) -m venv --system-site-packages $(IPYKERNEL6) && \
	  $(IPYKERNEL6)/bin/python -m pip install -q "ipykernel==6.17.1"; fi

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
