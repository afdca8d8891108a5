"""The record of a run that a saved history is read into and written from.

JSON holds everything needed to redraw the run: the epoch metrics
(``RunHistory.to_dict``), the batch curves, the `StoppingSnapshot` and the
`CheckpointRecord`s, with non-finite numbers as ``"nan"``/``"inf"``/``"-inf"``. CSV
holds the epoch metrics. ``PlotState.load`` draws a record; ``RunRecord.of`` takes
one from a `PlotState`. Files written by earlier versions (format version 1) read
unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .history import RunHistory, from_json_number, json_number
from .records import CheckpointRecord, StoppingSnapshot

if TYPE_CHECKING:
    from .figure import PlotState

#: ``"format"`` of a history JSON file, checked when it is read.
HISTORY_FILE_KIND = "widget-callbacks-history"
HISTORY_FILE_VERSION = 1


@dataclass
class RunRecord:
    """One run as plain data: what `save_history` writes and `from_history` reads.

    Args:
        history: the epoch metrics.
        batches: batch curves, ``{metric: (x, y)}`` with ``x`` on the epoch axis
            (``figure.batch_x``). Defaults to none.
        batches_per_epoch: steps per epoch, if known. Defaults to None.
        checkpoints: files a checkpoint really wrote. Defaults to none.
        stopping: where early stopping stood at the end. Defaults to None.

    Example:

    >>> record = RunRecord.from_json(RunRecord(RunHistory.from_dict(
    ...     {"epoch": [1, 2], "loss": [0.9, float("nan")]})).to_json())
    >>> record.history.column("loss")
    [0.9, nan]
    """

    history: RunHistory
    batches: dict[str, tuple[list[Any], list[Any]]] = field(default_factory=dict)
    batches_per_epoch: int | None = None
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    stopping: StoppingSnapshot | None = None

    @classmethod
    def of(cls, state: PlotState) -> RunRecord:
        """The run drawn by ``state`` (copied under its lock)."""
        with state.lock:
            history = RunHistory.from_dict(state.history.to_dict())
            batches = {name: (list(x), list(y)) for name, (x, y) in state.batch_curve_data().items()}
            return cls(history, batches, state.batches_per_epoch, list(state.checkpoints), state.stopping)

    def batch_points(self) -> dict[tuple[int, int], dict[str, float]]:
        """The batch curves as ``{(epoch, batch): {metric: value}}`` (1-based), for
        replaying in the order a fit adds them; empty without ``batches_per_epoch``."""
        per_epoch = self.batches_per_epoch
        points: dict[tuple[int, int], dict[str, float]] = {}
        if not per_epoch:
            return points
        for name, (xs, ys) in self.batches.items():
            for x, y in zip(xs, ys):
                value = from_json_number(y)
                if value is None:
                    continue
                epoch = max(math.ceil(float(x) - 1e-9), 1)
                batch = round((float(x) - epoch + 1) * per_epoch)
                points.setdefault((epoch, batch), {})[name] = value
        return points

    # -- JSON -------------------------------------------------------------------

    def to_json(self) -> str:
        """The JSON text of a history file (non-finite numbers as strings)."""
        data = {
            "format": HISTORY_FILE_KIND,
            "version": HISTORY_FILE_VERSION,
            "history": self.history.to_dict(),
            "batches": {
                name: {"x": list(x), "y": [json_number(v) for v in y]}
                for name, (x, y) in self.batches.items()
            },
            "batches_per_epoch": self.batches_per_epoch,
            "checkpoints": [_json_safe(record.to_dict()) for record in self.checkpoints],
            "stopping": _json_safe(self.stopping.to_dict()) if self.stopping else None,
        }
        return json.dumps(data, allow_nan=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: object = "<string>") -> RunRecord:
        """Reads the JSON text of a history file.

        Raises:
            ValueError: not JSON, not a history file, or from a newer version; the
                message names ``source``.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source} is not valid JSON: {err}") from err
        if not isinstance(data, dict) or data.get("format") != HISTORY_FILE_KIND:
            kind = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"Expected a history written by save_history (format {HISTORY_FILE_KIND!r}). "
                f"Received: {source} with format {kind!r}"
            )
        if data.get("version", 0) > HISTORY_FILE_VERSION:
            raise ValueError(
                f"{source} was written by a newer widget-callbacks (history version "
                f"{data['version']}; this one reads up to {HISTORY_FILE_VERSION})."
            )
        stopping = None
        if data.get("stopping"):
            snapshot = dict(data["stopping"])
            snapshot["best"] = from_json_number(snapshot.get("best"))
            stopping = StoppingSnapshot.from_dict(snapshot)
        return cls(
            history=RunHistory.from_dict(data["history"]),
            batches={
                str(name): (list(curve["x"]), list(curve["y"]))
                for name, curve in (data.get("batches") or {}).items()
            },
            batches_per_epoch=data.get("batches_per_epoch"),
            checkpoints=[_checkpoint(c) for c in data.get("checkpoints") or []],
            stopping=stopping,
        )

    # -- CSV --------------------------------------------------------------------

    def to_csv(self) -> str:
        """The epoch metrics as CSV: floats as ``repr`` (``nan``, ``inf``), missing empty."""
        return csv_text(history_columns(self.history))

    @classmethod
    def from_csv(cls, text: str, source: object = "<string>") -> RunRecord:
        """Reads a CSV history (an ``epoch`` column and one column per metric).

        Raises:
            ValueError: no ``epoch`` column or a row of the wrong length.
        """
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or "epoch" not in rows[0]:
            raise ValueError(f"Expected a CSV file with an 'epoch' column. Received: {source}")
        header = rows[0]
        columns: dict[str, list[Any]] = {name: [] for name in header}
        for line, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise ValueError(f"{source}, line {line}: {len(row)} fields for {len(header)} columns.")
            for name, cell in zip(header, row):
                columns[name].append(None if cell == "" else float(cell))
        columns["epoch"] = [int(e) for e in columns["epoch"]]
        return cls(RunHistory.from_dict(columns))


def history_columns(history: RunHistory) -> dict[str, list[Any]]:
    """``{"epoch": [1, 2, ...], "<metric>": [...]}``: floats (NaN and inf kept) or
    ``None`` where a metric was not logged."""
    data: dict[str, list[Any]] = {"epoch": list(history.epochs)}
    for name, column in history.metrics.items():
        data[name] = list(column)
    return data


def csv_text(data: Mapping[str, list[Any]]) -> str:
    """Columns as CSV: floats as ``repr`` (``nan``, ``inf``), missing as empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(data))
    for row in zip(*data.values()):
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()


def _checkpoint(data: Mapping[str, Any]) -> CheckpointRecord:
    fields = CheckpointRecord.__dataclass_fields__
    values = {k: v for k, v in data.items() if k in fields}
    values["value"] = from_json_number(values.get("value"))
    return CheckpointRecord(**values)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
