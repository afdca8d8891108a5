"""`LivePlot`: the anywidget that draws training metrics live with plotly.js.

(Over 300 lines: the class is about 300 lines of traits and wiring; the rest is the
Keras-style docstrings of its public facade and of `from_history`. The runs side by
side are ``core/runs.py`` and ``PlotState``'s; here they are a few thin methods.)

Traits and wiring only: what is drawn comes from the core's `PlotState`, files from
``export``, the static copy from ``static_copy.py``, the Keras feed from
``callback.py``.
"""

from __future__ import annotations

import os
import pathlib
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..core.figure import PlotState, Update
from ..core.history import json_number
from ..core.learning_rate import LearningRateChange
from ..core.outcome import STOP_FAILED, describe_outcome, final_status, monitor_note
from ..core.progress import ProgressTracker
from ..core.protocol import MSG_EXTEND, STATUS_FAILED, STATUS_TRAINING, STATUS_WAITING, STATUSES
from ..core.records import CheckpointRecord, StoppingSnapshot
from ..core.run_record import RunRecord
from ..core.runs import check_aggregate, check_label, trial_label
from ..core.summary import metric_direction
from ..core.views import VIEW_DEFAULTS, ViewSettings
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
    a ``fit`` that starts at epoch 1 starts a new run: the earlier runs stay, drawn
    faint (epoch curves only), each with a legend entry that hides or shows it.
    Runs are labelled ``run 1``, ``run 2``, ... (`new_run` names the next one; a
    Keras Tuner trial is labelled with its id and hyperparameters); the best run is
    marked. `add_run` and `from_history` put saved runs or a Keras ``History``
    next to the live one.

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
        smoothing: the toolbar's smoothing, 0 (off) to 0.99: TensorBoard's moving
            average with debiasing, the raw curve kept faint behind. Defaults to 0.0.
        log_y: panels (metric families, e.g. ``["loss"]``) with a log y axis; values
            <= 0 are gaps there. Defaults to ``["learning_rate"]`` (rates span decades).
        x_axis: ``"epoch"``, ``"step"`` (global batch) or ``"time"`` (seconds since
            the run started). Defaults to ``"epoch"``.
        robust_y: scale y without the first epochs' spike. Defaults to False.
        theme: ``"auto"`` (follow JupyterLab, Notebook or VS Code), ``"light"`` or
            ``"dark"``. Defaults to ``"auto"``.
        keep_runs: a ``fit`` from epoch 1 keeps the earlier runs on the plot; False
            clears them (a single run at a time). Defaults to True.
        aggregate: draw the runs that share a label (repeated seeds, say) as their
            mean with a band: ``"minmax"`` (lowest to highest) or ``"std"`` (mean
            +/- one standard deviation); the current run counts once its fit ended.
            Defaults to None (every run on its own).

    The five view settings are the synced ``view`` trait: the toolbar sets it, a
    reloaded page keeps it, ``save()`` exports what it shows and ``save_history``
    keeps it. Set it later with ``plot.smoothing = 0.8`` (one setting) or
    ``plot.view = {...}`` (keys left out take their defaults).

    The ``summary_table`` trait is the table under the plot: per metric its last
    and best values and the epoch of the best, and the last epoch's duration and
    pace; `summary` returns it as data.

    Raises:
        TypeError: ``batch_curves``, ``robust_y`` or ``keep_runs`` is not a bool,
            ``smoothing`` not a number, ``log_y`` not a list of names.
        ValueError: ``batch_updates_per_second`` is not a number > 0,
            ``static_fallback`` is not one of the values above, ``smoothing`` is
            not between 0 and 0.99, ``x_axis``, ``theme`` or ``aggregate`` is not
            one of its names.

    Example:

    >>> plot = LivePlot(static_fallback=False, smoothing=0.6, log_y=["loss"])
    >>> plot.end_epoch(1, {"loss": 0.9, "val_loss": 1.1})
    >>> plot.history
    {'epoch': [1], 'loss': [0.9], 'val_loss': [1.1]}
    >>> plot.view["smoothing"], plot.summary_table["rows"][0]["best"]
    (0.6, 0.9)
    >>> plot.add_run({"loss": [1.2, 0.8]}, label="baseline")  # e.g. a Keras History
    >>> [(run["number"], run["label"]) for run in plot.runs]
    [(2, 'baseline'), (1, 'run 1')]

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
    view: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    summary_table: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        *,
        batch_curves: bool = True,
        batch_updates_per_second: float = 10.0,
        static_fallback: bool | str | Sequence[str] = "png",
        smoothing: float = VIEW_DEFAULTS["smoothing"],
        log_y: Sequence[str] = tuple(VIEW_DEFAULTS["log_y"]),
        x_axis: str = VIEW_DEFAULTS["x_axis"],
        robust_y: bool = VIEW_DEFAULTS["robust_y"],
        theme: str = VIEW_DEFAULTS["theme"],
        keep_runs: bool = True,
        aggregate: str | None = None,
    ) -> None:
        if not isinstance(batch_curves, bool):
            raise TypeError(f"batch_curves must be a bool. Received: batch_curves={batch_curves!r}")
        if not isinstance(keep_runs, bool):
            raise TypeError(f"keep_runs must be a bool. Received: keep_runs={keep_runs!r}")
        rate = batch_updates_per_second
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(
                f"batch_updates_per_second must be a number > 0. Received: batch_updates_per_second={rate!r}"
            )
        view = ViewSettings(smoothing, log_y, x_axis, robust_y, theme)  # type: ignore[arg-type]
        _check_bundle()
        self._static = StaticFallback(static_fallback)  # validates
        self.batch_updates_per_second = float(rate)
        self._plot = PlotState(batch_curves=batch_curves, aggregate=check_aggregate(aggregate))
        self.keep_runs = keep_runs
        self._next_run: dict[str, Any] | None = None  # new_run's label, a trial: the next run's
        self._plot.view = view
        self._lock = self._plot.lock
        self._clock = time.monotonic  # timestamps: seconds since the run started
        self._time_origin: float | None = None  # the clock when this fit's time began
        self._time_offset = 0.0  # the run's seconds at _time_origin (a continued run)
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
            view=view.to_dict(),
            summary_table=self._plot.summary(),
        )
        self.on_msg(self._on_front_end_msg)

    # -- view settings (the toolbar; synced) --------------------------------

    @traitlets.validate("view")
    def _valid_view(self, proposal: Any) -> dict[str, Any]:
        return ViewSettings.from_dict(proposal["value"]).to_dict()

    @traitlets.observe("view")
    def _view_changed(self, change: Any) -> None:
        state = getattr(self, "_plot", None)
        if state is not None:
            with state.lock:
                state.view = ViewSettings.from_dict(change["new"])

    def _set_view(self, **changes: Any) -> None:
        self.view = ViewSettings.from_dict(self.view).with_changes(**changes).to_dict()

    @property
    def smoothing(self) -> float:
        """The smoothing weight, 0 (off) to 0.99 (the ``view`` trait's)."""
        return float(self.view["smoothing"])

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        self._set_view(smoothing=value)

    @property
    def log_y(self) -> list[str]:
        """Panels with a log y axis (the ``view`` trait's)."""
        return list(self.view["log_y"])

    @log_y.setter
    def log_y(self, value: Sequence[str]) -> None:
        self._set_view(log_y=value)

    @property
    def x_axis(self) -> str:
        """``"epoch"``, ``"step"`` or ``"time"`` (the ``view`` trait's)."""
        return str(self.view["x_axis"])

    @x_axis.setter
    def x_axis(self, value: str) -> None:
        self._set_view(x_axis=value)

    @property
    def robust_y(self) -> bool:
        """Whether y is scaled without outliers (the ``view`` trait's)."""
        return bool(self.view["robust_y"])

    @robust_y.setter
    def robust_y(self, value: bool) -> None:
        self._set_view(robust_y=value)

    @property
    def theme(self) -> str:
        """``"auto"``, ``"light"`` or ``"dark"`` (the ``view`` trait's)."""
        return str(self.view["theme"])

    @theme.setter
    def theme(self, value: str) -> None:
        self._set_view(theme=value)

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

    def to_figure(self, *, theme: str = "light") -> go.Figure:
        """The plot as a plotly Figure as the view shows it, marks included; see
        `export.files.to_figure`."""
        return export.to_figure(self, theme=theme)

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
    def from_history(cls, *paths: str | os.PathLike[str], **kwargs: Any) -> LivePlot:
        """A new plot drawing files written by `save_history`, side by side; see
        `from_history`."""
        if not paths:
            raise TypeError(
                "from_history() expects at least one file written by save_history. Received none."
            )
        records = [export.read_history(path) for path in paths]  # all read before drawing
        plot = cls(**kwargs)
        for path, record in zip(paths[:-1], records[:-1]):
            with plot._lock:
                plot._plot.add_past_run(record, pathlib.Path(path).stem, keep_label=True)
        label = pathlib.Path(paths[-1]).stem if len(paths) > 1 else None
        plot.load(records[-1], keep_runs=True, label=label)
        given = {key: kwargs[key] for key in VIEW_DEFAULTS if key in kwargs}
        if given:  # the caller's view settings win over the file's
            plot._set_view(**given)
        return plot

    # -- runs side by side --------------------------------------------------

    def new_run(self, label: str | None = None) -> None:
        """Makes the next ``fit`` start a new run (even one that would continue the
        last, with ``initial_epoch``), labelled ``label`` (default ``"run <n>"``).

        Args:
            label: the run's label in the legend and the hover text. Defaults to None.

        Raises:
            TypeError: ``label`` is not a string.
            ValueError: ``label`` is empty.
        """
        self._next_run = {"label": None if label is None else check_label(label)}

    def set_next_run(
        self,
        *,
        trial_id: str | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        objective: tuple[str, str] | None = None,
        label: str | None = None,
    ) -> None:
        """The next run is a Keras Tuner trial (the plot's callback calls this):
        labelled with its id and hyperparameters, ranked by the tuner's objective
        (``(metric, "min" | "max")``) for the best-run mark."""
        info: dict[str, Any] = {"label": label}
        if trial_id is not None:
            info.update(
                label=label or trial_label(trial_id, hyperparameters),
                trial_id=str(trial_id),
                hyperparameters=dict(hyperparameters or {}),
            )
        if objective is not None:
            info.update(objective=objective[0], direction=objective[1])
        self._next_run = info

    def add_run(self, source: Any, *, label: str | None = None) -> None:
        """Draws a finished run next to the current one, faint, with a legend entry.

        Args:
            source: a file written by `save_history` (``.json`` or ``.csv``), a
                `RunRecord`, a Keras ``History`` (what ``fit`` returns) or its
                ``history`` dict (``{"loss": [...], ...}``).
            label: the run's label. Defaults to None: the saved one, else the file's
                name without suffix, else ``"run <n>"``.

        Raises:
            TypeError: ``source`` of another type, or ``label`` not a string.
            ValueError: a file that is not a history (the message says what it holds).
        """
        record = export.run_record(source)
        keep_label = label is None  # a label saved in the file wins over the file's name
        if label is not None:
            label = check_label(label)
        elif isinstance(source, (str, os.PathLike)):
            label = pathlib.Path(source).stem
        with self._lock:
            self._plot.add_past_run(record, label, keep_label=keep_label)
            self._push_structure()

    def hide_run(self, run: int | str) -> None:
        """Hides run ``run`` (its number, or its label): its legend entry stays, and
        a click on it shows the run again. Exports leave it out too.

        Raises:
            KeyError: no such run.
        """
        with self._lock:
            self._plot.set_hidden(run, True)
            self._push_structure()

    def show_run(self, run: int | str) -> None:
        """Shows run ``run`` (its number, or its label) again.

        Raises:
            KeyError: no such run.
        """
        with self._lock:
            self._plot.set_hidden(run, False)
            self._push_structure()

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The runs on the plot, earlier ones first, the current last: ``number``,
        ``label``, ``hidden``, ``best`` (the best run: see ``core/runs.py``),
        ``current``, ``epochs`` and, for a Keras Tuner trial, ``trial_id`` and
        ``hyperparameters``."""
        with self._lock:
            return self._plot.runs_table()

    @property
    def aggregate(self) -> str | None:
        """``"minmax"``, ``"std"`` or None: how runs sharing a label are drawn."""
        return self._plot.aggregate

    @aggregate.setter
    def aggregate(self, value: str | None) -> None:
        with self._lock:
            self._plot.aggregate = check_aggregate(value)
            self._plot.rebuild_runs()
            self._push_structure()

    def load(self, record: RunRecord, *, keep_runs: bool = False, label: str | None = None) -> None:
        """Draws a saved run in one step, as a new run (marks, status and the saved
        view settings included), with the earlier runs saved with it; the runs
        already on the plot are forgotten, unless ``keep_runs``. ``label`` names a
        run saved without a label."""
        history = record.history
        if record.view is not None:
            try:
                self.view = ViewSettings.from_dict(record.view).to_dict()
            except (TypeError, ValueError) as err:
                warnings.warn(
                    f"The saved view settings were not restored: {err}", RuntimeWarning, stacklevel=2
                )
        with self._lock:
            self._plot.load(record, keep=keep_runs, label=label)
            self._time_origin = None
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
            self._time_origin, self._time_offset = self._clock(), 0.0
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
                following, self._next_run = self._next_run, None
                if following is None and self._plot.continues(epoch):  # the run goes on
                    self._time_offset = self._plot.history.last_time or 0.0
                    if self._plot.end_run(False):  # back out of its label's aggregate
                        self._push_structure()
                else:
                    stopping = self._plot.stopping
                    following = following or {}
                    self._plot.new_run(following.pop("label", None), keep=self.keep_runs)
                    if following:
                        self._plot.set_current_info(**following)
                    self._plot.set_stopping(stopping if stopping and stopping.last_epoch is None else None)
                    self._push_structure(run_changed=True)
            self._tracker.begin_epoch(epoch)
            self._batch_logs = {}
            self._push_progress()

    def end_batch(self, batch: int, logs: Mapping[str, float], *, elapsed: float | None = None) -> None:
        """A throttled batch update: ``batch`` is 1-based, ``logs`` numeric; ``elapsed``
        is the seconds since the run started (``None``: read from the plot's clock)."""
        with self._lock:
            self._tracker.end_batch(batch)  # kept within the epoch (steps_per_execution)
            self._batch_logs = {k: json_number(v) for k, v in logs.items()}
            if self._plot.batches_per_epoch:
                seconds = self._elapsed() if elapsed is None else elapsed
                update = self._plot.add_batch(self._tracker.epoch, self._tracker.batch, logs, time=seconds)
                if update.points and not update.structure_changed and self._owns_progress():
                    self._extend_with_progress(update)  # one message, not two
                    return
                self._apply(update)
            self._push_progress()

    def end_epoch(self, epoch: int, logs: Mapping[str, float], *, elapsed: float | None = None) -> None:
        """``epoch`` is 1-based. An epoch a stop by hand ended early (the controller's
        snapshot, published at that batch's end) ends at that batch, and its point is
        marked partial (`PlotState.partial_epoch`). ``elapsed`` is the seconds since
        the run started (``None``: read from the plot's clock)."""
        with self._lock:
            seconds = self._elapsed() if elapsed is None else elapsed
            self._tracker.end_epoch(self._plot.stopped_batch(epoch))
            self._batch_logs = {k: json_number(v) for k, v in logs.items()}
            self._apply(self._plot.add_epoch(epoch, logs, time=seconds))
            with self.hold_sync():  # the layout, marks, progress and summary: one message
                self._push_marks()
                self._push_progress()
                self._push_summary()

    def set_metric_directions(self, directions: Mapping[str, str | None]) -> None:
        """The compiled metrics' directions (Keras's ``"up"``/``"down"``, by metric
        name; ``None``: no compiled metric says), for the summary's best values.
        Called by the plot's callback at each epoch end, before `end_epoch`."""
        with self._lock:
            known = self._plot.directions
            for name, direction in directions.items():
                if direction in ("up", "down"):
                    resolved = metric_direction(name, direction)  # type: ignore[arg-type]
                    if resolved is not None:
                        known[name] = resolved

    def _elapsed(self) -> float:
        """Seconds since the run started, by the plot's clock (a run continued by a
        second fit goes on from its last epoch's time)."""
        now = self._clock()
        if self._time_origin is None:  # fed without begin_fit
            self._time_origin, self._time_offset = now, self._plot.history.last_time or 0.0
        return self._time_offset + now - self._time_origin

    def end_fit(self, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}. Received: status={status!r}")
        with self._lock:
            self._status, self._message = status, message
            if self._plot.end_run():  # the best run, the aggregates may change
                self._push_structure()
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

    def add_learning_rate_change(self, change: LearningRateChange) -> None:
        """A learning-rate change mark (``core/learning_rate.py``), drawn at once."""
        with self._lock:
            self._plot.add_learning_rate_change(change)
            self._push_marks()

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
        if run_changed:
            self._push_summary()

    def _push_marks(self) -> None:
        self.plot_layout = self._plot.layout()
        self.overlays = self._plot.overlays()

    def summary(self) -> pd.DataFrame | list[dict[str, Any]]:
        """The summary table under the plot, as data.

        Returns:
            A pandas DataFrame indexed by metric (columns ``last``, ``best``,
            ``best_epoch``, ``direction``; its ``attrs`` hold ``epoch_seconds``,
            ``steps_per_second`` and ``samples_per_second``) when pandas is
            importable, else a list of dicts; ``last`` as floats (NaN and inf kept).

        Example:

        >>> plot = LivePlot(static_fallback=False)
        >>> plot.end_epoch(1, {"loss": 0.9}); plot.end_epoch(2, {"loss": 0.7})
        >>> rows = plot.summary()
        >>> float(rows.loc["loss", "best"]) if hasattr(rows, "loc") else rows[0]["best"]
        0.7
        """
        return export.summary_frame(self.summary_table)

    def _push_summary(self) -> None:
        """One small trait set (bounded by the number of metrics, not of epochs)."""
        self.summary_table = self._plot.summary()

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


def from_history(*paths: str | os.PathLike[str], **kwargs: Any) -> LivePlot:
    """A new `LivePlot` drawing files written by `save_history`, side by side.

    The saved run (a `RunRecord`) is drawn by the same `PlotState` as during training,
    marks, timestamps and the saved view settings included (view settings passed as
    ``kwargs`` win); a CSV file gives the curves only. With several files, the last
    one is the current run (its marks drawn) and the others are earlier runs, faint,
    each labelled with its saved label or its file's name; a file that holds several
    runs brings them all. Keras is not imported.

    Args:
        *paths: ``.json`` or ``.csv`` files from `save_history`.
        **kwargs: passed to `LivePlot`, e.g. ``static_fallback=False``.

    Raises:
        TypeError: no file.
        ValueError: an unknown suffix, or a file that is not a history (the message
            says what it holds).

    Example:

    >>> import tempfile, pathlib
    >>> plot = LivePlot(static_fallback=False)
    >>> plot.end_epoch(1, {"loss": 0.9})
    >>> path = plot.save_history(pathlib.Path(tempfile.mkdtemp()) / "run.json")
    >>> from_history(path, static_fallback=False).history
    {'epoch': [1], 'loss': [0.9]}
    """
    return LivePlot.from_history(*paths, **kwargs)
