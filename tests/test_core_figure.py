"""The figure builder, history and progress core, driven by plain numbers."""

from __future__ import annotations

import json
import math
import sys

import pytest

from widget_callbacks.adapters.logs import numeric_logs
from widget_callbacks.core.figure import PlotState
from widget_callbacks.core.history import RunHistory, json_number, metric_family
from widget_callbacks.core.marks import axis_names, build_layout, stop_description
from widget_callbacks.core.outcome import STOP_BY_HAND, STOP_PATIENCE
from widget_callbacks.core.progress import ProgressTracker, Throttle
from widget_callbacks.core.records import CheckpointRecord, StoppingSnapshot


def test_core_imports_neither_keras_nor_ipywidgets():
    import subprocess

    code = (
        "import sys, widget_callbacks.core.figure, widget_callbacks.core.progress;"
        "print(sorted(m for m in ('keras','ipywidgets','tensorflow','anywidget') if m in sys.modules))"
    )
    # Importing the subpackage runs widget_callbacks/__init__ first, so load the
    # core modules by path instead of through the package.
    code = (
        "import importlib.util, sys, pathlib;"
        "root = pathlib.Path('widget_callbacks');"
        "spec = importlib.util.spec_from_file_location('core', root/'core'/'__init__.py',"
        " submodule_search_locations=[str(root/'core')]);"
        "m = importlib.util.module_from_spec(spec); sys.modules['core'] = m; spec.loader.exec_module(m);"
        "import core.figure, core.progress, core.history, core.marks, core.records, core.outcome, core.run_record, core.protocol;"
        "print(sorted(n for n in ('keras','ipywidgets','tensorflow','anywidget') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_metric_families_and_numeric_logs():
    assert metric_family("val_loss") == "loss"
    assert metric_family("val_") == "val_"
    assert metric_family("accuracy") == "accuracy"
    assert numeric_logs({"loss": 1, "name": "x", "flag": True, "lr": 1e-3}) == {"loss": 1.0, "lr": 1e-3}


def test_json_numbers_round_trip_non_finite():
    history = RunHistory()
    history.add_epoch(1, {"loss": float("nan")})
    history.add_epoch(2, {"loss": float("inf"), "val_loss": 1.0})
    data = json.loads(json.dumps(history.to_dict(), allow_nan=False))
    assert data == {"epoch": [1, 2], "loss": ["nan", "inf"], "val_loss": [None, 1.0]}
    again = RunHistory.from_dict(data)
    assert math.isnan(again.metrics["loss"][0]) and again.metrics["loss"][1] == math.inf
    assert json_number(-math.inf) == "-inf"


def test_history_rejects_ragged_columns():
    with pytest.raises(ValueError, match="'loss' has 1 values for 2 epochs"):
        RunHistory.from_dict({"epoch": [1, 2], "loss": [1.0]})
    with pytest.raises(ValueError, match="needs an 'epoch' column"):
        RunHistory.from_dict({"loss": [1.0]})


def test_epochs_append_points_without_resending():
    state = PlotState()
    first = state.add_epoch(1, {"loss": 1.0, "val_loss": 1.2, "accuracy": 0.5, "val_accuracy": 0.4})
    assert first.structure_changed
    assert state.panels == ["loss", "accuracy"]
    second = state.add_epoch(2, {"loss": 0.8, "val_loss": 1.1, "accuracy": 0.6, "val_accuracy": 0.5})
    assert not second.structure_changed
    assert [p["offset"] for p in second.points] == [1, 1, 1, 1]
    assert {(p["trace"], p["x"][0], p["y"][0]) for p in second.points} == {
        (0, 2, 0.8),
        (1, 2, 1.1),
        (2, 2, 0.6),
        (3, 2, 0.5),
    }
    by_name = {t["name"]: t for t in state.traces}
    assert by_name["val_accuracy"]["x"] == [1, 2]
    assert (by_name["val_accuracy"]["xaxis"], by_name["val_accuracy"]["yaxis"]) == axis_names(1)


def test_message_size_does_not_grow_with_history():
    state = PlotState()
    sizes = []
    for epoch in range(1, 2001):
        update = state.add_epoch(epoch, {"loss": 0.123, "val_loss": 0.456})
        sizes.append(len(json.dumps(update.points)))
    # Only the digits of the epoch and the offset grow (2 traces x 3 numbers x 2 digits).
    assert max(sizes[10:]) <= sizes[10] + 12


def test_metric_appearing_later_gets_a_trace_with_its_own_epochs():
    state = PlotState()
    state.add_epoch(1, {"loss": 1.0})
    update = state.add_epoch(2, {"loss": 0.9, "lr": 0.01})
    assert update.structure_changed
    lr = next(t for t in state.traces if t["name"] == "lr")
    assert lr["x"] == [2] and lr["y"] == [0.01]
    assert state.history.column("lr") == [None, 0.01]


def test_non_finite_values_are_gaps_with_a_marker():
    state = PlotState()
    state.add_epoch(1, {"loss": 1.0})
    state.add_epoch(2, {"loss": float("nan")})
    loss = state.traces[0]
    assert loss["y"] == [1.0, None]
    marker = next(t for t in state.traces if t["meta"]["role"] == "non_finite")
    assert marker["x"] == [2] and marker["y"] == [1.0]
    assert "loss = nan at epoch 2" in marker["text"][0]
    json.dumps(state.figure(), allow_nan=False)


def test_metric_names_are_escaped_for_plotly():
    state = PlotState()
    state.add_epoch(1, {"<img src=x onerror=alert(1)>": 1.0})
    name = state.traces[0]["name"]
    assert "<" not in name and "&lt;img" in name
    assert "<img" not in json.dumps(state.layout())


def test_batch_points_and_run_continuation():
    state = PlotState()
    state.add_epoch(1, {"loss": 1.0})
    state.batches_per_epoch = 2
    state.add_batch(2, 1, {"loss": 0.9, "val_loss": 3.0})  # epoch 2, batch 1 of 2
    batch = next(t for t in state.traces if t["meta"]["role"] == "batch")
    assert batch["x"] == [1.5] and batch["name"] == "loss (batch)"
    assert state.continues(2) and not state.continues(1) and not state.continues(5)
    state.new_run()
    assert state.traces == [] and state.run == 1 and len(state.history) == 0


def test_checkpoint_marker_on_the_monitored_panel():
    state = PlotState()
    state.add_epoch(1, {"loss": 1.0, "val_loss": 1.2, "accuracy": 0.5, "val_accuracy": 0.4})
    state.add_checkpoint(CheckpointRecord(epoch=1, path="ck/<e1>.keras", value=0.4, monitor="val_accuracy"))
    marker = next(t for t in state.traces if t["meta"]["role"] == "checkpoint")
    assert (marker["xaxis"], marker["x"], marker["y"]) == ("x2", [1], [0.4])
    assert "ck/&lt;e1&gt;.keras" in marker["text"][0]
    state.batches_per_epoch = 10
    update = state.add_checkpoint(CheckpointRecord(epoch=2, batch=5, path="b.keras", monitor="loss"))
    assert update.structure_changed  # a new marker trace on the loss panel
    marker = [t for t in state.traces if t["meta"]["role"] == "checkpoint"][-1]
    assert marker["x"] == [1.5] and marker["y"] == [1.0]


def _snapshot(**kw):
    base = dict(monitor="val_loss", mode="min", patience=3, wait=1, best=0.5, best_epoch=4, last_epoch=5)
    base.update(kw)
    return StoppingSnapshot(**base)


def test_marks_follow_the_best_epoch_and_patience():
    layout = build_layout(["loss", "accuracy"], _snapshot())
    lines = [s for s in layout["shapes"] if s["type"] == "line"]
    bands = [s for s in layout["shapes"] if s["type"] == "rect"]
    assert lines[0]["x0"] == 4 and lines[0]["xref"] == "x"
    assert (bands[0]["x0"], bands[0]["x1"]) == (4, 7)
    assert any(a["text"] == "2 epochs left" for a in layout["annotations"])
    moved = build_layout(["loss"], _snapshot(best_epoch=6, wait=0, patience=0))
    band = next(s for s in moved["shapes"] if s["type"] == "rect")
    assert (band["x0"], band["x1"]) == (6, 7)  # patience 0 acts like 1, as in Keras


def test_marks_on_a_max_mode_panel_with_warm_up_and_stop():
    snap = _snapshot(
        monitor="val_accuracy",
        mode="max",
        best=0.9,
        start_from_epoch=2,
        stopped_epoch=8,
        stop_reason=STOP_PATIENCE,
        restored_epoch=4,
    )
    layout = build_layout(["loss", "accuracy"], snap)
    assert {s["xref"] for s in layout["shapes"]} == {"x2"}
    warm = layout["shapes"][0]
    assert (warm["x0"], warm["x1"]) == (0.5, 2.5)
    texts = [a["text"] for a in layout["annotations"]]
    assert "stopped at epoch 8: patience exhausted<br>weights restored from epoch 4" in texts
    assert not any("left" in t for t in texts)


def test_stop_by_hand_names_epoch_and_batch():
    snap = _snapshot(stopped_epoch=3, stopped_batch=12, stop_reason=STOP_BY_HAND)
    assert stop_description(snap) == "stopped by hand at epoch 3, batch 12"


def test_overlays_best_and_stop_markers():
    state = PlotState()
    for epoch, value in enumerate([1.0, 0.5, 0.7, 0.8], start=1):
        state.add_epoch(epoch, {"val_loss": value})
    state.set_stopping(_snapshot(best=0.5, best_epoch=2, stopped_epoch=4, stop_reason=STOP_PATIENCE))
    best, stop = state.overlays()
    assert (best["x"], best["y"]) == ([2], [0.5])
    assert (stop["x"], stop["y"]) == ([4], [0.8])


def test_empty_figure_has_labelled_axes():
    figure = PlotState().figure()
    assert figure["data"] == []
    assert figure["layout"]["xaxis"]["title"]["text"] == "epoch"
    assert figure["layout"]["yaxis"]["title"]["text"] == "loss"


def test_throttle_and_eta_with_a_fake_clock():
    now = [0.0]
    throttle = Throttle(0.1, clock=lambda: now[0])
    seen = []
    for step in range(100):
        now[0] = step * 0.01
        seen.append(throttle.ready())
    assert sum(seen) == 10
    with pytest.raises(ValueError, match="Received: interval=-1"):
        Throttle(-1)

    now[0] = 0.0
    tracker = ProgressTracker(clock=lambda: now[0])
    tracker.begin(epochs=10, batches=100)
    tracker.begin_epoch(1)
    now[0] = 5.0
    tracker.end_batch(50)
    assert tracker.eta() == pytest.approx(5.0 + 9 * 10.0)
    now[0] = 10.0
    tracker.end_epoch()
    tracker.begin_epoch(2)
    assert tracker.eta() == pytest.approx(90.0)
    assert tracker.as_dict()["epoch"] == 2


def test_loss_panel_comes_first_whatever_the_log_order():
    state = PlotState()
    state.batches_per_epoch = 2
    state.add_batch(1, 1, {"accuracy": 0.3, "loss": 2.0})
    state.add_epoch(1, {"accuracy": 0.5, "loss": 1.0, "val_accuracy": 0.4, "val_loss": 1.1})
    assert state.panels == ["loss", "accuracy"]


def test_a_completed_run_marks_its_last_epoch():
    from widget_callbacks.core.outcome import STOP_COMPLETED

    state = PlotState()
    for epoch, value in enumerate([1.0, 0.5, 0.7], start=1):
        state.add_epoch(epoch, {"val_loss": value})
    state.set_stopping(
        _snapshot(best=0.5, best_epoch=2, last_epoch=3, stop_reason=STOP_COMPLETED, restored_epoch=2)
    )
    assert (
        stop_description(state.stopping) == "finished all epochs (epoch 3)<br>weights restored from epoch 2"
    )
    assert state.overlays()[1]["x"] == [3]


def test_after_the_run_the_band_ends_at_the_last_epoch():
    from widget_callbacks.core.outcome import STOP_COMPLETED

    snap = _snapshot(best_epoch=39, patience=5, last_epoch=40, stop_reason=STOP_COMPLETED)
    band = next(s for s in build_layout(["loss"], snap)["shapes"] if s["type"] == "rect")
    assert (band["x0"], band["x1"]) == (39, 40)
