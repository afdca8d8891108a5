"""Keras adapters: Keras hooks -> the pure core -> the widget's state. Kept thin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from ._core.history import numeric_logs
from ._core.progress import Throttle
from ._protocol import STATUS_FINISHED, STATUS_STOPPED
from ._reconnect import reconnect_service
from ._widget import LivePlot


class LivePlotCallback(keras.callbacks.Callback):
    """Feeds a `LivePlot` from ``model.fit``: epoch metrics, throttled batch progress.

    Uses only ``keras.callbacks`` APIs, so it works with every Keras 3 backend. With
    ``verbose=0`` in ``fit`` it replaces Keras's progress bar: epoch, batch, elapsed
    time, ETA and the latest batch metrics are shown above the plot.

    Args:
        plot: the plot to feed. Defaults to None: a new `LivePlot` is created and
            displayed when training begins.

    Example:

    ```python
    model.fit(x, y, epochs=10, validation_split=0.2, verbose=0,
              callbacks=[LivePlotCallback()])
    ```
    """

    def __init__(self, plot: LivePlot | None = None) -> None:
        super().__init__()
        if plot is not None and not isinstance(plot, LivePlot):
            raise TypeError(
                f"plot must be a LivePlot or None. Received: plot={plot!r} "
                f"of type {type(plot).__name__}"
            )
        self._display_on_begin = plot is None
        self.plot = plot if plot is not None else LivePlot()
        self._throttle = Throttle(1.0 / self.plot.batch_updates_per_second)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._display_on_begin:
            self._display_on_begin = False
            from IPython.display import display

            display(self.plot)
        reconnect_service().begin(self)  # a page reloaded mid-fit gets the plot back
        params = self.params or {}
        self._throttle.reset()
        self.plot.begin_fit(params.get("epochs"), params.get("steps"))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.plot.begin_epoch(epoch + 1)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._throttle.ready():
            self.plot.end_batch(batch + 1, numeric_logs(logs))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.plot.end_epoch(epoch + 1, numeric_logs(logs))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        # The stop reason, if a controller is attached, comes with its snapshot.
        stopped = bool(getattr(self.model, "stop_training", False))
        self.plot.end_fit(STATUS_STOPPED if stopped else STATUS_FINISHED)
        reconnect_service().end(self)  # (post_run_cell also ends it if fit raised)


def attach_sources(plot: LivePlot, sources: Iterable[Any]) -> None:
    """Subscribes ``plot`` to controllers and checkpoints; see `LivePlot.attach`."""
    from ._checkpoint import CheckpointWatcher
    from ._early_stopping import EarlyStoppingController

    for source in sources:
        if isinstance(source, EarlyStoppingController):
            source.add_listener(plot.set_stopping)
            plot.set_stopping(source.snapshot())
        elif isinstance(source, keras.callbacks.ModelCheckpoint):
            CheckpointWatcher.for_checkpoint(source).add_listener(plot.add_checkpoint)
        elif isinstance(source, CheckpointWatcher):
            source.add_listener(plot.add_checkpoint)
        else:
            raise TypeError(
                "LivePlot.attach expects EarlyStoppingController or "
                "keras.callbacks.ModelCheckpoint instances. "
                f"Received: {source!r} of type {type(source).__name__}"
            )
