"""The plot's content as plotly figure data: one code path for the live view and export.

(Over 300 lines: the trace styles of the four trace kinds are one table-like method;
the rest is PlotState's appending and loading, and the partial-epoch overlay.)

`PlotState` keeps the traces of the current run and grows them in place. Each change
returns an `Update`: the points appended (sent to the front end as an ``extend``
message) or a structural change (a new trace: the widget resends its ``traces``).
The layout and the early-stopping marks are built from the same state in
``marks.py``. ``PlotState.figure()`` is what export writes; ``PlotState.load`` draws a
saved `RunRecord` in one step.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .history import RunHistory, json_number, metric_family
from .marks import axis_names, build_layout, build_overlays
from .progress import within_epoch
from .protocol import PALETTE
from .records import CheckpointRecord, StoppingSnapshot

if TYPE_CHECKING:
    from .run_record import RunRecord

TRAIN_COLOR = PALETTE["train"]
VALIDATION_COLOR = PALETTE["validation"]
CHECKPOINT_COLOR = PALETTE["checkpoint"]
NON_FINITE_COLOR = PALETTE["non_finite"]

TraceKey = tuple[str, str]


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


def _loss_first(logs: Mapping[str, float]) -> list[tuple[str, float]]:
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

    def __init__(self, *, batch_curves: bool = True) -> None:
        self.batch_curves = batch_curves
        self.lock = threading.RLock()
        self.run = 0
        self.history = RunHistory()
        self.panels: list[str] = []
        self.traces: list[dict[str, Any]] = []
        self.stopping: StoppingSnapshot | None = None
        self.checkpoints: list[CheckpointRecord] = []
        self.batches_per_epoch: int | None = None
        self._index: dict[TraceKey, int] = {}

    # -- runs ---------------------------------------------------------------

    def new_run(self) -> None:
        """Forgets everything drawn; the next points start a new run."""
        self.run += 1
        self.history = RunHistory()
        self.panels = []
        self.traces = []
        self.stopping = None
        self.checkpoints = []
        self._index = {}

    def continues(self, first_epoch: int) -> bool:
        """Whether a fit starting at 1-based ``first_epoch`` continues this run.

        A fit continues the curves when it starts right after the last epoch drawn
        (Keras's ``initial_epoch``); a fit starting at epoch 1 starts a new run.
        """
        return first_epoch > 1 and first_epoch == self.history.last_epoch + 1

    # -- appending ----------------------------------------------------------

    def add_epoch(self, epoch: int, logs: Mapping[str, float]) -> Update:
        """Adds one epoch's numeric metrics (1-based ``epoch``)."""
        self.history.add_epoch(epoch, logs)
        update = Update()
        for name, value in _loss_first(logs):
            finite = math.isfinite(value)
            update.merge(self._append(("epoch", name), [epoch], [value if finite else None]))
            if not finite:
                update.merge(self._mark_non_finite(name, epoch, value))
        return update

    def add_batch(self, epoch: int, batch: int, logs: Mapping[str, float]) -> Update:
        """Adds batch-level values of the training metrics (1-based ``epoch`` and
        ``batch``), drawn at `batch_x`."""
        update = Update()
        if not self.batch_curves:
            return update
        x = batch_x(epoch, batch, self.batches_per_epoch)
        for name, value in _loss_first(logs):
            if name.startswith("val_") or not math.isfinite(value):
                continue
            update.merge(self._append(("batch", name), [x], [value]))
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
        return {name: (self.traces[index]["x"], self.traces[index]["y"]) for index, name in keys}

    def load(self, record: RunRecord) -> None:
        """Draws a saved run (a new run): its epochs, batch curves, checkpoints and marks.

        The points go through the same `add_epoch`/`add_batch`/`add_checkpoint` as
        during training, in the order a fit adds them, so the figure is the one drawn
        live. ``Update``s are not returned: the caller resends the whole state.
        """
        self.new_run()
        self.batches_per_epoch = record.batches_per_epoch
        batches = sorted(record.batch_points().items())
        checkpoints = list(record.checkpoints)
        next_batch = 0
        history = record.history
        for index, epoch in enumerate(history.epochs):
            while next_batch < len(batches) and batches[next_batch][0][0] <= epoch:
                (at_epoch, batch), logs = batches[next_batch]
                self.add_batch(at_epoch, batch, logs)
                next_batch += 1
            for checkpoint in checkpoints:
                if checkpoint.epoch == epoch and checkpoint.batch is not None:
                    self.add_checkpoint(checkpoint)
            values = {name: column[index] for name, column in history.metrics.items()}
            self.add_epoch(epoch, {k: v for k, v in values.items() if v is not None})
            for checkpoint in checkpoints:
                if checkpoint.epoch == epoch and checkpoint.batch is None:
                    self.add_checkpoint(checkpoint)
        self.set_stopping(record.stopping)

    # -- figure -------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        panels = self.panels or [metric_family(self.stopping.monitor) if self.stopping else "loss"]
        return build_layout(panels, self.stopping, run=self.run)

    def overlays(self) -> list[dict[str, Any]]:
        return build_overlays(self.panels, self.stopping, self.history) + self._partial_overlays()

    def figure(self) -> dict[str, Any]:
        """A plain plotly figure dict: ``{"data": [...], "layout": {...}}``."""
        return {"data": [dict(t) for t in self.traces] + self.overlays(), "layout": self.layout()}

    # -- internals ----------------------------------------------------------

    def _partial_overlays(self) -> list[dict[str, Any]]:
        """A hollow marker over each epoch curve's point of a `partial_epoch`.

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
            trace = self.traces[index]
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
            self._index[key] = len(self.traces)
            self.traces.append(self._new_trace(key, x, y, extra))
            return Update(structure_changed=True)
        trace = self.traces[index]
        point: dict[str, Any] = {"trace": index, "offset": len(trace["x"]), "x": x, "y": y}
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
        if kind == "epoch":
            trace.update(
                name=text(name),
                mode="lines+markers",
                line={"color": color, "width": 2},
                marker={"color": color, "size": 5},
                legendgroup="validation" if validation else "train",
                hovertemplate="%{fullData.name}<br>epoch %{x}: %{y:.4g}<extra></extra>",
                meta={"decimate": True, "role": "metric"},
            )
        elif kind == "batch":
            trace.update(
                name=f"{text(name)} (batch)",
                mode="lines",
                line={"color": color, "width": 1},
                opacity=0.35,
                legendgroup="train",
                showlegend=False,
                hovertemplate="%{fullData.name}<br>epoch %{x:.2f}: %{y:.4g}<extra></extra>",
                meta={"decimate": True, "role": "batch"},
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
