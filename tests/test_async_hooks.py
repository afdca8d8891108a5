"""Our batch hooks run on Keras's thread pool (``async_safe``): JAX and PyTorch.

Keras dispatches ``on_train_batch_end`` to a ``ThreadPoolExecutor`` when every
callback that overrides it says ``async_safe = True``
(``keras/src/callbacks/callback_list.py``); otherwise every step waits for the
hooks. The hooks are first driven here as that pool drives them (many batches at
once, out of order, with a Stop from a third thread), then in a real JAX fit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.outcome import STOP_BY_HAND
from widget_callbacks.core.progress import BatchGate
from widget_callbacks.widgets.live_plot import LivePlot

BATCHES = 400


class _Model:
    stop_training = False


def _checked_plot() -> tuple[LivePlot, list[int], list[str]]:
    """A plot whose end_batch records the batches shown and any overlap of two calls."""
    plot = LivePlot(static_fallback=False, batch_updates_per_second=10_000)
    shown: list[int] = []
    faults: list[str] = []
    busy = threading.Lock()
    original = plot.end_batch

    def end_batch(batch: int, logs: Any) -> None:
        if not busy.acquire(blocking=False):
            faults.append(f"batch {batch} shown while another was being shown")
            return
        try:
            shown.append(batch)
            time.sleep(0.0002)  # widen the window for an overlap
            original(batch, logs)
        finally:
            busy.release()

    plot.end_batch = end_batch  # type: ignore[method-assign]
    return plot, shown, faults


def test_our_callbacks_say_async_safe_outside_ipykernel_6() -> None:
    plot = LivePlot(static_fallback=False)
    assert plot.callback.async_safe is True
    assert EarlyStoppingController(patience=2).async_safe is True


def test_batch_gate_in_order_one_at_a_time_under_a_thread_pool() -> None:
    gate = BatchGate()
    entered: list[int] = []
    inside = [0]
    overlaps = []

    def hook(batch: int) -> None:
        if not gate.enter(batch):
            return
        inside[0] += 1
        if inside[0] != 1:
            overlaps.append(batch)
        entered.append(batch)
        time.sleep(0.0001)
        inside[0] -= 1
        gate.exit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hook, [b for b in range(BATCHES) for _ in range(2)]))  # duplicates too
    assert overlaps == []
    assert entered == sorted(set(entered)) and entered, entered[:20]


def test_plot_feed_hooks_from_a_thread_pool_never_overlap_nor_go_back() -> None:
    plot, shown, faults = _checked_plot()
    callback = plot.callback
    callback.set_model(_Model())  # type: ignore[arg-type]
    callback.set_params({"epochs": 2, "steps": BATCHES})
    callback.on_train_begin()
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        shown.clear()
        with ThreadPoolExecutor(8) as pool:  # as Keras's CallbackList._async_dispatch
            for batch in range(BATCHES):
                pool.submit(callback.on_train_batch_end, batch, {"loss": 1.0 / (batch + 1)})
        callback.on_epoch_end(epoch, {"loss": 0.5})
        assert faults == []
        assert shown and shown == sorted(set(shown)), shown[:20]
        assert plot.progress["epoch"] == epoch + 1
    callback.on_train_end()
    assert plot.history["loss"] == [0.5, 0.5]


def test_controller_stop_from_another_thread_while_hooks_run_on_a_pool() -> None:
    for trial in range(20):
        controller = EarlyStoppingController(monitor="loss", patience=5)
        model = _Model()
        controller.set_model(model)  # type: ignore[arg-type]
        controller.set_params({"epochs": 3, "steps": BATCHES})
        snapshots = []
        controller.add_listener(snapshots.append)
        controller.on_train_begin()
        controller.on_epoch_begin(0)
        stop_at = 50 + 7 * trial
        ran = -1
        with ThreadPoolExecutor(8) as pool:  # Keras's JAX/PyTorch loop with async dispatch
            for batch in range(BATCHES):
                controller.on_train_batch_begin(batch)
                ran = batch
                time.sleep(0.0001)  # the step
                if batch == stop_at:
                    threading.Thread(target=controller.stop).start()
                pool.submit(controller.on_train_batch_end, batch, {"loss": 1.0})
                if model.stop_training:
                    break
        controller.on_epoch_end(0, {"loss": 1.0})
        controller.on_train_end()
        assert model.stop_training is True
        snapshot = controller.snapshot()
        assert snapshot.stop_reason == STOP_BY_HAND
        assert snapshot.stopped_epoch == 1
        assert ran < BATCHES - 1  # the loop broke on stop_training
        assert snapshot.stopped_batch == ran + 1  # the last batch Keras ran, 1-based
        # The mark drawn last (from the epoch's end on) says the batch Keras stopped after.
        assert [s.stopped_batch for s in snapshots if s.stop_reason == STOP_BY_HAND][-1] == ran + 1


_JAX_FIT = textwrap.dedent(
    """
    import json, threading, time
    import numpy as np, keras
    from widget_callbacks import LivePlot, EarlyStoppingController
    from keras.src.callbacks.callback_list import CallbackList

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 16)).astype("float32")
    y = rng.normal(size=(2048, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    plot = LivePlot(static_fallback=False)
    controller = EarlyStoppingController(monitor="val_loss", patience=100,
                                         restore_best_weights=True)
    plot.attach(controller)
    probe = CallbackList([plot.callback, controller], model=model)
    batches, times = [], {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            times["last_batch_begin"] = time.monotonic()
            batches.append(batch)

    def click():
        while len(batches) < 300:  # during the second epoch (256 steps an epoch)
            time.sleep(0.005)
        times["click"] = time.monotonic()
        controller.stop()

    threading.Thread(target=click, daemon=True).start()
    t0 = time.monotonic()
    history = model.fit(x, y, batch_size=8, epochs=50, validation_split=0.0,
                        validation_data=(x[:256], y[:256]), verbose=0,
                        callbacks=[plot.callback, controller, Clock()])
    end = time.monotonic()
    snap = controller.snapshot()
    print(json.dumps({
        "backend": keras.backend.backend(),
        "async_train": probe._async_train,
        "epochs": len(history.history["loss"]),
        "stop_reason": snap.stop_reason,
        "stopped_epoch": snap.stopped_epoch,
        "stopped_batch": snap.stopped_batch,
        "last_batch_run": batches[-1] + 1,
        "click_to_end_s": end - times["click"],
        "status": plot.progress["status"],
        "plot_epochs": plot.history["epoch"],
    }))
    """
)


@pytest.mark.slow
def test_jax_fit_keeps_async_dispatch_and_a_hand_stop_acts_within_a_batch() -> None:
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", _JAX_FIT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    assert result["async_train"] is True  # our hooks do not force a sync every step
    assert result["stop_reason"] == STOP_BY_HAND
    assert result["stopped_epoch"] == 2 and result["epochs"] == 2
    assert result["status"] == "stopped"
    assert result["plot_epochs"] == [1, 2]
    # What the widget says is the batch Keras stopped after, not the one whose hook asked.
    assert result["stopped_batch"] == result["last_batch_run"], result
    # The hooks run on the pool, behind the steps (a step here takes well under 1 ms):
    # the stop is counted in time, one batch + 0.5 s as the Stop button's budget.
    assert result["click_to_end_s"] < 0.5 + 0.5, result  # + validation and restore
