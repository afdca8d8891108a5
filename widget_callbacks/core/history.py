"""The metric history of one training run, as plain data.

Epochs are 1-based. Values are floats (NaN and inf kept as they are) or ``None``
where a metric was not logged in that epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .protocol import SIZES

VALIDATION_PREFIX = "val_"
#: Longest metric name shown whole in legends and axis titles; longer ones are
#: shortened in the middle (`short_name`). The front end imports the same number.
MAX_NAME_CHARS: int = SIZES["max_name_chars"]
ELLIPSIS = "\u2026"


def metric_family(name: str) -> str:
    """``"val_loss"`` -> ``"loss"``: the panel a metric is drawn on.

    The components of a vector metric, named by their index (``adapters/logs.py``),
    share the metric's panel, one line each.

    >>> metric_family("val_loss"), metric_family("val_f1_score[2]"), metric_family("m[0,1]")
    ('loss', 'f1_score', 'm')
    """
    if name.endswith("]"):
        start = name.rfind("[")
        if start > 0 and name[start + 1 : -1].replace(",", "").isdecimal():
            name = name[:start]
    if name.startswith(VALIDATION_PREFIX) and len(name) > len(VALIDATION_PREFIX):
        return name[len(VALIDATION_PREFIX) :]
    return name


def short_name(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """``name`` shortened to ``limit`` characters with a middle ellipsis (the start and
    the end of a metric name tell metrics apart: ``val_`` and a ``[2]`` index). The
    front end mirrors this rule; the full name stays in the hover text.

    The first ``ceil((limit - 1) / 2)`` and the last ``floor((limit - 1) / 2)``
    characters are kept around one ``\u2026``.

    >>> short_name("val_loss")
    'val_loss'
    >>> short_name("val_sparse_categorical_crossentropy_head_2")
    'val_sparse_c\u2026ropy_head_2'
    >>> len(short_name("x" * 30)), short_name("abcdefgh", limit=5)
    (24, 'ab\u2026gh')
    """
    name = str(name)
    if len(name) <= limit:
        return name
    keep = max(limit - 1, 0)
    head = (keep + 1) // 2
    tail = keep // 2
    return name[:head] + ELLIPSIS + (name[len(name) - tail :] if tail else "")


def json_number(value: float | None) -> float | str | None:
    """A value that JSON (and so the browser) accepts: non-finite floats become strings."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def elapsed_seconds(value: float | None) -> float | None:
    """A timestamp as stored and sent: seconds rounded to 3 decimals, ``None`` when
    unknown or not finite.

    >>> elapsed_seconds(12.34567), elapsed_seconds(None), elapsed_seconds(float("nan"))
    (12.346, None, None)
    """
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 3)


def from_json_number(value: Any) -> float | None:
    """Inverse of :func:`json_number`."""
    if value is None:
        return None
    if isinstance(value, str):
        return float(value)
    return float(value)


class RunHistory:
    """Epoch metrics of one run, in columns aligned with ``epochs``.

    Example:

    >>> history = RunHistory()
    >>> history.add_epoch(1, {"loss": 0.9, "val_loss": 1.0})  # the metrics seen first
    ['loss', 'val_loss']
    >>> history.add_epoch(2, {"loss": 0.7})
    []
    >>> history.column("val_loss")
    [1.0, None]
    """

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.metrics: dict[str, list[float | None]] = {}
        #: Seconds since the run started at each epoch's end (3 decimals), aligned
        #: with ``epochs``; ``None`` where the time is unknown (an old file, a CSV).
        self.times: list[float | None] = []

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last_epoch(self) -> int:
        """The last 1-based epoch recorded, 0 when empty."""
        return self.epochs[-1] if self.epochs else 0

    def clear(self) -> None:
        self.epochs = []
        self.metrics = {}
        self.times = []

    @property
    def last_time(self) -> float | None:
        """Seconds since the run started at the last epoch's end, if known."""
        return next((t for t in reversed(self.times) if t is not None), None)

    def add_epoch(self, epoch: int, logs: Mapping[str, float], time: float | None = None) -> list[str]:
        """Records one epoch's metrics, and the seconds since the run started at its
        end (``time``, rounded to 3 decimals; ``None``: unknown). Returns the metric
        names seen for the first time."""
        new_names = [name for name in logs if name not in self.metrics]
        for name in new_names:
            self.metrics[name] = [None] * len(self.epochs)
        self.epochs.append(int(epoch))
        self.times.append(elapsed_seconds(time))
        for name, column in self.metrics.items():
            column.append(logs.get(name))
        return new_names

    def column(self, name: str) -> list[float | None]:
        return list(self.metrics.get(name, [None] * len(self.epochs)))

    def value(self, name: str, epoch: int) -> float | None:
        """The value of ``name`` at a 1-based ``epoch``, or ``None``."""
        column = self.metrics.get(name)
        if column is None:
            return None
        # Epochs are increasing; a run that continues keeps numbering.
        for index in range(len(self.epochs) - 1, -1, -1):
            if self.epochs[index] == epoch:
                return column[index]
            if self.epochs[index] < epoch:
                break
        return None

    def to_dict(self) -> dict[str, Any]:
        """``{"epoch": [...], "<metric>": [...]}``, JSON-safe (non-finite as strings)."""
        data: dict[str, Any] = {"epoch": list(self.epochs)}
        for name, column in self.metrics.items():
            data[name] = [json_number(v) for v in column]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunHistory:
        if "epoch" not in data:
            raise ValueError(f"A history needs an 'epoch' column. Received columns: {sorted(data)}")
        history = cls()
        history.epochs = [int(e) for e in data["epoch"]]
        history.times = [None] * len(history.epochs)
        for name, column in data.items():
            if name == "epoch":
                continue
            values = [from_json_number(v) for v in column]
            if len(values) != len(history.epochs):
                raise ValueError(
                    f"Column {name!r} has {len(values)} values for {len(history.epochs)} epochs."
                )
            history.metrics[str(name)] = values
        return history
