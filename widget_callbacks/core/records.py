"""Plain-data records of what happened: where early stopping stands, checkpoints written.

Epochs here are 1-based, as Keras prints them and as the plot numbers them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Mode = Literal["min", "max"]


@dataclass(frozen=True)
class StoppingSnapshot:
    """Where early stopping stands after an epoch; what the plot's marks need.

    Args:
        monitor: the monitored metric name, e.g. ``"val_loss"``.
        mode: ``"min"`` or ``"max"``; ``None`` until resolved at the first epoch.
        patience: the patience in force.
        wait: epochs since the last improvement, as Keras counts them.
        best: the best monitored value so far, or ``None``.
        best_epoch: 1-based epoch of ``best``, or ``None``.
        start_from_epoch: epochs (1-based: ``1..start_from_epoch``) not monitored.
        last_epoch: the last 1-based epoch seen by the rule, or ``None``.
        paused: automatic stopping is paused by the user.
        stopped_epoch: 1-based epoch training stopped at, or ``None``.
        stopped_batch: 1-based batch of a stop by hand within that epoch, or ``None``.
        stop_reason: one of ``outcome.STOP_REASONS``, or ``None`` while running.
        restored_epoch: 1-based epoch whose weights were restored, or ``None``.
        last_value_non_finite: the last monitored value was NaN or inf.
        failure: what ``fit`` raised (``"ValueError: ..."``) when ``stop_reason`` is
            ``STOP_FAILED``, else ``None``.
        last_value_missing: the last epoch's logs lacked the monitored value (that
            epoch was not counted).
        available: the metric names of the last epoch's logs, when they lacked the
            monitored value; else empty.
    """

    monitor: str
    mode: Mode | None
    patience: int
    wait: int = 0
    best: float | None = None
    best_epoch: int | None = None
    start_from_epoch: int = 0
    last_epoch: int | None = None
    paused: bool = False
    stopped_epoch: int | None = None
    stopped_batch: int | None = None
    stop_reason: str | None = None
    restored_epoch: int | None = None
    last_value_non_finite: bool = False
    failure: str | None = None
    last_value_missing: bool = False
    available: tuple[str, ...] = ()

    @property
    def stop_at(self) -> int | None:
        """The 1-based epoch at whose end training stops if no later epoch improves.

        Keras 3.15 EarlyStopping semantics: each later monitored epoch that does not
        improve adds one to ``wait``, and the first one that ends with ``wait >=
        patience`` stops (an improvement that misses ``baseline`` does not reset
        ``wait``, so it does not move this epoch; an epoch without the monitored value
        is not counted, so it moves it one later). ``None`` when no epoch can be known
        in advance: nothing monitored yet (the first value always improves), stopping
        paused, or a stop already decided.

        >>> StoppingSnapshot("val_loss", "min", patience=3, wait=7, best=0.1,
        ...                  best_epoch=7, last_epoch=7).stop_at
        8
        """
        if self.best_epoch is None or self.paused or self.stop_reason is not None:
            return None
        last = max(self.last_epoch or 0, self.best_epoch)
        return last + max(self.patience - self.wait, 1)

    @property
    def epochs_left(self) -> int | None:
        """Epochs still to run, the stopping one included, if none improves: counts
        down to `stop_at` (1 means the next epoch is the last). ``None`` when the stop
        cannot be known in advance or a stop was decided."""
        if self.stop_at is None or self.stop_reason is not None:
            return None
        return self.stop_at - (self.last_epoch or 0)

    @property
    def monitor_missing(self) -> bool:
        """The monitored metric has never been seen in this run's logs, although an
        epoch ended (e.g. ``"val_acc"`` where Keras logs ``"val_accuracy"``)."""
        return self.last_epoch is not None and self.best_epoch is None and self.last_value_missing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoppingSnapshot:
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in names}
        if "available" in values:
            values["available"] = tuple(values["available"])
        return cls(**values)


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint file that was really written.

    Args:
        epoch: 1-based epoch during (or at the end of) which it was written.
        path: the file path written.
        batch: 1-based batch for a save every N batches, ``None`` at epoch end.
        value: the value of ``value_metric`` logged at that time, if known.
        monitor: the metric the checkpoint monitors (``ModelCheckpoint.monitor``).
        value_metric: the metric ``value`` is of: ``monitor`` when it was logged at
            that time, else the training metric that was (a save every N batches
            sees batch logs, which have no ``val_*``; a fit without validation has
            none at all): ``"loss"`` for ``"val_loss"``. It picks the plot panel the
            marker is drawn on. ``None`` when no value was known.
    """

    epoch: int
    path: str
    batch: int | None = None
    value: float | None = None
    monitor: str | None = None
    value_metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
