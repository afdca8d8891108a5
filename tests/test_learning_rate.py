"""The learning rate, seen and steered.

Core: the multiplier's range, the rate's formatting, which reads are changes to mark
(`RateWatch`) and the marks. Adapters, in real tiny fits: the lane's values equal
``optimizer.learning_rate`` at each epoch for a constant rate, an ``ExponentialDecay``
schedule and ``ReduceLROnPlateau``; the multiplier changes the update SGD applies (a
linear model: weight delta == -rate * multiplier * gradient) for a constant rate and a
schedule, from the next batch, and Undo gives x1 back. Widgets: the control only sets
the controller's state; the optimizer changes at the controller's next hook.
"""

from __future__ import annotations

import copy
import logging
import math
import pickle
import threading
from typing import Any

import keras
import numpy as np
import pytest

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.adapters.learning_rate import (
    LearningRateMultiplier,
    ScaledSchedule,
    changer_reason,
    read_learning_rate,
)
from widget_callbacks.adapters.plot_feed import PlotFeedCallback
from widget_callbacks.core.figure import PlotState
from widget_callbacks.core.learning_rate import (
    LearningRateChange,
    RateWatch,
    check_multiplier,
    format_rate,
    learning_rate_overlays,
)
from widget_callbacks.widgets.controls import ControlPanel
from widget_callbacks.widgets.live_plot import LivePlot

# -- core ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0.05, ValueError, "Expected a learning-rate multiplier from 0.1 to 10. Received: multiplier=0.05"),
        (10.5, ValueError, "Received: multiplier=10.5"),
        (math.nan, ValueError, "Received: multiplier=nan"),
        (math.inf, ValueError, "Received: multiplier=inf"),
        (0, ValueError, "Received: multiplier=0"),
        ("2", TypeError, "Received: multiplier='2' of type str"),
        (True, TypeError, "Received: multiplier=True of type bool"),
        (None, TypeError, "Received: multiplier=None of type NoneType"),
    ],
)
def test_bad_multiplier_says_what_was_received(value: Any, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        check_multiplier(value)
    assert message in str(caught.value)
    controller = EarlyStoppingController()
    with pytest.raises(error):
        controller.set_learning_rate_multiplier(value)
    assert controller.learning_rate_multiplier == 1.0


def test_multiplier_range_is_inclusive() -> None:
    assert check_multiplier(0.1) == 0.1 and check_multiplier(10) == 10.0 and check_multiplier(1) == 1.0


def test_format_rate() -> None:
    assert [format_rate(r) for r in (1e-3, 1e-4, 2.5e-4, 3e-5, 0.05, 0.1, 1.0, 0.0)] == [
        "1e-3", "1e-4", "2.5e-4", "3e-5", "0.05", "0.1", "1", "0",
    ]  # fmt: skip
    assert format_rate(float(np.float32(1e-3))) == "1e-3"  # as Keras logs it


def test_rate_watch_marks_assigned_changes_not_a_schedule() -> None:
    constant = RateWatch(reason="ReduceLROnPlateau: val_loss did not improve for 2 epochs")
    reads = [1e-3, 1e-3, 1e-4, 1e-4, 1e-5]
    marks = [constant.observe(r, x=float(i + 1), epoch=i + 1) for i, r in enumerate(reads)]
    assert [len(m) for m in marks] == [0, 0, 1, 0, 1]
    assert marks[2][0] == LearningRateChange(
        3.0, 3, 1e-3, 1e-4, "ReduceLROnPlateau: val_loss did not improve for 2 epochs"
    )
    schedule = RateWatch(schedule=True)
    assert all(not schedule.observe(0.1 * 0.5**i, x=i, epoch=i + 1) for i in range(5))
    by_hand = LearningRateChange(2.5, 3, 0.1, 0.01, "multiplier x1 → x0.1")
    assert schedule.observe(0.009, x=3.0, epoch=3, reported=[by_hand]) == [by_hand]
    # a reported change is not seen twice, a later unreported one is
    watch = RateWatch()
    watch.observe(0.1, x=0.0, epoch=1)
    assert watch.observe(0.01, x=1.0, epoch=1, reported=[by_hand]) == [by_hand]
    assert watch.observe(0.01, x=2.0, epoch=2) == []
    assert [c.reason for c in watch.observe(0.02, x=3.0, epoch=3)] == ["changed"]


def test_overlays_are_on_the_learning_rate_panel() -> None:
    changes = [LearningRateChange(3.0, 3, 1e-3, 1e-4, "changed <b>")]
    assert learning_rate_overlays(["loss"], changes) == []
    (trace,) = learning_rate_overlays(["loss", "accuracy", "learning_rate"], changes)
    assert (trace["xaxis"], trace["yaxis"]) == ("x3", "y3")
    assert trace["x"] == [3.0] and trace["y"] == [1e-4]
    assert trace["text"] == ["learning rate 1e-3 → 1e-4 (changed &lt;b&gt;)"]
    state = PlotState()
    state.add_epoch(1, {"loss": 1.0, "learning_rate": 1e-3})
    state.add_learning_rate_change(changes[0])
    assert any(o["meta"]["role"] == "learning_rate_change" for o in state.overlays())
    state.new_run()
    assert state.learning_rate_changes == []


def test_changer_reason() -> None:
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=2)
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr)
    assert changer_reason([]) == "changed"
    assert changer_reason([reduce]) == "ReduceLROnPlateau: val_loss did not improve for 2 epochs"
    assert changer_reason([reduce, scheduler]).endswith(" or LearningRateScheduler")


# -- real tiny fits -------------------------------------------------------------------

X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [2.0, 1.0]], "float32")
Y = np.array([[1.0], [0.0], [2.0], [-1.0]], "float32")


def _gradient(w: np.ndarray) -> np.ndarray:
    """d/dw of mean((X w - Y)^2), the one batch's loss."""
    return 2 / len(X) * X.T @ (X @ w - Y)


def _linear(learning_rate: Any) -> keras.Model:
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")]
    )
    model.compile(keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _rate(optimizer: Any) -> float:
    """``optimizer.learning_rate`` as a float, as a user reads it (Keras's
    ``float(ops.convert_to_numpy(...))``, through ``numpy()`` for a Variable: NumPy 2
    warns when it converts a TensorFlow variable itself)."""
    rate = optimizer.learning_rate
    return float(rate.numpy() if isinstance(rate, keras.Variable) else keras.ops.convert_to_numpy(rate))


class StepSizes(keras.callbacks.Callback):
    """For each step: the rate applied, seen in the weight delta (-delta / gradient,
    per weight), and the rate ``optimizer.learning_rate`` said before the step."""

    def __init__(self, actions: dict[int, Any] | None = None) -> None:
        super().__init__()
        self.applied: list[np.ndarray] = []
        self.said: list[float] = []
        self.actions = actions or {}

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self.w = self.model.get_weights()[0].copy()
        self.said.append(_rate(self.model.optimizer))

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        delta = self.model.get_weights()[0] - self.w
        self.applied.append((-delta / _gradient(self.w)).ravel())

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch in self.actions:
            self.actions[epoch]()


def _decay() -> Any:
    return keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.5)


@pytest.mark.parametrize("kind", ["constant", "ExponentialDecay"])
def test_multiplier_changes_the_update_size(kind: str) -> None:
    """One step per epoch. x0.1 asked for after epoch 2 (0-based 1), x1 (Undo) after
    epoch 4: the weight delta of each step is -rate * multiplier * gradient."""
    model = _linear(0.01 if kind == "constant" else _decay())
    controller = EarlyStoppingController(monitor="loss", patience=100)
    steps = StepSizes(
        {
            1: lambda: controller.set_learning_rate_multiplier(0.1),
            3: lambda: controller.set_learning_rate_multiplier(1.0),
        }
    )
    model.fit(X, Y, batch_size=4, epochs=6, verbose=0, shuffle=False, callbacks=[steps, controller])
    base = [0.01] * 6 if kind == "constant" else [0.01 * 0.5**step for step in range(6)]
    multiplier = [1, 1, 0.1, 0.1, 1, 1]
    for step, applied in enumerate(steps.applied):
        expected = base[step] * multiplier[step]
        np.testing.assert_allclose(applied, expected, rtol=2e-3, err_msg=f"step {step}")
        assert steps.said[step] == pytest.approx(expected, rel=1e-6)  # the getter agrees
    source = model.optimizer._learning_rate
    assert isinstance(source, ScaledSchedule) == (kind != "constant")


@pytest.mark.parametrize("kind", ["constant", "ExponentialDecay"])
def test_multiplier_set_before_fit_applies_from_the_first_step(kind: str) -> None:
    model = _linear(0.01 if kind == "constant" else _decay())
    controller = EarlyStoppingController(monitor="loss", patience=100)
    controller.learning_rate_multiplier = 4.0
    steps = StepSizes()
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[steps, controller])
    np.testing.assert_allclose(steps.applied[0], 0.04, rtol=2e-3)


def test_multiplier_keeps_a_cut_made_meanwhile() -> None:
    """A constant rate is scaled relative to what it is: ReduceLROnPlateau's cut stays."""
    model = _linear(0.01)
    multiplier = LearningRateMultiplier()
    multiplier.set(0.5)
    multiplier.apply(model, 0, None, 1)
    model.optimizer.learning_rate = read_learning_rate(model.optimizer) / 10  # someone cuts it
    multiplier.set(1.0)  # Undo
    change = multiplier.apply(model, 0, None, 1)
    assert read_learning_rate(model.optimizer) == pytest.approx(0.001)
    assert change is not None and change.reason == "multiplier x0.5 → x1 (undo)"


class EpochRates(keras.callbacks.Callback):
    """``optimizer.learning_rate`` at each epoch end, as a user reads it."""

    def on_train_begin(self, logs: Any = None) -> None:
        self.rates: list[float] = []

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.rates.append(_rate(self.model.optimizer))


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    return x, (x @ np.ones((3, 1)) + rng.normal(size=(64, 1))).astype("float32")


@pytest.mark.parametrize(
    "kind", ["constant", "ExponentialDecay", "ReduceLROnPlateau", "ReduceLROnPlateau first"]
)
def test_lane_values_equal_the_optimizer_rate_at_each_epoch(kind: str) -> None:
    x, y = _data()
    rate = keras.optimizers.schedules.ExponentialDecay(0.01, 4, 0.5) if kind == "ExponentialDecay" else 0.01
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(rate), loss="mse")
    plot = LivePlot(static_fallback=False)
    seen = EpochRates()
    callbacks: list[Any] = [plot.callback, seen]
    if kind.startswith("ReduceLROnPlateau"):  # min_delta=10: never improves, cut every 2 epochs
        reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=2, factor=0.5, min_delta=10)
        callbacks = [reduce, *callbacks] if kind.endswith("first") else [*callbacks, reduce]
    if kind == "ReduceLROnPlateau first":
        seen = EpochRates()  # before the cut at the same epoch end, as ReduceLROnPlateau logs it
        callbacks = [seen, *callbacks]
    model.fit(x, y, batch_size=16, epochs=7, verbose=0, callbacks=callbacks)
    lane = plot.history["learning_rate"]
    assert lane == seen.rates and len(lane) == 7
    assert "learning_rate" in plot.state.panels
    if keras.backend.backend() == "tensorflow":  # JAX purges variables within an epoch
        batch_lane = plot.state.batch_curve_data().get("learning_rate")
        assert batch_lane is not None and batch_lane[1]  # throttled batch reads
    changes = plot.state.learning_rate_changes
    if kind.startswith("ReduceLROnPlateau"):
        assert len(set(lane)) > 2 and len(changes) == len(set(lane)) - 1
        assert changes[0].describe() == (
            f"learning rate {format_rate(lane[0])} → {format_rate(lane[0] / 2)} "
            "(ReduceLROnPlateau: loss did not improve for 2 epochs)"
        )
        assert all(c.x == int(c.x) for c in changes)  # cut at an epoch end, drawn there
    else:
        assert changes == []  # a schedule's decay is not a change to mark


def test_multiplier_is_drawn_as_a_mark() -> None:
    x, y = _data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), loss="mse")
    plot = LivePlot(static_fallback=False)
    controller = EarlyStoppingController(monitor="loss", patience=100)
    plot.attach(controller)

    class Ask(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if (self.epoch, batch) == (1, 1):
                controller.set_learning_rate_multiplier(0.1)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[plot.callback, Ask(), controller])
    (change,) = plot.state.learning_rate_changes
    assert change.reason == "multiplier x1 → x0.1" and change.epoch == 2
    assert change.x == pytest.approx(1.5)  # after batch 2 of 4 in epoch 2
    assert change.new == pytest.approx(change.old * 0.1)
    marks = [o for o in plot.overlays if o["meta"]["role"] == "learning_rate_change"]
    assert marks and "multiplier x1 → x0.1" in marks[0]["text"][0]


def test_no_readable_rate_no_lane_a_note_and_training_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class Model:
        optimizer = object()  # no learning_rate
        stop_training = False

    plot = LivePlot(static_fallback=False)
    callback = PlotFeedCallback(plot)
    callback.set_model(Model())  # type: ignore[arg-type]
    callback.set_params({"epochs": 2, "steps": 2})
    with caplog.at_level(logging.WARNING, logger="widget_callbacks.learning_rate"):
        callback.on_train_begin()
        for epoch in range(2):
            callback.on_epoch_begin(epoch)
            callback.on_train_batch_end(0, {"loss": 1.0})
            callback.on_epoch_end(epoch, {"loss": 1.0})
        callback.on_train_end()
    assert "learning_rate" not in plot.history and plot.history["loss"] == [1.0, 1.0]
    assert any("cannot be read" in r.getMessage() for r in caplog.records)


def test_scaled_schedule_survives_the_optimizer_config() -> None:
    optimizer = keras.optimizers.SGD(ScaledSchedule(_decay(), 0.5))
    again = keras.optimizers.SGD.from_config(optimizer.get_config())
    assert read_learning_rate(again) == pytest.approx(0.005)


# -- the control ---------------------------------------------------------------------


def _send_state(widget: Any, **state: Any) -> None:
    widget._handle_msg(
        {"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []}
    )


def _click(widget: Any) -> None:
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"event": "click"}}}, "buffers": []}
    )


def test_control_sets_state_and_the_controller_applies_it_at_the_next_batch() -> None:
    model = _linear(0.01)
    controller = EarlyStoppingController(monitor="loss", patience=5)
    controller.set_model(model)
    controller.set_params({"epochs": 10, "steps": 4})
    panel = ControlPanel(controller, steering=False)
    assert panel.lr_slider.disabled and panel.lr_undo.disabled
    assert (panel.lr_slider.min, panel.lr_slider.max, panel.lr_slider.base) == (-1, 1, 10)
    assert panel.lr_slider in panel.widget.children and panel.lr_undo in panel.widget.children
    model.stop_training = False
    controller.on_train_begin()
    controller.on_epoch_begin(0)
    assert not panel.lr_slider.disabled and panel.lr_undo.disabled  # x1: nothing to undo
    _send_state(panel.lr_slider, value=10**-1)  # what the log slider sends for x0.1
    assert controller.learning_rate_multiplier == 0.1
    assert read_learning_rate(model.optimizer) == pytest.approx(0.01)  # the handler changed nothing
    controller.on_train_batch_begin(1)  # the training thread, next batch
    assert read_learning_rate(model.optimizer) == pytest.approx(0.001)
    controller.on_epoch_end(0, {"loss": 1.0})  # a snapshot syncs the panel
    assert not panel.lr_undo.disabled
    _click(panel.lr_undo)
    assert controller.learning_rate_multiplier == 1.0 and panel.lr_slider.value == 1.0
    controller.on_train_batch_begin(1)
    assert read_learning_rate(model.optimizer) == pytest.approx(0.01)
    controller.set_learning_rate_multiplier(5)  # from code: the next snapshot syncs the slider
    controller.on_epoch_end(1, {"loss": 1.0})
    assert panel.lr_slider.value == 5
    controller.on_train_end()
    assert panel.lr_slider.disabled and panel.lr_undo.disabled
    panel.close()


def test_refused_multiplier_puts_the_slider_back(caplog: pytest.LogCaptureFixture) -> None:
    class Picky(EarlyStoppingController):
        def set_learning_rate_multiplier(self, value: float) -> None:
            if value > 2:
                raise ValueError(f"Expected a multiplier <= 2. Received: multiplier={value}")
            super().set_learning_rate_multiplier(value)

    controller = Picky(patience=4)
    panel = ControlPanel(controller, steering=False)
    _send_state(panel.lr_slider, value=5.0)
    assert controller.learning_rate_multiplier == 1.0 and panel.lr_slider.value == 1.0
    assert "Received: multiplier=5.0" in panel.status_line
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    panel.close()


def test_multiplier_from_another_thread_while_hooks_run() -> None:
    model = _linear(0.01)
    controller = EarlyStoppingController(monitor="loss", patience=5)
    controller.set_model(model)
    controller.set_params({"epochs": 10, "steps": 4})
    panel = ControlPanel(controller, steering=False)
    model.stop_training = False
    controller.on_train_begin()
    done = threading.Event()
    values = [0.1, 0.5, 1.0, 2.0, 10.0]

    def front_end() -> None:
        for i in range(300):
            _send_state(panel.lr_slider, value=values[i % len(values)])
        done.set()

    thread = threading.Thread(target=front_end)
    thread.start()
    batch = 0
    while not done.is_set():
        batch += 1
        controller.on_train_batch_begin(batch % 4)
    thread.join()
    controller.on_train_batch_begin(0)
    final = controller.learning_rate_multiplier
    assert read_learning_rate(model.optimizer) == pytest.approx(0.01 * final, rel=1e-5)
    controller.on_train_end()
    panel.close()


def test_copies_and_pickles_keep_the_multiplier() -> None:
    controller = EarlyStoppingController()
    controller.learning_rate_multiplier = 2.0
    assert copy.deepcopy(controller).learning_rate_multiplier == 2.0
    assert pickle.loads(pickle.dumps(controller)).learning_rate_multiplier == 2.0
