"""Pure Python core of widget-callbacks: imports neither keras nor ipywidgets."""

from __future__ import annotations

from .checkpoints import CheckpointLog
from .monitor import MonitorRule
from .state import CheckpointRecord, StoppingSnapshot
from .stopping import EpochDecision, StoppingRule

__all__ = [
    "CheckpointLog",
    "CheckpointRecord",
    "EpochDecision",
    "MonitorRule",
    "StoppingRule",
    "StoppingSnapshot",
]
