"""Keras ``logs`` as the core takes them: metric name -> Python float.

Keras hands callbacks Python floats, NumPy scalars, arrays or backend tensors; the
core takes plain floats. This is the one place that converts them. An array of one
element (``F1Score`` on one unit logs shape ``(1,)``) is that element; a larger one
(``F1Score(average=None)``) gives one entry per component, ``f1_score[0]``,
``f1_score[1]``, ... (``val_f1_score[0]``; ``m[0,1]`` for more dimensions), drawn on
the metric's panel (``core.history.metric_family``). Arrays are duck-typed on
``shape``: NumPy is not imported here. This runs on every throttled batch, so plain
floats take the first, shortest path.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

_CONVERSION_ERRORS = (AttributeError, TypeError, ValueError, OverflowError)


def array_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of an array or tensor as ints; ``None`` when ``value`` has none.

    Python numbers, strings and lists give ``None``; so does a tensor of unknown shape.

    >>> import numpy as np
    >>> array_shape(np.zeros((1, 3))), array_shape(np.float32(1)), array_shape(0.5)
    ((1, 3), (), None)
    """
    shape = getattr(value, "shape", None)
    if shape is None or (type(shape) is tuple and None not in shape):
        return shape  # NumPy's and JAX's shapes are tuples of ints already
    try:
        return tuple(int(size) for size in shape)
    except _CONVERSION_ERRORS:
        return None


def _native(value: Any) -> Any:
    """A ``keras.Variable``'s backend tensor or variable; anything else as it is.

    A Keras variable has no ``item()`` and its ``numpy()`` warns (NumPy 2's ``copy``
    DeprecationWarning) on JAX and PyTorch. Duck-typed, as Keras is not imported here.
    """
    if type(value).__module__.startswith("keras.") and hasattr(value, "value"):
        return value.value
    return value


def _element(value: Any) -> Any:
    """The one element of a size-1 array or tensor as a Python object.

    ``item()`` (NumPy, JAX, torch) or ``numpy().item()`` (TensorFlow): unlike
    ``float()``, no "ndim > 0 to a scalar" DeprecationWarning (or TypeError), and no
    UserWarning for a PyTorch tensor that requires grad.
    """
    value = _native(value)
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return value.numpy().item()


def _components(value: Any, ndim: int) -> list[Any]:
    """The elements of an array or tensor in row-major order, as Python objects."""
    value = _native(value)
    tolist = getattr(value, "tolist", None)
    nested = tolist() if callable(tolist) else value.numpy().tolist()
    for _ in range(ndim - 1):
        nested = [element for row in nested for element in row]
    return list(nested)


def _number(value: Any, shape: tuple[int, ...] | None) -> float | None:
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        if shape is not None:  # an array or tensor, 0-d too: only one element is a number
            # Its element as a Python object, so a boolean array is refused as a bool is,
            # and a PyTorch tensor that requires grad converts without a UserWarning.
            return _number(_element(value), None) if math.prod(shape) == 1 else None
        return float(value)
    except _CONVERSION_ERRORS:
        return None


def to_float(value: Any) -> float | None:
    """Returns ``value`` as a Python float, or ``None`` when it is not one number.

    Accepts Python numbers, numpy scalars, and arrays and backend tensors
    (TensorFlow, JAX, PyTorch, ``keras.Variable``) with one element (of any shape:
    ``()``, ``(1,)``, ``(1, 1)``). Booleans (also boolean arrays), strings, lists,
    larger arrays and other objects give ``None``.

    >>> import numpy as np
    >>> to_float(np.array([0.25])), to_float(np.zeros(3)), to_float(True)
    (0.25, None, None)
    """
    return _number(value, array_shape(value))


def numeric_logs(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """The numeric entries of a Keras ``logs`` dict, as floats.

    A value with one element is that element; an array or tensor with more gives
    one entry per component, named by its index. Other entries are left out.

    >>> import numpy as np
    >>> numeric_logs({"loss": 0.5, "val_f1_score": np.array([0.25, 0.75]), "note": "x"})
    {'loss': 0.5, 'val_f1_score[0]': 0.25, 'val_f1_score[1]': 0.75}
    """
    if not logs:
        return {}
    out: dict[str, float] = {}
    for name, value in logs.items():
        kind = type(value)
        if kind is float:  # the usual case first: Keras's reduced metrics
            out[str(name)] = value
        elif kind is int:
            out[str(name)] = float(value)
        else:
            _add_entries(out, str(name), value)
    return out


def _add_entries(out: dict[str, float], name: str, value: Any) -> None:
    shape = array_shape(value)
    if not shape or math.prod(shape) == 1:
        number = _number(value, shape)
        if number is not None:
            out[name] = number
        return
    try:
        components = _components(value, len(shape))
    except _CONVERSION_ERRORS:
        return
    if len(shape) == 1:
        names = [f"{name}[{index}]" for index in range(len(components))]
    else:
        names = [
            f"{name}[{','.join(map(str, index))}]"
            for index in itertools.product(*(range(size) for size in shape))
        ]
    for component, element in zip(names, components):
        number = _number(element, None)
        if number is not None:
            out[component] = number
