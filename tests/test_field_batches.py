"""Field issue items 3-5, in real tiny fits: batch checkpoints, steps_per_execution, a
hand stop mid-epoch. Each test asserts the value the plot should show."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import pytest

from widget_callbacks import LivePlot
from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.core.figure import PlotState, batch_x
from widget_callbacks.core.outcome import STOP_BY_HAND
from widget_callbacks.core.progress import ProgressTracker
from widget_callbacks.core.records import CheckpointRecord, StoppingSnapshot

BATCH_SIZE = 4


def _model(zero: bool = False, steps_per_execution: int = 1) -> keras.Model:
    keras.utils.set_random_seed(7)
    init = "zeros" if zero else "glorot_uniform"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, kernel_initializer=init)])
    model.compile(keras.optimizers.SGD(0.05), loss="mse", steps_per_execution=steps_per_execution)
    return model


def _data(batches: int, zero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(batches * BATCH_SIZE, 4)).astype("float32")
    y = np.zeros((len(x), 1), "float32") if zero else (x.sum(axis=1, keepdims=True) + 0.3).astype("float32")
    return x, y


class BatchLogs(keras.callbacks.Callback):
    """Keeps every batch's training loss, 1-based ``(epoch, batch)``; runs ``actions``
    at 0-based ``(epoch, batch)``; calls ``after_batch(epoch, batch)`` (1-based)."""

    def __init__(
        self,
        actions: dict[tuple[int, int], Callable[[], Any]] | None = None,
        after_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__()
        self.loss: dict[tuple[int, int], float] = {}
        self.actions = actions or {}
        self.after_batch = after_batch
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.loss[(self.epoch + 1, batch + 1)] = float(logs["loss"])
        if (self.epoch, batch) in self.actions:
            self.actions[(self.epoch, batch)]()
        if self.after_batch is not None:
            self.after_batch(self.epoch + 1, batch + 1)


def _markers(plot: LivePlot) -> list[tuple[float, Any, str]]:
    traces = [t for t in plot.state.traces if t["meta"]["role"] == "checkpoint"]
    return [p for t in traces for p in zip(t["x"], t["y"], t["text"])]


# -- item 3: a checkpoint written every N batches --------------------------------------


@pytest.mark.parametrize("checkpoint_first", [True, False])
def test_batch_checkpoints_are_drawn_at_the_batch_training_value(
    tmp_path: Path, checkpoint_first: bool
) -> None:
    batches, epochs = 12, 3
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "w_{epoch:02d}_{batch:04d}.weights.h5"), save_weights_only=True, save_freq=5
    )
    plot = LivePlot(static_fallback=False)
    plot.attach(checkpoint)
    logs = BatchLogs()
    callbacks = [checkpoint, plot.callback] if checkpoint_first else [plot.callback, checkpoint]
    x, y = _data(batches)
    _model().fit(
        x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0, shuffle=False, callbacks=[logs, *callbacks]
    )

    records = [r for r in plot.state.checkpoints]
    assert len(records) == 7 == len(list(tmp_path.iterdir()))
    assert [(r.epoch, r.batch) for r in records] == [(1, 5), (1, 10), (2, 3), (2, 8), (3, 1), (3, 6), (3, 11)]
    markers = _markers(plot)
    assert len(markers) == 7
    for record, (mx, my, label) in zip(records, markers):
        assert record.batch is not None
        expected = logs.loss[(record.epoch, record.batch)]
        assert record.value == expected and record.value_metric == "loss"
        assert my is not None and math.isfinite(my) and my == expected
        assert mx == batch_x(record.epoch, record.batch, batches)
        assert record.epoch - 1 < mx < record.epoch
        assert f"epoch {record.epoch}, batch {record.batch}" in label and "loss" in label


def test_epoch_checkpoints_without_validation_use_that_epochs_loss(tmp_path: Path) -> None:
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}.weights.h5"), save_weights_only=True
    )
    plot = LivePlot(static_fallback=False)
    plot.attach(checkpoint)
    x, y = _data(6)
    history = _model().fit(
        x, y, batch_size=BATCH_SIZE, epochs=3, verbose=0, shuffle=False, callbacks=[checkpoint, plot.callback]
    )
    markers = _markers(plot)
    assert [m[0] for m in markers] == [1, 2, 3]
    assert [m[1] for m in markers] == history.history["loss"]


def test_a_zero_value_is_kept(tmp_path: Path) -> None:
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "w_{epoch:02d}_{batch:04d}.weights.h5"), save_weights_only=True, save_freq=5
    )
    plot = LivePlot(static_fallback=False)
    plot.attach(checkpoint)
    x, y = _data(12, zero=True)
    _model(zero=True).fit(
        x, y, batch_size=BATCH_SIZE, epochs=2, verbose=0, shuffle=False, callbacks=[checkpoint, plot.callback]
    )
    assert [r.value for r in plot.state.checkpoints] == [0.0] * 4
    assert [m[1] for m in _markers(plot)] == [0.0] * 4


def test_a_zero_in_the_history_is_not_skipped() -> None:
    state = PlotState()
    state.add_epoch(1, {"loss": 0.5, "val_loss": 0.0})
    state.add_checkpoint(CheckpointRecord(epoch=1, path="a.keras", monitor="val_loss"))
    marker = next(t for t in state.traces if t["meta"]["role"] == "checkpoint")
    assert marker["y"] == [0.0]


# -- item 4: steps_per_execution ---------------------------------------------------------


@pytest.mark.skipif(
    keras.backend.backend() == "torch", reason="Keras's PyTorch backend refuses steps_per_execution > 1"
)
def test_steps_per_execution_keeps_batches_inside_their_epoch() -> None:
    plot = LivePlot(static_fallback=False, batch_updates_per_second=1e9)
    seen: list[tuple[int, int, int, float]] = []

    def after_batch(epoch: int, batch: int) -> None:
        trace = next(t for t in plot.state.traces if t["meta"]["role"] == "batch")
        seen.append((epoch, batch, plot.progress["batch"], trace["x"][-1]))

    x, y = _data(10)
    _model(steps_per_execution=4).fit(
        x,
        y,
        batch_size=BATCH_SIZE,
        epochs=3,
        verbose=0,
        shuffle=False,
        callbacks=[plot.callback, BatchLogs(after_batch=after_batch)],
    )
    assert [b for _, b, _, _ in seen][:3] == [4, 8, 12]  # what Keras 3.15 reports
    assert max(p for _, _, p, _ in seen) == 10 and plot.progress["batches"] == 10
    assert all(epoch - 1 < bx <= epoch for epoch, _, _, bx in seen)
    trace = next(t for t in plot.state.traces if t["meta"]["role"] == "batch")
    assert trace["x"] == [0.4, 0.8, 1.0, 1.4, 1.8, 2.0, 2.4, 2.8, 3.0]


def test_batch_positions_are_clamped_to_the_epoch() -> None:
    tracker = ProgressTracker()
    tracker.begin(epochs=2, batches=10)
    tracker.begin_epoch(1)
    tracker.end_batch(12)
    assert tracker.as_dict()["batch"] == 10
    assert batch_x(2, 12, 10) == 2.0


# -- item 5: a hand stop mid-epoch ---------------------------------------------------------


@pytest.mark.parametrize("plot_first", [True, False])
def test_hand_stop_mid_epoch_shows_where_and_a_partial_epoch(plot_first: bool) -> None:
    batches = 9
    controller = EarlyStoppingController(monitor="loss", patience=10)
    plot = LivePlot(static_fallback=False)
    plot.attach(controller)
    script = BatchLogs(actions={(1, 0): controller.stop})
    callbacks = [plot.callback, script, controller] if plot_first else [script, controller, plot.callback]
    x, y = _data(batches)
    history = _model().fit(
        x, y, batch_size=BATCH_SIZE, epochs=5, verbose=0, shuffle=False, callbacks=callbacks
    )
    assert len(history.history["loss"]) == 2
    final = controller.snapshot()
    assert (final.stop_reason, final.stopped_epoch, final.stopped_batch) == (STOP_BY_HAND, 2, 1)

    progress = plot.progress
    position = tuple(progress[key] for key in ("status", "epoch", "batch", "batches"))
    assert position == ("stopped", 2, 1, 9)
    assert "epoch 2, batch 1" in progress["message"]

    partial = [t for t in plot.overlays if t.get("meta", {}).get("role") == "partial"]
    assert len(partial) == 1  # one panel: loss
    mark = partial[0]
    assert mark["x"] == [2] and mark["y"] == [history.history["loss"][1]]
    assert mark["text"] == ["partial epoch: 1 of 9 batches"]
    # hollow: a white-filled ring drawn over the epoch curve's filled point
    epoch_trace = next(t for t in plot.state.traces if t["meta"]["role"] == "metric")
    assert (
        mark["marker"]["color"] == "white" and mark["marker"]["line"]["color"] == epoch_trace["line"]["color"]
    )
    assert mark["marker"]["size"] > epoch_trace["marker"]["size"]
    assert (mark["xaxis"], mark["yaxis"]) == (epoch_trace["xaxis"], epoch_trace["yaxis"])
    # the epoch traces themselves stay aligned: one x, one y per epoch
    epoch_trace = next(t for t in plot.state.traces if t["meta"]["role"] == "metric")
    assert epoch_trace["x"] == [1, 2] and len(epoch_trace["y"]) == 2
    assert any(t.get("meta", {}).get("role") == "partial" for t in plot.state.figure()["data"])


def test_stop_asked_at_epoch_end_is_a_whole_epoch() -> None:
    controller = EarlyStoppingController(monitor="loss", patience=10)
    plot = LivePlot(static_fallback=False)
    plot.attach(controller)

    class AtEpochEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if epoch == 1:
                controller.stop()

    x, y = _data(6)
    _model().fit(
        x,
        y,
        batch_size=BATCH_SIZE,
        epochs=5,
        verbose=0,
        callbacks=[AtEpochEnd(), controller, plot.callback],
    )
    assert (plot.progress["epoch"], plot.progress["batch"], plot.progress["batches"]) == (2, 6, 6)
    assert not [t for t in plot.overlays if t.get("meta", {}).get("role") == "partial"]


def test_partial_epoch_mark_in_any_order_and_after_load() -> None:
    state = PlotState()
    state.batches_per_epoch = 90
    state.add_epoch(1, {"loss": 1.0, "val_loss": 1.2})
    state.add_epoch(2, {"loss": 0.8})
    stop = StoppingSnapshot(
        "loss", "min", patience=3, last_epoch=2, best=0.8, best_epoch=2,
        stopped_epoch=2, stopped_batch=1, stop_reason=STOP_BY_HAND,
    )  # fmt: skip
    state.set_stopping(stop)
    assert state.partial_epoch() == (2, 1)
    partial = [t for t in state.overlays() if t["meta"]["role"] == "partial"]
    assert [(t["x"], t["y"], t["text"]) for t in partial] == [
        ([2], [0.8], ["partial epoch: 1 of 90 batches"])
    ]

    from widget_callbacks.core.run_record import RunRecord

    loaded = PlotState()
    loaded.load(RunRecord.of(state))
    assert [t for t in loaded.overlays() if t["meta"]["role"] == "partial"] == partial
