"""Steering a plain fit in a kernel pinned to Colab's versions (ipykernel 6, no subshells).

The kernel runs in ``.venvs/colab`` (``make install`` builds it: Python 3.13, ipykernel
6.17.1, IPython 7.34.0, ipywidgets 7.7.1, anywidget 0.9.21, traitlets 5.7.1,
jupyter_client 7.4.9, plotly 5.24.1, keras 3.13.2, tensorflow 2.20.0). Comm messages
carry no subshell id, as Colab's front end sends them. The controller's batch hook
handles our controls' clicks between batches (``kernel/polling.py``); everything else
waits for the cell, in order. Also: the differential test against the Keras there.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from kernel_session import ROOT, STEERING_PRELUDE, KernelSession, check_graceful_interrupt, started_kernel

pytestmark = pytest.mark.slow  # one kernel, TensorFlow imported once: about 40 s in all

VENV_PYTHON = ROOT / ".venvs" / "colab" / "bin" / "python"
PINS = {
    "ipykernel": "6.17.1", "IPython": "7.34.0", "ipywidgets": "7.7.1", "anywidget": "0.9.21",
    "traitlets": "5.7.1", "jupyter_client": "7.4.9", "plotly": "5.24.1", "keras": "3.13.2",
    "tensorflow": "2.20.0",
}  # fmt: skip
SLACK = 0.5  # Stop acts within one batch plus this many seconds


def _venv_python() -> Path:
    if not VENV_PYTHON.exists():
        pytest.fail(f"{VENV_PYTHON} is missing: run `make install` (it builds the Colab-pinned venv)")
    return VENV_PYTHON


PRELUDE = STEERING_PRELUDE


class Kernel(KernelSession):
    """The Colab-pinned kernel: comm messages without a subshell id, IOPub watched."""

    def comm_msg(self, comm_id: str, data: Any) -> tuple[float, str]:
        """Send a widget comm message as Colab does; returns the send time and msg id."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        sent = time.time()
        self.kc.shell_channel.send(msg)
        return sent, msg["header"]["msg_id"]

    def iopub(self, seconds: float) -> list[dict[str, Any]]:
        """The IOPub messages that arrive within ``seconds``, each with its arrival time."""
        seen, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Exception:  # queue.Empty
                break
            msg["arrived"] = time.time()
            seen.append(msg)
        return seen


@pytest.fixture(scope="module")
def shared_kernel() -> Iterator[Kernel]:
    with started_kernel(Kernel, PRELUDE, "wc-colab-", python=_venv_python()) as session:
        yield session


@pytest.fixture()
def kernel(shared_kernel: Kernel) -> Kernel:
    shared_kernel.start_test()
    return shared_kernel


CLICK = {"method": "custom", "content": {"event": "click"}}


def _value(v: Any) -> dict[str, Any]:
    return {"method": "update", "state": {"value": v}, "buffer_paths": []}


def _alarming(stderr: str) -> list[str]:
    """Kernel log lines that would alarm a user (ipykernel's stock "No such comm" warning
    for a click on a closed widget, handled after the cell as today, is not ours)."""
    words = ("Traceback", "ERROR", "Exception", "Unknown front-end", "widget_callbacks")
    return [line for line in stderr.splitlines() if any(w in line for w in words)]


def test_the_kernel_has_colabs_versions_and_says_when_clicks_act(kernel: Kernel) -> None:
    versions = kernel.value("{m: __import__(m).__version__ for m in " + json.dumps(list(PINS)) + "}")
    assert versions == PINS
    info = kernel.kc.kernel_info(reply=True)["content"]
    assert "kernel subshells" not in info.get("supported_features", [])
    canary = kernel.value("__import__('widget_callbacks._compat.ipykernel', fromlist=['x']).probe()")
    assert canary and all(canary.values()), canary
    setup = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=5)\n"
        "panel = panel_for(controller, 's')\n"
        "print(json.dumps({'sentence': event_support().sentence, 'status': panel.status.value}))"
    )
    out = json.loads(setup["stdout"])
    assert out["sentence"] == "Stop and patience act during fit (between batches)."
    assert out["sentence"] in out["status"]  # in the status line before training starts


def test_stop_and_slider_act_during_a_plain_fit_and_the_plot_updates_live(kernel: Kernel) -> None:
    setup = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=50, restore_best_weights=True)\n"
        "panel = panel_for(controller, 'v')\n"
        "plot = LivePlot(static_fallback=False).attach(controller)\n"
        "display(plot)\n"
        "plain = ipywidgets.Button(description='not ours')\n"
        "plain.on_click(lambda b: log('v-plain'))\n"
        "closed = ControlPanel(controller)\n"
        "closed_stop = closed.stop_button.model_id\n"
        "closed.stop_button.on_click(lambda b: log('v-closed'))\n"
        "closed.close()\n"
        "print(json.dumps({'stop': panel.stop_button.model_id, 'slider': panel.patience_slider.model_id,\n"
        "                  'plain': plain.model_id, 'plot': plot.model_id, 'closed': closed_stop}))"
    )
    assert setup["status"] == "ok", setup
    ids = json.loads(setup["stdout"])
    opened = [m for m in setup["msgs"] if m["msg_type"] == "comm_open"
              and m["content"]["comm_id"] == ids["plot"]]  # fmt: skip
    assert opened, "the LivePlot's comm was not opened"
    state = opened[0]["content"]["data"]["state"]
    assert state["_model_module"] == "anywidget" and len(state["_esm"]) > 1000  # anywidget 0.9: the JS itself

    fit_id = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=True)\n"
        "model, rec = model_for(0.003), Recorder()\n"
        "history = model.fit(x, y, validation_data=(xv, yv), epochs=2000, batch_size=8, verbose=0,\n"
        "                    callbacks=[rec, controller, plot.callback])\n"
        "s = controller.snapshot()\n"
        "print(json.dumps({'reason': s.stop_reason, 'epochs': len(history.epoch), 'patience': controller.patience,\n"
        "                  'restored': rec.best_weights is not None and same(model.get_weights(), rec.best_weights),\n"
        "                  'longest_batch': rec.longest, 'handled': shell_polling().handled,\n"
        "                  'status': panel.status_line, 'plot_status': plot.status}))\n"
        "log('v-done')"
    )
    kernel.wait_for("epoch", epoch=3)
    queued = kernel.kc.execute("log('v-queued')")  # runs after the fit's cell, as today
    live = kernel.iopub(1.0)
    plot_updates = [m for m in live if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == ids["plot"]]
    assert plot_updates, "the plot sent nothing during fit"

    sent, slider_msg = kernel.comm_msg(ids["slider"], _value(3))
    row = kernel.wait_for("v-slider", value=3)
    slider_latency = row["t"] - sent
    assert row["patience"] == 3 and row["thread"] == "MainThread"
    statuses = [m for m in kernel.iopub(0.5) if m["msg_type"] == "status"
                and m["parent_header"].get("msg_id") == slider_msg]  # fmt: skip
    states = [m["content"]["execution_state"] for m in statuses]
    assert states == ["busy", "idle"]  # ipywidgets 7 holds further updates until this idle

    kernel.comm_msg(ids["plain"], CLICK)  # a widget that is not ours: after the cell
    kernel.comm_msg(ids["closed"], CLICK)  # a closed control: after the cell, does nothing
    kernel.comm_msg("no-such-comm", CLICK)  # stale
    kernel.comm_msg(ids["slider"], {"no": "method"})  # malformed
    kernel.comm_msg(ids["slider"], _value("not a number"))  # malformed state
    time.sleep(1.0)
    assert not [r for r in kernel.rows() if r["ev"] in ("v-plain", "v-queued", "v-closed")], "ran during fit"

    sent, _ = kernel.comm_msg(ids["stop"], CLICK)
    row = kernel.wait_for("v-stop")
    click_latency = row["t"] - sent
    stop = kernel.wait_for("v-snap", reason="stopped by hand")
    stop_latency = stop["t"] - sent
    result = kernel.finish(fit_id)
    assert result["status"] == "ok", result
    out = json.loads(result["stdout"])
    assert out["reason"] == "stopped by hand" and out["epochs"] < 2000 and out["patience"] == 3
    assert out["restored"] and out["handled"] >= 2
    assert out["status"].startswith("stopped by hand at epoch") and out["plot_status"] == "stopped"
    done = kernel.wait_for("v-done")["t"]
    queued_row, plain_row = kernel.wait_for("v-queued"), kernel.wait_for("v-plain")
    assert done < queued_row["t"] < plain_row["t"]  # after the cell, in the order sent
    assert kernel.finish(queued)["status"] == "ok"

    # A click after the run ended does nothing.
    after = kernel.execute("print(controller.snapshot().stop_reason, controller.running)")
    kernel.comm_msg(ids["stop"], CLICK)
    time.sleep(0.5)
    again = kernel.execute("print(controller.snapshot().stop_reason, controller.running)")
    assert after["stdout"] == again["stdout"] == "stopped by hand False\n"
    assert not [r for r in kernel.rows() if r["ev"] == "v-closed"]
    assert _alarming((kernel.tmp / "kernel.stderr").read_text()) == []

    print(f"\nColab pins, no subshell id: slider {slider_latency:.3f} s, click {click_latency:.3f} s, "
          f"stop applied {stop_latency:.3f} s after the click (longest batch {out['longest_batch']:.3f} s); "
          f"plot: {len(plot_updates)} updates in 1 s during fit")  # fmt: skip
    assert slider_latency < SLACK and click_latency < SLACK
    assert stop_latency < out["longest_batch"] + SLACK


def test_interrupt_during_fit_is_graceful_and_restores_best_weights(kernel: Kernel) -> None:
    latency = check_graceful_interrupt(kernel, "b")
    print(f"\nColab pins: interrupt -> stop applied in {latency:.3f} s")
    assert latency < 2.0


def test_the_controller_is_a_drop_in_for_the_keras_there() -> None:
    """tests/test_differential.py (EarlyStoppingController against the installed
    keras.callbacks.EarlyStopping, 3,000 generated cases and a real fit) run in the venv."""
    python = _venv_python()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [str(python), "-m", "pytest", "tests/test_differential.py", "tests/test_compat.py", "-k",
         "not kaleido and not keras_tuner", "-p", "no:cacheprovider", "-o", "addopts=", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    version = subprocess.run(
        [str(python), "-c", "import keras; print(keras.__version__)"], capture_output=True, text=True, env=env
    ).stdout.strip()
    print(f"\nin the venv (keras {version}): {run.stdout.strip().splitlines()[-1]}")
    assert version == PINS["keras"]
