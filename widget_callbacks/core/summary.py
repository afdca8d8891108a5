"""The summary table under the plot: per metric its last and best values, and the
run's pace. Pure: plain numbers in, a JSON-safe dict out (the ``summary`` trait).

A metric's direction is Keras's ``mode="auto"`` rule, `MonitorRule.resolve`: ``min``
for the loss, else the compiled metric's direction when the adapter knows it. A
metric neither tells (a learning rate, a custom name logged without a compiled
metric) has no direction, hence no best value. The best value is the first that no
later value improves on, as `MonitorRule.is_improvement` compares (Keras's rule).

`summarize` computes the table from a whole history; `SummaryTracker` keeps the same
table up to date epoch by epoch, in time independent of the number of epochs (the
plot sets its ``summary`` trait at every epoch).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .history import RunHistory, json_number
from .monitor import Direction, MonitorRule
from .records import Mode

#: Keys of each row of ``summary["rows"]``.
ROW_KEYS: tuple[str, ...] = ("metric", "last", "best", "best_epoch", "direction")


def metric_direction(name: str, direction: Direction | None = None) -> Mode | None:
    """``"min"`` or ``"max"`` as Keras's ``mode="auto"`` resolves ``name`` (the
    compiled metric's ``direction`` wins), or ``None`` when it cannot tell.

    >>> metric_direction("val_loss"), metric_direction("accuracy", "up"), metric_direction("lr")
    ('min', 'max', None)
    """
    try:
        return MonitorRule(name, owner="summary").resolve(direction)
    except ValueError:
        return None


@functools.cache
def _rule(mode: Mode) -> MonitorRule:
    """The improvement rule of a direction (resolved once: it is not changed after)."""
    rule = MonitorRule(mode=mode, owner="summary")
    rule.resolve()
    return rule


def best_value(epochs: list[int], values: list[float | None], mode: Mode) -> tuple[float | None, int | None]:
    """The best finite value and its 1-based epoch (the first one, on a tie).

    >>> best_value([1, 2, 3, 4], [0.9, 0.5, None, 0.5], "min")
    (0.5, 2)
    """
    rule = _rule(mode)
    best: float | None = None
    at: int | None = None
    for epoch, value in zip(epochs, values):
        if value is None or not math.isfinite(value):
            continue
        if rule.is_improvement(value, best):
            best, at = value, epoch
    return best, at


def _last(values: list[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def summarize(
    history: RunHistory,
    *,
    directions: Mapping[str, Mode] | None = None,
    steps_per_epoch: int | None = None,
    last_steps: int | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """The ``summary`` trait: one row per metric, and the last epoch's pace.

    Args:
        history: the run's epochs, values and end times (``RunHistory.times``).
        directions: ``"min"``/``"max"`` per metric, as resolved with the compiled
            metrics (`metric_direction`); missing names are resolved by name alone.
            Defaults to none.
        steps_per_epoch: batches per epoch (Keras's ``params["steps"]``). Defaults
            to None (unknown: no rate).
        last_steps: batches the last epoch ran, when a stop ended it early.
            Defaults to None (all of ``steps_per_epoch``).
        batch_size: samples per batch, when known. Defaults to None (then
            ``samples_per_second`` is None and ``steps_per_second`` is the rate).

    Returns:
        ``{"rows": [{"metric", "last", "best", "best_epoch", "direction"}, ...],
        "epoch_seconds", "steps_per_second", "samples_per_second"}``: ``last`` may
        be ``"nan"``/``"inf"``/``"-inf"`` (JSON has no such numbers); the pace is
        the last epoch's (its end time minus the one before, validation included),
        ``None`` when unknown.

    Example:

    >>> history = RunHistory()
    >>> for epoch, (loss, acc, t) in enumerate([(0.9, 0.5, 2.0), (0.4, 0.8, 4.5), (0.6, 0.7, 7.0)], 1):
    ...     _ = history.add_epoch(epoch, {"loss": loss, "accuracy": acc}, time=t)
    >>> table = summarize(history, directions={"accuracy": "max"}, steps_per_epoch=50)
    >>> [(r["metric"], r["last"], r["best"], r["best_epoch"], r["direction"]) for r in table["rows"]]
    [('loss', 0.6, 0.4, 2, 'min'), ('accuracy', 0.7, 0.8, 2, 'max')]
    >>> table["epoch_seconds"], table["steps_per_second"], table["samples_per_second"]
    (2.5, 20.0, None)
    """
    directions = directions or {}
    rows = []
    for name, column in history.metrics.items():
        direction = directions.get(name) or metric_direction(name)
        rows.append(_Row.scan(history.epochs, column, direction).as_dict(name))
    return _table(rows, history, steps_per_epoch, last_steps, batch_size)


@dataclass
class _Row:
    """One metric's row, and how many epochs it has seen."""

    direction: Mode | None
    last: float | None
    best: float | None
    best_epoch: int | None
    seen: int

    @classmethod
    def scan(cls, epochs: list[int], column: list[float | None], direction: Mode | None) -> _Row:
        best, at = best_value(epochs, column, direction) if direction else (None, None)
        return cls(direction, _last(column), best, at, len(column))

    def as_dict(self, name: str) -> dict[str, Any]:
        return {
            "metric": name,
            "last": json_number(self.last),
            "best": self.best,
            "best_epoch": self.best_epoch,
            "direction": self.direction,
        }


class SummaryTracker:
    """`summarize`, kept up to date one epoch at a time.

    `update` after each ``RunHistory.add_epoch`` looks at the new epoch only; a metric
    whose direction became known later, or a history it did not see grow, is scanned
    again once. `summary` gives what `summarize` gives.

    Example:

    >>> history, tracker = RunHistory(), SummaryTracker()
    >>> for epoch, loss in enumerate([0.9, 0.4, 0.6], 1):
    ...     _ = history.add_epoch(epoch, {"loss": loss}, time=float(epoch))
    ...     tracker.update(history)
    >>> tracker.summary(history) == summarize(history)
    True
    """

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._directions: dict[str, Mode | None] = {}  # resolved by name alone

    def reset(self) -> None:
        self._rows = {}

    def _direction(self, name: str, directions: Mapping[str, Mode] | None) -> Mode | None:
        given = directions.get(name) if directions else None
        if given:
            return given
        if name not in self._directions:
            self._directions[name] = metric_direction(name)
        return self._directions[name]

    def update(self, history: RunHistory, directions: Mapping[str, Mode] | None = None) -> None:
        """Takes in the history's last epoch."""
        if not history.epochs:
            return
        epoch, count = history.epochs[-1], len(history.epochs)
        for name, column in history.metrics.items():
            direction = self._direction(name, directions)
            row = self._rows.get(name)
            if row is None or row.direction != direction or row.seen != count - 1:
                self._rows[name] = _Row.scan(history.epochs, column, direction)
                continue
            row.seen = count
            value = column[-1]
            if value is None:
                continue
            row.last = value
            if direction and math.isfinite(value) and _rule(direction).is_improvement(value, row.best):
                row.best, row.best_epoch = value, epoch

    def summary(
        self,
        history: RunHistory,
        *,
        directions: Mapping[str, Mode] | None = None,
        steps_per_epoch: int | None = None,
        last_steps: int | None = None,
        batch_size: int | None = None,
    ) -> dict[str, Any]:
        """The table, as `summarize` gives it (same arguments)."""
        rows = []
        for name, column in history.metrics.items():
            direction = self._direction(name, directions)
            row = self._rows.get(name)
            if row is None or row.direction != direction or row.seen != len(column):
                row = self._rows[name] = _Row.scan(history.epochs, column, direction)
            rows.append(row.as_dict(name))
        return _table(rows, history, steps_per_epoch, last_steps, batch_size)


def _table(
    rows: list[dict[str, Any]],
    history: RunHistory,
    steps_per_epoch: int | None,
    last_steps: int | None,
    batch_size: int | None,
) -> dict[str, Any]:
    epoch_seconds = _last_epoch_seconds(history)
    steps = last_steps if last_steps is not None else steps_per_epoch
    steps_per_second = steps / epoch_seconds if steps and epoch_seconds else None
    samples_per_second = steps_per_second * batch_size if steps_per_second and batch_size else None
    return {
        "rows": rows,
        "epoch_seconds": _rounded(epoch_seconds),
        "steps_per_second": _rounded(steps_per_second),
        "samples_per_second": _rounded(samples_per_second),
    }


def _last_epoch_seconds(history: RunHistory) -> float | None:
    """The last epoch's duration: its end time minus the previous epoch's (the run's
    start, 0 s, for its first epoch); None when a time is unknown."""
    times = history.times
    if not times or times[-1] is None:
        return None
    before = times[-2] if len(times) > 1 else 0.0
    if before is None:
        return None
    seconds = times[-1] - before
    return seconds if seconds > 0 else None
