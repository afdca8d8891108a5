"""Runs side by side (issue 13, part 1): earlier runs kept faint, labelled, hidden,
aggregated, saved and reloaded; the core on plain lists, then `LivePlot` with a real
tiny fit, saved files, a Keras ``History`` and a Keras Tuner search."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from widget_callbacks import LivePlot
from widget_callbacks.core.figure import PlotState
from widget_callbacks.core.protocol import MSG_EXTEND
from widget_callbacks.core.records import StoppingSnapshot
from widget_callbacks.core.run_record import RunRecord
from widget_callbacks.core.runs import (
    BEST_SUFFIX,
    PAST_OPACITY,
    RunInfo,
    ScoreRule,
    aggregate,
    best_run,
    check_aggregate,
    label_groups,
    score_rule,
    trial_label,
)
from widget_callbacks.core.views import ViewSettings
from widget_callbacks.widgets.static_copy import _snapshot


def _feed(state: PlotState, losses: list[float], *, offset: float = 0.0) -> None:
    for epoch, loss in enumerate(losses, start=1):
        state.add_batch(epoch, 1, {"loss": loss + 0.05}, time=epoch - 0.5)
        state.add_epoch(epoch, {"loss": loss, "val_loss": loss + offset + 0.1}, time=float(epoch))


def _of_run(state: PlotState, number: int) -> list[dict[str, Any]]:
    return [t for t in state.traces if t["meta"].get("run") == number]


# -- core: the numbers -------------------------------------------------------------


def test_aggregate_mean_min_max_by_epoch_over_ragged_runs() -> None:
    runs = [
        ([1, 2, 3], [1.0, 2.0, 3.0]),
        ([1, 2], [3.0, float("nan")]),
        ([1, 2, 3, 4], [2.0, 4.0, None, 8.0]),
    ]
    result = aggregate(runs, "minmax")
    assert result.epochs == [1, 2, 3, 4]
    assert result.count == [3, 2, 1, 1]  # NaN and None are not values
    assert result.mean == [2.0, 3.0, 3.0, 8.0]
    assert result.lower == [1.0, 2.0, 3.0, 8.0] and result.upper == [3.0, 4.0, 3.0, 8.0]


def test_aggregate_std_band_is_the_population_deviation() -> None:
    result = aggregate([([1, 2], [1.0, 5.0]), ([1, 2], [3.0, 5.0]), ([2], [8.0])], "std")
    assert result.mean == [2.0, 6.0]
    assert result.lower == pytest.approx([1.0, 6.0 - math.sqrt(2.0)])
    assert result.upper == pytest.approx([3.0, 6.0 + math.sqrt(2.0)])
    empty = aggregate([([1], [None]), ([1], [float("inf")])], "std")
    assert (empty.mean, empty.lower, empty.count) == ([None], [None], [0])
    with pytest.raises(ValueError, match="Received: 'median'"):
        aggregate([], "median")
    with pytest.raises(ValueError, match=r"Received: aggregate='mean'"):
        check_aggregate("mean")


def test_labels_groups_scores_and_the_best_run() -> None:
    assert label_groups({1: "seed", 2: "other", 3: "seed"}) == {"seed": [1, 3]}
    rule = score_rule([(None, None), ("val_mae", "max")], ("val_loss", "min"), ["loss"])
    assert rule == ScoreRule("val_mae", "max", "objective")
    assert score_rule([], ("val_loss", "min"), []) == ScoreRule("val_loss", "min", "monitor")
    assert score_rule([], ("val_loss", None), ["loss"]) == ScoreRule("loss", "min", "default")
    assert best_run({1: 0.4, 2: 0.2, 3: 0.2}, ScoreRule("loss", "min")) == 2  # the first on a tie
    assert best_run({1: 0.4, 2: 0.9}, ScoreRule("acc", "max")) == 2
    assert best_run({1: 0.4}, ScoreRule("loss", "min")) is None  # one run is not "best"
    assert (
        trial_label("07", {"units": 8, "lr": 0.001, "opt": "adam"}) == "trial 07: units=8, lr=0.001, opt=adam"
    )
    assert len(trial_label("1", {f"h{i}": i for i in range(30)})) == 60
    info = RunInfo(
        3, trial_id="07", hyperparameters={"units": 8, "x": object()}, objective="val_loss", direction="min"
    )
    again = RunInfo.from_dict(json.loads(json.dumps(info.to_dict())))
    assert (again.label, again.trial_id, again.direction, again.hyperparameters["units"]) == (
        "run 3",
        "07",
        "min",
        8,
    )


# -- core: the figure --------------------------------------------------------------


def test_a_new_run_keeps_the_last_one_faint_without_its_batch_curve_nor_marks() -> None:
    state = PlotState()
    _feed(state, [1.0, 0.8, 0.6])
    state.add_epoch(4, {"loss": float("nan"), "val_loss": 0.5}, time=4.0)  # a NaN marker of run 1
    state.set_stopping(StoppingSnapshot("val_loss", "min", 3, best=0.5, best_epoch=4, last_epoch=4))
    state.new_run(keep=True)
    assert state.overlays() == [] and state.layout()["shapes"] == []  # marks: the current run's only
    old = _of_run(state, 1)
    assert [t["meta"]["role"] for t in old] == ["metric", "metric"]  # no batch curve, no marker
    assert [t["meta"]["metric"] for t in old] == ["loss", "val_loss"]
    assert all(t["opacity"] == PAST_OPACITY and t["line"]["width"] < 2 for t in old)
    assert [t["showlegend"] for t in old] == [True, False] and old[0]["name"] == "run 1"
    assert {t["legendgroup"] for t in old} == {"run-1"} and old[0]["y"] == [1.0, 0.8, 0.6, None]
    assert old[0]["customdata"] == [1.0, 2.0, 3.0, 4.0]  # the time axis of the old run
    update = state.add_epoch(1, {"loss": 0.9, "val_loss": 1.0})
    assert update.structure_changed
    update = state.add_epoch(2, {"loss": 0.7, "val_loss": 0.8})
    assert not update.structure_changed
    assert [p["trace"] for p in update.points] == [2, 3]  # after run 1's two traces
    assert all(state.traces[p["trace"]]["meta"]["run"] == 2 for p in update.points)
    layout = state.layout()
    assert layout["legend"]["groupclick"] == "togglegroup" and layout["legend"]["uirevision"] == "runs"
    current = _of_run(state, 2)
    assert {t["legendgroup"] for t in current} == {"run-2"}
    assert current[0]["legendgrouptitle"] == {"text": "run 2"}
    assert len({t["uid"] for t in state.traces}) == len(state.traces)


def test_without_keep_a_new_run_clears_and_a_single_run_looks_as_before() -> None:
    state = PlotState()
    _feed(state, [1.0, 0.8])
    assert "groupclick" not in state.layout()["legend"]
    assert [t.get("legendgroup") for t in state.traces] == ["train", "train", "validation"]
    state.new_run(keep=False)
    assert state.traces == [] and state.past_runs == [] and state.current.label == "run 2"
    state.new_run(keep=True)  # nothing drawn: the empty run is not kept, its number reused
    assert state.past_runs == [] and state.current.number == 2


def test_hidden_runs_are_legend_entries_only() -> None:
    state = PlotState()
    _feed(state, [1.0, 0.8])
    state.new_run("lr=1e-2", keep=True)
    _feed(state, [0.9, 0.5])
    state.set_hidden("run 1", True)
    assert {t.get("visible") for t in _of_run(state, 1)} == {"legendonly"}
    assert all("visible" not in t for t in _of_run(state, 2))
    state.set_hidden(2, True)
    assert {t.get("visible") for t in _of_run(state, 2)} == {"legendonly"}
    assert _of_run(state, 2)[0]["legendgrouptitle"] == {"text": "lr=1e-2"}
    state.set_hidden(1, False)
    assert all("visible" not in t for t in _of_run(state, 1))
    with pytest.raises(KeyError, match=r"Received: 'nope'"):
        state.set_hidden("nope", True)


def test_runs_sharing_a_label_are_drawn_as_a_mean_and_a_band() -> None:
    state = PlotState(aggregate="minmax")
    for losses, label in (([1.0, 0.8], "seed"), ([0.6, 0.4, 0.3], "seed"), ([2.0], "other")):
        state.new_run(label, keep=True)
        _feed(state, losses)
    state.new_run("next", keep=True)
    roles = [(t["meta"]["role"], t["meta"]["metric"]) for t in state.traces if t["meta"].get("run") != 4]
    assert roles[:2] == [("metric", "loss"), ("metric", "val_loss")]  # "other", alone: its own curves
    band = [t for t in state.traces if isinstance(t["meta"].get("run"), list)]
    assert [t["meta"]["role"] for t in band] == ["band", "band", "metric"] * 2
    lower, upper, mean = band[:3]
    assert mean["meta"]["run"] == [1, 2] and mean["meta"]["aggregate"] == "minmax"
    assert mean["y"] == pytest.approx([0.8, 0.6, 0.3]) and mean["x"] == [1, 2, 3]
    assert lower["y"] == [0.6, 0.4, 0.3] and upper["y"] == [1.0, 0.8, 0.3] and upper["fill"] == "tonexty"
    assert mean["name"] == "seed (mean of 2)" and mean["showlegend"] is True
    state.aggregate = "std"
    state.rebuild_runs()
    mean = [t for t in state.traces if t["meta"].get("aggregate") == "std"][0]
    assert mean["y"] == pytest.approx([0.8, 0.6, 0.3])
    state.set_hidden(1, True)  # a hidden run leaves its label's aggregate
    assert not any(t["meta"].get("aggregate") for t in state.traces)


def test_the_best_run_is_marked_by_the_monitor_once_its_fit_ended() -> None:
    state = PlotState()
    _feed(state, [1.0, 0.5])  # best val_loss 0.6
    state.new_run(keep=True)
    _feed(state, [0.9, 0.3])  # best val_loss 0.4, still running
    assert state.best is None  # one finished run is not "best" of anything
    assert state.end_run()  # the current run ended: it is the best now
    assert state.best == 2 and _of_run(state, 2)[0]["legendgrouptitle"]["text"] == "run 2" + BEST_SUFFIX
    state.new_run(keep=True)
    old = {t["meta"]["run"]: t for t in state.traces if t["showlegend"]}
    assert old[2]["name"] == "run 2" + BEST_SUFFIX and old[2]["opacity"] > old[1]["opacity"]
    assert not state.end_run()  # nothing drawn in run 3: nothing changes


def test_views_apply_to_the_old_runs_curves() -> None:
    state = PlotState()
    _feed(state, [1.0, 0.5, 0.4])
    state.new_run(keep=True)
    _feed(state, [2.0, 1.0])
    state.view = ViewSettings(smoothing=0.6, x_axis="time", log_y=["loss"])
    shown = state.shown_figure()
    raw = [t for t in shown["data"] if t["meta"]["role"] == "raw" and t["meta"].get("run") == 1]
    smoothed = [t for t in shown["data"] if t["meta"]["role"] == "metric" and t["meta"].get("run") == 1]
    assert len(raw) == 2 and raw[0]["opacity"] == pytest.approx(0.25 * PAST_OPACITY)
    assert smoothed[0]["y"] != [1.0, 0.5, 0.4] and smoothed[0]["x"] == [1.0, 2.0, 3.0]  # x: seconds
    assert shown["layout"]["yaxis"]["type"] == "log"


# -- core: saved and reloaded ------------------------------------------------------


def test_every_run_is_saved_and_reloaded() -> None:
    state = PlotState()
    state.batches_per_epoch = 2
    _feed(state, [1.0, 0.8])
    state.new_run("lr=1e-2", keep=True)
    _feed(state, [0.9, 0.5], offset=0.2)
    state.set_hidden(1, True)
    text = RunRecord.of(state).to_json()
    data = json.loads(text)
    assert data["run"]["label"] == "lr=1e-2" and [r["run"]["label"] for r in data["runs"]] == ["run 1"]
    assert data["history"]["loss"] == [0.9, 0.5]  # the top level stays the current run
    assert data["runs"][0]["batches"]["loss"]["x"] == [0.5, 1.5]  # kept in the file, not drawn
    record = RunRecord.from_json(text)
    again = PlotState()
    again.load(record)
    assert [p.info.label for p in again.past_runs] == ["run 1"] and again.current.label == "lr=1e-2"
    assert again.past_runs[0].info.hidden and again.history.column("val_loss") == pytest.approx([1.2, 0.8])
    assert [t["y"] for t in _of_run(again, 1)] == [t["y"] for t in _of_run(state, 1)]
    assert RunRecord.of(again).to_json() == text


def test_a_single_run_file_of_an_earlier_version_still_loads() -> None:
    old = {
        "format": "widget-callbacks-history",
        "version": 1,
        "history": {"epoch": [1, 2], "loss": [0.9, "nan"]},
        "batches": {},
        "batches_per_epoch": None,
        "checkpoints": [],
        "stopping": None,
    }
    record = RunRecord.from_json(json.dumps(old))
    assert record.run is None and record.runs == []
    state = PlotState()
    state.load(record)
    assert state.current.label == "run 1" and [t["meta"]["run"] for t in state.traces] == [1, 1]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ({"loss": [0.5], "val_loss": [0.6]}, r"format None and keys \['loss', 'val_loss'\]"),
        ([1, 2], "a JSON list of 2 items"),
        (
            {"format": "widget-callbacks-history", "history": {"epoch": [1]}, "runs": {}},
            '"runs" must be a list',
        ),
        (
            {"format": "widget-callbacks-history", "history": {"epoch": [1]}, "runs": [{"x": 1}]},
            r'"runs"\[0\]',
        ),
    ],
)
def test_a_history_file_of_another_format_says_what_it_holds(tmp_path, content, said) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=said):
        LivePlot.from_history(path, static_fallback=False)


# -- LivePlot ----------------------------------------------------------------------


class Recorder:
    def __init__(self, plot: LivePlot) -> None:
        self.messages: list[dict[str, Any]] = []
        self.resent = 0
        plot.send = self.messages.append  # type: ignore[method-assign]
        send_state = plot.send_state

        def counting(key: Any = None) -> None:
            if key == "traces":
                self.resent += 1
            send_state(key)

        plot.send_state = counting  # type: ignore[method-assign]


def _tiny_model() -> tuple[Any, np.ndarray, np.ndarray]:
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return model, x, x.sum(axis=1, keepdims=True)


def test_a_second_fit_from_epoch_1_keeps_run_1_and_stays_incremental() -> None:
    plot = LivePlot(static_fallback=False, batch_updates_per_second=1000)
    model, x, y = _tiny_model()
    first = model.fit(
        x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[plot.callback]
    )
    recorder = Recorder(plot)
    model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0, callbacks=[plot.callback])
    old = [t for t in plot.traces if t["meta"].get("run") == 1]
    assert [t["meta"]["metric"] for t in old][:2] == ["loss", "val_loss"]  # (and the learning rate)
    assert (
        {t["meta"]["role"] for t in old} == {"metric"}
        and old[0]["y"] == pytest.approx(first.history["loss"])
        and old[0]["opacity"] < 1
    )
    new = [t for t in plot.traces if t["meta"].get("run") == 2]
    assert {t["meta"]["role"] for t in new} == {"metric", "batch"} and plot.state.history.epochs == [
        1,
        2,
        3,
        4,
    ]
    # The run's start resent the traces; every point after went as an extend message.
    extends = [m for m in recorder.messages if m["type"] == MSG_EXTEND]
    assert recorder.resent <= 4 and len(extends) >= 4  # (the start, the new batch and val traces)
    assert all(p["trace"] >= len(old) for m in extends for p in m["points"])
    assert [r["label"] for r in plot.runs] == ["run 1", "run 2"]
    assert plot.runs[-1]["best"] or plot.runs[0]["best"]  # by val_loss, once the fit ended


def test_keep_runs_false_clears_as_before() -> None:
    plot = LivePlot(static_fallback=False, keep_runs=False)
    model, x, y = _tiny_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[plot.callback])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[plot.callback])
    assert {t["meta"]["run"] for t in plot.traces} == {2} and len(plot.runs) == 1
    with pytest.raises(TypeError, match="Received: keep_runs='no'"):
        LivePlot(keep_runs="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Received: aggregate='avg'"):
        LivePlot(aggregate="avg")


def test_new_run_labels_the_next_fit_even_one_that_would_continue() -> None:
    plot = LivePlot(static_fallback=False)
    plot.new_run("lr=1e-3")
    model, x, y = _tiny_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[plot.callback])
    plot.new_run("lr=1e-2, from epoch 3")
    model.fit(x, y, epochs=3, initial_epoch=2, verbose=0, callbacks=[plot.callback])
    assert [r["label"] for r in plot.runs] == ["lr=1e-3", "lr=1e-2, from epoch 3"]
    assert plot.state.history.epochs == [3]
    with pytest.raises(ValueError, match="non-empty run label"):
        plot.new_run("  ")


def test_add_run_takes_a_keras_history_a_file_or_a_record(tmp_path) -> None:
    model, x, y = _tiny_model()
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    saved = LivePlot(static_fallback=False)
    saved.end_epoch(1, {"loss": 5.0})
    path = saved.save_history(tmp_path / "baseline.json")
    plot = LivePlot(static_fallback=False)
    plot.end_epoch(1, {"loss": 1.0, "val_loss": 1.5})
    plot.add_run(history, label="adam")
    plot.add_run(path)
    plot.add_run(RunRecord.from_columns({"loss": [3.0, 2.0]}, epochs=[4, 5]))
    labels = {r["number"]: r["label"] for r in plot.runs}
    assert labels == {1: "run 1", 2: "adam", 3: "baseline", 4: "run 4"}
    adam = [t for t in plot.traces if t["meta"].get("run") == 2]
    assert adam[0]["x"] == [1, 2, 3] and adam[0]["y"] == pytest.approx(history.history["loss"])
    assert [t["x"] for t in plot.traces if t["meta"].get("run") == 4] == [[4, 5]]
    assert plot.traces[-1]["meta"]["run"] == 1  # the current run is drawn last, on top
    with pytest.raises(TypeError, match="Received: 42 of type int"):
        plot.add_run(42)
    plot.hide_run("adam")
    assert {t.get("visible") for t in plot.traces if t["meta"].get("run") == 2} == {"legendonly"}
    assert [r["hidden"] for r in plot.runs] == [True, False, False, False]
    figure = plot.to_figure()  # the export draws every run (the hidden one as a legend entry)
    assert {t.meta["run"] for t in figure.data if t.meta and "run" in t.meta} == {1, 2, 3, 4}


def test_the_static_copy_shows_every_run() -> None:
    plot = LivePlot(static_fallback=False)
    plot.add_run({"loss": [1.0, 0.5]}, label="before")
    plot.end_epoch(1, {"loss": 0.9})
    described, run, count, live = _snapshot(plot)  # what the page's PNG and the HTML draw
    assert count == len(plot.traces) == 2 and [t["meta"]["run"] for t in live["data"][:count]] == [1, 2]
    assert [t["name"] for t in described["data"]] == ["before", "loss"]


def test_from_history_draws_several_files_side_by_side(tmp_path) -> None:
    paths = []
    for name, losses in (("adam", [1.0, 0.6]), ("sgd", [1.2, 0.9, 0.8])):
        plot = LivePlot(static_fallback=False)
        for epoch, loss in enumerate(losses, start=1):
            plot.end_epoch(epoch, {"loss": loss})
        paths.append(plot.save_history(tmp_path / f"{name}.json"))
    both = LivePlot.from_history(*paths, static_fallback=False)
    assert [(r["label"], r["current"], r["epochs"]) for r in both.runs] == [
        ("adam", False, 2),
        ("sgd", True, 3),
    ]
    assert both.history["loss"] == [1.2, 0.9, 0.8]
    again = LivePlot.from_history(both.save_history(tmp_path / "both.json"), static_fallback=False)
    assert [r["label"] for r in again.runs] == ["adam", "sgd"]  # one file holds both runs
    with pytest.raises(TypeError, match="at least one file"):
        LivePlot.from_history()


def test_aggregate_is_set_on_the_plot() -> None:
    plot = LivePlot(static_fallback=False, aggregate="std")
    for losses in ([1.0, 0.8], [1.2, 0.6]):
        plot.add_run({"loss": losses}, label="seed")
    means = [t for t in plot.traces if t["meta"].get("aggregate") == "std"]
    assert len(means) == 1 and means[0]["y"] == pytest.approx([1.1, 0.7])
    plot.aggregate = None
    assert not any(t["meta"].get("aggregate") for t in plot.traces)
    assert {t["meta"]["run"] for t in plot.traces} == {1, 2}


# -- Keras Tuner ---------------------------------------------------------------------


def test_a_tuner_search_gives_a_run_per_trial_labelled_and_the_best_marked(tmp_path) -> None:
    keras_tuner = pytest.importorskip("keras_tuner")
    import keras

    def build(hp: Any) -> Any:
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(hp.Int("units", 2, 16), activation="relu"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [1e-2, 1e-3])), loss="mse")
        return model

    keras.utils.set_random_seed(0)
    tuner = keras_tuner.RandomSearch(
        build,
        objective="val_loss",
        max_trials=3,
        directory=str(tmp_path),
        project_name="runs",
        overwrite=True,
    )
    plot = LivePlot(static_fallback=False)
    _, x, y = _tiny_model()
    tuner.search(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[plot.callback])

    trials = [tuner.oracle.trials[t] for t in sorted(tuner.oracle.trials)]
    runs = plot.runs
    assert len(runs) == 3 and [r["trial_id"] for r in runs] == [t.trial_id for t in trials]
    for run, trial in zip(runs, trials):
        values = trial.hyperparameters.values
        assert run["hyperparameters"] == values and run["objective"] == "val_loss"
        assert run["label"] == f"trial {trial.trial_id}: units={values['units']}, lr={values['lr']:.4g}"
    best = tuner.oracle.get_best_trials(1)[0].trial_id
    assert [r["trial_id"] for r in runs if r["best"]] == [best]
    (number,) = [r["number"] for r in runs if r["best"]]
    drawn = [t for t in plot.traces if t["meta"].get("run") == number]
    if runs[-1]["best"]:  # the current run: its legend group's title says so
        assert drawn[0]["legendgrouptitle"]["text"].endswith(BEST_SUFFIX)
    else:  # an earlier run: its legend entry, drawn less faint than the others
        assert drawn[0]["name"].endswith(BEST_SUFFIX) and drawn[0]["opacity"] > PAST_OPACITY
