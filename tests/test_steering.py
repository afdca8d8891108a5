"""Steering a running fit without a kernel: comm routing, SIGINT, failures, fit_async."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

import keras
import numpy as np
import pytest
from interrupts import InterruptAtBatch

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.outcome import STOP_FAILED, STOP_INTERRUPTED
from widget_callbacks.kernel import events as _events
from widget_callbacks.kernel.events import (
    EventDelivery,
    EventSupport,
    event_support,
    route_comm_to_subshell,
)
from widget_callbacks.kernel.running import running_kernel
from widget_callbacks.kernel.steering import (
    GracefulInterrupt,
    enable_steering,
    fit_async,
    graceful_interrupts,
)


def _data(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random features and labels: validation loss improves briefly, then overfits."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    xv, yv = rng.normal(size=(32, 8)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    return x, y, xv, yv


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    return model


class _BestWeights(keras.callbacks.Callback):
    """Records the weights at the best val_loss (strict improvement, as Keras) and
    the weights before the controller's on_train_end; optionally sends SIGINT."""

    def __init__(self, interrupts: dict[tuple[int, int], int] | None = None) -> None:
        super().__init__()
        self.best = np.inf
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.final_weights: list[np.ndarray] | None = None
        self.interrupts = interrupts or {}
        self.epoch = 0
        self.sent_at: float | None = None

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        for _ in range(self.interrupts.pop((self.epoch, batch + 1), 0)):
            self.sent_at = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if logs["val_loss"] < self.best:
            self.best, self.best_epoch = logs["val_loss"], epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs: Any = None) -> None:
        self.final_weights = self.model.get_weights()


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


# ----------------------------------------------------------------- comm routing


def test_patch_comm_on_a_real_ipykernel_comm() -> None:
    from ipykernel.comm.comm import BaseComm

    patched, other = BaseComm(target_name="wc-test"), BaseComm(target_name="wc-test")
    for comm in (patched, other):
        comm._reply_subshell_id = None  # as after a publish from the busy main shell
        assert comm._reply_subshell_for({"method": "custom"}, "sub-1") is None
    assert _events._patch_comm(patched)
    assert patched._reply_subshell_for({"method": "custom"}, "sub-1") == "sub-1"
    assert patched._reply_subshell_for({"method": "custom"}, None) is None
    assert other._reply_subshell_for({"method": "custom"}, "sub-1") is None  # instance only
    assert not _events._patch_comm(None)
    assert not _events._patch_comm(object())


def test_route_comm_to_subshell_outside_a_kernel_is_a_no_op() -> None:
    import ipywidgets

    button = ipywidgets.Button()
    assert route_comm_to_subshell(button) is False
    assert route_comm_to_subshell(object()) is False


def test_route_comm_to_subshell_in_a_kernel() -> None:
    if running_kernel() is None:
        pytest.skip("needs a running ipykernel; covered by tests/test_kernel_steering.py")
    import ipywidgets

    assert route_comm_to_subshell(ipywidgets.Button())


def test_event_support_outside_a_kernel() -> None:
    support = event_support()
    assert not support.in_kernel and support.delivery is EventDelivery.NO_KERNEL
    assert support.sigint  # pytest runs tests on the main thread
    assert "Not in a Jupyter kernel" in _events.describe_event_support()


_IPYKERNEL_6 = {"ipykernel_version": "6.17.1", "kernel_subshells": False, "comm_routing": False}


@pytest.mark.parametrize(
    ("fields", "delivery", "words"),
    [
        ({"kernel_subshells": False, "comm_routing": False}, EventDelivery.AFTER_CELL, "after this cell"),
        ({"frontend_subshells": None}, EventDelivery.MAYBE_SUBSHELL, "JupyterLab >= 4.4"),
        ({"frontend_subshells": True}, EventDelivery.SUBSHELL, "during fit"),
        ({"comm_routing": False}, EventDelivery.AFTER_CELL, "use Interrupt or fit_async"),
        ({"async_fit": True, "kernel_subshells": False}, EventDelivery.ASYNC, "fit_async"),
        # ipykernel 7 without a subshell id from the front end (VS Code, JupyterLab < 4.4)
        ({"shell_thread": True}, EventDelivery.SHELL_THREAD, "act during fit."),
        ({"shell_thread": True, "frontend_subshells": True}, EventDelivery.SUBSHELL, "kernel subshell"),
        # ipykernel 6 (Colab): no subshells, the batch hook handles the controls' clicks
        ({**_IPYKERNEL_6, "between_batches": True}, EventDelivery.BETWEEN_BATCHES, "(between batches)."),
        ({**_IPYKERNEL_6, "between_batches": True, "async_fit": True}, EventDelivery.ASYNC, "fit_async"),
        # ipykernel 6 where the batch hook cannot (a private name gone): the after-cell sentence
        (_IPYKERNEL_6, EventDelivery.AFTER_CELL, "Stop acts after this cell: use Interrupt or fit_async."),
        ({"in_kernel": False, "between_batches": True}, EventDelivery.NO_KERNEL, "Not in a Jupyter kernel"),
    ],
)
def test_event_support_sentences(fields: dict[str, Any], delivery: EventDelivery, words: str) -> None:
    base = dict(
        in_kernel=True, ipykernel_version="7.4.0", kernel_subshells=True, comm_routing=True,
        frontend_subshells=None, sigint=True, async_fit=False,
    )  # fmt: skip
    support = EventSupport(**{**base, **fields})
    assert support.delivery is delivery
    assert words in support.sentence


# ----------------------------------------------------------------- SIGINT handler


def test_handler_install_and_restore() -> None:
    before = signal.getsignal(signal.SIGINT)
    controller = EarlyStoppingController(monitor="val_loss", patience=3)
    with graceful_interrupts(controller) as guard:
        assert guard.installed and signal.getsignal(signal.SIGINT) == guard._handle
    assert signal.getsignal(signal.SIGINT) is before
    guard = GracefulInterrupt(controller)
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(guard.install()))
    worker.start()
    worker.join()
    assert result == [False] and signal.getsignal(signal.SIGINT) is before


def test_second_interrupt_has_the_previous_behaviour() -> None:
    controller = EarlyStoppingController(monitor="val_loss", patience=3)
    with graceful_interrupts(controller):
        os.kill(os.getpid(), signal.SIGINT)  # handled: marks the controller from a thread
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs in the main thread before this returns


def test_sigint_during_fit_stops_gracefully_and_restores_best_weights() -> None:
    before = signal.getsignal(signal.SIGINT)
    x, y, xv, yv = _data()
    model = _model()
    controller = EarlyStoppingController(monitor="val_loss", patience=100, restore_best_weights=True)
    steering = enable_steering(controller)
    assert enable_steering(controller) is steering
    recorder = _BestWeights(interrupts={(12, 2): 1})
    started = time.monotonic()
    history = model.fit(
        x, y, validation_data=(xv, yv), epochs=60, batch_size=8, verbose=0,
        callbacks=[recorder, controller],
    )  # fmt: skip
    steering.detach()
    snap = controller.snapshot()
    assert snap.stop_reason == STOP_INTERRUPTED
    assert len(history.history["loss"]) in (12, 13)  # after the batch where it was seen
    assert recorder.best_epoch is not None and recorder.best_epoch < 12
    assert recorder.best_weights is not None and recorder.final_weights is not None
    assert _same(model.get_weights(), recorder.best_weights)
    assert not _same(recorder.final_weights, recorder.best_weights)
    assert signal.getsignal(signal.SIGINT) is before
    assert not controller.running
    assert time.monotonic() - started < 60


def test_two_interrupts_during_fit_raise_keyboard_interrupt_and_restore_handler() -> None:
    before = signal.getsignal(signal.SIGINT)
    x, y, xv, yv = _data()
    model = _model()
    controller = EarlyStoppingController(monitor="val_loss", patience=100)
    recorder = _BestWeights(interrupts={(2, 1): 2})
    with pytest.raises(KeyboardInterrupt), graceful_interrupts(controller):
        model.fit(
            x, y, validation_data=(xv, yv), epochs=30, batch_size=8, verbose=0,
            callbacks=[recorder, controller],
        )  # fmt: skip
    assert signal.getsignal(signal.SIGINT) is before


# ----------------------------------------------------------------- failures


class _Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch == 1:
            raise ValueError("boom <b>")


def test_failure_in_an_ipython_cell_marks_the_controller_failed(ipython_shell: Any) -> None:
    before = signal.getsignal(signal.SIGINT)
    x, y, xv, yv = _data()
    controller = EarlyStoppingController(monitor="val_loss", patience=100)
    steering = enable_steering(controller)
    ipython_shell.user_ns.update(model=_model(), x=x, y=y, xv=xv, yv=yv, cbs=[controller, _Boom()])
    result = ipython_shell.run_cell(
        "model.fit(x, y, validation_data=(xv, yv), epochs=5, verbose=0, callbacks=cbs)"
    )
    assert isinstance(result.error_in_exec, ValueError)
    assert str(result.error_in_exec) == "boom <b>"  # reaches the cell unchanged
    assert controller.snapshot().stop_reason == STOP_FAILED and not controller.running
    assert controller.failure_message == "ValueError: boom <b>"
    assert signal.getsignal(signal.SIGINT) is before
    assert steering._post_run_cell not in ipython_shell.events.callbacks["post_run_cell"]
    steering.detach()


def test_comm_events_and_subshell_cells_do_not_end_the_run(ipython_shell: Any) -> None:
    """The comm package fires post_execute around every comm message; a cell ending
    on a subshell thread fires post_run_cell there. Neither is the fit's cell."""
    controller = EarlyStoppingController(monitor="val_loss", patience=100)
    steering = enable_steering(controller)

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if epoch == 0:
                ipython_shell.events.trigger("post_execute")
                worker = threading.Thread(
                    target=ipython_shell.events.trigger, args=("post_run_cell", object())
                )
                worker.start()
                worker.join()
                assert controller.running

    x, y, xv, yv = _data()
    ipython_shell.user_ns.update(model=_model(), x=x, y=y, xv=xv, yv=yv, cbs=[controller, Probe()])
    result = ipython_shell.run_cell(
        "model.fit(x, y, validation_data=(xv, yv), epochs=2, verbose=0, callbacks=cbs)"
    )
    assert result.success
    assert controller.snapshot().stop_reason == "finished all epochs"
    steering.detach()


# ----------------------------------------------------------------- fit_async


def test_fit_async_returns_history_and_propagates_errors() -> None:
    x, y, xv, yv = _data()
    model = _model()
    controller = EarlyStoppingController(monitor="val_loss", patience=100)
    threads: list[str] = []

    class Where(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            threads.append(threading.current_thread().name)

    history = asyncio.run(
        fit_async(model, x, y, validation_data=(xv, yv), epochs=3, verbose=0,
                  callbacks=[controller, Where()])
    )  # fmt: skip
    assert isinstance(history, keras.callbacks.History) and len(history.epoch) == 3
    assert threads and all(name != "MainThread" for name in threads)
    boom = _Boom()
    with pytest.raises(ValueError, match="boom") as caught:
        asyncio.run(fit_async(model, x, y, validation_data=(xv, yv), epochs=5, verbose=0,
                              callbacks=[controller, boom]))  # fmt: skip
    assert caught.value.__traceback__ is not None
    assert controller.snapshot().stop_reason == STOP_FAILED and not controller.running


def test_sigint_during_fit_async_is_graceful() -> None:
    before = signal.getsignal(signal.SIGINT)
    x, y, xv, yv = _data()
    model = _model()
    controller = EarlyStoppingController(monitor="val_loss", patience=100, restore_best_weights=True)
    recorder = _BestWeights(interrupts={(10, 3): 1})
    seen: dict[str, Any] = {}

    async def main() -> Any:
        seen["during"] = event_support().async_fit
        return await fit_async(model, x, y, validation_data=(xv, yv), epochs=60, batch_size=8,
                               verbose=0, callbacks=[recorder, controller])  # fmt: skip

    history = asyncio.run(main())
    assert controller.snapshot().stop_reason == STOP_INTERRUPTED
    assert len(history.epoch) < 60
    assert recorder.best_weights is not None and _same(model.get_weights(), recorder.best_weights)
    assert signal.getsignal(signal.SIGINT) is before
    assert not event_support().async_fit


# ----------------------------------------------------- what the adapters start themselves


def test_a_plot_alone_says_failed_when_fit_raises_in_a_cell(ipython_shell: Any) -> None:
    from widget_callbacks import LivePlot

    plot = LivePlot(static_fallback=False)
    x, y, xv, yv = _data()
    ipython_shell.user_ns.update(model=_model(), x=x, y=y, xv=xv, yv=yv, cbs=[plot.callback, _Boom()])
    result = ipython_shell.run_cell(
        "model.fit(x, y, validation_data=(xv, yv), epochs=5, verbose=0, callbacks=cbs)"
    )
    assert isinstance(result.error_in_exec, ValueError)
    assert plot.progress["status"] == "failed" and plot.progress["eta"] is None
    assert plot.progress["message"] == "failed: ValueError: boom <b>"


def test_an_undisplayed_controller_makes_interrupt_graceful_in_a_cell(ipython_shell: Any) -> None:
    before = signal.getsignal(signal.SIGINT)

    controller = EarlyStoppingController(monitor="val_loss", patience=100, restore_best_weights=True)
    x, y, xv, yv = _data()
    ipython_shell.user_ns.update(model=_model(), x=x, y=y, xv=xv, yv=yv, cbs=[controller, InterruptAtBatch()])
    result = ipython_shell.run_cell(
        "history = model.fit(x, y, validation_data=(xv, yv), epochs=50, verbose=0, callbacks=cbs)"
    )
    assert result.success, result.error_in_exec
    assert controller.snapshot().stop_reason == STOP_INTERRUPTED
    assert len(ipython_shell.user_ns["history"].epoch) == 1
    assert signal.getsignal(signal.SIGINT) is before
