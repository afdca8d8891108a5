"""Keras ``logs`` as the core takes them: metric name -> Python float.

Keras hands callbacks Python floats, NumPy scalars, 0-d arrays or backend tensors;
the core takes plain floats. This is the one place that converts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def to_float(value: Any) -> float | None:
    """Returns ``value`` as a Python float, or ``None`` when it is not a number.

    Accepts Python numbers, numpy scalars, 0-d arrays and backend tensors (anything
    ``float()`` takes). Strings, lists and other objects give ``None``.
    """
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def numeric_logs(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """Keeps the entries of a Keras ``logs`` dict that are numbers, as floats."""
    if not logs:
        return {}
    out: dict[str, float] = {}
    for name, value in logs.items():
        number = to_float(value)
        if number is not None:
            out[str(name)] = number
    return out
