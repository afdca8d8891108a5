"""TrainingDashboard: the parts wired together, and a real fit through it."""

from __future__ import annotations

import asyncio
import pathlib

import keras
import numpy as np
import pytest

from widget_callbacks import EarlyStoppingController, LivePlot, TrainingDashboard


def _data():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    return model, x, x.sum(axis=1, keepdims=True)


def test_dashboard_parts_and_validation(tmp_path):
    dashboard = TrainingDashboard(
        monitor="val_loss", patience=3, checkpoint=tmp_path / "best.keras", restore_best_weights=True
    )
    assert isinstance(dashboard.controller, EarlyStoppingController)
    assert dashboard.controller.patience == 3 and dashboard.controller.restore_best_weights
    assert isinstance(dashboard.plot, LivePlot)
    assert dashboard.callbacks == [dashboard.plot.callback, dashboard.controller, dashboard.checkpoint]
    assert "application/vnd.jupyter.widget-view+json" in dashboard._repr_mimebundle_()
    assert TrainingDashboard().checkpoint is None
    with pytest.raises(TypeError, match="checkpoint must be a file path"):
        TrainingDashboard(checkpoint=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="patience"):
        TrainingDashboard(patience=-1)
    with pytest.raises(ValueError):
        TrainingDashboard(checkpoint=tmp_path / "best.txt")
    with pytest.raises(TypeError):
        TrainingDashboard(colour="red")


def test_controller_displays_its_controls():
    controller = EarlyStoppingController(patience=2)
    assert controller.controls is controller.controls
    assert "application/vnd.jupyter.widget-view+json" in controller._repr_mimebundle_()


def test_fit_through_the_dashboard_marks_checkpoints_and_the_end(tmp_path):
    dashboard = TrainingDashboard(patience=2, checkpoint=tmp_path / "best.keras", restore_best_weights=True)
    model, x, y = _data()
    history = model.fit(x, y, epochs=4, validation_split=0.25, verbose=0, callbacks=dashboard.callbacks)
    epochs = len(history.history["loss"])
    assert dashboard.plot.state.history.epochs == list(range(1, epochs + 1))
    assert [r.path for r in dashboard.plot.state.checkpoints] and pathlib.Path(
        tmp_path / "best.keras"
    ).exists()
    stopping = dashboard.plot.state.stopping
    assert stopping is not None and stopping.stop_reason is not None
    assert dashboard.plot.progress["status"] in ("finished", "stopped")
    assert dashboard.controls.state in ("finished", "stopped")


def test_fit_async_returns_the_history():
    dashboard = TrainingDashboard(patience=5)
    model, x, y = _data()
    history = asyncio.run(dashboard.fit_async(model, x, y, epochs=2, verbose=0, validation_split=0.25))
    assert len(history.history["loss"]) == 2
    assert dashboard.plot.state.history.epochs == [1, 2]


def test_a_failing_fit_reaches_the_caller_and_the_plot_says_failed():
    dashboard = TrainingDashboard(patience=5)
    model, x, _ = _data()
    bad_y = np.zeros((96, 3), dtype="float32")
    with pytest.raises(Exception) as raised:
        asyncio.run(dashboard.fit_async(model, x, bad_y, epochs=2, verbose=0))
    assert dashboard.plot.progress["status"] == "failed"
    assert dashboard.plot.progress["message"].startswith("failed: " + type(raised.value).__name__)
