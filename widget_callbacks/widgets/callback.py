"""`LivePlotCallback`: Keras hooks -> the pure core -> the plot's state. Kept thin.

It starts what the plot needs itself: the reconnect service during ``fit`` and, when
``fit`` raises (Keras then skips ``on_train_end``), the plot's "failed" status at the
end of the cell (``kernel/cells.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from ..adapters.checkpoint import CheckpointWatcher
from ..adapters.early_stopping import EarlyStoppingController
from ..adapters.logs import numeric_logs
from ..core.outcome import describe_exception, final_status
from ..core.progress import Throttle
from ..core.protocol import STATUS_FAILED, STATUS_TRAINING
from ..kernel.cells import CellEndHook
from ..kernel.reconnect import reconnect_service
from .live_plot import LivePlot


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
        self._cell_end = CellEndHook(self._after_cell)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self._display_on_begin:
            self._display_on_begin = False
            from IPython.display import display

            display(self.plot)
        reconnect_service().begin(self)  # a page reloaded mid-fit gets the plot back
        self._cell_end.register()  # a fit that raises never reaches on_train_end
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
        self._cell_end.unregister()
        self.plot.end_fit(final_status(self.plot.state.stopping, stopped))
        reconnect_service().end(self)  # (the end of the cell also ends it if fit raised)

    def _after_cell(self, result: Any) -> None:
        """The cell that ran ``fit`` ended without ``on_train_end``: ``fit`` raised."""
        self._cell_end.unregister()
        if self.plot.status != STATUS_TRAINING:
            return
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        failure = describe_exception(error) if error is not None else "fit ended without on_train_end"
        self.plot.end_fit(STATUS_FAILED, f"failed: {failure}")


def attach_sources(plot: LivePlot, sources: Iterable[Any]) -> None:
    """Subscribes ``plot`` to controllers and checkpoints; see `LivePlot.attach`."""
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
