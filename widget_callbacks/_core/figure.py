"""The plot's content as plotly figure data: one code path for the live view and export.

`PlotState` keeps the traces of the current run and grows them in place. Each change
returns an `Update`: the points appended (sent to the front end as an ``extend``
message) or a structural change (a new trace: the widget resends its ``traces``).
The layout and the early-stopping marks are built from the same state in
``marks.py``. ``PlotState.figure()`` is what export writes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .history import RunHistory, json_number, metric_family
from .marks import axis_names, build_layout, build_overlays
from .state import CheckpointRecord, StoppingSnapshot

TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
CHECKPOINT_COLOR = "#2ca02c"
NON_FINITE_COLOR = "#d62728"

TraceKey = tuple[str, str]


def text(value: str) -> str:
    """Escapes a user-given string (a metric name, a path) for plotly's pseudo-HTML."""
    return html.escape(str(value), quote=False)


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

    def __init__(self, *, batch_curves: bool = True) -> None:
        self.batch_curves = batch_curves
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

    def add_batch(self, x: float, logs: Mapping[str, float]) -> Update:
        """Adds batch-level values of the training metrics at fractional epoch ``x``."""
        update = Update()
        if not self.batch_curves:
            return update
        for name, value in _loss_first(logs):
            if name.startswith("val_") or not math.isfinite(value):
                continue
            update.merge(self._append(("batch", name), [round(x, 4)], [value]))
        return update

    def add_checkpoint(self, record: CheckpointRecord) -> Update:
        self.checkpoints.append(record)
        monitor = record.monitor or "loss"
        y = record.value if record.value is not None and math.isfinite(record.value) else None
        if y is None:
            y = self._last_finite(monitor) or self._last_finite(metric_family(monitor))
        x: float = record.epoch
        if record.batch is not None and self.batches_per_epoch:
            x = round(record.epoch - 1 + record.batch / self.batches_per_epoch, 4)
        where = f"epoch {record.epoch}" + (f", batch {record.batch}" if record.batch else "")
        label = f"checkpoint written ({where})<br>{text(record.path)}"
        return self._append(("checkpoint", metric_family(monitor)), [x], [y], text=[label])

    def set_stopping(self, snapshot: StoppingSnapshot | None) -> None:
        self.stopping = snapshot

    # -- figure -------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        panels = self.panels or [metric_family(self.stopping.monitor) if self.stopping else "loss"]
        return build_layout(panels, self.stopping, run=self.run)

    def overlays(self) -> list[dict[str, Any]]:
        return build_overlays(self.panels, self.stopping, self.history)

    def figure(self) -> dict[str, Any]:
        """A plain plotly figure dict: ``{"data": [...], "layout": {...}}``."""
        return {"data": [dict(t) for t in self.traces] + self.overlays(), "layout": self.layout()}

    # -- internals ----------------------------------------------------------

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
                marker={"color": CHECKPOINT_COLOR, "symbol": "diamond", "size": 8,
                        "line": {"color": "white", "width": 1}},
                hovertemplate="%{text}<extra></extra>",
                meta={"decimate": False, "role": "checkpoint"},
            )
        else:  # non_finite
            trace.update(
                name="NaN/inf",
                mode="markers",
                marker={"color": NON_FINITE_COLOR, "symbol": "x-thin-open", "size": 12,
                        "line": {"width": 2, "color": NON_FINITE_COLOR}},
                hovertemplate="%{text}<extra></extra>",
                meta={"decimate": False, "role": "non_finite"},
            )
        return trace
