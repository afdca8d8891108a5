"""widget-callbacks: watch and steer Keras training live in Jupyter."""

from __future__ import annotations

from ._checkpoint import CheckpointWatcher
from ._early_stopping import EarlyStoppingController
from ._widget import LivePlot
from .callbacks import LivePlotCallback

__version__ = "0.1.0"

__all__ = [
    "CheckpointWatcher",
    "EarlyStoppingController",
    "LivePlot",
    "LivePlotCallback",
    "__version__",
]
