"""The one improvement rule: which direction is better, and by how much.

Keras pulls this logic out once (``keras/src/callbacks/monitor_callback.py``:
``_set_monitor_op`` and ``_is_improvement``) and shares it between
``EarlyStopping`` and ``ModelCheckpoint``. `MonitorRule` is the same rule in
plain Python, shared by the stopping rule, the checkpoint marks and the plot.

Pure Python: imports neither keras nor ipywidgets.
"""

from __future__ import annotations

import math
import numbers
import struct
from typing import Literal

from .records import Mode

#: How a metric's direction is told by the adapter: a compiled metric's
#: ``_direction`` in Keras is ``"up"`` (higher is better) or ``"down"``.
Direction = Literal["up", "down"]
Precision = Literal["float32", "float64"]

MODES: tuple[str, ...] = ("auto", "min", "max")
PRECISIONS: tuple[str, ...] = ("float32", "float64")

_FLT_MIN_NORMAL = 1.1754943508222875e-38


def _as_float32(x: float) -> float:
    """Rounds ``x`` to the nearest float32, as TensorFlow converts a Python float.

    Out-of-range values become infinities (TensorFlow raises there instead) and
    subnormals become zero, as TensorFlow's CPU kernels compare them.
    """
    try:
        y: float = struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)
    if y != 0.0 and -_FLT_MIN_NORMAL < y < _FLT_MIN_NORMAL:
        return 0.0
    return y


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r} of type {type(value).__name__}")
    return float(value)


class MonitorRule:
    """Decides whether a monitored value improves on a reference value.

    The same rule as Keras's ``MonitorCallback`` (3.15.1): in ``"min"`` mode a
    value improves when ``current - min_delta < reference``, in ``"max"`` mode
    when ``current - min_delta > reference`` (``min_delta`` is stored as its
    absolute value and negated once the mode resolves to ``"min"``, as Keras
    does); any reference of ``None`` is always improved on; comparisons with
    NaN are false, so a NaN never improves and nothing improves on a NaN.

    With ``precision="float32"`` (the default) both sides are rounded to
    float32 before comparing, because Keras's ``ops.less``/``ops.greater``
    convert Python floats to float32 tensors: two values that differ only
    beyond float32 precision are a tie, hence no improvement.

    The direction is resolved once, at the first `resolve` call (Keras resolves
    it at the first epoch end): ``"min"``/``"max"`` as given; ``"auto"`` gives
    ``"min"`` for ``"loss"``/``"val_loss"``, and the compiled metric's direction,
    supplied by the adapter, wins over that; with neither, ``ValueError``.

    Args:
        monitor: name of the monitored quantity. Defaults to ``"val_loss"``.
        mode: one of ``"auto"``, ``"min"``, ``"max"``. Defaults to ``"auto"``.
        min_delta: minimum change that counts as an improvement; its sign is
            ignored, as in Keras. Must be finite. Defaults to ``0``.
        precision: ``"float32"`` (as Keras compares Python floats) or
            ``"float64"``. Defaults to ``"float32"``.
        owner: name used in error messages, e.g. the callback's class name.
            Defaults to ``"MonitorRule"``.

    Example:

    >>> rule = MonitorRule("val_loss", min_delta=0.1)
    >>> rule.resolve()
    'min'
    >>> rule.is_improvement(0.85, 1.0), rule.is_improvement(0.95, 1.0)
    (True, False)
    >>> rule.min_delta
    -0.1
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        min_delta: float = 0,
        *,
        precision: Precision = "float32",
        owner: str = "MonitorRule",
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(
                f"monitor must be a str, the name of a logged metric. "
                f"Received: monitor={monitor!r} of type {type(monitor).__name__}"
            )
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
        delta = _check_number("min_delta", min_delta)
        if not math.isfinite(delta):
            raise ValueError(f"min_delta must be a finite number. Received: min_delta={min_delta!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}. Received: precision={precision!r}")
        self._monitor = monitor
        self._mode = mode
        self._min_delta = abs(delta)
        self._precision = precision
        self._owner = owner
        self._resolved: Mode | None = None

    @property
    def monitor(self) -> str:
        """The monitored metric name."""
        return self._monitor

    @property
    def mode(self) -> str:
        """The mode as configured: ``"auto"``, ``"min"`` or ``"max"``."""
        return self._mode

    @property
    def precision(self) -> str:
        """``"float32"`` or ``"float64"``: how values are compared."""
        return self._precision

    @property
    def resolved_mode(self) -> Mode | None:
        """``"min"`` or ``"max"`` once resolved, else ``None``."""
        return self._resolved

    @property
    def resolved(self) -> bool:
        """Whether the direction is known (`resolve` succeeded)."""
        return self._resolved is not None

    @property
    def min_delta(self) -> float:
        """``min_delta`` as Keras holds it: ``abs(min_delta)``, negated once the
        mode resolves to ``"min"``."""
        return self._min_delta

    def resolve(self, direction: Direction | None = None) -> Mode:
        """Fixes the direction, once; later calls return it unchanged.

        Args:
            direction: the compiled metric's direction for ``"auto"`` mode
                (``"up"`` or ``"down"``), or ``None`` when no compiled metric
                has the monitored name. Ignored in ``"min"``/``"max"`` mode.
                Defaults to ``None``.

        Returns:
            ``"min"`` or ``"max"``.

        Raises:
            ValueError: in ``"auto"`` mode, if the name is not ``"loss"`` or
                ``"val_loss"`` and no direction is given.
        """
        if self._resolved is not None:
            return self._resolved
        if direction not in (None, "up", "down"):
            raise ValueError(f"direction must be 'up', 'down' or None. Received: direction={direction!r}")
        resolved: Mode | None
        if self._mode in ("min", "max"):
            resolved = self._mode  # type: ignore[assignment]
        else:
            resolved = None
            if self._monitor.removeprefix("val_") == "loss":
                resolved = "min"
            if direction is not None:
                resolved = "max" if direction == "up" else "min"
            if resolved is None:
                raise ValueError(
                    f"{self._owner} callback received "
                    f"monitor={self._monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass "
                    "`mode='min'` in order to use the lowest value."
                )
        if resolved == "min":
            self._min_delta = -self._min_delta
        assert resolved is not None  # every branch above set it or raised
        self._resolved = resolved
        return resolved

    def is_improvement(self, current: float, reference: float | None) -> bool:
        """Whether ``current`` improves on ``reference`` (resolving if needed).

        Args:
            current: the new monitored value.
            reference: the best value so far or a baseline; ``None`` means
                there is none, and anything improves on it.

        Returns:
            ``True`` for a strict improvement by more than ``|min_delta|``.
        """
        if reference is None:
            return True
        mode = self._resolved if self._resolved is not None else self.resolve()
        lhs = float(current) - self._min_delta
        rhs = float(reference)
        if self._precision == "float32":
            lhs = _as_float32(lhs)
            rhs = _as_float32(rhs)
        return lhs < rhs if mode == "min" else lhs > rhs

    def __repr__(self) -> str:
        return (
            f"MonitorRule(monitor={self._monitor!r}, mode={self._mode!r}, "
            f"resolved_mode={self._resolved!r}, min_delta={self._min_delta!r})"
        )
