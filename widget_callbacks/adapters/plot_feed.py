"""`PlotFeedCallback`: Keras hooks -> a plot's feed methods. Kept thin.

It starts what the plot needs itself: the reconnect service during ``fit`` and, when
``fit`` raises (Keras then skips ``on_train_end``), the plot's "failed" status at the
end of the cell (``kernel/cells.py``). The plot is anything with the `PlotFeed`
methods (`LivePlot` in ``widgets``); this module never imports the widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import keras

from .._compat import keras as compat
from .._compat.keras_tuner import current_trial
from ..core.figure import PlotState, batch_x
from ..core.learning_rate import LEARNING_RATE, LearningRateChange
from ..core.outcome import describe_exception, final_status
from ..core.progress import BatchGate, Throttle
from ..core.protocol import STATUS_FAILED, STATUS_TRAINING
from ..core.records import CheckpointRecord, StoppingSnapshot
from ..kernel.cells import CellEndHook
from ..kernel.reconnect import reconnect_service
from .checkpoint import CheckpointWatcher
from .early_stopping import EarlyStoppingController, compiled_metric_direction
from .learning_rate import LearningRateFeed
from .logs import numeric_logs


class PlotFeed(Protocol):
    """What the callback feeds: `LivePlot`'s feed methods (epochs and batches 1-based)."""

    batch_updates_per_second: float

    @property
    def state(self) -> PlotState: ...

    @property
    def status(self) -> str: ...

    def begin_fit(self, epochs: int | None, batches: int | None, *, label: str = "") -> None: ...

    def begin_epoch(self, epoch: int) -> None: ...

    def end_batch(self, batch: int, logs: Mapping[str, float]) -> None: ...

    def end_epoch(self, epoch: int, logs: Mapping[str, float]) -> None: ...

    def end_fit(self, status: str, message: str = "") -> None: ...

    def set_stopping(self, snapshot: StoppingSnapshot) -> None: ...

    def add_checkpoint(self, record: CheckpointRecord) -> None: ...

    # Optional (looked up with getattr): the learning-rate change marks.
    # def add_learning_rate_change(self, change: LearningRateChange) -> None: ...


class PlotFeedCallback(keras.callbacks.Callback):
    """Feeds a plot from ``model.fit``: epoch metrics, throttled batch progress.

    Uses only ``keras.callbacks`` APIs, so it works with every Keras 3 backend. With
    ``verbose=0`` in ``fit`` it replaces Keras's progress bar: epoch, batch, elapsed
    time, ETA and the latest batch metrics are shown above the plot. ``plot.callback``
    is one; `LivePlotCallback` adds making and showing a plot when none is given.

    ``async_safe`` is True: on JAX and PyTorch Keras may run its batch hook on a thread
    pool, several at once and out of order, instead of waiting for every step. The
    hook is then let through by a `BatchGate` (one at a time, never an older batch).

    The optimizer's learning rate is drawn as a ``learning_rate`` lane (its own
    panel), read at every epoch end and with each throttled batch update when Keras's
    logs lack it (``adapters/learning_rate.py``); its changes are marked, with
    ``ReduceLROnPlateau``'s reason when one is among the callbacks.

    Args:
        plot: the plot to feed (a `PlotFeed`, e.g. a `LivePlot`).

    Example:

    >>> from widget_callbacks import LivePlot
    >>> plot = LivePlot(static_fallback=False)
    >>> callback = PlotFeedCallback(plot)
    >>> callback.on_epoch_end(0, {"loss": 0.5})
    >>> plot.history
    {'epoch': [1], 'loss': [0.5]}
    """

    async_safe = True  # see `BatchGate`; Keras's callback_list.py reads it

    def __init__(self, plot: PlotFeed) -> None:
        super().__init__()
        self.plot = plot
        self._throttle = Throttle(1.0 / plot.batch_updates_per_second)
        self._batches = BatchGate()
        self._directed: set[str] = set()  # metrics whose compiled direction was told this fit
        self._rates = LearningRateFeed()  # the learning-rate lane and its change marks
        self._epoch = 1  # the 1-based epoch running
        self._cell_end = CellEndHook(self._after_cell)
        self._origin: PlotFeedCallback | None = None  # the callback this is a deep copy of
        self._copies = 0  # deep copies made of this callback
        self.run_label = ""  # shown with the progress of each fit ("trial 01" in a tuner)
        self.trial: dict[str, Any] | None = None  # the Keras Tuner trial a copy runs

    def __deepcopy__(self, memo: dict[int, Any]) -> PlotFeedCallback:
        """A copy that feeds the same plot, with fresh per-fit state.

        Keras Tuner deep-copies the callbacks for each trial: each trial's ``fit``
        starts a new run of the same plot, its progress labelled ``"trial <trial_id>"``
        (the id of its folder, ``trial_01``) and its legend entry with the trial's
        hyperparameters too; the tuner's objective ranks the runs for the best-run
        mark (``_compat/keras_tuner.current_trial``). A copy made outside a search is
        ``"copy <n>"``.
        Other attributes of a subclass are shared with the original (shallow).
        """
        origin = self._origin if self._origin is not None else self
        origin._copies += 1
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        PlotFeedCallback.__init__(clone, self.plot)  # params, model, throttle, cell hook
        clone._origin = origin
        clone.trial = current_trial()  # its id, hyperparameters and the tuner's objective
        trial = clone.trial["trial_id"] if clone.trial is not None else None
        clone.run_label = f"trial {trial}" if trial is not None else f"copy {origin._copies}"
        return clone

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        reconnect_service().begin(self)  # a page reloaded mid-fit gets the plot back
        self._cell_end.register()  # a fit that raises never reaches on_train_end
        params = self.params or {}
        self._throttle.reset()
        self._batches.reset()
        self._directed.clear()
        self._rates.begin(self.model, compat.running_callbacks())
        # Optional (looked up with getattr): a trial's fit is a run labelled with the
        # trial's id and hyperparameters, ranked by the tuner's objective.
        next_run = getattr(self.plot, "set_next_run", None)
        if next_run is not None and self.trial is not None:
            next_run(**self.trial)
        self.plot.begin_fit(params.get("epochs"), params.get("steps"), label=self.run_label)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches.reset()
        self._epoch = epoch + 1
        self.plot.begin_epoch(epoch + 1)
        self._with_rate(None, float(epoch), max(epoch, 1))  # a change between two epochs

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._batches.enter(batch):  # another batch's hook runs, or a newer one ran
            return
        try:
            if self._throttle.ready():
                values = numeric_logs(logs)
                steps = (self.params or {}).get("steps")
                self._with_rate(values, batch_x(self._epoch, batch + 1, steps), self._epoch)
                self.plot.end_batch(batch + 1, values)
        finally:
            self._batches.exit()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = numeric_logs(logs)
        self._with_rate(values, float(epoch + 1), epoch + 1)
        # Optional (looked up with getattr): the compiled metrics' directions, for the
        # summary's best values (the monitor rule's "auto" mode, as Keras reads them).
        # Once per metric and fit: the compiled metrics do not change during a fit.
        directions = getattr(self.plot, "set_metric_directions", None)
        new = [name for name in values if name not in self._directed]
        if directions is not None and new:
            directions({name: compiled_metric_direction(self.model, name) for name in new})
            self._directed.update(new)
        self.plot.end_epoch(epoch + 1, values)

    def _with_rate(self, values: dict[str, float] | None, x: float, epoch: int) -> None:
        """Adds the learning rate to ``values`` (unless Keras logged it) and hands its
        changes since the last read to the plot."""
        rate, changes = self._rates.read(values, x=x, epoch=epoch)
        if rate is not None and values is not None:
            values.setdefault(LEARNING_RATE, rate)
        add: Callable[[LearningRateChange], None] | None = getattr(
            self.plot, "add_learning_rate_change", None
        )
        if add is not None:
            for change in changes:
                add(change)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        # The stop reason, if a controller is attached, comes with its snapshot.
        stopped = bool(getattr(self.model, "stop_training", False))
        self._cell_end.unregister()
        self.plot.end_fit(final_status(self.plot.state.stopping, stopped), self.run_label)
        reconnect_service().end(self)  # (the end of the cell also ends it if fit raised)

    def _after_cell(self, result: Any) -> None:
        """The cell that ran ``fit`` ended without ``on_train_end``: ``fit`` raised.

        A cell ending on a kernel subshell's thread is another cell: ignored."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._cell_end.unregister()
        if self.plot.status != STATUS_TRAINING:
            return
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        failure = describe_exception(error) if error is not None else "fit ended without on_train_end"
        self.plot.end_fit(STATUS_FAILED, f"failed: {failure}")


def attach_sources(plot: PlotFeed, sources: Iterable[Any]) -> None:
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
