"""The view settings (smoothing, log y, x axis, robust y, theme), timestamps and the
summary table: pure core with plain numbers, the widget's traits with no front end,
and what export and the history file make of them."""

from __future__ import annotations

import builtins
import json
import math
import random
import sys

import pytest

from widget_callbacks import LivePlot, from_history
from widget_callbacks.core.figure import PlotState
from widget_callbacks.core.history import RunHistory, short_name
from widget_callbacks.core.protocol import MSG_EXTEND, PROTOCOL, SIZES, TRAITS
from widget_callbacks.core.records import StoppingSnapshot
from widget_callbacks.core.run_record import RunRecord
from widget_callbacks.core.summary import SummaryTracker, metric_direction, summarize
from widget_callbacks.core.views import ViewSettings, ema, log_safe, robust_range, x_converter
from widget_callbacks.export.figure import figure_dict
from widget_callbacks.widgets.static_copy import StaticFallback


def feed(
    plot: LivePlot | PlotState, epochs: int = 4, steps: int = 10, directions: dict | None = None
) -> None:
    """A run of ``epochs`` epochs of ``steps`` batches, epoch e ending at 2e seconds,
    with two batch points per epoch (plain numbers, as Keras logs them); a plot is
    told the compiled metrics' ``directions`` at each epoch end, as its callback does."""
    if isinstance(plot, LivePlot):
        plot.begin_fit(epochs, steps)
    else:
        plot.batches_per_epoch = steps
    for epoch in range(1, epochs + 1):
        if isinstance(plot, LivePlot):
            plot.begin_epoch(epoch)
        for batch in (5, 10):
            logs = {"loss": 1.0 / epoch + batch / 100, "accuracy": 1 - 1.0 / (epoch + 1)}
            at = 2.0 * (epoch - 1) + batch / 5
            if isinstance(plot, LivePlot):
                plot.end_batch(batch, logs, elapsed=at)
            else:
                plot.add_batch(epoch, batch, logs, time=at)
        logs = {
            "loss": 1.0 / epoch,
            "val_loss": 1.2 / epoch if epoch != 3 else 1.3,
            "accuracy": 1 - 1.0 / (epoch + 1),
            "val_accuracy": 0.8 - 0.5 / epoch,
            "learning_rate": 0.01 / epoch,
        }
        if isinstance(plot, LivePlot):
            plot.set_metric_directions(directions or {})
            plot.end_epoch(epoch, logs, elapsed=2.0 * epoch)
        else:
            plot.add_epoch(epoch, logs, time=2.0 * epoch)


def by_role(figure: dict, role: str) -> list[dict]:
    return [t for t in figure["data"] if (t.get("meta") or {}).get("role") == role]


def named(traces: list[dict], name: str) -> dict:
    return next(t for t in traces if t["meta"].get("metric") == name)


# -- smoothing -------------------------------------------------------------------------


def test_ema_matches_tensorboards_rule_by_hand():
    w = 0.6
    values = [1.0, 3.0, None, 2.0, 4.0]
    # TensorBoard: last = last*w + (1-w)*v from 0; smoothed = last / (1 - w**n), n = finite values so far
    l1 = 0.4 * 1.0
    l2 = l1 * 0.6 + 0.4 * 3.0
    l3 = l2 * 0.6 + 0.4 * 2.0
    l4 = l3 * 0.6 + 0.4 * 4.0
    expected = [l1 / (1 - 0.6), l2 / (1 - 0.36), None, l3 / (1 - 0.216), l4 / (1 - 0.1296)]
    assert ema(values, w) == pytest.approx(expected)
    assert ema(values, w)[0] == 1.0  # debiased: the start is not pulled toward 0
    assert ema([2.5, 2.5, None, 2.5], 0.9) == [2.5, 2.5, None, 2.5]  # constant: as it is
    assert ema([1.0, 5.0, 2.0], 0.0) == [1.0, 5.0, 2.0]
    assert ema([], 0.5) == []


def test_smoothing_in_export_keeps_raw_faint_and_never_smooths_learning_rate_or_marks():
    state = PlotState()
    feed(state)
    state.set_stopping(
        StoppingSnapshot(monitor="val_loss", mode="min", patience=3, best=0.3, best_epoch=4, last_epoch=4)
    )
    state.view = ViewSettings(smoothing=0.6)
    shown = state.shown_figure()
    loss = named(by_role(shown, "metric"), "loss")
    assert loss["y"] == pytest.approx(ema([1.0, 0.5, 1 / 3, 0.25], 0.6))
    raw = named([t for t in by_role(shown, "raw") if t["meta"]["of"] == "metric"], "loss")
    assert raw["y"] == [1.0, 0.5, 1 / 3, 0.25] and raw["opacity"] < 0.5 and raw["showlegend"] is False
    assert shown["data"].index(raw) == shown["data"].index(loss) - 1  # drawn behind
    batch = named(by_role(shown, "batch"), "loss")
    assert batch["y"] == pytest.approx(ema(state.batch_curve_data()["loss"][1], 0.6))
    lr = named(by_role(shown, "metric"), "learning_rate")
    assert lr["y"] == [0.01, 0.005, 0.01 / 3, 0.0025]
    assert not [t for t in by_role(shown, "raw") if t["meta"]["metric"] == "learning_rate"]
    assert by_role(shown, "best")[0]["y"] == [0.3]
    assert named(by_role(state.figure(), "metric"), "loss")["y"] == [1.0, 0.5, 1 / 3, 0.25]  # live: untouched


# -- log y -------------------------------------------------------------------------------


def test_log_y_turns_non_positive_values_into_gaps_with_a_note_on_that_panel_only():
    assert log_safe([2.0, 0.0, -1.0, None, 3.0]) == ([2.0, None, None, None, 3.0], 2)
    state = PlotState()
    for epoch, (loss, acc) in enumerate([(2.3, 0.1), (0.0, 0.5), (-0.5, 0.0), (0.003, 0.9)], 1):
        state.add_epoch(epoch, {"loss": loss, "val_loss": loss + 0.1, "accuracy": acc})
    state.view = ViewSettings(log_y=["val_loss"])  # a metric's name names its panel
    shown = state.shown_figure()
    assert shown["layout"]["yaxis"]["type"] == "log" and "type" not in shown["layout"]["yaxis2"]
    assert named(by_role(shown, "metric"), "loss")["y"] == [2.3, None, None, 0.003]
    assert named(by_role(shown, "metric"), "accuracy")["y"] == [0.1, 0.5, 0.0, 0.9]
    notes = [a for a in shown["layout"]["annotations"] if (a.get("meta") or {}).get("role") == "log_note"]
    assert [n["text"] for n in notes] == ["3 values <= 0 not shown on log scale"]  # loss 2, val_loss 1
    assert notes[0]["yref"] == "y domain"


# -- x axis ----------------------------------------------------------------------------


def test_x_conversions_move_curves_and_marks():
    to_step = x_converter("step", steps_per_epoch=10, epoch_times=[])
    assert to_step is not None and to_step(3) == 30 and to_step(2.5) == 25
    to_time = x_converter("time", steps_per_epoch=None, epoch_times=[(1, 2.0), (2, 6.0), (3, None)])
    assert to_time is not None and (to_time(0), to_time(0.5), to_time(1.5), to_time(4)) == (
        0.0,
        1.0,
        4.0,
        14.0,
    )
    assert x_converter("step", steps_per_epoch=None, epoch_times=[]) is None
    assert x_converter("time", steps_per_epoch=10, epoch_times=[(1, None)]) is None

    state = PlotState()
    feed(state)
    state.set_stopping(
        StoppingSnapshot(
            monitor="val_loss",
            mode="min",
            patience=3,
            wait=0,
            best=0.3,
            best_epoch=4,
            start_from_epoch=1,
            last_epoch=4,
        )
    )
    live = state.figure()
    band = next(s for s in live["layout"]["shapes"] if s["type"] == "rect" and s["x0"] == 4)

    state.view = ViewSettings(x_axis="step")
    shown = state.shown_figure()
    assert named(by_role(shown, "metric"), "loss")["x"] == [10, 20, 30, 40]
    assert named(by_role(shown, "batch"), "loss")["x"] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert by_role(shown, "best")[0]["x"] == [40]
    shapes = shown["layout"]["shapes"]
    assert any(s["type"] == "rect" and s["x0"] == 40 and s["x1"] == band["x1"] * 10 for s in shapes)
    assert any(s["type"] == "rect" and (s["x0"], s["x1"]) == (5, 15) for s in shapes)  # warm-up 0.5..1.5
    assert shown["layout"]["xaxis"]["title"]["text"] == "step" and "dtick" not in shown["layout"]["xaxis"]
    assert "step %{x}" in named(by_role(shown, "metric"), "loss")["hovertemplate"]

    state.view = ViewSettings(x_axis="time")
    shown = state.shown_figure()
    assert named(by_role(shown, "metric"), "loss")["x"] == [2.0, 4.0, 6.0, 8.0]  # each point's customdata
    assert named(by_role(shown, "batch"), "loss")["x"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert by_role(shown, "best")[0]["x"] == [8.0]
    assert any(s["type"] == "rect" and (s["x0"], s["x1"]) == (1.0, 3.0) for s in shown["layout"]["shapes"])
    assert shown["layout"]["xaxis2"]["title"]["text"] == "time (s)"

    bare = PlotState()  # no steps per epoch, no timestamps: epochs, and the title says why
    bare.add_epoch(1, {"loss": 1.0})
    bare.view = ViewSettings(x_axis="step")
    assert bare.shown_figure()["layout"]["xaxis"]["title"]["text"] == "epoch (steps per epoch unknown)"
    bare.view = ViewSettings(x_axis="time")
    assert bare.shown_figure()["data"][0]["x"] == [1]


def test_timestamps_ride_in_customdata_and_extend_messages():
    plot = LivePlot(static_fallback=False)
    sent: list[dict] = []
    plot.send = sent.append  # type: ignore[method-assign]
    feed(plot, epochs=2)
    loss = next(t for t in plot.traces if t["meta"]["role"] == "metric" and t["meta"]["metric"] == "loss")
    assert loss["customdata"] == [2.0, 4.0]
    batch = next(t for t in plot.traces if t["meta"]["role"] == "batch")
    assert batch["customdata"] == [1.0, 2.0, 3.0, 4.0]
    extends = [p for m in sent if m["type"] == MSG_EXTEND for p in m["points"]]
    assert extends and all(len(p["customdata"]) == len(p["x"]) for p in extends if "y" in p)
    plot.end_epoch(3, {"loss": 0.2}, elapsed=1.23456)
    assert sent[-1]["points"][0]["customdata"] == [1.235]
    clocked = LivePlot(static_fallback=False)  # no elapsed given: the plot's own clock
    ticks = iter([100.0, 100.5, 103.25])
    clocked._clock = lambda: next(ticks)
    clocked.begin_fit(2, None)
    clocked.end_epoch(1, {"loss": 1.0})
    clocked.end_epoch(2, {"loss": 0.5})
    assert clocked.state.history.times == [0.5, 3.25]
    ticks = iter([500.0, 502.0])  # a second fit continuing the run: its time goes on
    clocked.begin_fit(3, None)
    clocked.begin_epoch(3)
    clocked.end_epoch(3, {"loss": 0.4})
    assert clocked.state.history.times == [0.5, 3.25, 5.25]


# -- robust y --------------------------------------------------------------------------


def test_robust_range_leaves_out_the_first_epochs_spike():
    x = list(range(1, 21))
    y = [50.0, 9.0] + [1.0 + i / 10 for i in range(18)]  # 1.0 .. 2.7 from epoch 3
    lo, hi = robust_range([(x, y, False)])
    assert (lo, hi) == pytest.approx((1.0 - 0.085, 2.7 + 0.085))
    batch_x = [1 + i / 100 for i in range(300, 2000)]
    batch_y = [5.0 if i == 900 else 1.5 for i in range(len(batch_x))]  # one outlier batch
    assert robust_range([(batch_x, batch_y, True)]) == pytest.approx((1.5 - 0.075, 1.5 + 0.075))
    assert robust_range([([1, 2], [5.0, 1.0], False)]) == pytest.approx((0.8, 5.2))  # < 3 epochs: all
    log_lo, log_hi = robust_range([(x, y, False)], log=True)
    assert log_lo < math.log10(1.0) < math.log10(2.7) < log_hi < math.log10(9.0)
    assert robust_range([([1], [None], False)]) is None

    state = PlotState()
    for epoch in range(1, 21):
        state.add_epoch(epoch, {"loss": y[epoch - 1]})
    state.view = ViewSettings(robust_y=True)
    axis = state.shown_figure()["layout"]["yaxis"]
    assert axis["autorange"] is False and axis["range"] == pytest.approx([0.915, 2.785])


# -- summary ------------------------------------------------------------------------


def test_summary_rows_follow_the_metric_direction_and_the_first_best_epoch():
    history = RunHistory()
    rows = [
        {"loss": 0.9, "accuracy": 0.5, "auc": 0.6, "learning_rate": 0.1},
        {"loss": 0.4, "accuracy": 0.8, "auc": 0.7, "learning_rate": 0.1},
        {"loss": 0.4, "accuracy": 0.7, "learning_rate": 0.05},
        {"loss": float("nan"), "accuracy": 0.8, "auc": 0.65, "learning_rate": 0.05},
    ]
    for epoch, logs in enumerate(rows, 1):
        history.add_epoch(epoch, logs, time=3.0 * epoch)
    table = summarize(history, directions={"accuracy": "max"}, steps_per_epoch=30, batch_size=32)
    by_name = {r["metric"]: r for r in table["rows"]}
    assert by_name["loss"] == {
        "metric": "loss",
        "last": "nan",
        "best": 0.4,
        "best_epoch": 2,
        "direction": "min",
    }
    assert by_name["accuracy"] == {
        "metric": "accuracy",
        "last": 0.8,
        "best": 0.8,
        "best_epoch": 2,
        "direction": "max",
    }
    assert by_name["auc"]["direction"] is None and by_name["auc"]["best"] is None  # Keras cannot tell
    assert by_name["learning_rate"]["direction"] is None
    assert (table["epoch_seconds"], table["steps_per_second"], table["samples_per_second"]) == (
        3.0,
        10.0,
        320.0,
    )
    assert summarize(history)["steps_per_second"] is None  # no steps per epoch known
    assert summarize(history, steps_per_epoch=30, last_steps=6)["steps_per_second"] == 2.0  # a partial epoch
    assert metric_direction("val_auc", "up") == "max" and metric_direction("val_loss") == "min"
    assert set(TRAITS) >= {"view", "summary"} and TRAITS["summary"] == "summary_table"
    json.dumps(table, allow_nan=False)


def test_summary_tracker_agrees_with_summarize_on_generated_runs():
    rng = random.Random(7)
    for _ in range(30):
        history, tracker = RunHistory(), SummaryTracker()
        directions: dict = {}
        for epoch in range(1, rng.randint(1, 40)):
            logs = {}
            for name in ("loss", "val_loss", "accuracy", "val_accuracy", "mystery"):
                roll = rng.random()
                if roll < 0.1:
                    continue  # not logged this epoch
                logs[name] = float("nan") if roll < 0.15 else round(rng.random(), 2)
            if epoch == 5:
                directions["accuracy"] = directions["val_accuracy"] = "max"  # learnt later
            history.add_epoch(epoch, logs, time=epoch * 1.5 if rng.random() > 0.1 else None)
            tracker.update(history, directions)
            assert tracker.summary(history, directions=directions, steps_per_epoch=4) == summarize(
                history, directions=directions, steps_per_epoch=4
            )


def test_summary_trait_is_set_each_epoch_and_summary_returns_both_types(monkeypatch):
    plot = LivePlot(static_fallback=False)
    changes: list = []
    plot.observe(changes.append, names="summary_table")
    feed(plot, epochs=3, directions={"accuracy": "up", "val_accuracy": "up", "loss": None})
    assert len(changes) == 3
    rows = {r["metric"]: r for r in plot.summary_table["rows"]}
    assert rows["val_accuracy"]["direction"] == "max" and rows["val_accuracy"]["best_epoch"] == 3
    assert rows["val_loss"]["best"] == 0.6 and rows["val_loss"]["best_epoch"] == 2
    assert plot.summary_table["epoch_seconds"] == 2.0 and plot.summary_table["steps_per_second"] == 5.0

    import pandas as pd

    frame = plot.summary()
    assert isinstance(frame, pd.DataFrame) and list(frame.index)[:2] == ["loss", "val_loss"]
    assert frame.loc["val_loss", "best_epoch"] == 2 and frame.attrs["epoch_seconds"] == 2.0
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "pandas")
    monkeypatch.setattr(builtins, "__import__", no_pandas)
    records = plot.summary()
    assert isinstance(records, list) and records[0]["metric"] == "loss"
    assert set(records[0]) == {"metric", "last", "best", "best_epoch", "direction"}


# -- traits --------------------------------------------------------------------------


def test_view_trait_defaults_kwargs_properties_and_keras_style_errors():
    assert LivePlot(static_fallback=False).view == PROTOCOL["view_defaults"]
    plot = LivePlot(
        static_fallback=False, smoothing=0.6, log_y=["loss"], x_axis="step", robust_y=True, theme="dark"
    )
    assert plot.view == {
        "smoothing": 0.6,
        "log_y": ["loss"],
        "x_axis": "step",
        "robust_y": True,
        "theme": "dark",
    }
    assert plot.state.view == ViewSettings(0.6, ("loss",), "step", True, "dark")
    plot.smoothing = 0.9
    plot.log_y = "accuracy"
    plot.x_axis = "time"
    assert (
        plot.view["smoothing"] == 0.9
        and plot.view["log_y"] == ["accuracy"]
        and plot.state.view.x_axis == "time"
    )
    plot.view = {"smoothing": 0.2}  # keys left out take their defaults
    assert plot.view == {**PROTOCOL["view_defaults"], "smoothing": 0.2}
    with pytest.raises(ValueError, match=r"^Expected smoothing between 0 and 0.99. Received: smoothing=1.5$"):
        LivePlot(smoothing=1.5)
    with pytest.raises(TypeError, match="Received: smoothing='a'"):
        LivePlot(smoothing="a")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"Expected x_axis to be one of \('epoch', 'step', 'time'\). Received: x_axis='batch'",
    ):
        LivePlot(x_axis="batch")
    with pytest.raises(ValueError, match="Received: theme='blue'"):
        LivePlot(theme="blue")
    with pytest.raises(TypeError, match="Received: log_y=5"):
        LivePlot(log_y=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Received: robust_y='yes'"):
        LivePlot(robust_y="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Received: smoothing=-0.1"):
        plot.smoothing = -0.1
    with pytest.raises(ValueError, match=r"Received unknown keys: \['colour'\]"):
        plot.view = {"colour": "red"}
    assert plot.view["smoothing"] == 0.2  # unchanged by the bad values


def test_short_names_in_legends_full_name_on_hover():
    long = "val_sparse_categorical_crossentropy_head_2"
    assert (
        short_name(long) == "val_sparse_c\u2026ropy_head_2"
        and len(short_name(long)) == SIZES["max_name_chars"]
    )
    state = PlotState()
    state.add_epoch(1, {long: 0.5})
    trace = state.traces[0]
    assert (
        trace["name"] == short_name(long)
        and long in trace["hovertemplate"]
        and trace["meta"]["metric"] == long
    )
    title = state.layout()["yaxis"]["title"]["text"]
    assert len(title) == 24 and title.endswith("head_2")


def test_epoch_ticks_are_whole_numbers_for_short_runs():
    state = PlotState()
    state.add_epoch(1, {"loss": 1.0})
    assert state.layout()["xaxis"]["dtick"] == 1 and state.layout()["xaxis"]["tick0"] == 0
    for epoch in range(2, 12):
        state.add_epoch(epoch, {"loss": 1.0 / epoch})
    assert "dtick" not in state.layout()["xaxis"]  # plotly's own ticks: whole numbers past 10 epochs


# -- the history file -------------------------------------------------------------


def test_history_json_round_trip_keeps_view_and_timestamps(tmp_path):
    plot = LivePlot(static_fallback=False, smoothing=0.7, log_y=["loss"], x_axis="time")
    feed(plot, directions={"val_accuracy": "up", "accuracy": "up"})
    path = plot.save_history(tmp_path / "run.json")
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["epoch_times"] == [2.0, 4.0, 6.0, 8.0]
    assert data["view"]["smoothing"] == 0.7 and data["batches"]["loss"]["t"][:2] == [1.0, 2.0]
    again = from_history(path, static_fallback=False)
    assert again.view == plot.view
    assert again.traces == plot.traces  # customdata included
    assert again.state.history.times == [2.0, 4.0, 6.0, 8.0]
    assert again.summary_table == plot.summary_table
    assert from_history(path, static_fallback=False, smoothing=0.1).view["smoothing"] == 0.1  # kwargs win

    for key in ("epoch_times", "view", "directions"):  # a file written before the toolbar
        data.pop(key)
    for curve in data["batches"].values():
        curve.pop("t")
    old = RunRecord.from_json(json.dumps(data))
    assert old.view is None and old.history.times == [None] * 4
    older = LivePlot(static_fallback=False)
    older.load(old)
    assert older.view == PROTOCOL["view_defaults"]
    assert next(t for t in older.traces if t["meta"]["role"] == "metric")["customdata"] == [None] * 4
    assert older.summary_table["epoch_seconds"] is None


# -- export ---------------------------------------------------------------------------


def test_export_applies_the_view_and_the_theme(tmp_path):
    plot = LivePlot(static_fallback=False, smoothing=0.5, log_y=["loss"], x_axis="step", robust_y=True)
    feed(plot)
    figure = plot.to_figure().to_dict()
    names = [(t["meta"]["role"], t["meta"].get("metric")) for t in figure["data"] if "meta" in t]
    assert ("raw", "loss") in names and ("metric", "loss") in names
    loss = next(
        t
        for t in figure["data"]
        if t.get("meta", {}).get("role") == "metric" and t["meta"]["metric"] == "loss"
    )
    assert list(loss["x"]) == [10, 20, 30, 40] and list(loss["y"]) == pytest.approx(
        ema([1.0, 0.5, 1 / 3, 0.25], 0.5)
    )
    assert figure["layout"]["yaxis"]["type"] == "log" and figure["layout"]["yaxis"]["autorange"] is False
    assert figure["layout"]["xaxis"]["title"]["text"] == "step"
    assert figure["layout"]["plot_bgcolor"] == "white"  # exports default to light, whatever the page's theme

    dark = figure_dict(plot, theme="dark")
    assert dark["layout"]["plot_bgcolor"] == PROTOCOL["dark_palette"]["background"]
    assert plot.to_figure(theme="dark").layout.template.layout.paper_bgcolor is not None  # plotly_dark
    with pytest.raises(ValueError, match=r"Expected theme to be one of .*Received: theme='blue'"):
        plot.save(tmp_path / "x.html", theme="blue")
    assert figure_dict(plot, theme="auto") == figure_dict(plot)  # a file has no page to follow: light

    html = plot.save(tmp_path / "run.html").read_text()
    assert 'class="widget-callbacks-summary"' in html and "val_accuracy" in html and "epoch of best" in html
    assert '"type":"log"' in html.replace(" ", "")


# -- message size ---------------------------------------------------------------------


def test_per_epoch_messages_stay_flat_with_timestamps_and_summary():
    """What one epoch sends (the extend message and the traits set) at epoch 10 and at
    epoch 10,000 (JSON bytes, as the comm would carry them): within 1.1x."""
    plot = LivePlot(static_fallback=False)
    sent: list[dict] = []
    plot.send = sent.append  # type: ignore[method-assign]
    changed: list[tuple[str, object]] = []
    plot.observe(
        lambda change: changed.append((change["name"], change["new"])),
        names=["summary_table", "plot_layout", "overlays", "view"],
    )
    plot.begin_fit(10_000, 180)
    rng = random.Random(0)

    def epoch_bytes(epoch: int) -> int:
        sent.clear()
        changed.clear()
        plot.begin_epoch(epoch)
        base = 1.0 / (1.0 + 0.002 * epoch)
        logs = {}
        for prefix in ("", "val_"):
            noise = 1.0 + 0.05 * rng.random()
            logs[prefix + "loss"] = 2.3 * base * noise
            logs[prefix + "accuracy"] = 1.0 - 0.9 * base * noise
            logs[prefix + "auc"] = 1.0 - 0.5 * base * noise
        plot.end_epoch(epoch, logs, elapsed=epoch * 1.234567)
        assert any(name == "summary_table" for name, _ in changed)
        extend = [m for m in sent if m["type"] == MSG_EXTEND]
        assert epoch == 1 or (extend and all("customdata" in p for p in extend[0]["points"]))
        return len(json.dumps(sent)) + sum(len(json.dumps(value)) for _, value in changed)

    sizes = {}
    for epoch in range(1, 10_001):
        size = epoch_bytes(epoch)
        if epoch in (10, 10_000):
            sizes[epoch] = size
    print(f"bytes per epoch update: {sizes}")
    assert sizes[10_000] <= 1.1 * sizes[10], sizes


def test_the_static_copy_shows_the_view_and_the_summary_table():
    plot = LivePlot(static_fallback=False, smoothing=0.5)
    feed(plot)
    html_copy = StaticFallback("html").render(plot, kaleido=False)[0]["text/html"]
    assert 'class="widget-callbacks-summary"' in html_copy and "epoch of best" in html_copy
    assert '"role":"raw"' in html_copy.replace(" ", "")  # the figure as the view shows it
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    data, _ = StaticFallback("png").render(plot, png=png)
    assert data["image/png"] and data["text/html"].startswith('<div class="widget-callbacks-static"><img')
    assert 'class="widget-callbacks-summary"' in data["text/html"]


def test_a_real_fit_gives_timestamps_and_the_compiled_metrics_directions():
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    plot = LivePlot(static_fallback=False)
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[plot.callback])
    rows = {r["metric"]: r for r in plot.summary_table["rows"]}
    assert rows["accuracy"]["direction"] == "max" and rows["val_accuracy"]["direction"] == "max"
    assert rows["val_loss"]["direction"] == "min" and rows["val_loss"]["best_epoch"] in (1, 2)
    times = plot.state.history.times
    assert len(times) == 2 and 0 < times[0] < times[1]
    assert plot.summary_table["epoch_seconds"] > 0 and plot.summary_table["steps_per_second"] > 0
