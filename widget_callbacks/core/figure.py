"""The plot's content as plotly figure data: one code path for the live view and export.

(Over 300 lines: the trace styles of the four trace kinds are one table-like method;
the rest is PlotState's appending and loading, the partial-epoch overlay, the runs it
keeps (which is best, which are hidden or aggregated: ``runs.py``; their traces:
``run_traces.py``), and the hand-off to ``views.py`` and ``summary.py``.)

`PlotState` keeps the traces of the current run and grows them in place. Each change
returns an `Update`: the points appended (sent to the front end as an ``extend``
message) or a structural change (a new trace: the widget resends its ``traces``).

Runs side by side: ``traces`` is the earlier runs' traces (faint epoch curves, or the
mean and band of runs sharing a label: ``runs.py``), then the current run's. Only
the start of a run, a run added, hidden or shown, and the end of a fit (the best
run may change) rebuild the earlier runs' part: a structural change. Every trace
has ``meta.run`` (its run's number; an aggregate's: the list of them) and a ``uid``
of its run, and, with several runs, its run's ``legendgroup``. The marks (early
stopping, checkpoints, NaN markers, the partial epoch) are the current run's only.
The layout and the early-stopping marks are built from the same state in
``marks.py``. ``PlotState.figure()`` is what the live view draws;
``PlotState.shown_figure()`` is it as the view settings show it (``views.py``), what
export writes; ``PlotState.load`` draws a saved `RunRecord` in one step.

Each point of the ``metric`` (epoch) and ``batch`` curves carries the seconds since
the run started in ``customdata`` (3 decimals; ``None`` when unknown), for the
``time`` x axis; the caller gives the time (the core reads no clock). Trace names
are shortened (`history.short_name`); the full metric name is in ``meta.metric``
and in the hover text.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .history import RunHistory, elapsed_seconds, json_number, metric_family, short_name
from .learning_rate import LearningRateChange, learning_rate_overlays
from .marks import axis_names, build_layout, build_overlays
from .progress import within_epoch
from .protocol import PALETTE
from .records import CheckpointRecord, Mode, StoppingSnapshot
from .run_record import RunRecord
from .run_traces import aggregate_traces, current_style, past_run_traces
from .runs import BEST_SUFFIX, RunInfo, ScoreRule, best_run, label_groups, legend_layout, score_rule
from .summary import SummaryTracker
from .views import UNSMOOTHED_FAMILIES, ViewSettings, apply_view

TRAIN_COLOR = PALETTE["train"]
VALIDATION_COLOR = PALETTE["validation"]
CHECKPOINT_COLOR = PALETTE["checkpoint"]
NON_FINITE_COLOR = PALETTE["non_finite"]

TraceKey = tuple[str, str]


@dataclass
class PastRun:
    """An earlier run kept on the plot: what it is and its saved record (its epoch
    curves are drawn from ``record.history``)."""

    info: RunInfo
    record: RunRecord


def text(value: str) -> str:
    """Escapes a user-given string (a metric name, a path) for plotly's pseudo-HTML."""
    return html.escape(str(value), quote=False)


def batch_x(epoch: int, batch: int, batches_per_epoch: int | None) -> float:
    """Where batch ``batch`` of ``epoch`` (both 1-based) is drawn on the epoch axis.

    The last batch of epoch 3 of 10 batches is at 3.0, its first at 2.1. Without a
    known number of batches per epoch, the point is drawn at the epoch's end. A batch
    past the epoch's end (Keras 3.15 numbers the last, partial execution of
    ``steps_per_execution`` as if it were whole) is drawn at the epoch's end: a batch
    point stays inside its epoch, ``(epoch - 1, epoch]``.

    >>> batch_x(3, 1, 10), batch_x(3, 10, 10), batch_x(3, 7, None), batch_x(3, 12, 10)
    (2.1, 3.0, 3.0, 3.0)
    """
    if not batches_per_epoch:
        return float(epoch)
    batch = within_epoch(max(batch, 1), batches_per_epoch)
    return round(epoch - 1 + batch / batches_per_epoch, 4)


def _loss_first(logs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Metrics in log order, but the loss family first, so its panel is the first one."""
    return sorted(logs.items(), key=lambda item: metric_family(item[0]) != "loss")


@dataclass
class Update:
    """What changed in the traces.

    Args:
        structure_changed: traces were added; the whole list must be resent.
        points: ``extend`` entries: ``{"trace", "offset", "x", "y", ...}``.
    """

    structure_changed: bool = False
    points: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: Update) -> Update:
        self.structure_changed |= other.structure_changed
        self.points.extend(other.points)
        return self

    @property
    def empty(self) -> bool:
        return not self.structure_changed and not self.points


class PlotState:
    """Traces, marks and history of the current run.

    Args:
        batch_curves: draw throttled batch-level values of the training metrics as
            faint lines under the epoch curves. Defaults to True.
        aggregate: draw the earlier runs that share a label as their mean with a
            band, ``"minmax"`` or ``"std"`` (``runs.aggregate``). Defaults to None.

    Example:

    >>> state = PlotState()
    >>> update = state.add_epoch(1, {"loss": 0.9, "val_loss": 1.1})
    >>> [t["name"] for t in state.traces]
    ['loss', 'val_loss']
    >>> state.add_epoch(2, {"loss": 0.7, "val_loss": 0.8}).points[0]["y"]
    [0.7]
    """

    lock: threading.RLock
    """Held while the state changes; readers on other threads (export, a reloaded
    page's state request) take it to see one consistent state."""

    def __init__(self, *, batch_curves: bool = True, aggregate: str | None = None) -> None:
        self.batch_curves = batch_curves
        self.aggregate = aggregate
        self.lock = threading.RLock()
        self.run = 0
        self.history = RunHistory()
        self.panels: list[str] = []
        #: Every trace sent: the earlier runs', then the current run's (`_current`).
        self.traces: list[dict[str, Any]] = []
        #: What the current run is (its number counts the runs drawn; its label).
        self.current = RunInfo(1)
        #: The earlier runs kept, oldest first.
        self.past_runs: list[PastRun] = []
        #: The number of the best run (``runs.best_run``), when there is one.
        self.best: int | None = None
        #: Whether the current run's fit has ended (it then counts for the best run
        #: and in its label's aggregate).
        self.current_ended = False
        self._current: list[dict[str, Any]] = []
        self._past_traces: list[dict[str, Any]] = []
        self._numbers = 1  # the highest run number given
        self.stopping: StoppingSnapshot | None = None
        self.checkpoints: list[CheckpointRecord] = []
        self.learning_rate_changes: list[LearningRateChange] = []  # marks (learning_rate.py)
        self.batches_per_epoch: int | None = None
        #: Samples per batch, when an adapter knows it (Keras does not say).
        self.batch_size: int | None = None
        #: The view settings (the widget's ``view`` trait): what export draws.
        self.view = ViewSettings()
        #: ``"min"``/``"max"`` of metrics, as resolved with the compiled metrics.
        self.directions: dict[str, Mode] = {}
        self._summary = SummaryTracker()
        self._index: dict[TraceKey, int] = {}

    # -- runs ---------------------------------------------------------------

    def new_run(self, label: str | None = None, *, keep: bool = False) -> None:
        """Starts a new run: the next points are its. With ``keep``, the current run
        (if it drew anything) stays on the plot as an earlier run; else every run
        is forgotten. ``label`` names the new run (default ``"run <number>"``)."""
        drawn = bool(self.history.epochs or self._current)
        if keep and drawn:
            self.past_runs.append(PastRun(self.current, self._record()))
        elif not keep:
            self.past_runs = []
            self.panels = []
            self.best = None
        if drawn:
            self._numbers += 1
        self.current = RunInfo(self._numbers, label or "", named=label is not None)
        self.current_ended = False
        self.run += 1
        self.history = RunHistory()
        self._current = []
        self.stopping = None
        self.checkpoints = []
        self.learning_rate_changes = []
        self.directions = {}
        self._summary.reset()
        self._index = {}
        self.rebuild_runs()

    def add_past_run(
        self, record: RunRecord, label: str | None = None, *, keep_label: bool = False
    ) -> RunInfo:
        """Adds a finished run (a saved history, a Keras ``History``) before the
        current one, drawn faint; its label: ``label``, else the record's, else
        ``"run <number>"`` (with ``keep_label``, a label given when the run was
        made wins over ``label``). Returns what it is. The caller resends the
        traces."""
        drawn = bool(self.history.epochs or self._current)
        number = self._numbers
        self._numbers += 1
        if drawn:  # the current run keeps the lower number: it came first
            number = self._numbers
        else:  # the empty current run takes the next number
            self.current = self.current.renumbered(self._numbers)
        saved = record.run
        info = saved.renumbered(number) if saved is not None else RunInfo(number)
        if label is not None and not (saved is not None and saved.named and keep_label):
            info.label, info.named = label, True
        self.past_runs.append(PastRun(info, record))
        self.rebuild_runs()
        return info

    def set_current_info(self, **changes: Any) -> None:
        """Changes what the current run is (its label, trial, objective): its traces
        are restyled by `rebuild_runs`."""
        for name, value in changes.items():
            setattr(self.current, name, value)
        if "label" in changes:
            self.current.named = True

    def find_run(self, run: int | str) -> RunInfo:
        """The run numbered ``run``, or the last one labelled ``run``.

        Raises:
            KeyError: no such run (the message lists the runs).
        """
        infos = [past.info for past in self.past_runs] + [self.current]
        for info in reversed(infos):
            if (info.number == run) if isinstance(run, int) else (info.label == run):
                return info
        shown = ", ".join(f"{i.number}: {i.label!r}" for i in infos)
        raise KeyError(f"Expected a run number or label of this plot ({shown}). Received: {run!r}")

    def set_hidden(self, run: int | str, hidden: bool) -> None:
        """Hides (a legend entry only) or shows a run; the caller resends the traces."""
        self.find_run(run).hidden = hidden
        self.rebuild_runs()

    def end_run(self, ended: bool = True) -> bool:
        """The current run's fit ended (or, ``False``, goes on): it now counts for the
        best run and in its label's aggregate. Returns whether the traces changed
        (the caller resends them)."""
        before = self._signature()
        self.current_ended = ended
        self.rebuild_runs()
        return self._signature() != before

    def runs_table(self) -> list[dict[str, Any]]:
        """The runs, earlier ones first, the current last, as plain data (what
        `RunInfo.to_dict` says, and ``hidden``, ``best``, ``current``, ``epochs``)."""
        entries = [(past.info, past.record.history, False) for past in self.past_runs]
        entries.append((self.current, self.history, True))
        return [
            {
                **info.to_dict(),
                "hidden": info.hidden,
                "best": info.number == self.best,
                "current": current,
                "epochs": len(history),
            }
            for info, history, current in entries
        ]

    @property
    def runs_shown(self) -> bool:
        """Whether the traces are grouped by run: earlier runs are drawn, or the
        current run has a label of its own."""
        return bool(self.past_runs) or self.current.named

    def continues(self, first_epoch: int) -> bool:
        """Whether a fit starting at 1-based ``first_epoch`` continues this run.

        A fit continues the curves when it starts right after the last epoch drawn
        (Keras's ``initial_epoch``); a fit starting at epoch 1 starts a new run.
        """
        return first_epoch > 1 and first_epoch == self.history.last_epoch + 1

    # -- appending ----------------------------------------------------------

    def add_epoch(self, epoch: int, logs: Mapping[str, float], *, time: float | None = None) -> Update:
        """Adds one epoch's numeric metrics (1-based ``epoch``), ended ``time``
        seconds after the run started (``None``: unknown)."""
        self.history.add_epoch(epoch, logs, time)
        self._summary.update(self.history, self.directions)
        stamp = [elapsed_seconds(time)]
        update = Update()
        for name, value in _loss_first(logs):
            finite = math.isfinite(value)
            update.merge(
                self._append(("epoch", name), [epoch], [value if finite else None], customdata=stamp)
            )
            if not finite:
                update.merge(self._mark_non_finite(name, epoch, value))
        return update

    def add_batch(
        self, epoch: int, batch: int, logs: Mapping[str, float], *, time: float | None = None
    ) -> Update:
        """Adds batch-level values of the training metrics (1-based ``epoch`` and
        ``batch``), drawn at `batch_x`, logged ``time`` seconds after the run started."""
        update = Update()
        if not self.batch_curves:
            return update
        x = batch_x(epoch, batch, self.batches_per_epoch)
        stamp = [elapsed_seconds(time)]
        for name, value in _loss_first(logs):
            if name.startswith("val_") or not math.isfinite(value):
                continue
            update.merge(self._append(("batch", name), [x], [value], customdata=stamp))
        return update

    def add_checkpoint(self, record: CheckpointRecord) -> Update:
        """Draws a written file's marker at the value logged when it was written
        (`CheckpointRecord.value_metric`; a 0.0 is a value), on that metric's panel,
        at `batch_x` for a save within an epoch. A record without a finite value (a
        run saved by an older version, a NaN) is drawn at the last finite epoch value
        of its metric, else of the metric's family."""
        self.checkpoints.append(record)
        metric = record.value_metric or record.monitor or "loss"
        known = record.value is not None and math.isfinite(record.value)
        y = record.value if known else None
        for name in (metric, metric_family(metric)):
            if y is None:
                y = self._last_finite(name)
        batch = record.batch
        x = record.epoch if batch is None else batch_x(record.epoch, batch, self.batches_per_epoch)
        where = f"epoch {record.epoch}" + ("" if batch is None else f", batch {batch}")
        value = ""
        if known and record.value is not None:
            value = f"<br>{text(metric)} = {record.value:.4g}"
            if record.monitor and record.monitor != metric:
                value += f" ({text(record.monitor)} not logged then)"
        label = f"checkpoint written ({where}){value}<br>{text(record.path)}"
        return self._append(("checkpoint", metric_family(metric)), [x], [y], text=[label])

    def set_stopping(self, snapshot: StoppingSnapshot | None) -> None:
        self.stopping = snapshot

    def add_learning_rate_change(self, change: LearningRateChange) -> None:
        """A change of the learning rate, marked on its lane (`overlays`)."""
        self.learning_rate_changes.append(change)

    def stopped_batch(self, epoch: int) -> int | None:
        """The 1-based batch that 1-based ``epoch`` stopped after, when a stop by hand
        or an interrupt ended it (`StoppingSnapshot.stopped_batch`), within
        ``batches_per_epoch`` when known; else ``None`` (the epoch ran whole, as far
        as is known)."""
        stopping = self.stopping
        if stopping is None or stopping.stopped_batch is None or stopping.stopped_epoch != epoch:
            return None
        return within_epoch(stopping.stopped_batch, self.batches_per_epoch)

    def partial_epoch(self) -> tuple[int, int] | None:
        """``(epoch, batches run)`` when the last epoch drawn stopped before its last
        batch: its values come from those batches only. ``None`` otherwise, or when
        the number of batches per epoch is unknown."""
        epoch = self.history.last_epoch
        batch = self.stopped_batch(epoch) if epoch else None
        if batch is None or not self.batches_per_epoch or batch >= self.batches_per_epoch:
            return None
        return epoch, batch

    def batch_curve_data(self) -> dict[str, tuple[list[Any], list[Any]]]:
        """The batch curves as ``{metric: (x, y)}``, in the order they were first drawn."""
        keys = sorted((index, name) for (kind, name), index in self._index.items() if kind == "batch")
        return {name: (self._current[index]["x"], self._current[index]["y"]) for index, name in keys}

    def batch_curve_times(self) -> dict[str, list[float | None]]:
        """The batch points' timestamps, ``{metric: [seconds, ...]}`` (as `batch_curve_data`)."""
        keys = sorted((index, name) for (kind, name), index in self._index.items() if kind == "batch")
        return {name: self._current[index].get("customdata", []) for index, name in keys}

    def load(self, record: RunRecord, *, keep: bool = False, label: str | None = None) -> None:
        """Draws a saved run (a new run): its epochs, batch curves, checkpoints and marks.

        The points go through the same `add_epoch`/`add_batch`/`add_checkpoint` as
        during training, in the order a fit adds them, so the figure is the one drawn
        live. ``Update``s are not returned: the caller resends the whole state. The
        record's earlier runs (``record.runs``) are drawn as earlier runs; the
        plot's own are forgotten unless ``keep``. ``label`` names a run saved
        without one (default: the saved label, else ``"run <number>"``).
        """
        self.new_run(keep=keep)
        for past in record.runs:
            self.add_past_run(past)
        saved = record.run
        if saved is not None and (saved.named or label is None):
            self.current = saved.renumbered(self.current.number)
        elif label is not None:
            self.current = RunInfo(self.current.number, label, named=True)
        if saved is not None:
            self.current.hidden = saved.hidden
        self.current_ended = True
        self.batches_per_epoch = record.batches_per_epoch
        self.directions = dict(record.directions)
        batches = sorted(record.batch_points().items())
        batch_times = record.batch_point_times()
        checkpoints = list(record.checkpoints)
        next_batch = 0
        history = record.history
        for index, epoch in enumerate(history.epochs):
            while next_batch < len(batches) and batches[next_batch][0][0] <= epoch:
                (at_epoch, batch), logs = batches[next_batch]
                self.add_batch(at_epoch, batch, logs, time=batch_times.get((at_epoch, batch)))
                next_batch += 1
            for checkpoint in checkpoints:
                if checkpoint.epoch == epoch and checkpoint.batch is not None:
                    self.add_checkpoint(checkpoint)
            values = {name: column[index] for name, column in history.metrics.items()}
            time = history.times[index] if index < len(history.times) else None
            self.add_epoch(epoch, {k: v for k, v in values.items() if v is not None}, time=time)
            for checkpoint in checkpoints:
                if checkpoint.epoch == epoch and checkpoint.batch is None:
                    self.add_checkpoint(checkpoint)
        self.set_stopping(record.stopping)
        self.rebuild_runs()

    # -- figure -------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        panels = self.panels or [metric_family(self.stopping.monitor) if self.stopping else "loss"]
        epochs = max([self.history.last_epoch] + [p.record.history.last_epoch for p in self.past_runs])
        layout = build_layout(panels, self.stopping, run=self.run, epochs=epochs)
        if self.runs_shown:
            layout["legend"] = {**layout.get("legend", {}), **legend_layout()}
        return layout

    def overlays(self) -> list[dict[str, Any]]:
        return (
            build_overlays(self.panels, self.stopping, self.history)
            + self._partial_overlays()
            + learning_rate_overlays(self.panels, self.learning_rate_changes)
        )

    def figure(self) -> dict[str, Any]:
        """A plain plotly figure dict: ``{"data": [...], "layout": {...}}``."""
        return {"data": [dict(t) for t in self.traces] + self.overlays(), "layout": self.layout()}

    def shown_figure(self, theme: str = "light") -> dict[str, Any]:
        """`figure` as the view settings (``self.view``) show it, in ``theme``
        (``"light"``/``"dark"``): what export draws. A new dict (``views.apply_view``)."""
        return apply_view(
            self.figure(),
            self.view,
            panels=self.panels,
            steps_per_epoch=self.batches_per_epoch,
            epoch_times=list(zip(self.history.epochs, self.history.times)),
            theme=theme,
        )

    def summary(self) -> dict[str, Any]:
        """The summary table (``summary.summarize``, kept up to date epoch by epoch):
        last and best per metric, the last epoch's pace."""
        partial = self.partial_epoch()
        return self._summary.summary(
            self.history,
            directions=self.directions,
            steps_per_epoch=self.batches_per_epoch,
            last_steps=partial[1] if partial else None,
            batch_size=self.batch_size,
        )

    # -- the earlier runs -------------------------------------------------------

    def rebuild_runs(self) -> None:
        """Draws the earlier runs anew (faint curves, or their labels' aggregates),
        marks the best run and restyles the current run's traces: after a run
        started, was added, hidden or shown, or ended. ``traces`` is then a new list."""
        rule = self._score_rule()
        self.best = best_run(self._scores(rule), rule) if rule is not None else None
        groups: dict[str, list[int]] = {}
        if self.aggregate is not None:
            labels = {p.info.number: p.info.label for p in self.past_runs if not p.info.hidden}
            if self.current_ended and not self.current.hidden and self.history.epochs:
                labels[self.current.number] = self.current.label
            groups = label_groups(labels)
        aggregated = {number for numbers in groups.values() for number in numbers}
        traces: list[dict[str, Any]] = []
        for past in self.past_runs:
            if past.info.number not in aggregated:
                traces.extend(self._past_run_traces(past))
        for index, (label, numbers) in enumerate(groups.items()):
            traces.extend(self._aggregate_traces(index + 1, label, numbers))
        self._past_traces = traces
        self.traces[:] = traces + self._current  # in place: the widget's trait is this list
        for trace in self._current:
            self._current_style(trace)

    def _histories(self) -> dict[int, RunHistory]:
        """Every run's history by number (the current run's last)."""
        found = {past.info.number: past.record.history for past in self.past_runs}
        found[self.current.number] = self.history
        return found

    def _score_rule(self) -> ScoreRule | None:
        infos = [past.info for past in self.past_runs] + [self.current]
        monitor = None
        for stopping in [self.stopping] + [p.record.stopping for p in reversed(self.past_runs)]:
            if stopping is not None and stopping.mode is not None:
                monitor = (stopping.monitor, stopping.mode)
                break
        metrics = {name for history in self._histories().values() for name in history.metrics}
        return score_rule([(i.objective, i.direction) for i in infos], monitor, metrics)

    def _scores(self, rule: ScoreRule) -> dict[int, float | None]:
        histories = self._histories()
        if not self.current_ended:
            histories.pop(self.current.number, None)
        return {
            number: rule.score(history.epochs, history.column(rule.metric))
            for number, history in histories.items()
            if history.epochs
        }

    def _label(self, info: RunInfo) -> str:
        return info.label + (BEST_SUFFIX if info.number == self.best else "")

    def _current_style(self, trace: dict[str, Any]) -> None:
        current = self.current
        title = text(self._label(current)) if self.runs_shown else None
        current_style(trace, number=current.number, title=title, hidden=current.hidden)

    def _epoch_trace(
        self, name: str, x: list[Any], y: list[Any], extra: dict[str, list[Any]]
    ) -> dict[str, Any]:
        """An epoch curve of ``name`` as the current run's are drawn (its panel added)."""
        return self._new_trace(("epoch", name), x, y, extra)

    def _past_run_traces(self, past: PastRun) -> list[dict[str, Any]]:
        history = past.record.history
        return past_run_traces(
            past.info,
            history,
            [name for name, _ in _loss_first(history.metrics)],
            label=text(self._label(past.info)),
            best=past.info.number == self.best,
            new_trace=self._epoch_trace,
        )

    def _aggregate_traces(self, index: int, label: str, numbers: list[int]) -> list[dict[str, Any]]:
        histories = self._histories()
        runs = [histories[n] for n in numbers]
        names: dict[str, float] = {}
        for history in runs:
            names.update(dict.fromkeys(history.metrics, 0.0))
        return aggregate_traces(
            index,
            text(label),
            numbers,
            runs,
            [name for name, _ in _loss_first(names)],
            kind=str(self.aggregate),
            new_trace=self._epoch_trace,
        )

    def _record(self) -> RunRecord:
        """The current run as a `RunRecord` (without the earlier runs)."""
        record = RunRecord.of(self)
        record.runs, record.view = [], None
        return record

    def _signature(self) -> str:
        """What `rebuild_runs` draws, in short: whether the traces changed."""
        past = [
            (t.get("uid"), t.get("name"), t["meta"].get("run"), t.get("visible")) for t in self._past_traces
        ]
        current = [(t.get("legendgrouptitle"), t.get("visible")) for t in self._current[:1]]
        return repr((past, current))

    # -- internals ----------------------------------------------------------

    def _partial_overlays(self) -> list[dict[str, Any]]:
        """A hollow marker over each epoch curve's point of a `partial_epoch` (not
        the learning rate's: a value read, not one averaged over the batches run).

        An overlay, not a per-point style of the epoch traces: those grow by
        ``extend`` messages, and the stop can be learnt before or after the epoch's
        point is added. Overlays are rebuilt whole from the state (bounded: one point
        per epoch metric), so any order gives the same figure, as does `load`."""
        partial = self.partial_epoch()
        if partial is None:
            return []
        epoch, batch = partial
        label = f"partial epoch: {batch} of {self.batches_per_epoch} batches"
        overlays: list[dict[str, Any]] = []
        for index, name in sorted((i, name) for (kind, name), i in self._index.items() if kind == "epoch"):
            if metric_family(name) in UNSMOOTHED_FAMILIES:
                continue  # the learning rate is read, not averaged over the batches run
            trace = self._current[index]
            value = self.history.value(name, epoch)
            if value is None or not math.isfinite(value):
                continue
            color = trace["line"]["color"]
            overlays.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "partial epoch",
                    "showlegend": False,
                    "x": [epoch],
                    "y": [value],
                    "xaxis": trace["xaxis"],
                    "yaxis": trace["yaxis"],
                    "text": [label],
                    "hovertemplate": f"{trace['name']}<br>epoch %{{x}}: %{{y:.4g}}<br>%{{text}}<extra></extra>",
                    "marker": {
                        "symbol": "circle",
                        "size": 9,
                        "color": "white",
                        "line": {"color": color, "width": 2},
                    },
                    "meta": {"role": "partial"},
                }
            )
        return overlays

    def _last_finite(self, name: str) -> float | None:
        for value in reversed(self.history.metrics.get(name, [])):
            if value is not None and math.isfinite(value):
                return value
        return None

    def _mark_non_finite(self, name: str, epoch: int, value: float) -> Update:
        label = f"{text(name)} = {json_number(value)} at epoch {epoch}"
        y = self._last_finite(name)
        return self._append(("non_finite", metric_family(name)), [epoch], [y], text=[label])

    def _panel(self, family: str) -> int:
        if family not in self.panels:
            self.panels.append(family)
        return self.panels.index(family)

    def _append(self, key: TraceKey, x: list[Any], y: list[Any], **extra: list[Any]) -> Update:
        index = self._index.get(key)
        if index is None:
            self._index[key] = len(self._current)
            trace = self._new_trace(key, x, y, extra)
            trace["uid"] = f"r{self.current.number}-{len(self._current)}"
            trace["meta"]["run"] = self.current.number
            self._current_style(trace)
            self._current.append(trace)
            self.traces.append(trace)
            return Update(structure_changed=True)
        trace = self._current[index]
        point: dict[str, Any] = {
            "trace": len(self._past_traces) + index,
            "offset": len(trace["x"]),
            "x": x,
            "y": y,
        }
        trace["x"].extend(x)
        trace["y"].extend(y)
        for name, values in extra.items():
            trace[name].extend(values)
            point[name] = values
        return Update(points=[point])

    def _new_trace(
        self, key: TraceKey, x: list[Any], y: list[Any], extra: dict[str, list[Any]]
    ) -> dict[str, Any]:
        kind, name = key
        family = metric_family(name) if kind in ("epoch", "batch") else name
        xaxis, yaxis = axis_names(self._panel(family))
        trace: dict[str, Any] = {
            "type": "scatter",
            "x": list(x),
            "y": list(y),
            "xaxis": xaxis,
            "yaxis": yaxis,
            **{k: list(v) for k, v in extra.items()},
        }
        validation = name.startswith("val_")
        color = VALIDATION_COLOR if validation else TRAIN_COLOR
        # A long name is shortened in the legend; the hover text gives it whole.
        shown, full = text(short_name(name)), text(name)
        if kind == "epoch":
            trace.update(
                name=shown,
                mode="lines+markers",
                line={"color": color, "width": 2},
                marker={"color": color, "size": 5},
                legendgroup="validation" if validation else "train",
                hovertemplate=f"{full}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                meta={"decimate": True, "role": "metric", "metric": name},
            )
        elif kind == "batch":
            trace.update(
                name=f"{shown} (batch)",
                mode="lines",
                line={"color": color, "width": 1},
                opacity=0.35,
                legendgroup="train",
                showlegend=False,
                hovertemplate=f"{full} (batch)<br>epoch %{{x:.2f}}: %{{y:.4g}}<extra></extra>",
                meta={"decimate": True, "role": "batch", "metric": name},
            )
        elif kind == "checkpoint":
            trace.update(
                name="checkpoint",
                mode="markers",
                marker={
                    "color": CHECKPOINT_COLOR,
                    "symbol": "diamond",
                    "size": 8,
                    "line": {"color": "white", "width": 1},
                },
                hovertemplate="%{text}<extra></extra>",
                meta={"decimate": False, "role": "checkpoint"},
            )
        else:  # non_finite
            trace.update(
                name="NaN/inf",
                mode="markers",
                marker={
                    "color": NON_FINITE_COLOR,
                    "symbol": "x-thin-open",
                    "size": 12,
                    "line": {"width": 2, "color": NON_FINITE_COLOR},
                },
                hovertemplate="%{text}<extra></extra>",
                meta={"decimate": False, "role": "non_finite"},
            )
        return trace
