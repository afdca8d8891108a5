"""The stop guards applied to Keras logs: what ``EarlyStoppingController`` asks at each
batch and epoch end.

The rules are `StopGuards` (``core/guards.py``); this module only picks the value out of
Keras's logs and keeps the run's clock. Batch logs carry the training metrics only, so
at a batch end ``check_finite`` looks at the monitor's training counterpart (``loss``
for ``val_loss``): a divergence is caught within the batch where the training loss
turns NaN/inf, not at the epoch end. Runs on the training thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..core.guards import StopGuards
from ..core.records import Mode
from .logs import to_float

__all__ = ["GuardWatch", "batch_metric"]


def batch_metric(monitor: str) -> str:
    """The name a monitored metric has in batch logs: its training counterpart.

    >>> batch_metric("val_loss"), batch_metric("accuracy")
    ('loss', 'accuracy')
    """
    return monitor.removeprefix("val_") or monitor


class GuardWatch:
    """`StopGuards` over one monitored metric and one run's clock.

    Args:
        guards: the rules.
        monitor: the monitored metric's name.
        clock: seconds, monotonic. Defaults to ``time.monotonic``.
    """

    def __init__(self, guards: StopGuards, monitor: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.guards = guards
        self.monitor = monitor
        self.batch_name = batch_metric(monitor)
        self.clock = clock
        self.started: float | None = None

    @property
    def active(self) -> bool:
        """Whether any guard is on."""
        return self.guards.active

    def begin(self) -> None:
        """A run starts (``on_train_begin``): ``max_time`` counts from now."""
        self.started = self.clock()

    def elapsed(self) -> float:
        """Seconds since `begin` (0 before it)."""
        return 0.0 if self.started is None else self.clock() - self.started

    def _time(self) -> str | None:
        return self.guards.time_reason(self.elapsed()) if self.guards.max_time is not None else None

    def on_batch(self, logs: Mapping[str, Any] | None) -> str | None:
        """The reason to stop after this batch (``max_time``, then ``check_finite`` on the
        monitor's training counterpart), or ``None``."""
        reason = self._time()
        if reason is None and self.guards.check_finite and logs:
            reason = self.guards.batch_reason(to_float(logs.get(self.batch_name)))
        return reason

    def on_epoch(self, value: float | None, mode: Mode | None, *, warm_up: bool) -> str | None:
        """The reason to stop at this epoch end, or ``None``: the value guards on the
        monitored value (see `StopGuards.epoch_reason`), then ``max_time``."""
        reason = None
        if mode is not None:
            reason = self.guards.epoch_reason(value, mode, warm_up=warm_up)
        return reason or self._time()
