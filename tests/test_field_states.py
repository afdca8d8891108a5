"""States that must not depend on a control panel, and a monitor that is not logged:
field inputs from public reports, in real fits.

- A fit that raises (a ModelCheckpoint whose file name formats ``val_loss`` with no
  validation data: Keras raises KeyError at the first epoch end). After the cell, the
  plot says "failed: KeyError ..." with no ETA, whatever combination of plot,
  callback, controller and panel is used.
- ``monitor="val_acc"`` on a model compiled with ``metrics=["accuracy"]``: Keras only
  warns. The plot's progress line, the controls' status and the marks say that
  ``val_acc`` is not in the logs and list what is.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from widget_callbacks import (
    ControlPanel,
    EarlyStoppingController,
    LivePlot,
    LivePlotCallback,
    TrainingDashboard,
)


def _classifier() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return model, x, y


def _plot_alone(tmp: Any) -> tuple[LivePlot, list[Any]]:
    plot = LivePlot(static_fallback=False)
    return plot, [plot.callback]


def _plot_and_controller(tmp: Any) -> tuple[LivePlot, list[Any]]:
    plot, controller = LivePlot(static_fallback=False), EarlyStoppingController(monitor="loss")
    plot.attach(controller)
    return plot, [plot.callback, controller]


def _plot_controller_and_panel(tmp: Any) -> tuple[LivePlot, list[Any]]:
    plot, callbacks = _plot_and_controller(tmp)
    ControlPanel(callbacks[1])
    return plot, callbacks


def _callback_only(tmp: Any) -> tuple[LivePlot, list[Any]]:
    callback = LivePlotCallback(LivePlot(static_fallback=False))
    return callback.plot, [callback]


def _dashboard(tmp: Any) -> tuple[LivePlot, list[Any]]:
    dashboard = TrainingDashboard(monitor="loss", plot=LivePlot(static_fallback=False))
    return dashboard.plot, dashboard.callbacks


@pytest.mark.parametrize(
    "build", [_plot_alone, _plot_and_controller, _plot_controller_and_panel, _callback_only, _dashboard]
)
def test_a_fit_that_raises_says_failed_with_no_eta(build: Any, ipython_shell: Any, tmp_path: Any) -> None:
    plot, callbacks = build(tmp_path)
    model, x, y = _classifier()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch:02d}-{val_loss:.2f}.keras"))
    ipython_shell.user_ns.update(model=model, x=x, y=y, cbs=[*callbacks, checkpoint])
    result = ipython_shell.run_cell("model.fit(x, y, epochs=3, verbose=0, callbacks=cbs)")
    assert isinstance(result.error_in_exec, KeyError)
    progress = plot.progress
    assert progress["status"] == "failed" and progress["eta"] is None
    assert progress["message"].startswith("failed: KeyError"), progress["message"]


def test_a_monitor_that_is_not_in_the_logs_is_said_where_the_user_looks() -> None:
    model, x, y = _classifier()
    plot = LivePlot(static_fallback=False)
    controller = EarlyStoppingController(monitor="val_acc", mode="max", patience=1)
    panel = ControlPanel(controller, steering=False)
    plot.attach(controller)
    seen: list[tuple[str, str]] = []

    class During(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seen.append((plot.progress["message"], panel.status_line))

    with pytest.warns(UserWarning, match="val_acc"):  # Keras's own warning, kept
        history = model.fit(
            x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[plot.callback, controller, During()]
        )
    assert len(history.epoch) == 3  # Keras never stops by patience on a missing monitor
    logged = "accuracy, loss, val_accuracy, val_loss"  # in the order Keras logs them
    expected = f"val_acc is not in the logs (logged: {logged})"
    assert seen[0] == (expected, f"training epoch 2; {expected}")
    assert plot.progress["message"] == f"finished all epochs (epoch 3); {expected}"
    assert panel.status_line == f"finished; {expected}"
    texts = [a["text"] for a in plot.plot_layout["annotations"]]
    assert expected in texts
