"""The ipykernel kernel this process runs in, if any, and what its shell can dispatch
(shared by steering, reconnect and polling)."""

from __future__ import annotations

import os
from collections.abc import Iterable
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


def kernel_for(env_switch: str, kernel: Any = None) -> tuple[Any, tuple[int, ...]] | str:
    """``(kernel, ipykernel version)``, or why not: ``env_switch`` set to ``0``, not in a
    kernel, or an unknown ipykernel version. ``kernel`` defaults to the running one."""
    if os.environ.get(env_switch, "").strip() == "0":
        return f"turned off by {env_switch}=0"
    kernel = kernel if kernel is not None else running_kernel()
    if kernel is None:
        return "not in an ipykernel kernel"
    try:
        import ipykernel

        version = tuple(getattr(ipykernel, "version_info", (0,)))
    except Exception:
        return "ipykernel version unknown"
    return kernel, version


def dispatch_support(kernel: Any, handlers: Iterable[str]) -> str | None:
    """``None`` when ``kernel`` can deserialize shell messages and has the ``handlers``
    (``shell_handlers``) and a comm manager, else why not."""
    session = getattr(kernel, "session", None)
    if session is None or not all(
        callable(getattr(session, m, None)) for m in ("feed_identities", "deserialize", "unpack")
    ):
        return "no kernel session"
    known = getattr(kernel, "shell_handlers", None)
    if not isinstance(known, dict) or not all(callable(known.get(t)) for t in handlers):
        return "missing shell handlers"
    if not isinstance(getattr(getattr(kernel, "comm_manager", None), "comms", None), dict):
        return "no comm manager"
    return None
