"""The history file of a run and its replay: what `save_history` writes and
`from_history` reads.

JSON holds everything needed to redraw the run: the epoch metrics
(``RunHistory.to_dict``), the batch curves, the `StoppingSnapshot` and the
`CheckpointRecord`s, with non-finite numbers as ``"nan"``/``"inf"``/``"-inf"``. CSV
holds the epoch metrics. A run is redrawn by replaying it through the plot and its
`PlotState`, in the order a fit feeds them, so the figure comes from the same code.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._core.figure import PlotState
from ._core.history import RunHistory, from_json_number, json_number
from ._core.state import STOP_COMPLETED, CheckpointRecord, StoppingSnapshot
from ._static import locked, plot_state

if TYPE_CHECKING:
    from ._widget import LivePlot

#: ``"format"`` of a history JSON file, checked when it is read.
HISTORY_FILE_KIND = "widget-callbacks-history"
HISTORY_FILE_VERSION = 1


def build_record(plot: LivePlot) -> dict[str, Any]:
    """Everything needed to redraw the run: curves, batch curves, stopping state and
    checkpoints, JSON-safe (non-finite numbers as ``"nan"``/``"inf"``/``"-inf"``)."""
    state = plot_state(plot)
    with locked(plot):
        batches: dict[str, dict[str, list[Any]]] = {}
        # PlotState's trace index, by creation order: the batch curves with raw names.
        for (kind, name), index in sorted(state._index.items(), key=lambda item: item[1]):
            if kind == "batch":
                trace = state.traces[index]
                batches[name] = {"x": list(trace["x"]), "y": [json_number(y) for y in trace["y"]]}
        return {
            "format": HISTORY_FILE_KIND,
            "version": HISTORY_FILE_VERSION,
            "history": state.history.to_dict(),
            "batches": batches,
            "batches_per_epoch": state.batches_per_epoch,
            "checkpoints": [_json_safe(record.to_dict()) for record in state.checkpoints],
            "stopping": _json_safe(state.stopping.to_dict()) if state.stopping else None,
        }


def csv_text(data: Mapping[str, list[Any]]) -> str:
    """``history_dict`` as CSV: floats as ``repr`` (``nan``, ``inf``), missing as empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(data))
    for row in zip(*data.values()):
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()


def json_text(plot: LivePlot) -> str:
    return json.dumps(build_record(plot), allow_nan=False, indent=1) + "\n"


def read_record(path: pathlib.Path, kind: str) -> dict[str, Any]:
    """The record in a ``"json"`` or ``"csv"`` history file."""
    text = path.read_text(encoding="utf-8")
    return _read_json_record(text, path) if kind == "json" else _read_csv_record(text, path)


class _Quiet:
    """The plot's feed methods, applied to its `PlotState` only: no message is sent."""

    def __init__(self, state: PlotState) -> None:
        self.state = state

    def end_batch(self, epoch: int, batch: int, logs: Mapping[str, float]) -> None:
        # As LivePlot.end_batch places a batch point.
        self.state.add_batch(epoch - 1 + batch / (self.state.batches_per_epoch or 1), logs)

    def end_epoch(self, epoch: int, logs: Mapping[str, float]) -> None:
        self.state.add_epoch(epoch, logs)

    def add_checkpoint(self, record: CheckpointRecord) -> None:
        self.state.add_checkpoint(record)


def replay(plot: LivePlot, record: Mapping[str, Any]) -> None:
    """Feeds a history record to a fresh plot in the order a fit does. The plot's own
    feed methods frame the fit (new run, progress, marks) and take the last epoch; the
    epochs before go to its `PlotState` quietly and their traces are sent once, so a
    long run does not flood the kernel's message channel."""
    from ._protocol import STATUS_FINISHED, STATUS_STOPPED

    history = RunHistory.from_dict(record["history"])
    per_epoch = record.get("batches_per_epoch")
    checkpoints = [_checkpoint(c) for c in record.get("checkpoints") or []]
    stopping = None
    if record.get("stopping"):
        snapshot = dict(record["stopping"])
        snapshot["best"] = from_json_number(snapshot.get("best"))
        stopping = StoppingSnapshot.from_dict(snapshot)
    batch_points: dict[float, dict[str, float]] = {}
    for name, curve in (record.get("batches") or {}).items():
        for x, y in zip(curve["x"], curve["y"]):
            batch_points.setdefault(float(x), {})[name] = float(y)
    xs, next_x = sorted(batch_points), 0
    quiet = _Quiet(plot_state(plot))
    plot.begin_fit(history.last_epoch or None, per_epoch)
    for index, epoch in enumerate(history.epochs):
        last = index == len(history) - 1
        if index == 0:
            plot.begin_epoch(epoch)  # a new run
        if last:
            plot.send_state("traces")  # the points added quietly, before the last epoch's
            plot.begin_epoch(epoch)  # progress
        while next_x < len(xs) and xs[next_x] <= epoch:
            x, next_x = xs[next_x], next_x + 1
            if per_epoch and x > epoch - 1:
                batch = round((x - epoch + 1) * per_epoch)
                if last:
                    plot.end_batch(batch, batch_points[x])
                else:
                    quiet.end_batch(epoch, batch, batch_points[x])
        sink: Any = plot if last else quiet
        for checkpoint in (c for c in checkpoints if c.epoch == epoch and c.batch is not None):
            sink.add_checkpoint(checkpoint)
        logs = {name: column[index] for name, column in history.metrics.items()}
        sink.end_epoch(epoch, {k: v for k, v in logs.items() if v is not None})
        for checkpoint in (c for c in checkpoints if c.epoch == epoch and c.batch is None):
            sink.add_checkpoint(checkpoint)
    if stopping is not None:
        plot.set_stopping(stopping)
    stopped = stopping is not None and stopping.stop_reason not in (None, STOP_COMPLETED)
    message = (stopping.stop_reason or "") if stopping is not None else ""
    plot.end_fit(STATUS_STOPPED if stopped else STATUS_FINISHED, message)


def _checkpoint(data: Mapping[str, Any]) -> CheckpointRecord:
    fields = CheckpointRecord.__dataclass_fields__
    values = {k: v for k, v in data.items() if k in fields}
    values["value"] = from_json_number(values.get("value"))
    return CheckpointRecord(**values)


def _read_json_record(text: str, path: pathlib.Path) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(record, dict) or record.get("format") != HISTORY_FILE_KIND:
        kind = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise ValueError(
            f"Expected a history written by save_history (format {HISTORY_FILE_KIND!r}). "
            f"Received: {path} with format {kind!r}"
        )
    if record.get("version", 0) > HISTORY_FILE_VERSION:
        raise ValueError(
            f"{path} was written by a newer widget-callbacks (history version "
            f"{record['version']}; this one reads up to {HISTORY_FILE_VERSION})."
        )
    return record


def _read_csv_record(text: str, path: pathlib.Path) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "epoch" not in rows[0]:
        raise ValueError(f"Expected a CSV file with an 'epoch' column. Received: {path}")
    header = rows[0]
    columns: dict[str, list[Any]] = {name: [] for name in header}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields for {len(header)} columns.")
        for name, cell in zip(header, row):
            columns[name].append(None if cell == "" else float(cell))
    columns["epoch"] = [int(e) for e in columns["epoch"]]
    return {"history": columns}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
