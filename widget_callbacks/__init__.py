"""widget-callbacks: watch and steer Keras training live in Jupyter."""

from __future__ import annotations

from ._widget import LivePlot
from .callbacks import LivePlotCallback

__version__ = "0.1.0"

__all__ = [
    "LivePlot",
    "LivePlotCallback",
    "__version__",
]
