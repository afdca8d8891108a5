"""`LivePlotCallback`: the plot's Keras callback, which can make and show its plot."""

from __future__ import annotations

from typing import Any

from ..adapters.distributed import is_secondary_process
from ..adapters.plot_feed import PlotFeedCallback
from ..kernel.running import running_kernel
from .live_plot import LivePlot


class LivePlotCallback(PlotFeedCallback):
    """Feeds a `LivePlot` from ``model.fit``, making and showing one if none is given.

    Uses only ``keras.callbacks`` APIs, so it works with every Keras 3 backend. With
    ``verbose=0`` in ``fit`` it replaces Keras's progress bar.

    Outside a notebook (a plain Python script, a terminal) nothing is displayed or
    printed: the plot still records the run (``callback.plot.history``, ``save``), and
    Keras's own progress bar (``verbose=1``) is the text progress there.

    Deep copies (Keras Tuner copies the callbacks for each trial) feed the same plot;
    it is displayed once, when the first of them begins training.

    Args:
        plot: the plot to feed. Defaults to None: a new `LivePlot` is created and
            displayed when training begins (in a notebook).

    Raises:
        TypeError: ``plot`` is not a `LivePlot`.

    Example:

    >>> callback = LivePlotCallback(LivePlot(static_fallback=False))
    >>> callback.on_epoch_end(0, {"loss": 0.5})
    >>> callback.plot.history
    {'epoch': [1], 'loss': [0.5]}

    In a notebook: ``model.fit(x, y, epochs=10, verbose=0, callbacks=[LivePlotCallback()])``.
    """

    def __init__(self, plot: LivePlot | None = None) -> None:
        if plot is not None and not isinstance(plot, LivePlot):
            raise TypeError(
                f"plot must be a LivePlot or None. Received: plot={plot!r} of type {type(plot).__name__}"
            )
        self._display_on_begin = plot is None
        super().__init__(plot if plot is not None else LivePlot())

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        owner = self._origin if isinstance(self._origin, LivePlotCallback) else self
        if owner._display_on_begin:
            owner._display_on_begin = False
            # A script would print the widget's repr; other processes of a JAX run show nothing.
            if running_kernel() is not None and not is_secondary_process():
                from IPython.display import display

                display(self.plot)
        super().on_train_begin(logs)
