"""The controls during a plain ``fit`` in a front end that sends no subshell id.

JupyterLab 4.2 with jupyterlab_widgets 3.0.13 (before kernel subshells, as VS Code's
Jupyter extension) from its own venv, made by ``make install`` (``.venvs/lab42``),
with two kernels in turn: this environment's ipykernel 7.4, and Colab's ipykernel
6.17.1 over this environment's packages (``.venvs/ipykernel6``; JupyterLab 4's widget
manager renders no ipywidgets 7 models, so the venv with all of Colab's pins,
``.venvs/colab``, is tested on the wire in ``tests/test_kernel_colab.py``). The scenarios of ``test_steering_live.py``
run unchanged against each, in the same order: Stop during a plain ``fit`` within one
batch + 1 s, the patience slider mid-fit and the band redrawn, Interrupt graceful
with best weights restored, Stop during ``fit_async``. The clicks during a plain fit
are handled on ipykernel 7 by the reconnect service's worker thread
(``kernel/reconnect.py``), on ipykernel 6 from the batch hook on the main thread
(``kernel/polling.py``); this module checks which.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import test_steering_live as live
from .jupyter import REPO_ROOT, JupyterServer
from .steering import wait_report
from .test_steering_live import lab_nb, lab_session, plateau  # noqa: F401 - fixtures, on Lab 4.2

pytestmark = pytest.mark.browser

LAB42 = REPO_ROOT / ".venvs" / "lab42" / "bin" / "python"
IPYKERNEL6 = REPO_ROOT / ".venvs" / "ipykernel6" / "bin" / "python"
#: kernel -> (its Python, the thread that handles a click during a plain fit)
KERNELS = {
    "ipykernel7": (Path(sys.executable), "widget-callbacks-reconnect"),
    "ipykernel6": (IPYKERNEL6, "MainThread"),
}
APP_VERSION = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).appVersion"


@pytest.fixture(scope="module", params=sorted(KERNELS))
def jupyter_lab(request: pytest.FixtureRequest) -> Iterator[JupyterServer]:
    """JupyterLab 4.2 for this module (overrides the session's JupyterLab 4.6), once
    per kernel."""
    kernel_python = KERNELS[request.param][0]
    for python in (LAB42, kernel_python):
        if not python.exists():
            pytest.fail(f"{python} is missing: `make install` makes the .venvs")
    base = Path(tempfile.mkdtemp(prefix="wc-lab42-"))
    server = JupyterServer("lab", base, python=str(LAB42), kernel_python=str(kernel_python)).start()
    server.click_thread = KERNELS[request.param][1]  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_stop_button_ends_plain_fit_within_a_batch(lab_nb, jupyter_lab) -> None:  # noqa: F811
    assert lab_nb.page.evaluate(APP_VERSION).startswith("4.2.")
    live.test_stop_button_ends_plain_fit_within_a_batch(lab_nb)
    click = wait_report(lab_nb, f"{live.S1.name}-click", cells=live.S1.cells)
    # Handled during fit, and not on a subshell: there is none.
    assert click["running"] and click["thread"] == jupyter_lab.click_thread, click


def test_patience_slider_reaches_kernel_and_stops_training(plateau, jupyter_lab) -> None:  # noqa: F811
    live.check_slider_run(plateau, off_main_thread=jupyter_lab.click_thread != "MainThread")


def test_patience_band_redraws_while_fit_runs(plateau) -> None:  # noqa: F811
    live.test_patience_band_redraws_while_fit_runs(plateau)


def test_interrupt_stops_gracefully_and_restores_best_weights(lab_nb) -> None:  # noqa: F811
    live.test_interrupt_stops_gracefully_and_restores_best_weights(lab_nb)


def test_stop_button_ends_awaited_fit_async(lab_nb) -> None:  # noqa: F811
    live.test_stop_button_ends_awaited_fit_async(lab_nb)
