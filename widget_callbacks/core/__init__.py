"""The pure core of widget-callbacks (standard library only): what happened in a run,
the monitor and stopping rules, the figure model and the protocol."""

from __future__ import annotations

from .checkpoints import CheckpointLog
from .monitor import MonitorRule
from .records import CheckpointRecord, StoppingSnapshot
from .stopping import EpochDecision, StoppingRule

__all__ = [
    "CheckpointLog",
    "CheckpointRecord",
    "EpochDecision",
    "MonitorRule",
    "StoppingRule",
    "StoppingSnapshot",
]
