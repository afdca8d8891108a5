"""widget-callbacks: watch and steer Keras training live in Jupyter.

`LivePlot`, export and `from_history` load without Keras; the Keras-bound names
(the callbacks, the controller, the dashboard) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .export.files import save, save_history, to_figure
from .export.images import ChromiumNotFoundError
from .kernel.steering import fit_async
from .widgets.controls import ControlPanel
from .widgets.live_plot import LivePlot, from_history

if TYPE_CHECKING:
    from .adapters.checkpoint import CheckpointWatcher
    from .adapters.early_stopping import EarlyStoppingController
    from .widgets.callback import LivePlotCallback
    from .widgets.dashboard import TrainingDashboard

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

# Names whose modules import Keras (or a Keras-bound module): loaded on first use.
_LAZY = {
    "CheckpointWatcher": "adapters.checkpoint",
    "EarlyStoppingController": "adapters.early_stopping",
    "LivePlotCallback": "widgets.callback",
    "TrainingDashboard": "widgets.dashboard",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
