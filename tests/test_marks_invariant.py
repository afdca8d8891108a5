"""What the marks say equals what Keras then does (issue: marks that follow the rule).

Generated runs (the differential test's generator: plateaus, ties, NaN, inf, missing
epochs, float32 edges, baseline, warm-up, min_delta, patience changed mid-run, a second
run of the same instances) plus pauses and releases, through our
``EarlyStoppingController`` beside ``keras.callbacks.EarlyStopping``. After every
epoch end:

- from that moment, a copy of Keras's own callback is fed epochs that do not improve
  (some of them without the monitored value). Keras must stop exactly at the epoch the
  band's right edge was drawn at, moved one later per epoch without the value; "k
  epochs left" must count down by one per counted epoch, stay put on an uncounted one,
  and read 1 before the stop;
- the drawn band (``core.marks.build_layout``) ends at ``stop_at`` and its label is
  "k epochs left", or "auto-stop paused" while paused; an epoch without the monitored
  value is labelled as not counted, a monitor never logged says so and lists the
  logged names.

While a case is paused, Keras (which cannot pause) is given our rule's state
(``wait``, ``best``, ``best_epoch``, ``patience``) before the copy goes on; in every
other case the copy is of the very Keras callback that ran alongside.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import random
import time
import warnings
from typing import Any

import keras
import pytest
from test_differential import Case, StubModel, generate_cases

from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.marks import build_layout
from widget_callbacks.core.records import StoppingSnapshot

N_CASES = 3000
SEED = 20261129


def _band(snapshot: StoppingSnapshot) -> tuple[float, str] | None:
    layout = build_layout(["loss", "accuracy", "custom_score", "mae"], snapshot)
    rects = [s for s in layout["shapes"] if s["type"] == "rect" and s["x0"] != 0.5]
    if not rects:
        return None
    (band,) = rects
    texts = [a["text"] for a in layout["annotations"] if "left" in a["text"] or "paused" in a["text"]]
    return band["x1"], texts[0] if texts else ""


def _worse(snapshot: StoppingSnapshot) -> float:
    return math.inf if snapshot.mode == "min" else -math.inf


def _keras_stop(fork: Any, start: int, values: list[float | None], monitor: str) -> int | None:
    """Feeds ``values`` to a copy of Keras's callback from 0-based epoch ``start``; the
    1-based epoch it stops at."""
    model = StubModel()
    fork.set_model(model)
    for i, value in enumerate(values):
        epoch = start + i
        logs = {"other": 1.0} if value is None else {monitor: value, "other": 1.0}
        fork.on_epoch_end(epoch, logs)
        if model.stop_training:
            return epoch + 1
    return None


def _check_fork(keras_cb: Any, controller: EarlyStoppingController, monitor: str, rng: random.Random) -> None:
    snapshot = controller.snapshot()
    stop_at, left = snapshot.stop_at, snapshot.epochs_left
    assert stop_at is not None and left is not None and left >= 1
    assert left == stop_at - (snapshot.last_epoch or 0)
    start = snapshot.last_epoch or 0  # 0-based epoch of the next epoch end
    missing = sorted(rng.sample(range(left + 3), rng.choice([0, 0, 1, 2])))
    values: list[float | None] = []
    rule = copy.deepcopy(controller.rule)
    expected = stop_at
    while True:
        epoch = start + len(values)
        value = None if len(values) in missing else _worse(snapshot)
        values.append(value)
        before = rule.snapshot()
        decision = rule.update(epoch, value)
        after = rule.snapshot()
        if decision.should_stop:
            assert before.epochs_left == 1, (before, value)
            assert epoch + 1 == expected
            break
        if value is None:  # not counted: the edge moves one later, the count stays
            expected += 1
            assert (after.stop_at, after.epochs_left) == (expected, before.epochs_left)
        else:
            assert (after.stop_at, after.epochs_left) == (expected, before.epochs_left - 1)
        assert len(values) < 60, "no stop"
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _keras_stop(keras_cb, start, values, monitor) == expected


def _transplant(keras_cb: Any, controller: EarlyStoppingController) -> Any:
    fork = copy.copy(keras_cb)
    rule = controller.rule
    fork.wait, fork.best, fork.best_epoch = rule.wait, rule.best, rule.best_epoch
    fork.patience, fork.stopped_epoch = rule.patience, 0
    return fork


def _run_case(case: Case, pause: tuple[int, int | None] | None, rng: random.Random) -> int:
    """Drives one case; returns how many forks were checked against Keras."""
    kwargs = dict(
        monitor=case.monitor, min_delta=case.min_delta, patience=case.patience, verbose=0,
        mode=case.mode, baseline=case.baseline, restore_best_weights=case.restore_best_weights,
        start_from_epoch=case.start_from_epoch,
    )  # fmt: skip
    forks = 0
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras_cb = keras.callbacks.EarlyStopping(**kwargs)
        ours = EarlyStoppingController(**kwargs)
        keras_model, our_model = StubModel(), StubModel()
        keras_cb.set_model(keras_model)
        ours.set_model(our_model)
        for initial_epoch, values in case.runs:
            keras_model.stop_training = our_model.stop_training = False
            keras_cb.on_train_begin()
            ours.on_train_begin()
            for i, value in enumerate(values):
                epoch = initial_epoch + i
                if case.patience_change and case.patience_change[0] == i:
                    keras_cb.patience = ours.patience = case.patience_change[1]
                if pause is not None:
                    ours.paused = pause[0] <= i and (pause[1] is None or i < pause[1])
                logs = {"other": 1.0} if value is None else {case.monitor: value, "other": 1.0}
                try:
                    keras_cb.on_epoch_end(epoch, logs)
                    ours.on_epoch_end(epoch, logs)
                except ValueError:
                    return forks  # an unknown direction: both raise (the differential test)
                snapshot = ours.snapshot()
                band = _band(snapshot)
                if snapshot.stop_reason is None and snapshot.best_epoch is not None:
                    assert band is not None
                    if snapshot.paused:
                        assert band[1] == "auto-stop paused" and snapshot.stop_at is None
                    else:
                        left = snapshot.epochs_left
                        assert band == (snapshot.stop_at, f"{left} epoch{'s' if left != 1 else ''} left")
                if value is None and snapshot.stop_reason is None:
                    _check_missing_label(snapshot)
                if our_model.stop_training:
                    break
                if snapshot.stop_at is not None:
                    diverged = pause is not None or keras_model.stop_training
                    fork = _transplant(keras_cb, ours) if diverged else copy.copy(keras_cb)
                    _check_fork(fork, ours, case.monitor, rng)
                    forks += 1
            ours.on_train_end()
            keras_cb.on_train_end()
    return forks


def _check_missing_label(snapshot: StoppingSnapshot) -> None:
    layout = build_layout(["loss", "accuracy", "custom_score", "mae"], snapshot)
    texts = [a["text"] for a in layout["annotations"]]
    if snapshot.best_epoch is None:
        assert any("is not in the logs (logged: other)" in t for t in texts), texts
    else:
        assert any(f"missing at epoch {snapshot.last_epoch}: not counted" in t for t in texts), texts


def test_the_band_and_epochs_left_are_where_keras_stops() -> None:
    rng = random.Random(SEED)
    cases = generate_cases(N_CASES, SEED)
    start, forks, paused_cases = time.perf_counter(), 0, 0
    for case in cases:
        pause = None
        if rng.random() < 0.25 and case.runs[0][1]:
            n = len(case.runs[0][1])
            first = rng.randrange(n)
            pause = (first, rng.choice([None, first + rng.randint(1, 4)]))
            paused_cases += 1
        forks += _run_case(case, pause, rng)
    elapsed = time.perf_counter() - start
    print(
        f"marks invariant: {len(cases)} cases ({paused_cases} paused), {forks} forks checked, {elapsed:.1f} s"
    )
    assert forks > 2 * N_CASES and paused_cases > N_CASES // 5


@pytest.mark.parametrize(
    ("values", "kwargs", "stop"),
    [
        # Falls for 7 epochs, then rises; the baseline is never beaten, so wait is never
        # reset: Keras stops at epoch 8 (the band used to run from 7 to 10, "0 epochs left").
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.5, 0.6, 0.7], {"patience": 3, "baseline": 1e-6}, 8),
        ([1.0, 0.9, None, 0.95, None, 0.97, 0.99], {"patience": 2}, 6),  # missing epochs not counted
        ([1.0, 2.0, 0.5, 0.6, 0.7, 0.8], {"patience": 2, "start_from_epoch": 2}, 5),  # warm-up
    ],
)
def test_field_inputs_stop_where_the_band_ends(
    values: list[float | None], kwargs: dict[str, Any], stop: int
) -> None:
    ours = EarlyStoppingController(monitor="val_loss", restore_best_weights=True, **kwargs)
    theirs = keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True, **kwargs)
    model, keras_model = StubModel(), StubModel()
    ours.set_model(model)
    theirs.set_model(keras_model)
    ours.on_train_begin()
    theirs.on_train_begin()
    drawn: list[int | None] = []
    for epoch, value in enumerate(values):
        logs = {} if value is None else {"val_loss": value}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours.on_epoch_end(epoch, logs)
            theirs.on_epoch_end(epoch, logs)
        drawn.append(ours.snapshot().stop_at)
        if model.stop_training:
            break
    assert keras_model.stop_training and theirs.stopped_epoch + 1 == stop == len(drawn)
    assert drawn[-2] == stop  # the epoch before the stop drew the edge where Keras stopped


def test_a_monitor_that_is_not_logged_is_said_with_the_logged_names() -> None:
    ours = EarlyStoppingController(monitor="val_acc", mode="max")
    ours.set_model(StubModel())
    ours.on_train_begin()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7})
    snapshot = ours.snapshot()
    assert snapshot.monitor_missing and snapshot.available == ("loss", "accuracy", "val_loss", "val_accuracy")
    layout = build_layout(["loss", "accuracy"], snapshot)
    assert any(
        a["text"] == "val_acc is not in the logs (logged: loss, accuracy, val_loss, val_accuracy)"
        for a in layout["annotations"]
    )
