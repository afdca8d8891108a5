"""The record of a run that a saved history is read into and written from.

JSON holds everything needed to redraw the run: the epoch metrics
(``RunHistory.to_dict``), the batch curves, the `StoppingSnapshot` and the
`CheckpointRecord`s, with non-finite numbers as ``"nan"``/``"inf"``/``"-inf"``; and,
since the toolbar (all optional keys, so that files stay version 1 and older readers
skip them): ``"epoch_times"`` (seconds since the run started at each epoch's end),
a ``"t"`` list beside each batch curve's ``"x"``/``"y"``, ``"view"`` (the view
settings) and ``"directions"`` (``"min"``/``"max"`` per metric); since runs side by
side (also optional): ``"run"`` (the run's label, number and Keras Tuner trial,
``runs.RunInfo``) and ``"runs"``, the plot's earlier runs, each an object with the
same per-run keys (``"history"``, ``"epoch_times"``, ``"batches"``, ``"run"``, ...).
The top-level keys stay the current run, so a reader that knows one run reads that
one. CSV holds the epoch metrics of the current run. ``PlotState.load`` draws a
record; ``RunRecord.of`` takes one from a `PlotState`. Files written by earlier
versions read unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .history import RunHistory, elapsed_seconds, from_json_number, json_number
from .records import CheckpointRecord, Mode, StoppingSnapshot
from .runs import RunInfo

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
        batch_times: seconds since the run started of each batch point,
            ``{metric: [...]}`` aligned with ``batches``. Defaults to none.
        view: the view settings (``ViewSettings.to_dict``). Defaults to None
            (a file written before the toolbar: the defaults).
        directions: ``"min"``/``"max"`` per metric. Defaults to none.
        run: the run's label, number and trial (``runs.RunInfo``). Defaults to None
            (a file written before runs side by side: labelled by the reader).
        runs: the earlier runs drawn with it, oldest first, each a `RunRecord`
            (their own ``runs`` empty). Defaults to none.

    The epochs' end times are ``history.times``.

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
    batch_times: dict[str, list[float | None]] = field(default_factory=dict)
    view: dict[str, Any] | None = None
    directions: dict[str, Mode] = field(default_factory=dict)
    run: RunInfo | None = None
    runs: list[RunRecord] = field(default_factory=list)

    @classmethod
    def of(cls, state: PlotState) -> RunRecord:
        """The runs drawn by ``state``: the current one, the earlier ones in ``runs``
        (copied under its lock)."""
        with state.lock:
            history = RunHistory.from_dict(state.history.to_dict())
            history.times = list(state.history.times)
            batches = {name: (list(x), list(y)) for name, (x, y) in state.batch_curve_data().items()}
            return cls(
                history,
                batches,
                state.batches_per_epoch,
                list(state.checkpoints),
                state.stopping,
                batch_times={name: list(t) for name, t in state.batch_curve_times().items()},
                view=state.view.to_dict(),
                directions=dict(state.directions),
                run=replace(state.current),
                runs=[replace(past.record, run=replace(past.info), runs=[]) for past in state.past_runs],
            )

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Sequence[Any]],
        *,
        epochs: Sequence[int] | None = None,
        source: object = "history",
    ) -> RunRecord:
        """A run from metric columns, e.g. a Keras ``History.history``
        (``{"loss": [...], "val_loss": [...]}``), with 1-based ``epochs`` (or an
        ``"epoch"`` column; else ``1, 2, ...``).

        Raises:
            ValueError: no metric, or a column of another length (the message names
                ``source``).

        >>> RunRecord.from_columns({"loss": [0.9, 0.5]}).history.to_dict()
        {'epoch': [1, 2], 'loss': [0.9, 0.5]}
        """
        data = {str(name): list(values) for name, values in columns.items()}
        given = data.pop("epoch", None)
        if epochs is None:
            epochs = given
        if not data:
            raise ValueError(
                f"Expected metric columns such as {{'loss': [...]}}. Received: {source} with none"
            )
        length = len(next(iter(data.values())))
        if epochs is None:
            epochs = list(range(1, length + 1))
        try:
            values = {
                name: [None if v is None else float(v) for v in column] for name, column in data.items()
            }
            return cls(RunHistory.from_dict({"epoch": [int(e) for e in epochs], **values}))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source} is not a history of numbers per epoch: {err}") from err

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

    def batch_point_times(self) -> dict[tuple[int, int], float]:
        """The batch points' timestamps as ``{(epoch, batch): seconds}`` (1-based), as
        `batch_points` numbers them; empty without ``batches_per_epoch``."""
        per_epoch = self.batches_per_epoch
        times: dict[tuple[int, int], float] = {}
        if not per_epoch:
            return times
        for name, (xs, _) in self.batches.items():
            for x, t in zip(xs, self.batch_times.get(name) or []):
                seconds = elapsed_seconds(from_json_number(t))
                if seconds is None:
                    continue
                epoch = max(math.ceil(float(x) - 1e-9), 1)
                times.setdefault((epoch, round((float(x) - epoch + 1) * per_epoch)), seconds)
        return times

    # -- JSON -------------------------------------------------------------------

    def to_json(self) -> str:
        """The JSON text of a history file (non-finite numbers as strings): the
        current run's keys at the top, the earlier runs in ``"runs"``."""
        data = {
            "format": HISTORY_FILE_KIND,
            "version": HISTORY_FILE_VERSION,
            **self._run_json(),
            "view": self.view,
        }
        if self.runs:
            data["runs"] = [run._run_json() for run in self.runs]
        return json.dumps(data, allow_nan=False, indent=1) + "\n"

    def _run_json(self) -> dict[str, Any]:
        """The keys of one run (top-level for the current run, an item of ``"runs"``)."""
        data: dict[str, Any] = {
            "history": self.history.to_dict(),
            "epoch_times": list(self.history.times),
            "batches": {name: self._batch_json(name, x, y) for name, (x, y) in self.batches.items()},
            "batches_per_epoch": self.batches_per_epoch,
            "checkpoints": [_json_safe(record.to_dict()) for record in self.checkpoints],
            "stopping": _json_safe(self.stopping.to_dict()) if self.stopping else None,
            "directions": dict(self.directions),
        }
        if self.run is not None:
            data["run"] = self.run.to_dict()
        return data

    def _batch_json(self, name: str, x: list[Any], y: list[Any]) -> dict[str, Any]:
        curve: dict[str, Any] = {"x": list(x), "y": [json_number(v) for v in y]}
        times = self.batch_times.get(name)
        if times:
            curve["t"] = list(times)
        return curve

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
            raise ValueError(
                f"Expected a history written by save_history (a JSON object with "
                f'"format": {HISTORY_FILE_KIND!r}). Received: {source}, {_describe(data)}'
            )
        if data.get("version", 0) > HISTORY_FILE_VERSION:
            raise ValueError(
                f"{source} was written by a newer widget-callbacks (history version "
                f"{data['version']}; this one reads up to {HISTORY_FILE_VERSION})."
            )
        record = cls._from_run_json(data, source)
        view = data.get("view")
        record.view = dict(view) if isinstance(view, dict) else None
        runs = data.get("runs")
        runs = [] if runs is None else runs
        if not isinstance(runs, list):
            raise ValueError(f'{source}: "runs" must be a list of runs. Received: {_describe(runs)}')
        for index, run in enumerate(runs):
            if not isinstance(run, dict):
                raise ValueError(
                    f'{source}: "runs"[{index}] must be a run object. Received: {_describe(run)}'
                )
            record.runs.append(cls._from_run_json(run, f'{source}, "runs"[{index}]'))
        return record

    @classmethod
    def _from_run_json(cls, data: Mapping[str, Any], source: object) -> RunRecord:
        """One run's keys (`_run_json`), read."""
        if not isinstance(data.get("history"), dict):
            raise ValueError(f'{source} has no "history" object. Received: {_describe(data)}')
        try:
            stopping = None
            if data.get("stopping"):
                snapshot = dict(data["stopping"])
                snapshot["best"] = from_json_number(snapshot.get("best"))
                stopping = StoppingSnapshot.from_dict(snapshot)
            history = RunHistory.from_dict(data["history"])
            times = data.get("epoch_times")
            if isinstance(times, list) and len(times) == len(history.epochs):
                history.times = [elapsed_seconds(from_json_number(t)) for t in times]
            curves = data.get("batches") or {}
            directions = data.get("directions") or {}
            run = data.get("run")
            return cls(
                history=history,
                batches={str(name): (list(curve["x"]), list(curve["y"])) for name, curve in curves.items()},
                batches_per_epoch=data.get("batches_per_epoch"),
                checkpoints=[_checkpoint(c) for c in data.get("checkpoints") or []],
                stopping=stopping,
                batch_times={str(name): list(curve["t"]) for name, curve in curves.items() if curve.get("t")},
                directions={str(k): v for k, v in directions.items() if v in ("min", "max")},
                run=RunInfo.from_dict(run) if isinstance(run, dict) else None,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{source} is not a history written by save_history: {err!r}") from err

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


def _describe(data: Any) -> str:
    """What a file held instead of a history, in a few words."""
    if isinstance(data, dict):
        keys = sorted(str(k) for k in data)
        shown = ", ".join(repr(k) for k in keys[:8]) + (", ..." if len(keys) > 8 else "")
        kind = data.get("format")
        return f"a JSON object with format {kind!r} and keys [{shown}]"
    if isinstance(data, list):
        return f"a JSON list of {len(data)} items"
    return f"a JSON {type(data).__name__}: {data!r:.60}"


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
