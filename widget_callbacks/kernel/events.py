"""How the user's events can reach a controller while ``model.fit`` blocks the cell.

- Kernel subshells (ipykernel >= 7, JupyterLab >= 4.4, Notebook >= 7.4): control comm
  messages run on a subshell thread; ``route_comm_to_subshell`` undoes ipykernel 7.4's
  "reply to the last publisher" routing for our control comms.
- Front ends that send no subshell id (VS Code, JupyterLab < 4.4) with ipykernel 7: the
  controls' comm messages are taken off the shell channel by the reconnect service's
  worker thread while a plain ``fit`` runs (``register_steering_widget``,
  ``reconnect.py``).
- ipykernel 6 (Colab), no subshells and no shell channel thread: the controls'
  comm messages are handled from the controller's batch hook, between batches
  (``polling.py``).
- ``event_support`` detects what this kernel and front end offer (subshells, the
  shell-channel worker, the batch hook's polling, SIGINT, an awaited ``fit_async``) and
  says it in one sentence for the controls.

No ipywidgets import; ipykernel is imported lazily and feature-detected.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any

from .._compat import ipykernel as compat
from .comms import steering_comms
from .polling import polling_support
from .reconnect import reconnect_support
from .running import running_kernel

__all__ = [
    "EventDelivery", "EventSupport", "async_fits", "describe_event_support", "event_support",
    "register_steering_widget", "route_comm_to_subshell",
]  # fmt: skip


class _AwaitedFits:
    """How many ``fit_async`` calls are being awaited (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._count += n

    @property
    def running(self) -> bool:
        with self._lock:
            return self._count > 0


async_fits = _AwaitedFits()


# --------------------------------------------------------------------------- comm routing

_subshell_traffic_seen = threading.Event()  # a control comm message arrived tagged for a subshell


def _frontend_choice(data: Any, default: str | None) -> str | None:
    """Replacement for ``BaseComm._reply_subshell_for``: keep the front end's subshell."""
    if default is not None:
        _subshell_traffic_seen.set()
    return default


def _patch_comm(comm: Any) -> bool:
    """Route ``comm``'s incoming messages to the subshell the front end chose."""
    return compat.route_by_frontend(comm, _frontend_choice)


def route_comm_to_subshell(widget: Any) -> bool:
    """Let a control widget's comm messages run on the front end's kernel subshell.

    ipykernel 7.4 routes a comm's messages to the shell that last published on it:
    for a widget made in a cell or updated during ``fit``, the busy main shell. This
    overrides ``_reply_subshell_for`` (private, feature-detected) on this comm only,
    so the subshell in the message header is used. Only for widgets whose handlers
    touch thread-safe state.

    Args:
        widget: an ipywidgets/anywidget widget (anything with a ``comm`` attribute).

    Returns:
        ``True`` if applied; ``False`` outside a kernel, without subshells (6.x), or
        without that routing (7.0 to 7.3 honour the front end's subshell already).

    Example:

    ```python
    button = ipywidgets.Button(description="Stop")
    route_comm_to_subshell(button)
    ```
    """
    kernel = running_kernel()
    if kernel is None or not compat.supports_subshells(kernel):
        return False
    return _patch_comm(getattr(widget, "comm", None))


def register_steering_widget(widget: Any) -> bool:
    """Marks a control widget's comm as ours: its messages may run off the main shell.

    On a kernel subshell's thread when the front end names one
    (`route_comm_to_subshell`), else on the reconnect service's worker thread while a
    plain ``fit`` runs. Only for widgets whose handlers touch thread-safe state.

    Args:
        widget: an ipywidgets/anywidget widget (anything with a ``comm`` attribute).

    Returns:
        Whether its messages are routed to the front end's subshell (see
        `route_comm_to_subshell`).
    """
    comm_id = getattr(getattr(widget, "comm", None), "comm_id", None)
    if isinstance(comm_id, str):
        steering_comms.add(comm_id)
    return route_comm_to_subshell(widget)


def unregister_steering_widget(widget: Any) -> None:
    """Its messages wait for the main shell again (a closed control)."""
    comm_id = getattr(getattr(widget, "comm", None), "comm_id", None)
    if isinstance(comm_id, str):
        steering_comms.discard(comm_id)


# --------------------------------------------------------------------------- event support


class EventDelivery(str, enum.Enum):
    """How clicks on the controls reach a running ``fit``."""

    SUBSHELL = "subshell"  # a front end uses subshells: controls act during fit
    SHELL_THREAD = "shell-thread"  # no subshell id needed: the shell channel's worker
    BETWEEN_BATCHES = "between-batches"  # ipykernel 6: the batch hook handles them
    MAYBE_SUBSHELL = "maybe-subshell"  # the kernel can; the front end not seen doing it yet
    ASYNC = "async"  # a fit_async is being awaited: controls act during fit
    AFTER_CELL = "after-cell"  # clicks wait for the busy cell
    NO_KERNEL = "no-kernel"  # not in a Jupyter kernel


_SENTENCES: dict[EventDelivery, str] = {
    EventDelivery.SUBSHELL: "Stop and patience act during fit (kernel subshell).",
    EventDelivery.MAYBE_SUBSHELL: (
        "Stop acts during fit in front ends with kernel subshells (JupyterLab >= 4.4); "
        "elsewhere after this cell: use Interrupt or fit_async."
    ),
    EventDelivery.SHELL_THREAD: "Stop and patience act during fit.",
    EventDelivery.BETWEEN_BATCHES: "Stop and patience act during fit (between batches).",
    EventDelivery.ASYNC: "Stop and patience act during fit (awaited fit_async).",
    EventDelivery.AFTER_CELL: "Stop acts after this cell: use Interrupt or fit_async.",
    EventDelivery.NO_KERNEL: "Not in a Jupyter kernel: steer the controller from code.",
}


@dataclass(frozen=True)
class EventSupport:
    """Which mechanisms can deliver events during a blocking ``fit`` here.

    Args:
        in_kernel: running inside an ipykernel kernel.
        ipykernel_version: its version, or ``None``.
        kernel_subshells: the kernel runs subshell threads (ipykernel >= 7).
        comm_routing: control comms can be routed to subshells (7.4's override
            applies, or the kernel needs none).
        frontend_subshells: ``True`` once a front end created a subshell or sent a
            control message on one; ``None`` when not (yet) seen.
        sigint: a SIGINT handler can be installed (the caller is the main thread).
        async_fit: a ``fit_async`` is being awaited now.
        shell_thread: the controls' messages are taken off the shell channel during a
            plain ``fit`` (ipykernel 7, whatever the front end). Defaults to False.
        between_batches: the controls' messages are handled from the controller's
            batch hook during a plain ``fit`` (ipykernel 6). Defaults to False.
    """

    in_kernel: bool
    ipykernel_version: str | None
    kernel_subshells: bool
    comm_routing: bool
    frontend_subshells: bool | None
    sigint: bool
    async_fit: bool
    shell_thread: bool = False
    between_batches: bool = False

    @property
    def delivery(self) -> EventDelivery:
        """The mechanism controls rely on, best first."""
        if not self.in_kernel:
            return EventDelivery.NO_KERNEL
        if self.async_fit:
            return EventDelivery.ASYNC
        if self.kernel_subshells and self.comm_routing and self.frontend_subshells:
            return EventDelivery.SUBSHELL
        if self.shell_thread:
            return EventDelivery.SHELL_THREAD
        if self.between_batches:
            return EventDelivery.BETWEEN_BATCHES
        if self.kernel_subshells and self.comm_routing:
            return EventDelivery.MAYBE_SUBSHELL
        return EventDelivery.AFTER_CELL

    @property
    def sentence(self) -> str:
        """One sentence for the controls' status line."""
        return _SENTENCES[self.delivery]


def event_support() -> EventSupport:
    """Detect how events reach a running ``fit`` in this process; see ``EventSupport``.

    Example: ``if event_support().delivery is EventDelivery.AFTER_CELL: ...``
    """
    async_fit = async_fits.running
    on_main = threading.current_thread() is threading.main_thread()
    kernel = running_kernel()
    if kernel is None:
        return EventSupport(False, None, False, False, None, on_main, async_fit)
    try:
        import ipykernel

        version: str | None = str(ipykernel.__version__)
    except Exception:
        version = None
    subshells = compat.supports_subshells(kernel)
    routing = False
    frontend: bool | None = True if _subshell_traffic_seen.is_set() else None
    if subshells:
        base = compat.comm_base_class()
        routing = base is not None and (
            not compat.has_reply_routing(base) or compat.reply_routing_patchable(base)
        )
        if compat.frontend_subshells(kernel):
            frontend = True
    shell_thread = reconnect_support(kernel) is None
    batches = polling_support(kernel) is None
    return EventSupport(
        True, version, subshells, routing, frontend, on_main, async_fit, shell_thread, batches
    )


def describe_event_support() -> str:
    """One sentence saying when the controls act, e.g. after the cell or during fit.

    Example: ``describe_event_support()`` gives, in VS Code,
    ``"Stop acts after this cell: use Interrupt or fit_async."``
    """
    return event_support().sentence
