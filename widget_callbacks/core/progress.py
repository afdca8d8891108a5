"""Progress bookkeeping: throttling and ETA, with an injectable clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Clock = Callable[[], float]


def within_epoch(batch: int, batches: int | None) -> int:
    """A 1-based batch kept within an epoch of ``batches`` batches, when known (Keras
    3.15 numbers the last, partial execution of ``steps_per_execution`` as if it were
    whole: batch 12 of 10).

    >>> within_epoch(12, 10), within_epoch(7, None), within_epoch(-1, 10)
    (10, 7, 0)
    """
    batch = max(batch, 0)
    return min(batch, batches) if batches else batch


class Throttle:
    """Lets an event through at most once per ``interval`` seconds.

    Args:
        interval: minimum seconds between two events let through. Defaults to 0.1.
        clock: a monotonic clock. Defaults to `time.monotonic`.

    Example:

    >>> ticks = iter([0.0, 0.05, 0.2])
    >>> throttle = Throttle(0.1, clock=lambda: next(ticks))
    >>> [throttle.ready() for _ in range(3)]
    [True, False, True]
    """

    def __init__(self, interval: float = 0.1, clock: Clock = time.monotonic) -> None:
        if not interval >= 0:
            raise ValueError(f"interval must be >= 0 seconds. Received: interval={interval}")
        self.interval = float(interval)
        self._clock = clock
        self._last = -float("inf")

    def ready(self) -> bool:
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False

    def reset(self) -> None:
        self._last = -float("inf")


class BatchGate:
    """Lets batch hooks through one at a time and in order, from any thread.

    On JAX and PyTorch, Keras runs the batch hooks of callbacks that say
    ``async_safe = True`` on a thread pool (``keras/src/callbacks/callback_list.py``):
    several may run at once, a later batch's before an earlier one's; all of an
    epoch's have finished before ``on_epoch_end``. A hook that `enter` refuses is
    skipped, which suits throttled work (progress, batch points): it never waits
    and never shows an older batch after a newer one.

    Example:

    >>> gate = BatchGate()
    >>> gate.enter(3), gate.enter(4)  # batch 3 runs: 4 is skipped
    (True, False)
    >>> gate.exit()
    >>> gate.enter(2), gate.enter(5)  # 2 is older than 3
    (False, True)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -1

    def enter(self, batch: int) -> bool:
        """True (then call `exit`) if no hook runs and ``batch`` is newer than the last."""
        if not self._lock.acquire(blocking=False):
            return False
        if batch <= self._last:
            self._lock.release()
            return False
        self._last = batch
        return True

    def exit(self) -> None:
        """Ends the hook that `enter` let through."""
        self._lock.release()

    def reset(self) -> None:
        """A new epoch (batches count from 0 again); call with no hook running."""
        self._last = -1


class ProgressTracker:
    """Epoch/batch position, elapsed time and ETA of one ``fit``.

    The ETA uses the mean duration of the epochs finished in this fit (validation
    included) and, during the first epoch, the mean batch duration.

    Args:
        clock: a monotonic clock. Defaults to `time.monotonic`.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.epochs: int | None = None
        self.batches: int | None = None
        self.epoch = 0
        self.batch = 0
        self._start = 0.0
        self._epoch_start = 0.0
        self._first_epoch: int | None = None
        self._epochs_done = 0

    def begin(self, epochs: int | None, batches: int | None) -> None:
        self.epochs, self.batches = epochs, batches
        self.epoch = self.batch = 0
        self._start = self._epoch_start = self._clock()
        self._first_epoch = None
        self._epochs_done = 0

    def begin_epoch(self, epoch: int) -> None:
        """``epoch`` is 1-based."""
        if self._first_epoch is None:
            self._first_epoch = epoch
        self.epoch, self.batch = epoch, 0
        self._epoch_start = self._clock()

    def end_batch(self, batch: int) -> None:
        """``batch`` is 1-based, kept `within_epoch`.

        >>> tracker = ProgressTracker()
        >>> tracker.begin(epochs=2, batches=10)
        >>> tracker.end_batch(12)
        >>> tracker.batch
        10
        """
        self.batch = within_epoch(batch, self.batches)

    def end_epoch(self, batch: int | None = None) -> None:
        """The epoch ended after its 1-based ``batch`` (a stop within the epoch), or,
        when ``None``, after all its batches."""
        self._epochs_done += 1
        if batch is not None:
            self.batch = within_epoch(batch, self.batches)
        elif self.batches:
            self.batch = self.batches

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def eta(self) -> float | None:
        """Seconds left in this fit, or ``None`` when it cannot be told yet."""
        if not self.epochs or not self.epoch:
            return None
        now = self._clock()
        epochs_left_after_this = max(self.epochs - self.epoch, 0)
        in_epoch = now - self._epoch_start
        if self._epochs_done:
            per_epoch = (self._epoch_start - self._start) / self._epochs_done
            return max(per_epoch - in_epoch, 0.0) + epochs_left_after_this * per_epoch
        if self.batches and self.batch:
            per_batch = in_epoch / self.batch
            per_epoch = per_batch * self.batches
            return max(per_epoch - in_epoch, 0.0) + epochs_left_after_this * per_epoch
        return None

    def as_dict(self) -> dict[str, Any]:
        eta = self.eta()
        return {
            "epoch": self.epoch,
            "epochs": self.epochs,
            "batch": self.batch,
            "batches": self.batches,
            "elapsed": round(self.elapsed, 3),
            "eta": None if eta is None else round(eta, 3),
        }
