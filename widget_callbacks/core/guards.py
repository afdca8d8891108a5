"""Stop guards: opt-in rules that end a run whatever the patience says.

Where the rules come from: PyTorch Lightning's ``EarlyStopping`` has ``check_finite``,
``stopping_threshold`` and ``divergence_threshold`` (checked before the improvement
rule, in that order) and its ``Timer`` callback has ``max_time``. Here they are pure
functions of numbers, applied by ``EarlyStoppingController`` (``adapters/guards.py``);
the patience rule (``stopping.py``) is not touched by them, so with every guard off
the controller still decides exactly as ``keras.callbacks.EarlyStopping``.

Two differences from Lightning, both stated in `StopGuards`: a value *reaches*
``stopping_threshold`` when it is equal to it or better (Lightning: strictly better),
and thresholds are compared as `MonitorRule` compares values (float32 by default, as
Keras does), so a logged float32 ``0.1`` reaches a threshold of ``0.1``.

Pure Python: imports neither keras nor ipywidgets.
"""

from __future__ import annotations

import datetime
import math
import numbers
from collections.abc import Iterable

from .monitor import PRECISIONS, Precision, _as_float32
from .outcome import STOP_DIVERGED, STOP_NON_FINITE, STOP_THRESHOLD, STOP_TIME_LIMIT
from .records import Mode

__all__ = ["GUARD_REASONS", "StopGuards", "check_max_time", "check_threshold"]

#: The stop reasons a guard gives (`outcome.STOP_REASONS` members).
GUARD_REASONS = (STOP_NON_FINITE, STOP_THRESHOLD, STOP_DIVERGED, STOP_TIME_LIMIT)


def check_threshold(name: str, value: object) -> float | None:
    """``value`` as a float, or ``None``; a NaN or a non-number raises.

    Args:
        name: the argument's name, for the error message.
        value: a real number (``inf`` and ``-inf`` are allowed) or ``None``.

    Returns:
        ``float(value)`` or ``None``.

    Raises:
        TypeError: ``value`` is not a real number (a bool is not one).
        ValueError: ``value`` is NaN.

    >>> check_threshold("stopping_threshold", 1), check_threshold("divergence_threshold", None)
    (1.0, None)
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Expected {name} to be a number or None. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"Expected {name} to be a number, not NaN. Received: {name}={value!r}")
    return number


def check_max_time(value: object) -> float | None:
    """``max_time`` in seconds, or ``None``.

    Args:
        value: seconds (a finite real number > 0), a ``datetime.timedelta`` longer than
            zero, or ``None``.

    Returns:
        The limit in seconds, or ``None``.

    Raises:
        TypeError: ``value`` is neither a number nor a ``timedelta`` (a bool is neither).
        ValueError: ``value`` is <= 0, NaN or infinite.

    >>> check_max_time(datetime.timedelta(minutes=2)), check_max_time(90)
    (120.0, 90.0)
    """
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            "Expected max_time to be a number of seconds, a datetime.timedelta or None. "
            f"Received: max_time={value!r} of type {type(value).__name__}"
        )
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"Expected max_time > 0 seconds (finite). Received: max_time={value!r}")
    return seconds


class StopGuards:
    """The four guards' rules; each one is off unless given.

    - ``check_finite``: a NaN or an infinity stops (`epoch_reason`, `batch_reason`).
    - ``stopping_threshold``: a monitored value that reaches it stops: ``value <=
      threshold`` in ``"min"`` mode, ``value >= threshold`` in ``"max"`` mode.
    - ``divergence_threshold``: a monitored value worse than it stops: ``value >
      threshold`` in ``"min"`` mode, ``value < threshold`` in ``"max"`` mode.
    - ``max_time``: a run that has lasted ``max_time`` seconds stops (`time_reason`).

    At an epoch end the guards are asked in that order and the first that fires
    gives the reason. The threshold guards skip the warm-up epochs (before
    ``start_from_epoch``), as the patience rule does; ``check_finite`` and
    ``max_time`` do not. A NaN reaches no threshold and exceeds none (with
    ``check_finite`` off it stops nothing). Pausing auto-stop holds only the patience
    rule: the guards stop a paused run.

    Args:
        check_finite: stop at the first non-finite value. Defaults to ``False``.
        stopping_threshold: stop once the monitored value reaches this. Must not be
            NaN. Defaults to ``None``.
        divergence_threshold: stop once the monitored value is worse than this.
            Must not be NaN. Defaults to ``None``.
        max_time: seconds (or a ``datetime.timedelta``) a run may last. Must be > 0.
            Defaults to ``None``.
        precision: how values are compared with the thresholds, as in `MonitorRule`
            (``"float32"``: both sides rounded to float32 first, as Keras compares).
            Defaults to ``"float32"``.

    Raises:
        TypeError: ``check_finite`` is not a bool, a threshold is not a number, or
            ``max_time`` is neither a number nor a ``timedelta``.
        ValueError: a threshold is NaN, ``max_time`` is <= 0 or not finite, or
            ``precision`` is unknown.

    Example:

    >>> guards = StopGuards(check_finite=True, stopping_threshold=0.1)
    >>> [guards.epoch_reason(v, "min") for v in (0.5, float("nan"), 0.1)]
    [None, 'NaN/inf', 'stopping threshold reached']
    >>> guards.first_stop([0.5, 0.3, 0.2, 0.05], "min")
    (3, 'stopping threshold reached')
    """

    def __init__(
        self,
        check_finite: bool = False,
        stopping_threshold: float | None = None,
        divergence_threshold: float | None = None,
        max_time: float | datetime.timedelta | None = None,
        *,
        precision: Precision = "float32",
    ) -> None:
        if not isinstance(check_finite, bool):
            raise TypeError(
                "Expected check_finite to be a bool. "
                f"Received: check_finite={check_finite!r} of type {type(check_finite).__name__}"
            )
        if precision not in PRECISIONS:
            raise ValueError(f"Expected precision in {PRECISIONS}. Received: precision={precision!r}")
        self.check_finite = check_finite
        self.stopping_threshold = check_threshold("stopping_threshold", stopping_threshold)
        self.divergence_threshold = check_threshold("divergence_threshold", divergence_threshold)
        self.max_time = check_max_time(max_time)
        self.precision = precision

    @property
    def active(self) -> bool:
        """Whether any guard is on."""
        return self.check_finite or self.watches_values or self.max_time is not None

    @property
    def watches_values(self) -> bool:
        """Whether a threshold guard is on."""
        return self.stopping_threshold is not None or self.divergence_threshold is not None

    def _round(self, x: float) -> float:
        return _as_float32(x) if self.precision == "float32" else x

    def reached(self, value: float, mode: Mode) -> bool:
        """Whether ``value`` reaches ``stopping_threshold`` (``False`` when it is off)."""
        if self.stopping_threshold is None:
            return False
        v, t = self._round(value), self._round(self.stopping_threshold)
        return v <= t if mode == "min" else v >= t

    def diverged(self, value: float, mode: Mode) -> bool:
        """Whether ``value`` is worse than ``divergence_threshold`` (``False`` when off)."""
        if self.divergence_threshold is None:
            return False
        v, t = self._round(value), self._round(self.divergence_threshold)
        return v > t if mode == "min" else v < t

    def epoch_reason(self, value: float | None, mode: Mode, *, warm_up: bool = False) -> str | None:
        """The reason to stop at an epoch end, or ``None``.

        Args:
            value: the monitored value, ``None`` when missing (nothing fires).
            mode: the monitor's resolved direction.
            warm_up: the epoch is before ``start_from_epoch`` (thresholds skip it).
                Defaults to ``False``.

        Returns:
            ``STOP_NON_FINITE``, ``STOP_THRESHOLD``, ``STOP_DIVERGED`` or ``None``.
        """
        if value is None:
            return None
        value = float(value)
        if self.check_finite and not math.isfinite(value):
            return STOP_NON_FINITE
        if warm_up or math.isnan(value):
            return None
        if self.reached(value, mode):
            return STOP_THRESHOLD
        if self.diverged(value, mode):
            return STOP_DIVERGED
        return None

    def batch_reason(self, value: float | None) -> str | None:
        """``STOP_NON_FINITE`` when ``check_finite`` is on and a batch's value is NaN or
        infinite, else ``None`` (a missing value fires nothing)."""
        if self.check_finite and value is not None and not math.isfinite(value):
            return STOP_NON_FINITE
        return None

    def time_reason(self, elapsed: float) -> str | None:
        """``STOP_TIME_LIMIT`` once ``elapsed`` seconds reach ``max_time``, else ``None``."""
        if self.max_time is not None and elapsed >= self.max_time:
            return STOP_TIME_LIMIT
        return None

    def first_stop(
        self, values: Iterable[float | None], mode: Mode, start_from_epoch: int = 0
    ) -> tuple[int, str] | None:
        """The first 0-based epoch of ``values`` at which a value guard fires, and why.

        Args:
            values: one monitored value per epoch (``None``: missing).
            mode: the monitor's direction.
            start_from_epoch: warm-up epochs the thresholds skip. Defaults to ``0``.

        Returns:
            ``(epoch, reason)``, or ``None`` when no guard fires.
        """
        for epoch, value in enumerate(values):
            reason = self.epoch_reason(value, mode, warm_up=epoch < start_from_epoch)
            if reason is not None:
                return epoch, reason
        return None

    def __repr__(self) -> str:
        return (
            f"StopGuards(check_finite={self.check_finite}, "
            f"stopping_threshold={self.stopping_threshold!r}, "
            f"divergence_threshold={self.divergence_threshold!r}, max_time={self.max_time!r})"
        )
