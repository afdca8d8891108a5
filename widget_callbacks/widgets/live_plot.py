"""`LivePlot`: the anywidget that draws training metrics live with plotly.js.

(Over 300 lines: the class is about 200 lines of traits and wiring; the rest is the
Keras-style docstrings of its public facade and of `from_history`.)

Traits and wiring only: what is drawn comes from the core's `PlotState`, files from
``export``, the static copy from ``static_copy.py``, the Keras feed from
``callback.py``.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..core.figure import PlotState, Update
from ..core.history import json_number
from ..core.outcome import STOP_FAILED, describe_outcome, final_status, monitor_note
from ..core.progress import ProgressTracker
from ..core.protocol import MSG_EXTEND, STATUS_FAILED, STATUS_TRAINING, STATUS_WAITING, STATUSES
from ..core.records import CheckpointRecord, StoppingSnapshot
from ..core.run_record import RunRecord
from ..export import files as export
from .static_copy import StaticFallback

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..adapters.plot_feed import PlotFeedCallback

_STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"


def _check_bundle() -> None:
    """The built front end is there (a source checkout must build it), or a clear error."""
    for name in ("widget.js", "widget.css"):
        path = _STATIC / name
        if not path.is_file():
            raise RuntimeError(
                f"The widget's front end was expected at {path} but is missing. "
                "Install the package from a wheel, or build the front end in a source "
                "checkout with `npm --prefix js ci && npm --prefix js run build`."
            )


def _snapshot(value: Any) -> Any:
    """Copies nested lists and dicts (what get_state returns) so they can't change later."""
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return value


class LivePlot(anywidget.AnyWidget):
    """A live plot of every epoch metric, train and validation, with a progress line.

    One panel per metric family (``loss`` with ``val_loss``, ``accuracy`` with
    ``val_accuracy``, ...), epochs numbered from 1 as Keras prints them. Feed it with
    its Keras callback, ``plot.callback``. A second ``fit`` that starts where the last
    one ended (``initial_epoch=`` the number of epochs drawn) continues the curves;
    a ``fit`` that starts at epoch 1 starts a new run and clears the plot.

    Args:
        batch_curves: also draw batch-level training metrics (throttled) as faint
            lines under the epoch curves. Defaults to True.
        batch_updates_per_second: at most this many progress/batch updates are
            sent per second, whatever the batch rate. Defaults to 10.
        static_fallback: when a fit ends, also put a static copy of the final plot
            in the output that shows the widget, for notebooks saved without widget
            state (GitHub, nbviewer, nbconvert): ``"png"`` (an image, about 200 kB),
            ``"html"`` (interactive, but it inlines plotly.js: about 5 MB per plot),
            True for both, or False for none. The PNG is drawn by the browser
            that shows the plot, asked when the cell ends (nothing runs during
            the fit); without one (nbclient, papermill, no answer within 10 s)
            kaleido and Chromium draw it. See ``widgets/static_copy.py``.
            Defaults to ``"png"``.

    Raises:
        TypeError: ``batch_curves`` is not a bool.
        ValueError: ``batch_updates_per_second`` is not a number > 0, or
            ``static_fallback`` is not one of the values above.

    Example:

    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9, "val_loss": 1.1})
    >>> plot.history
    {'epoch': [1], 'loss': [0.9], 'val_loss': [1.1]}

    In a notebook: ``display(plot)``, then ``model.fit(x, y, epochs=20,
    validation_split=0.2, verbose=0, callbacks=[plot.callback])``.
    """

    _esm = _STATIC / "widget.js"  # anywidget reads the files when the class is made
    _css = _STATIC / "widget.css"
    traces: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    plot_layout: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    overlays: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    progress: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    run = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        *,
        batch_curves: bool = True,
        batch_updates_per_second: float = 10.0,
        static_fallback: bool | str | Sequence[str] = "png",
    ) -> None:
        if not isinstance(batch_curves, bool):
            raise TypeError(f"batch_curves must be a bool. Received: batch_curves={batch_curves!r}")
        rate = batch_updates_per_second
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(
                f"batch_updates_per_second must be a number > 0. Received: batch_updates_per_second={rate!r}"
            )
        _check_bundle()
        self._static = StaticFallback(static_fallback)  # validates
        self.batch_updates_per_second = float(rate)
        self._plot = PlotState(batch_curves=batch_curves)
        self._lock = self._plot.lock
        self._tracker = ProgressTracker()
        self._status, self._message = STATUS_WAITING, ""
        self._batch_logs: dict[str, Any] = {}
        self._progress_owned: dict[str, Any] | None = None  # the dict _push_progress assigned
        self._fit_started = True
        self._callback: PlotFeedCallback | None = None
        super().__init__(
            traces=self._plot.traces,
            plot_layout=self._plot.layout(),
            overlays=[],
            progress=self._progress_dict(),
            run=self._plot.run,
        )
        self.on_msg(self._on_front_end_msg)

    # -- public -------------------------------------------------------------

    @property
    def callback(self) -> PlotFeedCallback:
        """The Keras callback that feeds this plot (the same object every time)."""
        if self._callback is None:
            from ..adapters.plot_feed import PlotFeedCallback  # imports Keras: when asked

            self._callback = PlotFeedCallback(self)
        return self._callback

    @property
    def state(self) -> PlotState:
        """The plot's pure state (history, marks, traces); read-only use."""
        return self._plot

    def attach(self, *sources: Any) -> LivePlot:
        """Draws the marks of an `EarlyStoppingController` or a `keras.callbacks.ModelCheckpoint`.

        Args:
            *sources: controllers (best epoch, patience band, stop) and stock
                ModelCheckpoint callbacks (markers where a file was really written).

        Returns:
            The plot, for chaining.

        Raises:
            TypeError: a source of another type.
        """
        from ..adapters.plot_feed import attach_sources  # imports Keras: when asked

        attach_sources(self, sources)
        return self

    def to_figure(self) -> go.Figure:
        """The plot as a plotly Figure, marks included; see `export.files.to_figure`."""
        return export.to_figure(self)

    def save(self, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
        """Writes ``.html``, ``.png``, ``.svg``, ``.pdf`` or ``.json``; see `export.files.save`."""
        return export.save(self, path, **kwargs)

    @property
    def history(self) -> dict[str, list[Any]]:
        """Epoch metrics as ``{"epoch": [...], "<metric>": [...]}``; see `export.files.history_dict`."""
        return export.history_dict(self)

    def history_frame(self) -> pd.DataFrame:
        """Epoch metrics as a pandas DataFrame; see `export.files.history_frame`."""
        return export.history_frame(self)

    def save_history(self, path: str | os.PathLike[str], *, format: str | None = None) -> pathlib.Path:
        """Writes the history (``.csv``) or the whole run (``.json``); see `export.files.save_history`."""
        return export.save_history(self, path, format=format)

    @classmethod
    def from_history(cls, path: str | os.PathLike[str], **kwargs: Any) -> LivePlot:
        """A new plot drawing a file written by `save_history`; see `from_history`."""
        plot = cls(**kwargs)
        plot.load(export.read_history(path))
        return plot

    def load(self, record: RunRecord) -> None:
        """Draws a saved run in one step, as a new run (marks and status included)."""
        history = record.history
        with self._lock:
            self._plot.load(record)
            self._tracker.begin(history.last_epoch or None, record.batches_per_epoch)
            if history.epochs:
                self._tracker.begin_epoch(history.last_epoch)
                self._tracker.end_epoch(self._plot.stopped_batch(history.last_epoch))
                last = {name: column[-1] for name, column in history.metrics.items()}
                self._batch_logs = {k: json_number(v) for k, v in last.items() if v is not None}
            self._push_structure(run_changed=True)
        self.end_fit(final_status(record.stopping, model_stopped=False))

    def _ipython_display_(self) -> None:
        self._display_with_static_copy(self)

    def _display_with_static_copy(self, widget: Any) -> None:
        """Displays ``widget`` (this plot, or a container holding it) with a display id,
        so that the end of a fit adds this plot's static copy to that output."""
        self._static.display(widget, self)

    # -- fed by the Keras adapters (any one thread at a time) ---------------

    def begin_fit(self, epochs: int | None, batches: int | None, *, label: str = "") -> None:
        """``label`` (e.g. ``"trial 01"``) is the progress line's message during the fit."""
        with self._lock:
            self._tracker.begin(epochs, batches)
            self._plot.batches_per_epoch = batches
            self._status, self._message = STATUS_TRAINING, str(label)
            self._fit_started = False
            self._push_progress()
        self._static.fit_started()

    def begin_epoch(self, epoch: int) -> None:
        """``epoch`` is 1-based."""
        with self._lock:
            if not self._fit_started:
                self._fit_started = True
                if not self._plot.continues(epoch):
                    stopping = self._plot.stopping
                    self._plot.new_run()
                    self._plot.set_stopping(stopping if stopping and stopping.last_epoch is None else None)
                    self._push_structure(run_changed=True)
            self._tracker.begin_epoch(epoch)
            self._batch_logs = {}
            self._push_progress()

    def end_batch(self, batch: int, logs: Mapping[str, float]) -> None:
        """A throttled batch update: ``batch`` is 1-based, ``logs`` numeric."""
        with self._lock:
            self._tracker.end_batch(batch)  # kept within the epoch (steps_per_execution)
            self._batch_logs = {k: json_number(v) for k, v in logs.items()}
            if self._plot.batches_per_epoch:
                update = self._plot.add_batch(self._tracker.epoch, self._tracker.batch, logs)
                if update.points and not update.structure_changed and self._owns_progress():
                    self._extend_with_progress(update)  # one message, not two
                    return
                self._apply(update)
            self._push_progress()

    def end_epoch(self, epoch: int, logs: Mapping[str, float]) -> None:
        """``epoch`` is 1-based. An epoch a stop by hand ended early (the controller's
        snapshot, published at that batch's end) ends at that batch, and its point is
        marked partial (`PlotState.partial_epoch`)."""
        with self._lock:
            self._tracker.end_epoch(self._plot.stopped_batch(epoch))
            self._batch_logs = {k: json_number(v) for k, v in logs.items()}
            self._apply(self._plot.add_epoch(epoch, logs))
            self._push_marks()
            self._push_progress()

    def end_fit(self, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}. Received: status={status!r}")
        with self._lock:
            self._status, self._message = status, message
            self._push_progress()
        self._static.fit_ended(self)

    @property
    def status(self) -> str:
        """The run's status: one of ``core.protocol.STATUSES``."""
        return self._status

    def set_stopping(self, snapshot: StoppingSnapshot) -> None:
        with self._lock:
            self._plot.set_stopping(snapshot)
            self._push_marks()
            if snapshot.stop_reason == STOP_FAILED:
                self._status = STATUS_FAILED
            if snapshot.stop_reason is not None or snapshot.last_value_missing:
                self._push_progress()  # the stop reason or a missing monitor, in any callback order

    def add_checkpoint(self, record: CheckpointRecord) -> None:
        with self._lock:
            self._apply(self._plot.add_checkpoint(record))

    # -- messages from the front end (any thread: a subshell, the reconnect worker) --

    def _on_front_end_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        """A view's PNG for the static copy (``static_png``); anything else is ignored."""
        self._static.answer(content)

    # -- state requests (thread-safe: see kernel/reconnect.py) --------------

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        # A page reloaded mid-run can have its state request served on another thread
        # while fit appends to the traces in place here: read under the lock and copy,
        # so that the message (encoded after the lock is released) is one snapshot.
        state = getattr(self, "_plot", None)
        if state is None:  # during AnyWidget.__init__
            return super().get_state(key=key, drop_defaults=drop_defaults)
        with state.lock:
            return _snapshot(super().get_state(key=key, drop_defaults=drop_defaults))

    # -- sending ------------------------------------------------------------

    def _apply(self, update: Update) -> None:
        if update.structure_changed:
            self._push_structure()
        elif update.points:
            self.send({"type": MSG_EXTEND, "run": self._plot.run, "points": update.points})

    def _push_structure(self, run_changed: bool = False) -> None:
        # The traces list is the state's own list, grown in place: a state request
        # (a new view, a reloaded page) always serializes every point. Here its
        # structure changed, so it is resent whole.
        if run_changed or self.traces is not self._plot.traces:
            self.run = self._plot.run
            self.traces = self._plot.traces
        self.send_state("traces")
        self._push_marks()

    def _push_marks(self) -> None:
        self.plot_layout = self._plot.layout()
        self.overlays = self._plot.overlays()

    def _progress_dict(self) -> dict[str, Any]:
        message = self._message
        stopping = self._plot.stopping
        if (
            stopping is not None
            and stopping.stop_reason
            and (self._status != STATUS_FAILED or stopping.stop_reason == STOP_FAILED)
        ):
            message = "; ".join(describe_outcome(stopping))
        note = monitor_note(stopping) if stopping is not None else None
        if note and self._status != STATUS_FAILED:
            message = f"{message}; {note}" if message else note
        position = self._tracker.as_dict()
        if self._status != STATUS_TRAINING:
            position["eta"] = None
        return {"status": self._status, **position, "logs": dict(self._batch_logs), "message": message}

    def _push_progress(self) -> None:
        self._progress_owned = self._progress_dict()
        self.progress = self._progress_owned

    def _owns_progress(self) -> bool:
        """Whether the ``progress`` dict is one `_push_progress` made (not the trait's
        default), so that it may be updated in place."""
        return self.progress is self._progress_owned

    def _extend_with_progress(self, update: Update) -> None:
        """The batch points and the new progress in one ``extend`` message: at up to
        ten updates a second, each message saved is main-thread time given back to
        ``fit``. The ``progress`` dict (ours) is updated in place, which does not sync,
        so a new view or a reloaded page still gets the current progress."""
        progress = self._progress_dict()
        self.progress.clear()
        self.progress.update(progress)
        self.send({"type": MSG_EXTEND, "run": self._plot.run, "points": update.points, "progress": progress})


def from_history(path: str | os.PathLike[str], **kwargs: Any) -> LivePlot:
    """A new `LivePlot` drawing a file written by `save_history`.

    The saved run (a `RunRecord`) is drawn by the same `PlotState` as during training,
    marks included; a CSV file gives the curves only. Keras is not imported.

    Args:
        path: a ``.json`` or ``.csv`` file from `save_history`.
        **kwargs: passed to `LivePlot`, e.g. ``static_fallback=False``.

    Raises:
        ValueError: an unknown suffix, or a file that is not a history.

    Example:

    >>> import tempfile, pathlib
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9})
    >>> path = plot.save_history(pathlib.Path(tempfile.mkdtemp()) / "run.json")
    >>> from_history(path, static_fallback=False).history
    {'epoch': [1], 'loss': [0.9]}
    """
    return LivePlot.from_history(path, **kwargs)
