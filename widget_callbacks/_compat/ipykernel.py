"""ipykernel private names (read against ipykernel 6.17 to 7.4). Used by ``kernel`` only."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any


def supports_subshells(kernel: Any) -> bool:
    """``Kernel._supports_kernel_subshells`` (ipykernel >= 7: a shell channel thread
    and subshell threads); ``False`` when absent."""
    return bool(getattr(kernel, "_supports_kernel_subshells", False))


def comm_base_class() -> type | None:
    """``ipykernel.comm.comm.BaseComm``, or ``None``."""
    try:
        from ipykernel.comm.comm import BaseComm
    except ImportError:
        return None
    return BaseComm


def reply_routing_patchable(comm_class: type | None) -> bool:
    """Whether ``comm_class`` has ipykernel 7.4's ``_reply_subshell_for(data, default)``."""
    method = getattr(comm_class, "_reply_subshell_for", None)
    if method is None or not callable(method):
        return False
    try:
        params = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return False
    return params == ["self", "data", "default"]


def has_reply_routing(comm_class: type | None) -> bool:
    """Whether ``comm_class`` routes replies itself (ipykernel 7.4's ``_reply_subshell_for``)."""
    return hasattr(comm_class, "_reply_subshell_for")


def route_by_frontend(comm: Any, choose: Callable[[Any, str | None], str | None]) -> bool:
    """Replaces ``_reply_subshell_for`` on this comm instance only; returns whether it
    could (the class must have 7.4's method)."""
    if comm is None or not reply_routing_patchable(type(comm)):
        return False
    comm._reply_subshell_for = choose
    return True


def frontend_subshells(kernel: Any) -> bool:
    """Whether a front end created a subshell (``shell_channel_thread.manager.list_subshell``)."""
    try:
        return bool(kernel.shell_channel_thread.manager.list_subshell())
    except Exception:
        return False


def shell_recv_callback(stream: Any) -> Any:
    """The callback a ZMQStream hands received messages to (``ZMQStream._recv_callback``)."""
    return getattr(stream, "_recv_callback", None)


def shell_parent_settable(kernel: Any) -> str | None:
    """``None`` when `set_shell_parent` and `publish_status` work on ``kernel``, else why not."""
    for name in ("_shell_parent", "_shell_parent_ident"):
        if not isinstance(getattr(kernel, name, None), ContextVar):
            return f"Kernel.{name} is not a ContextVar"
    return publish_status_support(kernel)


def publish_status_support(kernel: Any) -> str | None:
    """``None`` when `publish_status` works on ``kernel`` (6.x and 7.x), else why not."""
    try:
        if "parent" not in inspect.signature(kernel._publish_status).parameters:
            raise TypeError
    except (AttributeError, TypeError, ValueError):
        return "no Kernel._publish_status(status, channel, parent)"
    return None


def set_shell_parent(kernel: Any, idents: Any, msg: Any) -> None:
    """Sets the request being handled, in the calling context only (not
    ``Kernel.set_parent``, which also sets process-wide fallbacks)."""
    kernel._shell_parent_ident.set(idents)
    kernel._shell_parent.set(msg)


def publish_status(kernel: Any, status: str, parent: Any) -> None:
    """``Kernel._publish_status(status, "shell", parent=...)``: busy/idle on IOPub."""
    kernel._publish_status(status, "shell", parent=parent)


# -- ipykernel 6 (read against 6.17.1, Colab's; 6.x receives shell messages on the main
# thread's io_loop: ``shell_stream.on_recv(partial(schedule_dispatch, dispatch_shell))``
# appends ``(index, dispatch, (frames,))`` to ``msg_queue``, which ``dispatch_queue``
# runs one at a time; ipykernel 7 replaced this with a shell channel thread).


def shell_polling_support(kernel: Any) -> str | None:
    """``None`` when the ipykernel 6 functions below work on ``kernel``, else why not."""
    stream = getattr(kernel, "shell_stream", None)
    if not callable(getattr(stream, "flush", None)):
        return "no Kernel.shell_stream.flush"
    queue = getattr(kernel, "msg_queue", None)
    if not all(callable(getattr(queue, m, None)) for m in ("get_nowait", "put_nowait", "qsize")):
        return "no Kernel.msg_queue"
    if not callable(getattr(kernel, "dispatch_shell", None)):
        return "no Kernel.dispatch_shell"
    if not isinstance(getattr(kernel, "_parent_ident", None), dict) or not callable(
        getattr(kernel, "get_parent", None)
    ):
        return "no Kernel._parent_ident / get_parent"
    return publish_status_support(kernel)


def receive_pending_shell(kernel: Any) -> None:
    """``shell_stream.flush(POLLIN)``: every message waiting on the shell socket goes
    through ipykernel's own callback (``schedule_dispatch``) into ``msg_queue``; nothing
    runs (what ``Kernel.do_one_iteration`` does before it runs one)."""
    import zmq

    kernel.shell_stream.flush(zmq.POLLIN)


def send_pending_shell(kernel: Any) -> None:
    """``shell_stream.flush(POLLOUT)``: replies queued on the shell stream go out now
    (``dispatch_shell`` does it after each handler)."""
    import zmq

    kernel.shell_stream.flush(zmq.POLLOUT)


def take_shell_queue(kernel: Any) -> list[Any]:
    """Empties ``msg_queue`` (a tornado ``Queue``); returns its items in order."""
    queue, items = kernel.msg_queue, []
    while queue.qsize():
        items.append(queue.get_nowait())
    return items


def put_shell_queue(kernel: Any, items: list[Any]) -> None:
    """Appends ``items`` to ``msg_queue``, in this order (their indices unchanged)."""
    for item in items:
        kernel.msg_queue.put_nowait(item)


def queued_shell_frames(kernel: Any, item: Any) -> Any | None:
    """The wire frames of a ``msg_queue`` item that ``dispatch_shell`` would handle,
    else ``None`` (e.g. ``_abort_queues``'s ``stop_aborting``)."""
    try:
        _, dispatch, args = item
    except (TypeError, ValueError):
        return None
    if dispatch != kernel.dispatch_shell or not isinstance(args, tuple) or len(args) != 1:
        return None
    return args[0]


def shell_parent(kernel: Any) -> tuple[Any, Any]:
    """The shell's current ``(idents, parent)`` (``Kernel._parent_ident["shell"]``), to
    give back with ``Kernel.set_parent(idents, parent, "shell")``."""
    return kernel._parent_ident.get("shell", b""), kernel.get_parent("shell")


def probe() -> dict[str, bool]:
    """Whether each private name above exists in the installed ipykernel (the canary;
    instance attributes are checked on the class or its ``__init__`` source). The
    names of the installed major version: 7's subshell names, or 6's shell queue."""
    import ipykernel
    from ipykernel.kernelbase import Kernel

    source = inspect.getsource(Kernel)
    found = {
        "Kernel._publish_status(parent=)": "parent" in inspect.signature(Kernel._publish_status).parameters,
        "ZMQStream._recv_callback": "_recv_callback" in _zmqstream_source(),
    }
    if tuple(ipykernel.version_info)[:1] < (7,):
        start = inspect.getsource(Kernel.start)
        dispatcher = getattr(Kernel, "schedule_dispatch", None)  # (6.x only)
        queued = inspect.getsource(dispatcher) if callable(dispatcher) else ""
        return {
            **found,
            "Kernel.msg_queue (tornado Queue)": "self.msg_queue" in start and "Queue" in source,
            "msg_queue items (index, dispatch, args)": "(idx,dispatch,args" in "".join(queued.split()),
            "shell_stream.on_recv(schedule_dispatch(dispatch_shell))": "self.schedule_dispatch" in start
            and "self.dispatch_shell" in start,
            "Kernel._parent_ident['shell']": "_parent_ident" in source and "get_parent" in source,
            "ZMQStream.flush": callable(getattr(_zmqstream(), "flush", None)),
        }
    base = comm_base_class()
    return {
        **found,
        "Kernel._supports_kernel_subshells": "_supports_kernel_subshells" in source,
        "Kernel._shell_parent (ContextVar)": "_shell_parent" in source and "ContextVar" in source,
        "BaseComm._reply_subshell_for(data, default)": reply_routing_patchable(base)
        or not has_reply_routing(base),
        "SubshellManager.list_subshell": _has_list_subshell(),
    }


def _zmqstream() -> type:
    from zmq.eventloop.zmqstream import ZMQStream

    return ZMQStream


def _zmqstream_source() -> str:
    from zmq.eventloop.zmqstream import ZMQStream

    return inspect.getsource(ZMQStream)


def _has_list_subshell() -> bool:
    try:
        from ipykernel.subshell_manager import SubshellManager
    except ImportError:
        return False
    return callable(getattr(SubshellManager, "list_subshell", None))
