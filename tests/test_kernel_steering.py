"""Steering a running fit in a real ipykernel 7 kernel, driven over ZMQ as a front end would.

No browser: comm messages are sent as JupyterLab >= 4.4 sends them (``subshell_id`` in
the header of a subshell made with ``create_subshell_request``), and the kernel writes
what it handled, with timestamps, to a log file this test polls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from kernel_session import STEERING_PRELUDE, KernelSession, check_graceful_interrupt, started_kernel

pytestmark = pytest.mark.slow  # one kernel, TensorFlow imported once: about 30 s in all

LATENCY = 0.5  # seconds from sending a comm message to its handler running

PRELUDE = STEERING_PRELUDE


class Kernel(KernelSession):
    """The shared kernel session plus subshells and comm messages."""

    def create_subshell(self) -> str:
        msg = self.kc.session.msg("create_subshell_request", {})
        self.kc.control_channel.send(msg)
        while True:
            reply = self.kc.control_channel.get_msg(timeout=10)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return str(reply["content"]["subshell_id"])

    def comm_msg(self, comm_id: str, data: dict[str, Any], subshell_id: str | None) -> float:
        """Send a widget comm message as JupyterLab does; returns the send time."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        if subshell_id is not None:
            msg["header"]["subshell_id"] = subshell_id
        sent = time.time()
        self.kc.shell_channel.send(msg)
        return sent


CLICK = {"method": "custom", "content": {"event": "click"}}


def _value(v: int) -> dict[str, Any]:
    return {"method": "update", "state": {"value": v}, "buffer_paths": []}


@pytest.fixture(scope="module")
def shared_kernel() -> Iterator[Kernel]:
    with started_kernel(Kernel, PRELUDE, "wc-kernel-") as session:
        yield session


@pytest.fixture()
def kernel(shared_kernel: Kernel) -> Kernel:
    shared_kernel.start_test()
    return shared_kernel


def test_kernel_supports_subshells(kernel: Kernel) -> None:
    info = kernel.kc.kernel_info(reply=True)["content"]
    assert "kernel subshells" in info.get("supported_features", [])


def test_stop_and_patience_during_blocking_fit_on_a_subshell(kernel: Kernel) -> None:
    subshell = kernel.create_subshell()
    setup = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=50, restore_best_weights=True)\n"
        "panel = panel_for(controller, 'a')\n"
        "plain = ipywidgets.Button(description='not routed')\n"
        "plain.on_click(lambda b: log('a-plain'))\n"
        "print(json.dumps({'stop': panel.stop_button.model_id, 'slider': panel.patience_slider.model_id,\n"
        "                  'plain': plain.model_id, 'routed': panel.routed,\n"
        "                  'support': event_support().sentence, 'state': panel.state}))"
    )
    assert setup["status"] == "ok", setup
    ids = json.loads(setup["stdout"])
    assert ids["routed"] is True and ids["state"] == "waiting"
    assert ids["support"].startswith("Stop and patience act during fit")
    fit_id = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=True)\n"
        "model, rec = model_for(0.003), Recorder()\n"
        "history = model.fit(x, y, validation_data=(xv, yv), epochs=2000, batch_size=8, verbose=0,\n"
        "                    callbacks=[rec, controller])\n"
        "s = controller.snapshot()\n"
        "print(json.dumps({'reason': s.stop_reason, 'epochs': len(history.epoch), 'state': panel.state,\n"
        "                  'status': panel.status_line, 'patience': controller.patience,\n"
        "                  'restored': rec.best_weights is not None and same(model.get_weights(), rec.best_weights),\n"
        "                  'disabled': panel.stop_button.disabled}))\n"
        "log('a-done')"
    )
    kernel.wait_for("epoch", epoch=3)  # fit is past tracing and running

    sent = kernel.comm_msg(ids["slider"], _value(2), subshell)
    row = kernel.wait_for("a-slider", value=2)
    slider_latency = row["t"] - sent
    assert row["patience"] == 2 and row["thread"].startswith("subshell")

    kernel.comm_msg(ids["plain"], CLICK, subshell)  # stock routing: to the busy main shell
    time.sleep(1.0)
    assert not [r for r in kernel.rows() if r["ev"] == "a-plain"], "an unrouted click ran during fit"
    sent = kernel.comm_msg(ids["stop"], CLICK, subshell)
    row = kernel.wait_for("a-stop")
    click_latency = row["t"] - sent
    assert row["thread"].startswith("subshell")
    stop = kernel.wait_for("a-snap", reason="stopped by hand")
    result = kernel.finish(fit_id)
    assert result["status"] == "ok", result
    out = json.loads(result["stdout"])
    assert out["reason"] == "stopped by hand" and out["epochs"] < 2000
    assert out["restored"] and out["patience"] == 2 and out["disabled"] is True
    assert out["status"].startswith("stopped by hand at epoch") and out["state"] == "stopped"
    plain = kernel.wait_for("a-plain")  # handled only once the cell was over
    assert plain["thread"] == "MainThread" and plain["t"] > kernel.wait_for("a-done")["t"]
    print(f"slider {slider_latency:.3f} s, click {click_latency:.3f} s, stop applied "
          f"{stop['t'] - sent:.3f} s after the click")  # fmt: skip
    assert slider_latency < LATENCY and click_latency < LATENCY


def test_stop_and_patience_during_blocking_fit_without_subshell_ids(kernel: Kernel) -> None:
    """What VS Code and JupyterLab < 4.4 send: comm messages with no subshell id. Our
    controls act during a plain fit (the shell channel's worker thread); a widget that
    is not ours, and a queued execute_request, wait for the cell, in order."""
    setup = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=50, restore_best_weights=True)\n"
        "panel = panel_for(controller, 'v')\n"
        "plain = ipywidgets.Button(description='not ours')\n"
        "plain.on_click(lambda b: log('v-plain'))\n"
        "print(json.dumps({'stop': panel.stop_button.model_id, 'slider': panel.patience_slider.model_id,\n"
        "                  'plain': plain.model_id, 'support': event_support().sentence}))"
    )
    ids = json.loads(setup["stdout"])
    assert ids["support"].startswith("Stop and patience act during fit")
    fit_id = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=True)\n"
        "model, rec = model_for(0.003), Recorder()\n"
        "history = model.fit(x, y, validation_data=(xv, yv), epochs=2000, batch_size=8, verbose=0,\n"
        "                    callbacks=[rec, controller])\n"
        "s = controller.snapshot()\n"
        "print(json.dumps({'reason': s.stop_reason, 'epochs': len(history.epoch), 'patience': controller.patience,\n"
        "                  'restored': rec.best_weights is not None and same(model.get_weights(), rec.best_weights)}))\n"
        "log('v-done')"
    )
    kernel.wait_for("epoch", epoch=3)
    queued = kernel.kc.execute("log('v-queued')")  # runs after the fit's cell, as today

    sent = kernel.comm_msg(ids["slider"], _value(3), None)
    row = kernel.wait_for("v-slider", value=3)
    slider_latency = row["t"] - sent
    assert row["patience"] == 3 and row["thread"] == "widget-callbacks-reconnect"
    kernel.comm_msg(ids["plain"], CLICK, None)
    kernel.comm_msg("no-such-comm", CLICK, None)  # a stale click: ignored quietly
    time.sleep(1.0)
    assert not [r for r in kernel.rows() if r["ev"] in ("v-plain", "v-queued")], "ran during fit"
    sent = kernel.comm_msg(ids["stop"], CLICK, None)
    row = kernel.wait_for("v-stop")
    click_latency = row["t"] - sent
    stop = kernel.wait_for("v-snap", reason="stopped by hand")
    result = kernel.finish(fit_id)
    assert result["status"] == "ok", result
    out = json.loads(result["stdout"])
    assert out["reason"] == "stopped by hand" and out["epochs"] < 2000 and out["patience"] == 3
    assert out["restored"]
    done = kernel.wait_for("v-done")["t"]
    assert kernel.wait_for("v-plain")["t"] > done and kernel.wait_for("v-queued")["t"] > done
    assert kernel.finish(queued)["status"] == "ok"
    print(f"no subshell id: slider {slider_latency:.3f} s, click {click_latency:.3f} s, stop applied "
          f"{stop['t'] - sent:.3f} s after the click")  # fmt: skip
    assert slider_latency < LATENCY and click_latency < LATENCY


def test_interrupt_during_fit_is_graceful_and_restores_best_weights(kernel: Kernel) -> None:
    latency = check_graceful_interrupt(kernel, "b")
    print(f"interrupt -> stop applied in {latency:.3f} s")
    assert latency < 2.0


def test_plain_fit_that_raises_marks_the_panel_failed(kernel: Kernel) -> None:
    reply = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=5)\n"
        "panel = panel_for(controller, 'c')\n"
        "x, y, xv, yv = data(learnable=True)\n"
        "model_for(0.003).fit(x, y, validation_data=(xv, yv), epochs=5, verbose=0, callbacks=[controller, Boom()])"
    )
    assert reply["status"] == "error" and reply["ename"] == "ValueError" and reply["evalue"] == "boom"
    after = kernel.execute(
        "import signal\n"
        "print(json.dumps({'status': panel.status_line, 'state': panel.state, 'running': controller.running,\n"
        "                  'disabled': panel.stop_button.disabled,\n"
        "                  'handler': signal.getsignal(signal.SIGINT) is signal.default_int_handler}))"
    )
    out = json.loads(after["stdout"])
    assert out == {"status": "failed: ValueError: boom", "state": "failed", "running": False,
                   "disabled": True, "handler": True}  # fmt: skip


def test_fit_async_handles_clicks_without_subshells_and_keeps_output_in_the_cell(kernel: Kernel) -> None:
    setup = kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=500, restore_best_weights=True)\n"
        "panel = panel_for(controller, 'd')\n"
        "class Talk(keras.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        print(f'talk epoch {epoch + 1} on {threading.current_thread().name}')\n"
        "        if epoch == 0:\n"
        "            warnings.warn('wc-warning-from-fit')\n"
        "print(json.dumps({'stop': panel.stop_button.model_id}))"
    )
    ids = json.loads(setup["stdout"])
    cell = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=True)\n"
        "model = model_for(0.003)\n"
        "history = await fit_async(model, x, y, validation_data=(xv, yv), epochs=2000, batch_size=8,\n"
        "                          verbose=2, callbacks=[controller, Talk()])\n"
        "print('RESULT', json.dumps({'reason': controller.snapshot().stop_reason, 'epochs': len(history.epoch),\n"
        "                            'type': type(history).__name__}))"
    )
    kernel.wait_for("d-snap", epoch=3)
    sent = kernel.comm_msg(ids["stop"], CLICK, None)  # a front end without subshells
    row = kernel.wait_for("d-stop")
    latency = row["t"] - sent
    assert row["thread"] == "MainThread"
    result = kernel.finish(cell)
    assert result["status"] == "ok", result
    out = json.loads(result["stdout"].split("RESULT", 1)[1])
    assert out["reason"] == "stopped by hand" and out["type"] == "History" and out["epochs"] < 2000
    assert "talk epoch 1 on " in result["stdout"] and "on MainThread" not in result["stdout"]
    assert "Epoch 1/2000" in result["stdout"]  # Keras' own progress lines
    assert "wc-warning-from-fit" in result["stderr"]
    print(f"fit_async click handled in {latency:.3f} s")
    assert latency < LATENCY

    failed = kernel.execute(
        "await fit_async(model_for(0.003), x, y, validation_data=(xv, yv), epochs=5, verbose=0,\n"
        "                callbacks=[controller, Boom()])"
    )
    assert failed["status"] == "error" and failed["ename"] == "ValueError" and failed["evalue"] == "boom"
    after = kernel.execute("print(panel.status_line)")
    assert after["stdout"].strip() == "failed: ValueError: boom"


def test_interrupt_during_fit_async_is_graceful(kernel: Kernel) -> None:
    kernel.execute(
        "controller = EarlyStoppingController(monitor='val_loss', patience=500, restore_best_weights=True)\n"
        "panel = panel_for(controller, 'e')"
    )
    cell = kernel.kc.execute(
        "x, y, xv, yv = data(learnable=False)\n"
        "model, rec = model_for(0.02), Recorder()\n"
        "history = await fit_async(model, x, y, validation_data=(xv, yv), epochs=2000, batch_size=8,\n"
        "                          verbose=0, callbacks=[rec, controller])\n"
        "print(json.dumps({'reason': controller.snapshot().stop_reason, 'epochs': len(history.epoch),\n"
        "                  'restored': same(model.get_weights(), rec.best_weights),\n"
        "                  'handler': __import__('signal').getsignal(2).__name__}))"
    )
    kernel.wait_for("e-snap", epoch=5)
    sent = time.time()
    kernel.km.interrupt_kernel()
    stop = kernel.wait_for("e-snap", reason="interrupted")
    result = kernel.finish(cell)
    assert result["status"] == "ok", result
    out = json.loads(result["stdout"])
    assert out["reason"] == "interrupted" and out["epochs"] < 2000 and out["restored"]
    assert out["handler"] == "handle_sigint"  # ipykernel's own async-cell handler is back
    print(f"interrupt during fit_async -> stop applied in {stop['t'] - sent:.3f} s")
    assert stop["t"] - sent < 2.0
