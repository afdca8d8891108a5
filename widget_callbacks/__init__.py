"""widget-callbacks: watch and steer Keras training live in Jupyter."""

from __future__ import annotations

from ._checkpoint import CheckpointWatcher
from ._controls import ControlPanel
from ._dashboard import TrainingDashboard
from ._early_stopping import EarlyStoppingController
from ._widget import LivePlot
from ._steering import fit_async
from .callbacks import LivePlotCallback
from .export import ChromiumNotFoundError, from_history, save, save_history, to_figure

__version__ = "0.1.0"

__all__ = [
    "CheckpointWatcher",
    "ChromiumNotFoundError",
    "ControlPanel",
    "EarlyStoppingController",
    "LivePlot",
    "LivePlotCallback",
    "TrainingDashboard",
    "fit_async",
    "from_history",
    "save",
    "save_history",
    "to_figure",
    "__version__",
]
