"""Pure Python core of widget-callbacks: imports neither keras nor ipywidgets."""

from __future__ import annotations

from widget_callbacks._core.checkpoints import CheckpointLog
from widget_callbacks._core.monitor import MonitorRule
from widget_callbacks._core.state import CheckpointRecord, StoppingSnapshot
from widget_callbacks._core.stopping import EpochDecision, StoppingRule

__all__ = [
    "CheckpointLog",
    "CheckpointRecord",
    "EpochDecision",
    "MonitorRule",
    "StoppingRule",
    "StoppingSnapshot",
]
