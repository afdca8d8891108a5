"""The ipykernel kernel this process runs in, if any (shared by steering and reconnect)."""

from __future__ import annotations

from typing import Any


def running_kernel() -> Any | None:
    """The running ipykernel ``Kernel`` of this process, or ``None`` outside a kernel."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    try:
        return Kernel.instance() if Kernel.initialized() else None
    except Exception:  # a half-initialised kernel or an exotic embedding
        return None
