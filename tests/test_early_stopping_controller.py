"""EarlyStoppingController in real tiny fits: stop by hand, patience, pause, listeners."""

from __future__ import annotations

import contextlib
import io
import math
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import pytest

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.outcome import (
    STOP_BY_HAND,
    STOP_COMPLETED,
    STOP_FAILED,
    STOP_INTERRUPTED,
    STOP_NON_FINITE,
    STOP_OTHER_CALLBACK,
    STOP_PATIENCE,
)
from widget_callbacks.core.records import StoppingSnapshot

BATCHES = 8  # per epoch


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(0.01), loss="mse")
    return m


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCHES * 8, 4)).astype("float32")
    return x, (x.sum(axis=1, keepdims=True) + 0.1).astype("float32")


class Script(keras.callbacks.Callback):
    """Injects a scripted ``score`` into the epoch logs, records weights and batches,
    and runs ``actions[(epoch, batch)]`` (0-based; batch ``None`` = epoch end)."""

    def __init__(
        self,
        scores: Sequence[float] = (),
        actions: dict[tuple[int, int | None], Callable[[], Any]] | None = None,
    ) -> None:
        super().__init__()
        self.scores, self.actions = list(scores), actions or {}
        self.weights: list[list[np.ndarray]] = []
        self.batches: list[int] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch
        self.batches.append(0)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.batches[-1] += 1
        if (self.epoch, batch) in self.actions:
            self.actions[(self.epoch, batch)]()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch < len(self.scores):
            logs["score"] = self.scores[epoch]  # the same dict reaches the callbacks after this one
        self.weights.append(self.model.get_weights())
        if (epoch, None) in self.actions:
            self.actions[(epoch, None)]()


def _fit(model: keras.Model, data: Any, callbacks: list[Any], epochs: int = 5) -> int:
    history = model.fit(*data, batch_size=8, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)
    return len(history.history["loss"])


def _listen(controller: EarlyStoppingController) -> list[StoppingSnapshot]:
    seen: list[StoppingSnapshot] = []
    controller.add_listener(seen.append)
    return seen


def _same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_stop_from_a_batch_callback_is_graceful_and_restores_best(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="score", mode="min", patience=10, restore_best_weights=True)
    script = Script(scores=[3.0, 1.0, 2.0, 2.5], actions={(2, 3): controller.stop})
    seen = _listen(controller)
    epochs = _fit(model, data, [script, controller])
    assert epochs == 3  # the stopped epoch still ends (validation, on_epoch_end, history)
    assert script.batches == [BATCHES, BATCHES, 4]  # within the batch the stop was asked in
    assert _same_weights(model.get_weights(), script.weights[1])  # best epoch 2 (1-based)
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.stopped_batch) == (STOP_BY_HAND, 3, 4)
    assert final.restored_epoch == 2 and final.best_epoch == 2 and not controller.running
    hand = [s for s in seen if s.stop_reason == STOP_BY_HAND]
    assert hand[0].stopped_epoch == 3 and hand[0].stopped_batch == 4 and hand[0].last_epoch == 2
    assert seen[0].last_epoch is None and seen[0].stop_reason is None  # after on_train_begin
    assert seen[-1] == final and controller.stopped_epoch == 0  # not a patience stop


def test_stop_from_another_thread(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss", patience=10, restore_best_weights=True)

    def stop_in_a_thread() -> None:
        thread = threading.Thread(target=controller.stop)
        thread.start()
        thread.join()

    script = Script(actions={(1, 5): stop_in_a_thread})
    seen = _listen(controller)
    epochs = _fit(model, data, [script, controller])
    assert epochs == 2 and script.batches == [BATCHES, 6]
    assert (seen[-1].stop_reason, seen[-1].stopped_epoch, seen[-1].stopped_batch) == (STOP_BY_HAND, 2, 6)
    assert seen[-1].restored_epoch == controller.best_epoch + 1


def test_stop_while_fit_runs_in_a_thread(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss", patience=10)
    started = threading.Event()
    script = Script(actions={(0, 0): started.set})
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(_fit(model, data, [script, controller], epochs=200))
    )
    worker.start()
    assert started.wait(60)
    controller.stop()
    worker.join(60)
    final = controller.snapshot()
    assert result and result[0] < 200 and final.stop_reason == STOP_BY_HAND
    assert final.stopped_epoch == len(script.batches) and final.stopped_batch == script.batches[-1]


def test_stop_asked_at_epoch_end_applies_there(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss", patience=10)
    script = Script(actions={(1, None): controller.stop})
    assert _fit(model, data, [script, controller]) == 2
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.stopped_batch) == (STOP_BY_HAND, 2, BATCHES)


def test_mark_interrupted_reports_interrupted(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss")
    script = Script(actions={(0, 2): controller.mark_interrupted})
    assert _fit(model, data, [script, controller]) == 1
    assert controller.snapshot().stop_reason == STOP_INTERRUPTED


def test_stop_outside_a_run_is_ignored(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss", patience=100)
    controller.stop()
    assert _fit(model, data, [controller], epochs=3) == 3
    assert controller.snapshot().stop_reason == STOP_COMPLETED
    controller.stop()
    assert controller.snapshot().stop_reason == STOP_COMPLETED and not controller.running


def test_patience_lowered_below_wait_stops_at_next_epoch_end(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="score", mode="min", patience=50)
    script = Script(
        scores=[1.0, 2.0, 2.0, 2.0, 2.0, 2.0], actions={(2, 0): lambda: controller.set_patience(1)}
    )
    assert _fit(model, data, [script, controller], epochs=6) == 3
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.patience, final.wait) == (STOP_PATIENCE, 3, 1, 2)


def test_pause_holds_the_stop_until_released(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="score", mode="max", patience=1)
    controller.paused = True
    release = {(3, 4): lambda: setattr(controller, "paused", False)}
    script = Script(scores=[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], actions=release)
    seen = _listen(controller)
    assert _fit(model, data, [script, controller], epochs=6) == 4
    # the release is also published mid-epoch (same last_epoch): keep one per epoch
    waits_by_epoch = {s.last_epoch: s.wait for s in seen if s.last_epoch}
    assert list(waits_by_epoch.values())[:4] == [0, 1, 2, 3]
    assert seen[-1].stop_reason == STOP_PATIENCE and seen[-1].stopped_epoch == 4 and not seen[-1].paused


def test_outcomes_other_callback_non_finite_and_completed(model: keras.Model, data: Any) -> None:
    def stop_model() -> None:
        model.stop_training = True

    controller = EarlyStoppingController(monitor="score", mode="min", patience=9, restore_best_weights=True)
    assert _fit(model, data, [Script([2.0, 1.0], {(1, None): stop_model}), controller]) == 2
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.restored_epoch) == (STOP_OTHER_CALLBACK, 2, 2)

    assert _fit(model, data, [Script([2.0, math.nan], {(1, None): stop_model}), controller]) == 2
    assert controller.snapshot().stop_reason == STOP_NON_FINITE

    assert _fit(model, data, [Script([2.0, 1.0, 0.5]), controller], epochs=3) == 3
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.restored_epoch) == (STOP_COMPLETED, None, 3)


def test_mark_failed_after_fit_raised(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss")
    seen = _listen(controller)

    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _fit(model, data, [controller, Script(actions={(1, 2): boom})])
    assert controller.running
    controller.mark_failed("RuntimeError: boom")
    assert not controller.running and controller.failure_message == "RuntimeError: boom"
    assert seen[-1].stop_reason == STOP_FAILED and seen[-1].stopped_epoch == 2  # failed in epoch 2
    controller.mark_failed("again")  # outside a run: ignored
    assert controller.failure_message == "RuntimeError: boom"


def test_a_raising_listener_does_not_break_fit(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="loss", patience=100)
    calls: list[int] = []

    def bad(snapshot: StoppingSnapshot) -> None:
        calls.append(1)
        raise ValueError("listener bug")

    controller.add_listener(bad)
    seen = _listen(controller)
    with pytest.warns(RuntimeWarning, match="listener bug") as record:
        assert _fit(model, data, [controller], epochs=3) == 3
    assert len([w for w in record if "listener bug" in str(w.message)]) == 1  # warned once
    assert len(calls) == len(seen) == 5  # train begin, 3 epochs, train end
    assert seen[-1].stop_reason == STOP_COMPLETED


def test_unsubscribe_and_verbose_messages(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(
        monitor="score", mode="min", patience=5, verbose=1, restore_best_weights=True
    )
    seen: list[StoppingSnapshot] = []
    unsubscribe = controller.add_listener(seen.append)
    unsubscribe()
    unsubscribe()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _fit(model, data, [Script([1.0, 2.0], {(1, 1): controller.stop}), controller])
    assert seen == []
    assert out.getvalue().splitlines() == [
        "Epoch 2, batch 2: stopped by hand",
        "Restoring model weights from the end of the best epoch: 1.",
    ]


def test_drop_in_surface() -> None:
    controller = EarlyStoppingController()
    reference = keras.callbacks.EarlyStopping()
    assert isinstance(controller, keras.callbacks.EarlyStopping)
    for name in (
        "monitor", "min_delta", "patience", "verbose", "mode", "baseline", "wait", "stopped_epoch",
        "restore_best_weights", "best_weights", "start_from_epoch", "best", "monitor_op",
    ):  # fmt: skip
        assert getattr(controller, name) == getattr(reference, name), name
    controller.patience = 4
    assert controller.patience == controller.rule.patience == controller.snapshot().patience == 4
    with pytest.raises(AttributeError):
        controller.monitor = "loss"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"patience": -1}, ValueError, "patience must be >= 0. Received: patience=-1"),
        ({"patience": 2.5}, TypeError, "patience must be an int. Received: patience=2.5"),
        (
            {"start_from_epoch": -2},
            ValueError,
            "start_from_epoch must be >= 0. Received: start_from_epoch=-2",
        ),
        ({"min_delta": math.inf}, ValueError, "min_delta must be a finite number. Received: min_delta=inf"),
        ({"min_delta": "0.1"}, TypeError, "min_delta must be a number"),
        ({"monitor": 3}, TypeError, "monitor must be a str"),
        ({"baseline": math.nan}, ValueError, "baseline must not be NaN"),
        ({"patience_": 3}, TypeError, "unexpected keyword argument 'patience_'"),
    ],
)
def test_validation_errors(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        EarlyStoppingController(**kwargs)
    assert message in str(info.value)


def test_validation_of_the_steering_api() -> None:
    controller = EarlyStoppingController()
    with pytest.raises(ValueError, match=r"patience must be >= 0. Received: patience=-3"):
        controller.set_patience(-3)
    with pytest.raises(TypeError, match="paused must be a bool"):
        controller.paused = "yes"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="reason must be a non-empty str"):
        controller.stop(reason="")
    with pytest.raises(TypeError, match="reason must be a str. Received: reason=1 of type int"):
        controller.stop(reason=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fn must be callable"):
        controller.add_listener(3)  # type: ignore[arg-type]
    with pytest.warns(
        UserWarning, match="EarlyStoppingController mode 'up' is unknown, fallback to auto mode."
    ):
        assert EarlyStoppingController(mode="up").mode == "auto"


def test_missing_metric_warns_like_keras(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="val_loss")
    message = (
        "Early stopping conditioned on metric `val_loss` which is not available. Available metrics are: loss"
    )
    with pytest.warns(UserWarning, match=message):
        assert _fit(model, data, [controller], epochs=2) == 2
    assert controller.snapshot().best is None


def test_auto_mode_needs_a_known_direction(model: keras.Model, data: Any) -> None:
    controller = EarlyStoppingController(monitor="score")
    message = "EarlyStoppingController callback received monitor=score, but Keras isn't able"
    with pytest.raises(ValueError, match=message):
        _fit(model, data, [Script([1.0]), controller], epochs=1)


def test_deepcopy_keeps_state_and_shares_listeners() -> None:
    import copy
    import pickle

    controller = EarlyStoppingController(monitor="loss", patience=2)
    controller.add_listener(lambda s: None)
    clone = copy.deepcopy(controller)
    clone.set_patience(5)
    assert controller.patience == 2 and clone.patience == 5 and clone.monitor == "loss"
    # A deep copy (Keras Tuner's, per trial) feeds the original's plot and panel
    # (tests/test_field_tuner.py); a pickled one has no listeners.
    assert clone._listeners is controller._listeners and isinstance(clone, keras.callbacks.EarlyStopping)
    assert len(pickle.loads(pickle.dumps(controller))._listeners) == 0


def test_patience_and_pause_changes_reach_listeners_after_the_next_batch() -> None:
    controller = EarlyStoppingController(monitor="loss", patience=50)
    seen: list[Any] = []
    controller.add_listener(seen.append)
    controller.set_patience(7)  # no run: published at once
    assert seen[-1].patience == 7
    controller.on_train_begin()
    count = len(seen)
    controller.set_patience(2)  # as from a subshell thread: nothing published there
    controller.paused = True
    assert len(seen) == count
    controller.on_train_batch_end(0)  # the training thread publishes once
    assert len(seen) == count + 1 and seen[-1].patience == 2 and seen[-1].paused
    controller.on_train_batch_end(1)
    assert len(seen) == count + 1
