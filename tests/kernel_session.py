"""A real ipykernel kernel for tests, driven over ZMQ as a front end would.

Used by the kernel-level tests (``test_kernel_steering.py``, ``test_reconnect.py``):
one kernel per test module, a prelude run once, and a JSON-lines log the kernel
writes (``$WC_LOG``, in the kernel's private folder ``$WC_TMP``) and the test polls.
All tests of a module share the kernel and its log: `KernelSession.start_test`
hides the rows earlier tests wrote, so a wait for "epoch 12" is never answered by a
previous test's fit.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[1]

Session = TypeVar("Session", bound="KernelSession")


class KernelSession:
    """A started kernel, its client (the page that runs the cells) and its log."""

    def __init__(self, km: KernelManager, kc: BlockingKernelClient, tmp: Path) -> None:
        self.km, self.kc, self.tmp = km, kc, tmp
        self.log = tmp / "events.jsonl"
        self.first_row = 0  # rows before this one belong to earlier tests

    def start_test(self) -> None:
        """Hide the rows that earlier tests made the kernel write."""
        self.first_row = len(self._all_rows())

    def execute(self, code: str, timeout: float = 180) -> dict[str, Any]:
        """Run a cell to its end; returns the reply content plus ``stdout``/``stderr``/``msgs``."""
        return self.finish(self.kc.execute(code, allow_stdin=False), timeout)

    def finish(self, msg_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait for the reply to ``msg_id`` and drain its IOPub messages up to idle."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        out: dict[str, Any] = {**reply["content"], "stdout": "", "stderr": "", "msgs": []}
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out["msgs"].append(msg)
            if msg["msg_type"] == "stream":
                out[msg["content"]["name"]] += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out

    def value(self, expr: str) -> Any:
        """The JSON value of ``expr`` in the kernel."""
        out = self.execute(f"print(json.dumps({expr}))")
        assert out["status"] == "ok", out
        return json.loads(out["stdout"])

    def _all_rows(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def rows(self) -> list[dict[str, Any]]:
        """The rows the kernel logged since the current test started."""
        return self._all_rows()[self.first_row :]

    def wait_for(self, ev: str, timeout: float = 120, **match: Any) -> dict[str, Any]:
        """The first row of this test with ``ev`` and the given fields; polls."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for row in self.rows():
                if row["ev"] == ev and all(row.get(k) == v for k, v in match.items()):
                    return row
            time.sleep(0.01)
        raise AssertionError(f"kernel never logged {ev} {match}; last rows: {self.rows()[-10:]}")


@contextmanager
def started_kernel(
    cls: type[Session], prelude: str, prefix: str, python: Path | None = None
) -> Iterator[Session]:
    """A kernel in a new private folder with ``prelude`` run; shut down on exit.

    ``python``: the interpreter of another environment (e.g. a venv pinned to Colab's
    versions) to run the kernel with, through a kernelspec written in that folder.
    Defaults to None: this environment's ``python3`` kernel."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        # this process's backend (tests/test_backends.py runs these tests on each); another
        # environment's kernel (the Colab pins) has TensorFlow only
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow") if python is None else "tensorflow",
        "KERAS_HOME": str(tmp / "keras"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLBACKEND": "agg",
        "WC_TMP": str(tmp),
        "WC_LOG": str(tmp / "events.jsonl"),
    }
    if python is None:
        km = KernelManager(kernel_name="python3")
    else:
        spec = tmp / "kernels" / "other"
        spec.mkdir(parents=True)
        argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": str(python), "language": "python"})
        )
        km = KernelManager(
            kernel_name="other", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
        )
    with open(tmp / "kernel.stderr", "w") as stderr:
        km.start_kernel(env=env, cwd=str(tmp), stderr=stderr)
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        session = cls(km, kc, tmp)
        reply = session.execute(prelude, timeout=180)
        assert reply["status"] == "ok", reply
        yield session
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


#: What the steering tests' kernels define first (the same for ipykernel 7.4 and the
#: Colab-pinned kernel): a log file the tests poll, data, a model, a recorder of the
#: best weights and of the longest batch, a panel whose events are logged.
STEERING_PRELUDE = r"""
import json, os, threading, time, warnings
import numpy as np
import ipywidgets, keras
from IPython.display import display
from widget_callbacks import LivePlot
from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.widgets.controls import ControlPanel
from widget_callbacks.kernel.events import event_support
from widget_callbacks.kernel.polling import shell_polling
from widget_callbacks.kernel.steering import fit_async

LOG = os.environ["WC_LOG"]

def log(ev, **kw):
    row = {"ev": ev, "t": time.time(), "thread": threading.current_thread().name, **kw}
    with open(LOG, "a") as f:
        f.write(json.dumps(row) + "\n")

def data(learnable, seed=0):
    rng = np.random.default_rng(seed)
    x, xv = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(32, 8)).astype("float32")
    if learnable:  # val_loss keeps improving for a long time
        w = rng.normal(size=(8, 1)).astype("float32")
        return x, x @ w, xv, xv @ w
    return x, rng.normal(size=(64, 1)).astype("float32"), xv, rng.normal(size=(32, 1)).astype("float32")

def model_for(lr):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    return m

# JAX and PyTorch run these fits about 10x faster than TensorFlow (a patience-2 stop
# within 1-2 s): there a batch lasts at least PACE, so the tests' waits mean the same.
PACE = 0.0 if keras.backend.backend() == "tensorflow" else 0.01

class Recorder(keras.callbacks.Callback):
    # Weights at the best val_loss (strict, as Keras), the longest batch after the first
    # epoch (tracing), the final weights; paces the batches (PACE).
    def __init__(self):
        super().__init__()
        self.best, self.best_epoch, self.best_weights, self.final = np.inf, None, None, None
        self.epoch, self.last, self.longest = 0, None, 0.0
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_begin(self, batch, logs=None):
        self.last = time.monotonic()
    def on_train_batch_end(self, batch, logs=None):
        spent = time.monotonic() - self.last
        if self.epoch > 0:
            self.longest = max(self.longest, spent)
        if spent < PACE:
            time.sleep(PACE - spent)
    def on_epoch_end(self, epoch, logs=None):
        log("epoch", epoch=epoch + 1)
        if logs["val_loss"] < self.best:
            self.best, self.best_epoch, self.best_weights = logs["val_loss"], epoch + 1, self.model.get_weights()
    def on_train_end(self, logs=None):
        self.final = self.model.get_weights()

def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))

def panel_for(controller, tag):
    panel = ControlPanel(controller)
    display(panel)
    panel.stop_button.on_click(lambda b: log(tag + "-stop"))
    panel.patience_slider.observe(lambda ch: log(tag + "-slider", value=ch["new"], patience=controller.patience), "value")
    controller.add_listener(lambda s: log(tag + "-snap", reason=s.stop_reason, epoch=s.last_epoch,
                                          stopped_epoch=s.stopped_epoch, stopped_batch=s.stopped_batch))
    return panel

class Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise ValueError("boom")
"""


def check_graceful_interrupt(kernel: KernelSession, tag: str) -> float:
    """Interrupt during a plain fit is a graceful stop (no KeyboardInterrupt, best
    weights restored, the status says so), and outside fit behaves as usual. Returns
    the seconds from the interrupt to the stop applied."""
    kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=500, restore_best_weights=True)\n"
        f"panel = panel_for(controller, {tag!r})"
    )
    fit_id = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=False)\n"
        "model, rec = model_for(0.02), Recorder()\n"
        "history = model.fit(x, y, validation_data=(xv, yv), epochs=2000, batch_size=8, verbose=0,\n"
        "                    callbacks=[rec, controller])\n"
        "s = controller.snapshot()\n"
        "print(json.dumps({'reason': s.stop_reason, 'epochs': len(history.epoch), 'best_epoch': rec.best_epoch,\n"
        "                  'restored': same(model.get_weights(), rec.best_weights),\n"
        "                  'moved': not same(rec.final, rec.best_weights), 'status': panel.status_line,\n"
        "                  'handler': __import__('signal').getsignal(2) is __import__('signal').default_int_handler}))"
    )
    kernel.wait_for("epoch", epoch=12)
    sent = time.time()
    kernel.km.interrupt_kernel()
    stop = kernel.wait_for(f"{tag}-snap", reason="interrupted")
    result = kernel.finish(fit_id)
    assert result["status"] == "ok", result  # no KeyboardInterrupt in the cell
    out = json.loads(result["stdout"])
    assert out["reason"] == "interrupted" and out["epochs"] < 2000
    assert out["best_epoch"] < out["epochs"] and out["moved"] and out["restored"]
    assert out["status"].startswith("interrupted at epoch") and out["handler"] is True

    busy = kernel.kc.execute("time.sleep(30)")  # outside fit: Interrupt behaves as usual
    time.sleep(0.5)
    kernel.km.interrupt_kernel()
    reply = kernel.finish(busy, timeout=20)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    return float(stop["t"] - sent)
