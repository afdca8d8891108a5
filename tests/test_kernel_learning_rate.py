"""The learning-rate control in a real ipykernel 7 kernel during a plain blocking ``fit``,
driven over ZMQ as a front end would (as ``test_kernel_steering.py`` drives Stop and
the patience slider): with a subshell id (JupyterLab >= 4.4) and without one (VS Code,
JupyterLab < 4.4). The handler runs off the main thread and only sets the controller's
state; the optimizer's rate changes at the next batch, on the training thread, within a
batch + 0.5 s of the message, and the plot's lane and marks show it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from kernel_session import STEERING_PRELUDE, started_kernel
from test_kernel_steering import Kernel

pytestmark = pytest.mark.slow  # one kernel, TensorFlow imported once

LATENCY = 0.5  # seconds, on top of the longest batch, from the message to the new rate

PRELUDE = (
    STEERING_PRELUDE
    + r"""
def rate(model):
    value = model.optimizer.learning_rate
    return float(value.numpy() if isinstance(value, keras.Variable) else keras.ops.convert_to_numpy(value))

class RateLog(keras.callbacks.Callback):
    # Logs the rate the next step uses, each time it changes (training thread).
    def on_train_begin(self, logs=None):
        self.seen = None
    def on_train_batch_begin(self, batch, logs=None):
        now = rate(self.model)
        if self.seen is None or abs(now - self.seen) > 1e-12 * max(abs(now), 1.0):
            self.seen = now
            log("lr", rate=now)

def lr_panel(controller, tag):
    panel = panel_for(controller, tag)
    panel.lr_slider.observe(
        lambda ch: log(tag + "-lr", value=ch["new"], multiplier=controller.learning_rate_multiplier),
        "value",
    )
    return panel
"""
)


@pytest.fixture(scope="module")
def shared_kernel() -> Iterator[Kernel]:
    with started_kernel(Kernel, PRELUDE, "wc-kernel-lr-") as session:
        yield session


@pytest.fixture()
def kernel(shared_kernel: Kernel) -> Kernel:
    shared_kernel.start_test()
    return shared_kernel


def _row_after(kernel: Kernel, ev: str, after: float, timeout: float = 60, **match: Any) -> dict[str, Any]:
    """The first row ``ev`` logged after time ``after`` with the given fields."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for row in kernel.rows():
            if row["ev"] == ev and row["t"] > after and all(row.get(k) == v for k, v in match.items()):
                return row
        time.sleep(0.01)
    raise AssertionError(f"kernel never logged {ev} {match} after {after}; last rows: {kernel.rows()[-10:]}")


def _value(v: float) -> dict[str, Any]:
    return {"method": "update", "state": {"value": v}, "buffer_paths": []}


@pytest.mark.parametrize("subshell", [True, False], ids=["subshell", "no-subshell-id"])
@pytest.mark.parametrize("schedule", [False, True], ids=["constant", "ExponentialDecay"])
def test_lr_control_reaches_the_kernel_during_a_plain_fit(
    kernel: Kernel, subshell: bool, schedule: bool
) -> None:
    tag = f"l{int(subshell)}{int(schedule)}"
    setup = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=5000)\n"
        f"panel = lr_panel(controller, {tag!r})\n"
        "plot = LivePlot(static_fallback=False)\n"
        "print(json.dumps({'lr': panel.lr_slider.model_id, 'undo': panel.lr_undo.model_id}))"
    )
    assert setup["status"] == "ok", setup
    ids = json.loads(setup["stdout"])
    rate = (
        "keras.optimizers.schedules.ExponentialDecay(0.003, decay_steps=10**6, decay_rate=0.5)"
        if schedule
        else "0.003"
    )
    fit_id = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=True)\n"
        f"model, rec = model_for({rate}), Recorder()\n"
        "history = model.fit(x, y, validation_data=(xv, yv), epochs=2000, batch_size=8, verbose=0,\n"
        "                    callbacks=[rec, RateLog(), plot.callback, controller])\n"
        "print(json.dumps({'lane': plot.history['learning_rate'], 'epochs': len(history.epoch),\n"
        "                  'marks': [c.describe() for c in plot.state.learning_rate_changes],\n"
        "                  'longest': rec.longest, 'reason': controller.snapshot().stop_reason}))"
    )
    subshell_id = kernel.create_subshell() if subshell else None
    kernel.wait_for("epoch", epoch=3)  # past tracing
    base = kernel.wait_for("lr")["rate"]

    sent = kernel.comm_msg(ids["lr"], _value(0.1), subshell_id)
    handled = kernel.wait_for(f"{tag}-lr", value=0.1)
    assert handled["multiplier"] == 0.1
    assert handled["thread"] != "MainThread"  # a subshell or the reconnect worker
    applied = kernel.wait_for("lr", rate=pytest.approx(base * 0.1, rel=1e-3))
    assert applied["thread"] == "MainThread"  # the training thread changed the optimizer
    first_latency = applied["t"] - sent
    _row_after(kernel, "epoch", applied["t"])  # an epoch ends at x0.1: a point of the lane

    sent = kernel.comm_msg(ids["undo"], {"method": "custom", "content": {"event": "click"}}, subshell_id)
    assert kernel.wait_for(f"{tag}-lr", value=1.0)["multiplier"] == 1.0
    back = _row_after(kernel, "lr", sent, rate=pytest.approx(base, rel=1e-3))
    assert back["thread"] == "MainThread"
    last = max(r["epoch"] for r in kernel.rows() if r["ev"] == "epoch")
    kernel.wait_for("epoch", epoch=last + 1)

    kernel.km.interrupt_kernel()  # graceful: ends the fit
    result = kernel.finish(fit_id)
    assert result["status"] == "ok", result
    out = json.loads(result["stdout"])
    assert out["reason"] == "interrupted"
    lane = out["lane"]
    assert min(lane) == pytest.approx(base * 0.1, rel=1e-3) and lane[-1] == pytest.approx(base, rel=1e-3)
    assert any("multiplier x1 → x0.1" in m for m in out["marks"])
    assert any("x0.1 → x1 (undo)" in m for m in out["marks"])
    print(f"LR x0.1 applied {first_latency:.3f} s after the message (longest batch {out['longest']:.3f} s)")
    assert first_latency < out["longest"] + LATENCY
