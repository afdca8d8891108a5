"""The learning rate as plain data: the multiplier's range, the changes worth a mark,
and the marks themselves.

The adapter (``adapters/learning_rate.py``) reads the optimizer's rate and applies the
multiplier; here are the rules, on numbers:

- `check_multiplier`: a multiplier is a number from `MULTIPLIER_MIN` to `MULTIPLIER_MAX`.
- `RateWatch`: which reads of the rate are a change to mark. A rate held in a variable
  (a constant rate) changes only when someone assigns it (``ReduceLROnPlateau``,
  ``LearningRateScheduler``, the multiplier): every change is marked. A schedule's rate
  changes at every step by design: only the multiplier's changes are marked.
- `LearningRateChange` and `learning_rate_overlays`: the marks on the learning-rate
  panel, one marker per change with the reason on hover.

Pure Python: imports neither keras nor ipywidgets.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .marks import axis_names
from .protocol import PALETTE

__all__ = [
    "LEARNING_RATE",
    "MULTIPLIER_MAX",
    "MULTIPLIER_MIN",
    "LearningRateChange",
    "RateWatch",
    "check_multiplier",
    "format_rate",
    "learning_rate_overlays",
    "multiplier_note",
]

#: The name of the learning-rate lane in the logs and the history, as Keras's
#: ``ReduceLROnPlateau`` and ``LearningRateScheduler`` log it.
LEARNING_RATE = "learning_rate"
MULTIPLIER_MIN = 0.1
MULTIPLIER_MAX = 10.0
#: At most this many change marks are drawn (the latest): the overlays are resent whole.
MAX_MARKS = 200


def check_multiplier(value: object) -> float:
    """``value`` as a float when it is a learning-rate multiplier, else an error.

    Args:
        value: a real number from ``0.1`` to ``10`` (both included).

    Returns:
        ``float(value)``.

    Raises:
        TypeError: ``value`` is not a real number (a bool is not one).
        ValueError: ``value`` is NaN or outside ``[0.1, 10]``.

    >>> check_multiplier(0.5)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            "Expected the learning-rate multiplier to be a number. "
            f"Received: multiplier={value!r} of type {type(value).__name__}"
        )
    number = float(value)
    if not MULTIPLIER_MIN <= number <= MULTIPLIER_MAX:  # NaN fails both comparisons
        raise ValueError(
            f"Expected a learning-rate multiplier from {MULTIPLIER_MIN:g} to {MULTIPLIER_MAX:g}. "
            f"Received: multiplier={value!r}"
        )
    return number


def format_rate(rate: float) -> str:
    """A learning rate as people write it: ``1e-3``, ``2.5e-4``, ``0.05``.

    >>> format_rate(0.001), format_rate(0.00025), format_rate(0.05), format_rate(1.0)
    ('1e-3', '2.5e-4', '0.05', '1')
    """
    if not math.isfinite(rate) or rate == 0 or 1e-2 <= abs(rate) < 1e4:
        return f"{rate:.3g}"
    mantissa, exponent = f"{rate:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def multiplier_note(old: float, new: float) -> str:
    """The reason of a change made with the multiplier control.

    >>> multiplier_note(1.0, 0.1), multiplier_note(0.1, 1.0)
    ('multiplier x1 → x0.1', 'multiplier x0.1 → x1 (undo)')
    """
    undo = " (undo)" if new == 1.0 else ""
    return f"multiplier x{old:g} → x{new:g}{undo}"


@dataclass(frozen=True)
class LearningRateChange:
    """A change of the learning rate, where it is drawn and why.

    Args:
        x: where on the epoch axis (a batch within epoch ``k`` is in ``(k - 1, k]``).
        epoch: the 1-based epoch during (or at whose end) the change was seen.
        old: the rate before.
        new: the rate after.
        reason: why, e.g. ``"ReduceLROnPlateau: val_loss did not improve for 2
            epochs"``, ``"multiplier x1 → x0.1"`` or ``"changed"``.
    """

    x: float
    epoch: int
    old: float
    new: float
    reason: str

    def describe(self) -> str:
        """``"learning rate 1e-3 → 1e-4 (ReduceLROnPlateau: ...)"``.

        >>> LearningRateChange(3.0, 3, 1e-3, 1e-4, "changed").describe()
        'learning rate 1e-3 → 1e-4 (changed)'
        """
        return f"learning rate {format_rate(self.old)} → {format_rate(self.new)} ({self.reason})"

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x, "epoch": self.epoch, "old": self.old, "new": self.new, "reason": self.reason}


class RateWatch:
    """Decides which reads of the rate are changes to mark.

    Args:
        schedule: the rate comes from a schedule (it changes at every step by design:
            only the changes reported with a read are marked). Defaults to ``False``.
        reason: the reason of a change seen without a report. Defaults to
            ``"changed"``.

    Example:

    >>> watch = RateWatch(reason="ReduceLROnPlateau: val_loss did not improve for 2 epochs")
    >>> watch.observe(1e-3, x=1.0, epoch=1), watch.observe(1e-3, x=2.0, epoch=2)  # first read, same
    ([], [])
    >>> [c.describe() for c in watch.observe(1e-4, x=3.0, epoch=3)]
    ['learning rate 1e-3 → 1e-4 (ReduceLROnPlateau: val_loss did not improve for 2 epochs)']
    """

    def __init__(self, *, schedule: bool = False, reason: str = "changed") -> None:
        self.schedule = schedule
        self.reason = reason
        self.last: float | None = None

    def observe(
        self, rate: float, *, x: float, epoch: int, reported: Sequence[LearningRateChange] = ()
    ) -> list[LearningRateChange]:
        """Takes one read of the rate; returns the changes to mark (oldest first).

        Args:
            rate: the rate read.
            x: where the read is drawn.
            epoch: its 1-based epoch.
            reported: changes their maker reported since the last read (the multiplier
                control): marked as reported, and a rate that differs only by them is
                no other change. Defaults to ``()``.
        """
        changes = list(reported)
        last = changes[-1].new if changes else self.last
        self.last = rate
        if last is None or self.schedule or rate == last or (math.isnan(rate) and math.isnan(last)):
            return changes
        changes.append(LearningRateChange(x, epoch, last, rate, self.reason))
        return changes


def learning_rate_overlays(panels: list[str], changes: list[LearningRateChange]) -> list[dict[str, Any]]:
    """The change marks: one marker trace on the learning-rate panel (none without one).

    Each marker is at the change's ``x`` and new rate; its hover says
    `LearningRateChange.describe`. At most the latest `MAX_MARKS` are drawn.
    """
    if not changes or LEARNING_RATE not in panels:
        return []
    shown = changes[-MAX_MARKS:]
    x, y = axis_names(panels.index(LEARNING_RATE))
    return [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "learning-rate change",
            "showlegend": False,
            "x": [c.x for c in shown],
            "y": [c.new if math.isfinite(c.new) else None for c in shown],
            "xaxis": x,
            "yaxis": y,
            "text": [html.escape(c.describe(), quote=False) for c in shown],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {
                "symbol": "triangle-down",
                "size": 11,
                "color": PALETTE["stop"],
                "line": {"color": "white", "width": 1},
            },
            "meta": {"role": "learning_rate_change"},
        }
    ]
