"""Field issue: Keras Tuner (callbacks deep-copied per trial), a plain Python script,
and the controller's ``graceful_interrupt`` argument."""

from __future__ import annotations

import copy
import pathlib
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
from types import SimpleNamespace
from typing import Any

import keras
import numpy as np
import pytest
from interrupts import InterruptAtBatch

from widget_callbacks import (
    ControlPanel,
    EarlyStoppingController,
    LivePlot,
    LivePlotCallback,
    TrainingDashboard,
)
from widget_callbacks.core.outcome import STOP_BY_HAND, STOP_COMPLETED, STOP_FAILED, STOP_INTERRUPTED

keras_tuner = pytest.importorskip("keras_tuner")

EPOCHS = 3
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _build_model(hp: Any) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Int("units", 2, 16), activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


class _Recorder(keras.callbacks.Callback):
    """Records, per fit, what the plot shows; copies share the one record (so the
    tuner's copies report here). ``during`` runs at the first batch of each fit."""

    def __init__(self, plot: LivePlot, during: Any = None) -> None:
        super().__init__()
        self.plot, self.during = plot, during
        self.fits: list[dict[str, Any]] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> _Recorder:
        return self

    def on_train_begin(self, logs: Any = None) -> None:
        self.fits.append({"epochs": 0})

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if batch == 0 and self.during is not None and "run" not in self.fits[-1]:
            self.during(len(self.fits) - 1)
        self.fits[-1].setdefault("run", self.plot.run)
        self.fits[-1].setdefault("label", self.plot.progress["message"])

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.fits[-1]["epochs"] += 1


def _tuner(tmp_path: Any, trials: int = 3) -> Any:
    keras.utils.set_random_seed(0)
    return keras_tuner.RandomSearch(
        _build_model,
        objective="val_loss",
        max_trials=trials,
        directory=str(tmp_path),
        project_name="search",
        overwrite=True,
    )


def _search(tuner: Any, callbacks: list[Any]) -> None:
    x, y = _data()
    tuner.search(x, y, epochs=EPOCHS, validation_split=0.25, verbose=0, callbacks=callbacks)


# ----------------------------------------------------------------- Keras Tuner, a real search


def test_a_tuner_search_feeds_the_plot_a_labelled_run_per_trial(tmp_path: Any) -> None:
    plot = LivePlot(static_fallback=False)
    recorder = _Recorder(plot)
    tuner = _tuner(tmp_path)
    _search(tuner, [plot.callback, recorder])  # crashed: "Widgets cannot be copied"

    trial_ids = sorted(tuner.oracle.trials)
    assert len(trial_ids) == 3
    assert [fit["label"] for fit in recorder.fits] == [f"trial {t}" for t in trial_ids]
    assert [fit["epochs"] for fit in recorder.fits] == [EPOCHS] * 3
    runs = [fit["run"] for fit in recorder.fits]
    assert runs == sorted(set(runs)) and plot.run == runs[-1]  # a new run per trial
    assert plot.history["epoch"] == [1, 2, 3]  # the last trial's epochs
    assert plot.status == "finished" and plot.progress["message"] == f"trial {trial_ids[-1]}"
    assert plot.callback._copies == 3 and plot.callback.run_label == ""  # the original never ran


def test_a_tuner_search_with_a_dashboard_steers_each_trial(tmp_path: Any) -> None:
    dashboard = TrainingDashboard(patience=10, plot=LivePlot(static_fallback=False))
    controller = dashboard.controller
    seen: list[Any] = []
    controller.add_listener(seen.append)
    enabled: list[bool] = []

    def during(fit: int) -> None:
        enabled.append(controller.running and not dashboard.controls.stop_button.disabled)
        if fit == 1:  # the panel's slider, then its Stop button, from another thread
            thread = threading.Thread(target=lambda: (controller.set_patience(7), controller.stop()))
            thread.start()
            thread.join()

    recorder = _Recorder(dashboard.plot, during)
    tuner = _tuner(tmp_path)
    _search(tuner, [*dashboard.callbacks, recorder])

    assert enabled == [True, True, True]  # the original's panel followed every trial's copy
    assert [fit["epochs"] for fit in recorder.fits] == [EPOCHS, 1, EPOCHS]
    begins = [s for s in seen if s.last_epoch is None and s.stop_reason is None]
    ends = [s.stop_reason for s in seen if s.stop_reason is not None]
    assert len(begins) == 3
    assert ends[0] == STOP_COMPLETED and STOP_BY_HAND in ends and ends[-1] == STOP_COMPLETED
    hand = next(s for s in seen if s.stop_reason == STOP_BY_HAND)
    assert hand.stopped_epoch == 1 and hand.patience == 7
    assert controller.patience == 7 and [s.patience for s in seen][-1] == 7  # kept for trial 3
    assert not controller.running and controller._live_copies == ()
    assert controller.snapshot().last_epoch is None  # the original itself never ran
    assert dashboard.plot.history["epoch"] == [1, 2, 3]
    assert dashboard.plot.state.stopping is not None
    assert dashboard.plot.state.stopping.stop_reason == STOP_COMPLETED
    assert dashboard.controls.state == "finished"


def test_interrupt_in_a_cell_stops_the_running_trial_gracefully(ipython_shell: Any, tmp_path: Any) -> None:
    before = signal.getsignal(signal.SIGINT)
    dashboard = TrainingDashboard(patience=10, plot=LivePlot(static_fallback=False))
    ends: list[str] = []
    dashboard.controller.add_listener(lambda s: ends.append(s.stop_reason) if s.stop_reason else None)

    def during(fit: int) -> None:
        if fit == 1:
            signal.raise_signal(signal.SIGINT)  # the notebook's Interrupt button

    recorder = _Recorder(dashboard.plot, during)
    x, y = _data()
    ipython_shell.user_ns.update(tuner=_tuner(tmp_path), x=x, y=y, cbs=[*dashboard.callbacks, recorder])
    result = ipython_shell.run_cell(
        "tuner.search(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=cbs)"
    )
    assert result.success, result.error_in_exec
    assert [fit["epochs"] for fit in recorder.fits] == [EPOCHS, 1, EPOCHS]  # the search went on
    assert ends[0] == ends[-1] == STOP_COMPLETED and STOP_INTERRUPTED in ends
    assert signal.getsignal(signal.SIGINT) is before


# ----------------------------------------------------------------- copy semantics


def test_a_plot_callback_copy_feeds_the_same_plot_with_fresh_state() -> None:
    callback = LivePlotCallback(LivePlot(static_fallback=False))
    first, second = copy.deepcopy(callback), copy.deepcopy([callback])[0]
    assert first.plot is second.plot is callback.plot
    assert isinstance(first, LivePlotCallback) and first._cell_end is not callback._cell_end
    assert (first.run_label, second.run_label) == ("copy 1", "copy 2")  # no tuner running
    assert copy.deepcopy(first).run_label == "copy 3" and first._copies == 0
    second.on_epoch_end(0, {"loss": 0.5})
    assert callback.plot.history == {"epoch": [1], "loss": [0.5]}


def test_a_copy_is_displayed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    from widget_callbacks.widgets import callback as callback_module

    shown: list[Any] = []
    monkeypatch.setattr(callback_module, "running_kernel", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    original = LivePlotCallback()
    original.plot._static = type(original.plot._static)(False)
    for clone in copy.deepcopy([original, original]):
        clone.set_params({"epochs": 1, "steps": 1})
        clone.on_train_begin()
        clone.on_train_end()
    original.on_train_begin()
    assert shown == [original.plot]


def test_a_controller_copy_shares_listeners_and_is_steered_through_the_original() -> None:
    controller = EarlyStoppingController(monitor="loss", patience=2)
    seen: list[Any] = []
    controller.add_listener(seen.append)
    clone = copy.deepcopy(controller)
    assert clone._listeners is controller._listeners and clone._origin is controller
    assert copy.deepcopy(clone)._origin is controller
    clone.set_patience(5)  # the copy's own setting; the original's wins at its train begin
    assert controller.patience == 2 and clone.patience == 5 and clone.monitor == "loss"

    clone.set_model(SimpleNamespace(stop_training=False))
    clone.on_train_begin()
    assert clone.patience == 2 and controller.running and controller._live_copies == (clone,)
    assert seen[-1] == clone.snapshot() == controller.snapshot()
    controller.patience = 4
    controller.paused = True
    assert (clone.patience, clone.paused) == (4, True)
    controller.stop()
    clone.on_train_batch_end(0)
    assert seen[-1].stop_reason == STOP_BY_HAND and seen[-1].patience == 4
    clone.on_train_end()
    assert not controller.running and controller._live_copies == ()
    controller.stop()  # no copy running: ignored, as outside a run
    assert controller.snapshot().stop_reason is None


def test_a_failed_copy_is_reported_through_the_original() -> None:
    controller = EarlyStoppingController(monitor="loss")
    seen: list[Any] = []
    controller.add_listener(seen.append)
    clone = copy.deepcopy(controller)
    clone.on_train_begin()
    controller.mark_failed("ValueError: boom")
    assert seen[-1].stop_reason == STOP_FAILED and seen[-1].failure == "ValueError: boom"
    assert controller.failure_message == "ValueError: boom" and not controller.running


def test_a_pickled_controller_keeps_state_not_listeners_nor_the_link() -> None:
    controller = EarlyStoppingController(monitor="loss", patience=2, graceful_interrupt=False)
    controller.add_listener(lambda s: None)
    clone = copy.deepcopy(controller)
    clone.on_train_begin()
    restored = pickle.loads(pickle.dumps(clone))
    assert restored.patience == 2 and not restored.graceful_interrupt and restored.running
    assert len(restored._listeners) == 0 and restored._origin is None
    assert restored._live_copies == () and controller._live_copies == (clone,)
    assert pickle.loads(pickle.dumps(controller))._live_copies == ()


def test_the_keras_tuner_private_names_are_there() -> None:
    from widget_callbacks._compat import keras_tuner as compat

    found = compat.probe()
    assert found and all(found.values()), found
    assert compat.current_trial_id() is None  # outside a search


# ----------------------------------------------------------------- a plain Python script


def test_a_plot_callback_in_a_plain_script_stays_quiet() -> None:
    script = textwrap.dedent(
        """
        import numpy as np, keras
        from widget_callbacks import LivePlotCallback
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile("sgd", loss="mse")
        callback = LivePlotCallback()
        model.fit(np.zeros((8, 4)), np.zeros(8), epochs=2, verbose=0, callbacks=[callback])
        print("epochs", callback.plot.history["epoch"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "epochs [1, 2]\n"  # no "<widget_callbacks...LivePlot object at 0x...>"


# ----------------------------------------------------------------- graceful_interrupt=False


def test_graceful_interrupt_is_validated() -> None:
    assert EarlyStoppingController().graceful_interrupt is True
    with pytest.raises(TypeError, match="Received: graceful_interrupt=1 of type int"):
        EarlyStoppingController(graceful_interrupt=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes from 1 to 9 positional arguments"):
        EarlyStoppingController("loss", 0, 0, 0, "auto", None, False, 0, False)  # type: ignore[misc]


@pytest.mark.parametrize("panel", [False, True], ids=["alone", "with-panel"])
def test_with_graceful_interrupt_off_interrupt_reaches_the_cell(ipython_shell: Any, panel: bool) -> None:
    before = signal.getsignal(signal.SIGINT)

    controller = EarlyStoppingController(monitor="val_loss", patience=100, graceful_interrupt=False)
    if panel:
        ControlPanel(controller)  # a panel (steering=True) does not turn it back on
    x, y = _data()
    model = _build_model(keras_tuner.HyperParameters())
    ipython_shell.user_ns.update(model=model, x=x, y=y, cbs=[controller, InterruptAtBatch()])
    result = ipython_shell.run_cell(
        "history = model.fit(x, y, validation_split=0.25, epochs=50, batch_size=8, verbose=0, callbacks=cbs)"
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "history" not in ipython_shell.user_ns
    snapshot = controller.snapshot()
    assert snapshot.stop_reason == STOP_FAILED != STOP_INTERRUPTED  # still reported as failed
    assert snapshot.failure is not None and "KeyboardInterrupt" in snapshot.failure
    assert not controller.running and signal.getsignal(signal.SIGINT) is before
