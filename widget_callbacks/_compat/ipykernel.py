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


def probe() -> dict[str, bool]:
    """Whether each private name above exists in the installed ipykernel (the canary;
    instance attributes are checked on the class or its ``__init__`` source)."""
    from ipykernel.kernelbase import Kernel

    source = inspect.getsource(Kernel)
    base = comm_base_class()
    return {
        "Kernel._supports_kernel_subshells": "_supports_kernel_subshells" in source,
        "Kernel._shell_parent (ContextVar)": "_shell_parent" in source and "ContextVar" in source,
        "Kernel._publish_status(parent=)": "parent" in inspect.signature(Kernel._publish_status).parameters,
        "BaseComm._reply_subshell_for(data, default)": reply_routing_patchable(base)
        or not has_reply_routing(base),
        "ZMQStream._recv_callback": "_recv_callback" in _zmqstream_source(),
        "SubshellManager.list_subshell": _has_list_subshell(),
    }


def _zmqstream_source() -> str:
    from zmq.eventloop.zmqstream import ZMQStream

    return inspect.getsource(ZMQStream)


def _has_list_subshell() -> bool:
    try:
        from ipykernel.subshell_manager import SubshellManager
    except ImportError:
        return False
    return callable(getattr(SubshellManager, "list_subshell", None))
