"""LivePlot's traits and messages, with no front end, and fed by a real tiny fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from widget_callbacks import LivePlot, LivePlotCallback
from widget_callbacks.core.protocol import MSG_EXTEND, PROGRESS_KEYS


class Recorder:
    def __init__(self, plot: LivePlot) -> None:
        self.messages: list[dict] = []
        plot.send = self.messages.append  # type: ignore[method-assign]


def _tiny_model():
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    return model, x, y


def test_constructor_validates_arguments():
    with pytest.raises(ValueError, match="Received: batch_updates_per_second=0"):
        LivePlot(batch_updates_per_second=0)
    with pytest.raises(TypeError, match="Received: batch_curves='yes'"):
        LivePlot(batch_curves="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        LivePlot(colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="plot must be a LivePlot or None"):
        LivePlotCallback(plot="nope")  # type: ignore[arg-type]


def test_fresh_plot_state_is_waiting_with_empty_axes():
    plot = LivePlot()
    assert plot.progress["status"] == "waiting"
    assert set(plot.progress) == set(PROGRESS_KEYS)
    assert plot.traces == [] and plot.plot_layout["xaxis"]["title"]["text"] == "epoch"
    assert plot.callback is plot.callback


def test_real_fit_fills_every_epoch_and_sends_bounded_appends():
    plot = LivePlot()
    recorder = Recorder(plot)
    model, x, y = _tiny_model()
    history = model.fit(
        x, y, epochs=6, batch_size=16, validation_split=0.25, verbose=0, callbacks=[plot.callback]
    )
    state = plot.state.history
    assert state.epochs == [1, 2, 3, 4, 5, 6]
    for name, values in history.history.items():
        assert state.column(name) == pytest.approx(values), name
    by_name = {t["name"]: t for t in plot.traces}
    assert by_name["val_mae"]["x"] == [1, 2, 3, 4, 5, 6]
    assert by_name["loss"]["y"] == pytest.approx(history.history["loss"])
    assert plot.progress["status"] == "finished"
    assert plot.progress["epoch"] == 6 and plot.progress["epochs"] == 6
    extends = [m for m in recorder.messages if m["type"] == MSG_EXTEND]
    assert extends and all(m["run"] == plot.run for m in extends)
    # the widget state (what a new view or a reloaded page gets) holds every point
    state_json = json.dumps(plot.get_state()["traces"], allow_nan=False)
    assert json.loads(state_json) == plot.traces


def test_second_fit_continues_with_initial_epoch_else_starts_a_new_run():
    plot = LivePlot()
    model, x, y = _tiny_model()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[plot.callback])
    run = plot.run
    model.fit(x, y, epochs=5, initial_epoch=3, verbose=0, callbacks=[plot.callback])
    assert plot.run == run and plot.state.history.epochs == [1, 2, 3, 4, 5]
    model.fit(x, y, epochs=2, verbose=0, callbacks=[plot.callback])
    assert plot.run == run + 1 and plot.state.history.epochs == [1, 2]
    loss = next(t for t in plot.traces if t["name"] == "loss")
    assert loss["x"] == [1, 2]


def test_batch_updates_are_throttled():
    plot = LivePlot(batch_updates_per_second=5)
    recorder = Recorder(plot)
    progress_updates = []
    plot.observe(lambda change: progress_updates.append(change["new"]), names="progress")
    model, x, y = _tiny_model()
    model.fit(x, y, epochs=2, batch_size=1, verbose=0, callbacks=[plot.callback])  # 256 batches
    # A batch update is one extend message carrying the progress (or, the first of
    # a run, a trait change: its batch trace is new, so the traces are resent).
    batch_updates = [m["progress"] for m in recorder.messages if "progress" in m]
    batch_updates += [p for p in progress_updates if p["batch"] and p["status"] == "training"]
    assert 1 <= len(batch_updates) < 60
    assert all(set(p) == set(PROGRESS_KEYS) for p in batch_updates + progress_updates)


def test_a_batch_update_is_one_message_and_the_state_has_its_progress():
    plot = LivePlot()
    plot.begin_fit(3, 100)
    plot.begin_epoch(1)
    plot.end_batch(10, {"loss": 2.0})  # the batch trace is new: traces resent
    recorder = Recorder(plot)
    changes = []
    plot.observe(changes.append, names="progress")
    plot.end_batch(20, {"loss": 1.5})
    assert len(recorder.messages) == 1 and not changes
    (message,) = recorder.messages
    assert message["type"] == MSG_EXTEND and message["run"] == plot.run
    assert message["points"] and message["progress"]["batch"] == 20
    assert message["progress"]["logs"] == {"loss": 1.5}
    state = plot.get_state()
    assert state["progress"] == message["progress"]
    assert state["progress"] is not message["progress"]  # a snapshot, not the live dict
    plot.end_epoch(1, {"loss": 1.4})  # epoch updates still set the trait
    assert changes and changes[-1]["new"]["epoch"] == 1


def test_a_batch_update_never_mutates_the_trait_default():
    plot = LivePlot()
    default = plot.progress
    plot._plot.batches_per_epoch = 10  # fed with no begin_fit/begin_epoch before it
    plot.end_batch(1, {"loss": 1.0})
    plot.end_batch(2, {"loss": 0.5})
    assert plot.progress is not default and plot.progress["batch"] == 2
    assert default["status"] == "waiting" and default["batch"] == 0
