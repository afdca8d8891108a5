"""The stop guards: ``check_finite``, ``stopping_threshold``, ``divergence_threshold`` and
``max_time``.

Core: `StopGuards` on plain sequences, and on generated ones against a reference rule
written here independently (NumPy float32 comparisons). Controller: generated runs
(monitored values with NaN/inf/missing, batch losses with NaN/inf, thresholds, a fake
clock) through ``EarlyStoppingController`` beside ``keras.callbacks.EarlyStopping``,
checked after every epoch: the patience state is Keras's, a stop happens exactly where
the reference says, the snapshot, the status line and the stop mark say why, and best
weights are restored as for any stop. A real tiny ``fit`` that diverges to NaN stops
within the batch it diverged in.
"""

from __future__ import annotations

import datetime
import math
import random
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pytest
from test_differential import StubModel

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.guards import StopGuards
from widget_callbacks.core.marks import build_layout, stop_description
from widget_callbacks.core.outcome import (
    STOP_DIVERGED,
    STOP_NON_FINITE,
    STOP_PATIENCE,
    STOP_THRESHOLD,
    STOP_TIME_LIMIT,
    describe_outcome,
    status_text,
)

NAN, INF = math.nan, math.inf
N_CORE_CASES = 4000
N_RUN_CASES = 1500
SEED = 20261129


# -- the reference rule (independent of core/guards.py) -------------------------------


def _f32(x: float) -> np.float32:
    with np.errstate(over="ignore"):
        return np.float32(x)


def reference_epoch(
    value: float | None,
    mode: str,
    check_finite: bool,
    stop_at: float | None,
    diverge_at: float | None,
    warm_up: bool,
) -> str | None:
    """What the issue asks, read literally: NaN/inf stops when checked; the threshold
    guards skip warm-up epochs and NaN; 'reaches' is <= (min) / >= (max); 'worse than'
    is > (min) / < (max); compared as float32, as Keras compares monitored values."""
    if value is None:
        return None
    if check_finite and not np.isfinite(value):
        return STOP_NON_FINITE
    if warm_up or np.isnan(value):
        return None
    v = _f32(value)
    if stop_at is not None and (v <= _f32(stop_at) if mode == "min" else v >= _f32(stop_at)):
        return STOP_THRESHOLD
    if diverge_at is not None and (v > _f32(diverge_at) if mode == "min" else v < _f32(diverge_at)):
        return STOP_DIVERGED
    return None


def _value(rng: random.Random) -> float | None:
    r = rng.random()
    if r < 0.08:
        return NAN
    if r < 0.12:
        return rng.choice([INF, -INF])
    if r < 0.16:
        return None
    if r < 0.3:
        return rng.choice([0.0, 0.1, 0.5, 1.0, 2.0, -1.0])  # ties with the thresholds
    return rng.uniform(-2, 4)


def _threshold(rng: random.Random) -> float | None:
    return rng.choice([None, None, 0.1, 0.5, 1.0, 2.0, -1.0, INF, -INF, rng.uniform(-1, 3)])


# -- core: plain sequences ---------------------------------------------------------


def test_plain_sequences() -> None:
    guards = StopGuards(check_finite=True)
    assert guards.first_stop([1.0, 0.5, NAN, 0.1], "min") == (2, STOP_NON_FINITE)
    assert guards.first_stop([1.0, None, -INF], "max") == (2, STOP_NON_FINITE)
    assert StopGuards().first_stop([1.0, NAN, INF], "min") is None  # all off
    below = StopGuards(stopping_threshold=0.5)
    assert below.first_stop([1.0, 0.7, 0.5, 0.4], "min") == (2, STOP_THRESHOLD)  # reaching is enough
    assert below.first_stop([0.1, 0.4, 0.5], "max") == (2, STOP_THRESHOLD)
    assert below.first_stop([0.1, 0.2, 0.3], "min", start_from_epoch=2) == (2, STOP_THRESHOLD)
    assert below.first_stop([1.0, NAN, 0.6], "min") is None  # NaN reaches nothing
    diverge = StopGuards(divergence_threshold=2.0)
    assert diverge.first_stop([1.0, 2.0, 2.5], "min") == (2, STOP_DIVERGED)  # equal is not worse
    assert diverge.first_stop([3.0, 1.0], "max") == (1, STOP_DIVERGED)
    assert diverge.first_stop([1.0, INF], "min") == (1, STOP_DIVERGED)  # inf is worse, unchecked
    assert StopGuards(stopping_threshold=0.1).reached(float(np.float32(0.1)), "min")  # float32 0.1
    assert StopGuards(max_time=2).time_reason(1.99) is None
    assert StopGuards(max_time=datetime.timedelta(seconds=2)).time_reason(2.0) == STOP_TIME_LIMIT
    assert StopGuards().batch_reason(NAN) is None and StopGuards(check_finite=True).batch_reason(INF)


def test_generated_sequences_match_the_reference() -> None:
    rng = random.Random(SEED)
    fired = {STOP_NON_FINITE: 0, STOP_THRESHOLD: 0, STOP_DIVERGED: 0, None: 0}
    for _ in range(N_CORE_CASES):
        mode = rng.choice(["min", "max"])
        check_finite = rng.random() < 0.5
        stop_at, diverge_at = _threshold(rng), _threshold(rng)
        start = rng.choice([0, 0, 1, 3])
        values = [_value(rng) for _ in range(rng.randint(1, 20))]
        guards = StopGuards(check_finite, stop_at, diverge_at)
        expected = None
        for epoch, value in enumerate(values):
            warm = epoch < start
            reason = reference_epoch(value, mode, check_finite, stop_at, diverge_at, warm)
            assert guards.epoch_reason(value, mode, warm_up=warm) == reason, (mode, value, guards)
            if reason is not None and expected is None:
                expected = (epoch, reason)
        assert guards.first_stop(values, mode, start) == expected
        fired[expected[1] if expected else None] += 1
    assert all(count > 100 for count in fired.values()), fired


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_time": -1}, ValueError, "Expected max_time > 0 seconds (finite). Received: max_time=-1"),
        ({"max_time": 0}, ValueError, "Received: max_time=0"),
        ({"max_time": NAN}, ValueError, "Received: max_time=nan"),
        ({"max_time": INF}, ValueError, "Received: max_time=inf"),
        ({"max_time": datetime.timedelta(0)}, ValueError, "Received: max_time=datetime.timedelta(0)"),
        ({"max_time": "60"}, TypeError, "Received: max_time='60' of type str"),
        ({"max_time": True}, TypeError, "Received: max_time=True of type bool"),
        ({"stopping_threshold": NAN}, ValueError, "Received: stopping_threshold=nan"),
        ({"divergence_threshold": NAN}, ValueError, "Received: divergence_threshold=nan"),
        ({"divergence_threshold": "1"}, TypeError, "Received: divergence_threshold='1' of type str"),
        ({"stopping_threshold": [0.1]}, TypeError, "Expected stopping_threshold to be a number or None"),
        ({"check_finite": 1}, TypeError, "Expected check_finite to be a bool. Received: check_finite=1"),
    ],
)
def test_bad_input_says_what_was_received(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        StopGuards(**kwargs)
    assert message in str(caught.value)
    with pytest.raises(error) as caught:
        EarlyStoppingController(**kwargs)
    assert message in str(caught.value)


# -- the controller on generated runs ----------------------------------------------


@dataclass
class Run:
    monitor: str
    mode: str
    patience: int
    start_from_epoch: int
    restore_best_weights: bool
    check_finite: bool
    stopping_threshold: float | None
    divergence_threshold: float | None
    max_time: float | None
    values: list[float | None]  # the monitored value per epoch
    batch_losses: list[list[float]]  # the monitor's training counterpart per batch
    tick: float  # seconds per batch on the fake clock


def _run(rng: random.Random) -> Run:
    monitor, mode = rng.choice([("val_loss", "min"), ("loss", "min"), ("val_accuracy", "max")])
    n = rng.randint(1, 15)
    batches = rng.randint(1, 5)
    p_bad = rng.choice([0.0, 0.0, 0.02, 0.1])
    losses = [
        [rng.choice([NAN, INF]) if rng.random() < p_bad else rng.uniform(0, 2) for _ in range(batches)]
        for _ in range(n)
    ]
    max_time = rng.choice([None, None, None, 0.5, 2.0, 7.5])
    return Run(
        monitor=monitor,
        mode=mode,
        patience=rng.choice([0, 1, 2, 3, 5]),
        start_from_epoch=rng.choice([0, 0, 1, 3]),
        restore_best_weights=rng.random() < 0.5,
        check_finite=rng.random() < 0.5,
        stopping_threshold=_threshold(rng),
        divergence_threshold=_threshold(rng),
        max_time=max_time,
        values=[_value(rng) for _ in range(n)],
        batch_losses=losses,
        tick=rng.choice([0.125, 0.25, 1.0]),  # binary fractions: exact sums
    )


def reference_stop(run: Run) -> tuple[int, int | None, str] | None:
    """Where the guards stop ``run``: (0-based epoch, 1-based batch or None, reason).

    Within an epoch, after each batch: the time limit (the fake clock has run
    ``tick`` per batch), then NaN/inf in the training counterpart. At the epoch end:
    the value guards on the monitored value, then the time limit."""
    clock = 0.0
    for epoch, value in enumerate(run.values):
        for batch, loss in enumerate(run.batch_losses[epoch]):
            clock += run.tick
            if run.max_time is not None and clock >= run.max_time:
                return epoch, batch + 1, STOP_TIME_LIMIT
            if run.check_finite and not math.isfinite(loss):
                return epoch, batch + 1, STOP_NON_FINITE
        warm = epoch < run.start_from_epoch
        reason = reference_epoch(
            value, run.mode, run.check_finite, run.stopping_threshold, run.divergence_threshold, warm
        )
        if reason is None and run.max_time is not None and clock >= run.max_time:
            reason = STOP_TIME_LIMIT
        if reason is not None:
            return epoch, None, reason
    return None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _drive(run: Run) -> list[str]:
    """Drives ``run`` through the controller and Keras's EarlyStopping side by side;
    returns the problems seen (empty: all invariants held after every epoch)."""
    common = {
        "monitor": run.monitor,
        "mode": run.mode,
        "patience": run.patience,
        "start_from_epoch": run.start_from_epoch,
        "restore_best_weights": run.restore_best_weights,
    }
    controller = EarlyStoppingController(
        **common,
        check_finite=run.check_finite,
        stopping_threshold=run.stopping_threshold,
        divergence_threshold=run.divergence_threshold,
        max_time=run.max_time,
    )
    clock = FakeClock()
    controller._guard.clock = clock
    stock = keras.callbacks.EarlyStopping(**common)
    models = StubModel(), StubModel()
    for callback, model in zip((stock, controller), models):
        callback.set_model(model)
        callback.set_params({"epochs": len(run.values), "steps": len(run.batch_losses[0])})
        callback.on_train_begin()
    stock_model, model = models
    expected = reference_stop(run)
    problems: list[str] = []
    stock_stopped = False
    for epoch, value in enumerate(run.values):
        model.weights_tag = stock_model.weights_tag = epoch
        controller.on_epoch_begin(epoch)
        ran = 0
        for batch, loss in enumerate(run.batch_losses[epoch]):
            clock.now += run.tick
            # the training counterpart carries the generated value; the other metric a NaN
            # the batch check must not look at
            counterpart = run.monitor.removeprefix("val_")
            other = "accuracy" if counterpart == "loss" else "loss"
            controller.on_train_batch_end(batch, {counterpart: loss, other: NAN})
            ran = batch + 1
            if model.stop_training:
                break
        logs: dict[str, Any] = {"loss": 1.0, "accuracy": 0.5, run.monitor: value}
        if value is None:
            del logs[run.monitor]  # missing: not counted, as in Keras
        controller.on_epoch_end(epoch, dict(logs))
        if not stock_stopped:
            stock.on_epoch_end(epoch, dict(logs))
            stock_stopped = stock_model.stop_training
        snap = controller.snapshot()
        where = f"epoch {epoch}: {run}"
        # 1. the guards never touch the patience rule: its state is Keras's
        keras_state = (stock.wait, stock.best, stock.best_epoch, stock.stopped_epoch)
        mine = (controller.wait, controller.best, controller.best_epoch, controller.stopped_epoch)
        same = all(
            a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
            for a, b in zip(keras_state, mine)
        )
        if not same:
            problems.append(f"rule state {mine} != keras {keras_state} at {where}")
        # 2. a guard stops exactly where the reference says, within the batch it fired in
        guard_here = expected is not None and expected[0] == epoch
        if guard_here:
            assert expected is not None
            _, batch_at, reason = expected
            if batch_at is not None and ran != batch_at:
                problems.append(f"ran {ran} batches, expected a stop after {batch_at} at {where}")
            if (snap.stop_reason, snap.stopped_epoch, snap.stopped_batch) != (reason, epoch + 1, batch_at):
                problems.append(f"snapshot {snap} != {(reason, epoch + 1, batch_at)} at {where}")
        # 3. training stops iff Keras's rule or a guard says so
        should_stop = guard_here or stock_stopped
        if model.stop_training != should_stop:
            problems.append(f"stop_training={model.stop_training}, expected {should_stop} at {where}")
        if not should_stop:
            if snap.stop_reason is not None:
                problems.append(f"stop reason {snap.stop_reason} while running at {where}")
            continue
        if not guard_here and snap.stop_reason != STOP_PATIENCE:
            problems.append(f"expected a patience stop, got {snap.stop_reason} at {where}")
        if snap.stop_reason is None:
            break
        # 4. what the controls and the plot say agrees with the snapshot
        state, text = status_text(snap, running=True)
        words = "stopped: NaN/inf" if snap.stop_reason == STOP_NON_FINITE else snap.stop_reason
        if state != "stopped" or not text.startswith(f"{words} at epoch {epoch + 1}"):
            problems.append(f"status {state!r} {text!r} at {where}")
        first = describe_outcome(snap)[0]
        if snap.stop_reason not in first or f"epoch {epoch + 1}" not in first:
            problems.append(f"outcome {first!r} at {where}")
        if snap.stopped_batch is not None and f"batch {snap.stopped_batch}" not in first:
            problems.append(f"outcome {first!r} lacks the batch at {where}")
        layout = build_layout(["loss", "accuracy"], snap)
        if not any(stop_description(snap) == a["text"] for a in layout["annotations"]):
            problems.append(f"no stop mark at {where}")
        break
    else:
        if expected is not None:
            problems.append(f"reference stops at {expected}, the controller never did: {run}")
    # 5. best weights restored as for any stop; with no guard firing, exactly as Keras's
    controller.on_train_end()
    stock.on_train_end()
    if expected is None and model.restored != stock_model.restored:
        problems.append(f"restored {model.restored}, keras {stock_model.restored}: {run}")
    if run.restore_best_weights and controller.best_weights is not None:
        if model.restored != [controller.best_epoch]:
            problems.append(f"restored {model.restored}, best epoch {controller.best_epoch}: {run}")
        if controller.snapshot().restored_epoch != controller.best_epoch + 1:
            problems.append(f"restored_epoch {controller.snapshot().restored_epoch}: {run}")
    return problems


def test_generated_runs_stop_where_the_reference_says() -> None:
    rng = random.Random(SEED + 1)
    runs = [_run(rng) for _ in range(N_RUN_CASES)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing monitored value warns, as in Keras
        problems = [p for run in runs for p in _drive(run)]
    assert not problems, f"{len(problems)} problems, first: {problems[:3]}"
    reasons = [reference_stop(run) for run in runs]
    kinds = {r[2] for r in reasons if r is not None}
    assert kinds == {STOP_NON_FINITE, STOP_THRESHOLD, STOP_DIVERGED, STOP_TIME_LIMIT}
    assert sum(r is not None and r[1] is not None for r in reasons) > 100  # within an epoch
    assert sum(r is None for r in reasons) > 100


def test_guards_stop_a_paused_run_and_a_second_fit_starts_afresh() -> None:
    controller = EarlyStoppingController(monitor="loss", patience=0, stopping_threshold=0.2)
    controller.paused = True
    model = StubModel()
    controller.set_model(model)
    controller.on_train_begin()
    for epoch, value in enumerate([1.0, 1.5, 0.2]):
        controller.on_epoch_end(epoch, {"loss": value})
    assert model.stop_training and controller.snapshot().stop_reason == STOP_THRESHOLD
    controller.on_train_end()
    model.stop_training = False
    controller.on_train_begin()
    assert controller.snapshot().stop_reason is None
    controller.on_epoch_end(0, {"loss": 0.5})
    assert not model.stop_training


# -- a real tiny fit ----------------------------------------------------------------


def _diverging(seed: int = 3) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(320, 4)) * 100).astype("float32")
    y = x.sum(axis=1, keepdims=True).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(10.0), loss="mse")  # a huge learning rate
    return model, x, y


class BatchLosses(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.losses: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.losses.append(float((logs or {})["loss"]))


def test_real_fit_diverging_to_nan_stops_within_that_batch() -> None:
    model, x, y = _diverging()
    seen = BatchLosses()
    controller = EarlyStoppingController(check_finite=True, restore_best_weights=True, patience=5)
    history = model.fit(
        x, y, validation_split=0.2, epochs=3, batch_size=8, shuffle=False, verbose=0,
        callbacks=[seen, controller],
    )  # fmt: skip
    first_bad = next(i for i, loss in enumerate(seen.losses) if not math.isfinite(loss))
    assert first_bad + 1 < 32, "should diverge within the first epoch of 32 batches"
    assert len(seen.losses) == first_bad + 1  # no batch ran after the one that diverged
    assert len(history.history["loss"]) == 1  # the epoch still ended (validation, history)
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.stopped_batch) == (
        STOP_NON_FINITE,
        1,
        first_bad + 1,
    )
    assert final.restored_epoch == 1
    assert describe_outcome(final)[0] == f"stopped at epoch 1, batch {first_bad + 1}: NaN/inf"


def test_real_fit_thresholds_and_time_limit() -> None:
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")

    def fit(**kwargs: Any) -> tuple[int, EarlyStoppingController]:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.05), loss="mse")
        controller = EarlyStoppingController(monitor="loss", patience=100, **kwargs)
        history = model.fit(x, y, epochs=40, batch_size=16, verbose=0, callbacks=[controller])
        return len(history.history["loss"]), controller

    baseline_epochs, plain = fit()
    losses = plain.model.history.history["loss"]
    target = losses[5]
    epochs, controller = fit(stopping_threshold=target)
    assert epochs < baseline_epochs and controller.snapshot().stop_reason == STOP_THRESHOLD
    assert controller.model.history.history["loss"][-1] <= np.float32(target) + 1e-6
    epochs, controller = fit(divergence_threshold=losses[0] / 2)  # the first epoch is worse
    assert epochs == 1 and controller.snapshot().stop_reason == STOP_DIVERGED
    epochs, controller = fit(max_time=datetime.timedelta(microseconds=1))
    final = controller.snapshot()
    # TensorFlow runs batch hooks in step: after batch 1. On JAX and PyTorch Keras may
    # run the next step while the (async_safe) hook runs: the stop lands one batch later.
    first = 1 if keras.backend.backend() == "tensorflow" else (1, 2)
    assert epochs == 1 and final.stop_reason == STOP_TIME_LIMIT
    assert final.stopped_batch == first if isinstance(first, int) else final.stopped_batch in first
