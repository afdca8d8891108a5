"""The pure core driven by plain sequences, as Keras's own EarlyStopping tests do."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from widget_callbacks.core.checkpoints import CheckpointLog
from widget_callbacks.core.monitor import MonitorRule
from widget_callbacks.core.outcome import STOP_PATIENCE
from widget_callbacks.core.records import CheckpointRecord
from widget_callbacks.core.stopping import EpochDecision, StoppingRule

NAN, INF = math.nan, math.inf
ROOT = Path(__file__).resolve().parents[1]


def run(rule: StoppingRule, values: Sequence[float | None], first_epoch: int = 0) -> list[EpochDecision]:
    """Feeds values until a stop, as fit() does; returns the decisions."""
    rule.reset()
    decisions = []
    for i, value in enumerate(values):
        decisions.append(rule.update(first_epoch + i, value))
        if decisions[-1].should_stop:
            break
    return decisions


# -- Keras's own cases ---------------------------------------------------------------


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_patience_like_keras(patience: int) -> None:
    rule = StoppingRule(monitor="loss", patience=patience)
    run(rule, [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5])
    assert rule.stopped_epoch == max(patience, 1) + 2  # patience 0 acts like 1


def test_best_epoch_and_no_baseline_beaten_like_keras() -> None:
    rule = StoppingRule(monitor="val_loss", patience=2)
    decisions = run(rule, [0.2, 0.15, 0.1, 0.11, 0.12])
    assert len(decisions) == 5 and rule.best_epoch == 2 and rule.best == 0.1

    rule = StoppingRule(monitor="val_loss", patience=5, baseline=0.5)
    decisions = run(rule, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73])
    assert len(decisions) == 5 and rule.best_epoch == 2  # improvements never reset wait
    assert [d.improved for d in decisions] == [True, True, True, False, False]
    assert [d.wait_reset for d in decisions] == [False] * 5
    assert [d.wait for d in decisions] == [1, 2, 3, 4, 5]


def test_first_value_always_becomes_best_and_improvement_is_strict() -> None:
    rule = StoppingRule(monitor="loss", patience=1)
    decisions = run(rule, [5.0, 5.0, 5.0])
    assert [d.improved for d in decisions] == [True, False]
    assert decisions[-1].should_stop and decisions[-1].reason == STOP_PATIENCE


@pytest.mark.parametrize(
    ("mode", "min_delta", "values", "improved"),
    [
        ("min", 0.1, [1.0, 0.95, 0.85, 0.8], [True, False, True, False]),
        ("min", -0.1, [1.0, 0.95, 0.85, 0.8], [True, False, True, False]),  # sign ignored
        ("max", 0.1, [1.0, 1.05, 1.15, 1.2], [True, False, True, False]),
        ("max", 0, [1.0, 1.0, 2.0, 1.0], [True, False, True, False]),
        ("min", 0.1, [1.0, 0.9, 0.8], [True, False, True]),  # 0.9 + 0.1 is not < 1.0
    ],
)
def test_min_delta_and_modes(mode: str, min_delta: float, values: list[float], improved: list[bool]) -> None:
    rule = StoppingRule(monitor="m", mode=mode, min_delta=min_delta, patience=100)
    assert [d.improved for d in run(rule, values)] == improved


def test_min_delta_sign_is_kept_like_keras() -> None:
    rule = MonitorRule("loss", min_delta=-0.25)
    assert rule.min_delta == 0.25 and rule.resolved_mode is None
    assert rule.resolve() == "min" and rule.min_delta == -0.25
    assert rule.resolve("up") == "min"  # resolved once
    maximize = MonitorRule("val_acc", mode="max", min_delta=-0.25)
    assert maximize.resolve() == "max" and maximize.min_delta == 0.25


def test_auto_mode_directions() -> None:
    assert MonitorRule("loss").resolve() == "min"
    assert MonitorRule("val_loss").resolve() == "min"
    assert MonitorRule("val_accuracy").resolve("up") == "max"
    assert MonitorRule("val_mae").resolve("down") == "min"
    assert MonitorRule("val_loss").resolve("up") == "max"  # a compiled metric wins, as in Keras
    with pytest.raises(ValueError, match="received monitor=val_my_loss, but Keras isn't able"):
        MonitorRule("val_my_loss").resolve()  # only exactly "loss" is known, as in Keras 3
    with pytest.raises(ValueError, match=r"StoppingRule callback received monitor=val_f1"):
        StoppingRule(monitor="val_f1").update(0, 0.5)


def test_comparisons_are_float32_like_keras() -> None:
    rule = MonitorRule("loss")
    assert not rule.is_improvement(1.0 - 1e-9, 1.0)  # a tie in float32
    assert MonitorRule("loss", precision="float64").is_improvement(1.0 - 1e-9, 1.0)
    assert rule.is_improvement(1.0 - 1e-7, 1.0)
    assert rule.is_improvement(3e38, INF) and not rule.is_improvement(1e39, 2e39)  # both inf
    assert rule.is_improvement(-INF, 0.0) and not rule.is_improvement(INF, INF)
    assert rule.is_improvement(0.5, None) and rule.is_improvement(NAN, None)


def test_nan_never_improves_and_nothing_improves_on_nan() -> None:
    rule = StoppingRule(monitor="loss", patience=2)
    decisions = run(rule, [1.0, NAN, 0.5, NAN, NAN])
    assert [d.improved for d in decisions] == [True, False, True, False, False]
    assert rule.stopped_epoch == 4 and rule.last_value_non_finite

    rule = StoppingRule(monitor="loss", patience=1)
    decisions = run(rule, [NAN, 0.5, 0.1])  # a NaN first value becomes best, forever
    assert [d.improved for d in decisions] == [True, False] and math.isnan(rule.best or 0)
    assert rule.snapshot().last_value_non_finite is False


def test_missing_values_and_warm_up_are_skipped() -> None:
    rule = StoppingRule(monitor="loss", patience=0, start_from_epoch=2)
    decisions = run(rule, [0.1, 0.2, None, 3.0, 4.0])
    assert [d.skipped for d in decisions] == ["warm-up", "warm-up", "missing", None, None]
    assert rule.best_epoch == 3 and rule.stopped_epoch == 4
    assert rule.snapshot().start_from_epoch == 2 and rule.snapshot().last_epoch == 5


def test_epoch_zero_never_stops() -> None:
    rule = StoppingRule(monitor="loss", patience=0)
    rule.reset()
    rule.best = 0.0  # as if kept from elsewhere: epoch 0 does not improve
    decision = rule.update(0, 1.0)
    assert not decision.improved and not decision.should_stop and rule.wait == 1
    assert rule.update(1, 1.0).should_stop


def test_patience_change_applies_at_the_next_decision() -> None:
    rule = StoppingRule(monitor="loss", patience=10)
    rule.reset()
    for epoch, value in enumerate([1.0, 2.0, 2.0, 2.0]):
        assert not rule.update(epoch, value).should_stop
    rule.patience = 2  # below wait (3): the next non-improving epoch stops
    decision = rule.update(4, 2.0)
    assert decision.should_stop and rule.stopped_epoch == 4 and decision.wait == 4
    snapshot = rule.snapshot()
    assert (snapshot.patience, snapshot.stopped_epoch, snapshot.stop_reason) == (2, 5, STOP_PATIENCE)


def test_pause_holds_the_stop_and_wait_keeps_counting() -> None:
    rule = StoppingRule(monitor="loss", patience=1)
    rule.paused = True
    decisions = run(rule, [1.0, 2.0, 2.0, 2.0])
    assert [d.should_stop for d in decisions] == [False] * 4
    assert [d.held_by_pause for d in decisions] == [False, True, True, True]
    # Paused, no stop can be known in advance (it was "0 epochs left": wrong, since the
    # next epoch still runs); released, the next epoch that does not improve stops.
    assert rule.wait == 3 and rule.snapshot().paused and rule.snapshot().epochs_left is None
    rule.paused = False
    assert (rule.snapshot().stop_at, rule.snapshot().epochs_left) == (5, 1)
    assert rule.update(4, 0.5).should_stop is False  # an improvement resets wait, no stop
    assert rule.update(5, 0.6).should_stop is True  # wait 1 >= patience 1
    assert rule.stopped_epoch == 5


def test_release_stops_at_the_next_non_improving_epoch() -> None:
    rule = StoppingRule(monitor="loss", patience=1)
    rule.paused = True
    run(rule, [1.0, 2.0, 2.0])
    rule.paused = False
    decision = rule.update(3, 2.0)
    assert decision.should_stop and rule.stopped_epoch == 3


def test_reset_keeps_configuration_and_direction() -> None:
    rule = StoppingRule(monitor="val_acc", mode="max", patience=1, min_delta=0.5)
    rule.paused = True
    run(rule, [1.0, 0.0, 0.0])
    rule.reset()
    assert (rule.wait, rule.best, rule.best_epoch, rule.stopped_epoch, rule.last_epoch) == (
        0,
        None,
        0,
        0,
        None,
    )
    assert rule.paused and rule.patience == 1 and rule.monitor_rule.resolved_mode == "max"
    snapshot = rule.snapshot()
    assert snapshot.best_epoch is None and snapshot.stopped_epoch is None and snapshot.epochs_left is None


def test_snapshot_is_one_based() -> None:
    rule = StoppingRule(monitor="loss", patience=1)
    assert len(run(rule, [3.0, 2.0, 2.5, 2.6])) == 3
    snapshot = rule.snapshot()
    assert (snapshot.best_epoch, snapshot.last_epoch, snapshot.stopped_epoch) == (2, 3, 3)
    assert (snapshot.mode, snapshot.best, snapshot.wait, snapshot.monitor) == ("min", 2.0, 1, "loss")
    assert snapshot.to_dict()["stop_reason"] == STOP_PATIENCE


def test_patience_is_settable_from_threads() -> None:
    rule = StoppingRule(patience=0)
    threads = [threading.Thread(target=setattr, args=(rule, "patience", n)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0 <= rule.patience < 50


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"patience": -1}, ValueError, "patience must be >= 0. Received: patience=-1"),
        ({"patience": 1.5}, TypeError, "patience must be an int. Received: patience=1.5 of type float"),
        ({"patience": True}, TypeError, "patience must be an int. Received: patience=True of type bool"),
        (
            {"start_from_epoch": -1},
            ValueError,
            "start_from_epoch must be >= 0. Received: start_from_epoch=-1",
        ),
        ({"min_delta": NAN}, ValueError, "min_delta must be a finite number. Received: min_delta=nan"),
        ({"min_delta": -INF}, ValueError, "min_delta must be a finite number. Received: min_delta=-inf"),
        ({"min_delta": None}, TypeError, "min_delta must be a number. Received: min_delta=None"),
        (
            {"monitor": None},
            TypeError,
            "monitor must be a str, the name of a logged metric. Received: monitor=None",
        ),
        ({"mode": "up"}, ValueError, "mode must be one of ('auto', 'min', 'max'). Received: mode='up'"),
        ({"baseline": NAN}, ValueError, "baseline must not be NaN. Received: baseline=nan"),
        ({"baseline": "0.5"}, TypeError, "baseline must be a number or None. Received: baseline='0.5'"),
        ({"precision": "float16"}, ValueError, "precision must be one of ('float32', 'float64')"),
    ],
)
def test_validation_errors(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        StoppingRule(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_setter_validation() -> None:
    rule = StoppingRule(patience=3)
    with pytest.raises(ValueError, match=r"patience must be >= 0. Received: patience=-2"):
        rule.patience = -2
    with pytest.raises(TypeError, match="paused must be a bool. Received: paused=1 of type int"):
        rule.paused = 1  # type: ignore[assignment]
    with pytest.raises(ValueError, match="direction must be 'up', 'down' or None"):
        MonitorRule("val_x").resolve("sideways")  # type: ignore[arg-type]
    assert rule.patience == 3


# -- checkpoint log ------------------------------------------------------------------


def test_checkpoint_log_round_trip() -> None:
    log = CheckpointLog()
    log.add(CheckpointRecord(epoch=1, path="a.keras", value=0.5, monitor="val_loss"))
    log.add(CheckpointRecord(epoch=2, path="a.keras", batch=3))
    log.add(CheckpointRecord(epoch=3, path="b.keras"))
    assert len(log) == 3 and log.paths == ["a.keras", "b.keras"] and list(log) == list(log.records)
    again = CheckpointLog.from_dicts(log.to_dicts())
    assert again.records == log.records
    assert CheckpointLog.from_dicts([{"epoch": 1, "path": "x", "extra": 1}]).records[0].path == "x"
    log.reset()
    assert log.records == () and repr(log) == "CheckpointLog(0 records)"


def test_checkpoint_log_validation() -> None:
    log = CheckpointLog()
    with pytest.raises(TypeError, match="record must be a CheckpointRecord"):
        log.add({"epoch": 1, "path": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"record.epoch must be an int >= 1 \(1-based\). Received: epoch=0"):
        log.add(CheckpointRecord(epoch=0, path="x"))
    with pytest.raises(ValueError, match="needs the keys 'epoch' and 'path'. Missing: \\['path'\\]"):
        CheckpointLog.from_dicts([{"epoch": 1}])


# -- purity ----------------------------------------------------------------------------


def test_core_imports_neither_keras_nor_ipywidgets() -> None:
    """Imports ``widget_callbacks.core`` on its own (the package ``__init__``, which
    pulls in the Keras adapters, is bypassed with a bare package module)."""
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('widget_callbacks'); pkg.__path__ = [sys.argv[1]]\n"
        "sys.modules['widget_callbacks'] = pkg\n"
        "import widget_callbacks.core, widget_callbacks.core.monitor, widget_callbacks.core.stopping\n"
        "import widget_callbacks.core.checkpoints\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'ipywidgets', 'anywidget'))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "widget_callbacks")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_rule_and_log_survive_deepcopy() -> None:
    import copy

    rule = StoppingRule(monitor="loss", patience=1)
    run(rule, [2.0, 1.0])
    clone = copy.deepcopy(rule)
    clone.patience = 4
    assert (clone.best, clone.best_epoch, rule.patience, clone.patience) == (1.0, 1, 1, 4)
    log = CheckpointLog([CheckpointRecord(epoch=1, path="a")])
    assert copy.deepcopy(log).records == log.records
