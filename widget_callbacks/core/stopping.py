"""The early-stopping state machine, with exactly Keras 3.15.1's semantics.

(Over 300 lines: Keras's rule with its attribute-by-attribute docstrings; splitting the
state machine would scatter one rule.)

`StoppingRule` is ``keras.callbacks.EarlyStopping``'s decision logic without
Keras: feed it ``(epoch, value)`` pairs and it says whether the value improved
and whether to stop. ``EarlyStoppingController`` maps Keras hooks to it; tests
drive it with plain sequences; ``tests/test_differential.py`` checks it against
Keras itself.

Pure Python: imports neither keras nor ipywidgets.
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
from dataclasses import dataclass
from typing import Literal

from .monitor import MonitorRule, Precision
from .outcome import STOP_PATIENCE
from .records import StoppingSnapshot

#: Why an epoch was not monitored: its value was missing, or it was a warm-up
#: epoch (before ``start_from_epoch``).
Skipped = Literal["missing", "warm-up"]


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int. Received: {name}={value!r} of type bool")
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{name} must be an int. Received: {name}={value!r} of type {type(value).__name__}"
        ) from None
    if count < 0:
        raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    return count


@dataclass(frozen=True)
class EpochDecision:
    """What `StoppingRule.update` decided at one epoch end.

    Args:
        epoch: the 0-based epoch.
        value: the monitored value, or ``None`` if missing.
        skipped: ``"missing"`` or ``"warm-up"`` when the epoch was not
            monitored (nothing else changed), else ``None``.
        improved: the value became the new best.
        wait_reset: ``wait`` went back to 0 (improved, and beat ``baseline``).
        should_stop: training should stop now (patience exhausted).
        held_by_pause: a stop would have been decided but stopping is paused.
        reason: ``STOP_PATIENCE`` when ``should_stop``, else ``None``.
        wait: ``wait`` after this epoch.
        best: ``best`` after this epoch.
        best_epoch: 0-based epoch of ``best`` after this epoch.
    """

    epoch: int
    value: float | None
    skipped: Skipped | None = None
    improved: bool = False
    wait_reset: bool = False
    should_stop: bool = False
    held_by_pause: bool = False
    reason: str | None = None
    wait: int = 0
    best: float | None = None
    best_epoch: int = 0


class StoppingRule:
    """Keras 3.15.1 ``EarlyStopping`` decisions as a pure state machine.

    At each `update` (one per epoch end, 0-based epochs as in Keras hooks):
    epochs before ``start_from_epoch`` or without a value are skipped; else
    ``wait`` grows by one; a strict improvement (see `MonitorRule`) on ``best``
    makes the value the new ``best`` (the first monitored value always does)
    and resets ``wait`` to 0 only if it also improves on ``baseline`` (when
    given); a non-improving epoch with ``wait >= patience`` and ``epoch > 0``
    decides a stop, so a patience of 0 acts like 1. NaN never improves, and
    nothing improves on a NaN ``best``.

    ``patience`` and ``paused`` may be set from any thread (or a signal
    handler) at any time; the next `update` uses them. While ``paused``, no
    stop is decided but ``wait`` keeps counting; after a release, or after
    lowering ``patience`` below ``wait``, the next non-improving epoch stops.

    Args:
        monitor: name of the monitored quantity. Defaults to ``"val_loss"``.
        min_delta: minimum change that counts as an improvement (sign
            ignored, as in Keras). Defaults to ``0``.
        patience: epochs without improvement before a stop. Defaults to ``0``.
        mode: ``"auto"``, ``"min"`` or ``"max"``. Defaults to ``"auto"``.
        baseline: a value ``wait`` is reset only by beating, or ``None``.
            Defaults to ``None``.
        start_from_epoch: epochs at the start that are not monitored.
            Defaults to ``0``.
        precision: how values are compared, see `MonitorRule`. Defaults to
            ``"float32"``, as Keras compares them.
        owner: name used in error messages. Defaults to ``"StoppingRule"``.

    Example:

    >>> rule = StoppingRule(monitor="loss", patience=2)
    >>> for epoch, value in enumerate([10.0, 9.0, 8.0, 9.0, 8.9, 8.5]):
    ...     decision = rule.update(epoch, value)
    ...     if decision.should_stop:
    ...         break
    >>> epoch, rule.best, rule.best_epoch, rule.wait
    (4, 8.0, 2, 2)
    >>> rule.snapshot().stop_reason
    'patience exhausted'
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        start_from_epoch: int = 0,
        *,
        precision: Precision = "float32",
        owner: str = "StoppingRule",
    ) -> None:
        self.monitor_rule = MonitorRule(monitor, mode, min_delta, precision=precision, owner=owner)
        if baseline is not None:
            if isinstance(baseline, bool) or not isinstance(baseline, numbers.Real):
                raise TypeError(
                    "baseline must be a number or None. "
                    f"Received: baseline={baseline!r} of type {type(baseline).__name__}"
                )
            if math.isnan(baseline):
                raise ValueError(f"baseline must not be NaN. Received: baseline={baseline!r}")
        self._baseline = baseline
        self._start_from_epoch = _check_count("start_from_epoch", start_from_epoch)
        self._lock = threading.RLock()  # re-entrant: setters may run in a signal handler
        self._patience = _check_count("patience", patience)
        self._paused = False
        self.wait = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.last_epoch: int | None = None
        self.last_value_non_finite = False
        self.last_value_missing = False

    # -- configuration -------------------------------------------------------

    @property
    def monitor(self) -> str:
        """The monitored metric name."""
        return self.monitor_rule.monitor

    @property
    def mode(self) -> str:
        """The configured mode (``"auto"``, ``"min"``, ``"max"``)."""
        return self.monitor_rule.mode

    @property
    def min_delta(self) -> float:
        """``min_delta`` as Keras holds it (negative once resolved to ``"min"``)."""
        return self.monitor_rule.min_delta

    @property
    def baseline(self) -> float | None:
        """The baseline, or ``None``."""
        return self._baseline

    @property
    def start_from_epoch(self) -> int:
        """Number of warm-up epochs that are not monitored."""
        return self._start_from_epoch

    @property
    def patience(self) -> int:
        """Epochs without improvement before a stop; settable from any thread."""
        return self._patience

    @patience.setter
    def patience(self, patience: int) -> None:
        value = _check_count("patience", patience)
        with self._lock:
            self._patience = value

    @property
    def paused(self) -> bool:
        """While ``True`` no stop is decided; settable from any thread."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if not isinstance(paused, bool):
            raise TypeError(
                f"paused must be a bool. Received: paused={paused!r} of type {type(paused).__name__}"
            )
        with self._lock:
            self._paused = paused

    @property
    def stopped(self) -> bool:
        """Whether a stop was decided in this run (``stopped_epoch > 0``)."""
        return self.stopped_epoch > 0

    def projected_stop(self) -> int | None:
        """The 0-based epoch at whose end training stops if no later epoch improves.

        Derived from the rule's state (``StoppingSnapshot.stop_at``, 0-based here), not
        from the best epoch.

        Returns:
            The epoch, or ``None`` when no epoch can be known in advance: no value has
            been monitored yet (the first one always improves), stopping is paused, or
            a stop was already decided.

        Example:

        >>> rule = StoppingRule(monitor="loss", patience=3, baseline=0.0)
        >>> for epoch, value in enumerate([5.0, 4.0, 3.0, 2.0]):  # never beats 0.0
        ...     _ = rule.update(epoch, value)
        >>> rule.wait, rule.projected_stop()  # Keras stops at the next epoch that does not improve
        (4, 4)
        """
        stop_at = self.snapshot().stop_at  # the one formula, 1-based
        return None if stop_at is None else stop_at - 1

    # -- the state machine ---------------------------------------------------

    def reset(self, *, keep_best: bool = False) -> None:
        """Starts a new run (Keras's ``on_train_begin``).

        The resolved direction, ``patience`` and ``paused`` are kept.

        Args:
            keep_best: keep ``best`` from the last run, as Keras before 3.15.0 does.
        """
        with self._lock:
            self.wait = 0
            if not keep_best:
                self.best = None
            self.best_epoch = 0
            self.stopped_epoch = 0
            self.last_epoch = None
            self.last_value_non_finite = False
            self.last_value_missing = False

    def update(self, epoch: int, value: float | None) -> EpochDecision:
        """Takes one epoch's monitored value and decides (Keras's ``on_epoch_end``).

        Args:
            epoch: the 0-based epoch.
            value: the monitored value, or ``None`` when it is missing.

        Returns:
            The `EpochDecision`.

        Raises:
            ValueError: at the first call, if the mode is ``"auto"`` and the
                direction cannot be inferred (see `MonitorRule.resolve`).
        """
        monitor_rule = self.monitor_rule
        if not monitor_rule.resolved:
            monitor_rule.resolve()
        with self._lock:
            self.last_epoch = epoch
            self.last_value_missing = value is None
            if value is not None:
                value = float(value)
                self.last_value_non_finite = not math.isfinite(value)
            if value is None or epoch < self._start_from_epoch:
                return EpochDecision(
                    epoch,
                    value,
                    skipped="missing" if value is None else "warm-up",
                    wait=self.wait,
                    best=self.best,
                    best_epoch=self.best_epoch,
                )
            self.wait += 1
            if monitor_rule.is_improvement(value, self.best):
                self.best = value
                self.best_epoch = epoch
                reset = self._baseline is None or monitor_rule.is_improvement(value, self._baseline)
                if reset:
                    self.wait = 0
                return EpochDecision(
                    epoch,
                    value,
                    improved=True,
                    wait_reset=reset,
                    wait=self.wait,
                    best=self.best,
                    best_epoch=self.best_epoch,
                )
            exhausted = self.wait >= self._patience and epoch > 0
            stop = exhausted and not self._paused
            if stop:
                self.stopped_epoch = epoch
            return EpochDecision(
                epoch,
                value,
                should_stop=stop,
                held_by_pause=exhausted and not stop,
                reason=STOP_PATIENCE if stop else None,
                wait=self.wait,
                best=self.best,
                best_epoch=self.best_epoch,
            )

    def snapshot(self) -> StoppingSnapshot:
        """The current state with 1-based epochs, for the plot and the controls."""
        with self._lock:
            has_best = self.best is not None
            return StoppingSnapshot(
                monitor=self.monitor,
                mode=self.monitor_rule.resolved_mode,
                patience=self._patience,
                wait=self.wait,
                best=self.best,
                best_epoch=self.best_epoch + 1 if has_best else None,
                start_from_epoch=self._start_from_epoch,
                last_epoch=None if self.last_epoch is None else self.last_epoch + 1,
                paused=self._paused,
                stopped_epoch=self.stopped_epoch + 1 if self.stopped else None,
                stop_reason=STOP_PATIENCE if self.stopped else None,
                last_value_non_finite=self.last_value_non_finite,
                last_value_missing=self.last_value_missing,
            )

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return (
            f"StoppingRule(monitor={self.monitor!r}, patience={self._patience}, "
            f"wait={self.wait}, best={self.best!r}, best_epoch={self.best_epoch}, "
            f"stopped_epoch={self.stopped_epoch}, paused={self._paused})"
        )
