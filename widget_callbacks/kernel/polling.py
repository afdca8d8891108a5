"""Our controls' clicks handled between batches of a plain ``fit`` on ipykernel 6 (Colab).

ipykernel 6 has no shell channel thread (``reconnect.py`` needs 7's): the main thread's
io_loop receives shell messages, so while a cell runs ``model.fit`` nothing is even
read off the socket, and a Stop click waits for the cell. Here, from
``EarlyStoppingController.on_train_batch_end`` (`poll_shell`), at most every
`INTERVAL` seconds, on the main thread, only while a fit that called `ShellPolling.begin`
runs:

1. ``shell_stream.flush(POLLIN)``: the waiting shell messages go through ipykernel's own
   callback (``schedule_dispatch``) into its ``msg_queue``; nothing runs (what
   ``do_one_iteration`` does before it runs one).
2. The queue is emptied and refilled, in the same order, with every item except the
   ``comm_msg``s for our controls: comm id in ``steering_comms`` (``comms.py``), the
   comm still open, ``data`` a dict naming a ``method``.
3. Those are handled in arrival order as ``Kernel.dispatch_shell`` does: the request as
   the shell's parent (so echoes and status carry it), busy status, the kernel's
   ``comm_msg`` handler, output flushed, idle status, pending shell replies sent; then
   the running cell's parent is given back (its output was flushed before).

So an ``execute_request`` queued behind the fit runs after it, a comm message for
another widget (or a closed or stale one, or a malformed one) waits for the cell, as
without this. Not done: ``pre_handler_hook``/``post_handler_hook`` (they would swap
the SIGINT handler the running cell saved), the control queue (ipykernel 6 has a
control thread). A handler runs on the main thread between two batches.

Feature-detected: `polling_support` says why not outside a kernel, on ipykernel < 6 or
>= 7 (the reconnect worker does it there), or when a private name is missing
(``_compat/ipykernel.py``). Errors are logged, never raised. The environment variable
``WIDGET_CALLBACKS_POLL=0`` (read at each ``begin``) turns it off.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from typing import Any

from .._compat import ipykernel as compat
from .cells import CellEndHook
from .comms import steering_comms
from .running import dispatch_support, kernel_for, running_kernel

__all__ = ["INTERVAL", "ShellPolling", "poll_shell", "polling_support", "shell_polling"]

log = logging.getLogger("widget_callbacks.polling")

INTERVAL = 0.1  # seconds between two looks at the shell socket
ENV_SWITCH = "WIDGET_CALLBACKS_POLL"


def polling_support(kernel: Any = None) -> str | None:
    """``None`` if the controls' clicks can be handled between batches here, else why not.

    Example: ``polling_support()`` is ``"not in an ipykernel kernel"`` in a script.
    """
    found = kernel_for(ENV_SWITCH, kernel)
    if isinstance(found, str):
        return found
    kernel, version = found
    if version[:1] != (6,):
        return f"ipykernel {'.'.join(map(str, version))} is not 6.x"
    return dispatch_support(kernel, ("comm_msg",)) or compat.shell_polling_support(kernel)


class ShellPolling:
    """Handles our controls' pending clicks from the batch hook while a fit holds it.

    ``begin`` acts only on the main thread (the one a plain ``fit`` in a cell blocks);
    `poll` only there; ``end`` from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owners: weakref.WeakSet[Any] = weakref.WeakSet()
        self._kernel: Any = None
        self._due = 0.0
        self._busy = False
        self._cell_hook = CellEndHook(self._post_run_cell)
        self.handled = 0  # our comm messages handled during fits, in all

    @property
    def active(self) -> bool:
        """Whether a fit holds it now."""
        return self._kernel is not None

    def begin(self, owner: Any) -> bool:
        """A fit starts (``on_train_begin``). Returns whether clicks are polled. Never raises."""
        try:
            if threading.current_thread() is not threading.main_thread():
                return False
            kernel = running_kernel()
            if kernel is None:
                return False
            with self._lock:
                if self._kernel is None:
                    reason = polling_support(kernel)
                    if reason is not None:
                        log.debug("shell polling off: %s", reason)
                        return False
                    self._kernel, self._due = kernel, 0.0
                    self._cell_hook.register()
                self._owners.add(owner)
                return True
        except Exception:
            log.exception("shell polling: begin failed")
            return False

    def end(self, owner: Any) -> None:
        """A fit ends (``on_train_end``): off once no fit holds it. Never raises."""
        with self._lock:
            self._owners.discard(owner)
            if not self._owners:
                self.end_all()

    def end_all(self) -> None:
        """Off, whoever holds it."""
        with self._lock:
            self._owners.clear()
            self._kernel = None
            self._cell_hook.unregister()

    def _post_run_cell(self, result: Any) -> None:
        # The cell that ran fit ended (on_train_end was skipped if fit raised).
        self.end_all()

    def poll(self) -> None:
        """From the batch hook: a time check, and every `INTERVAL` s our pending clicks."""
        kernel = self._kernel
        if kernel is None or self._busy:
            return
        now = time.monotonic()
        if now < self._due or threading.current_thread() is not threading.main_thread():
            return
        self._busy = True
        try:
            self.handled += self._serve(kernel)
        except Exception:
            log.exception("shell polling failed")
        finally:
            self._busy = False
            self._due = time.monotonic() + INTERVAL

    def _serve(self, kernel: Any) -> int:
        compat.receive_pending_shell(kernel)
        items = compat.take_shell_queue(kernel)
        if not items:
            return 0
        ours, kept = [], []
        try:
            for item in items:
                msg = self._ours(kernel, item)
                if msg is None:
                    kept.append(item)
                else:
                    ours.append(msg)
        except BaseException:
            compat.put_shell_queue(kernel, items)  # all back, in order
            raise
        compat.put_shell_queue(kernel, kept)  # everything else back, in order
        if not ours:
            return 0
        saved = compat.shell_parent(kernel)
        _flush_output()  # the running cell's output keeps its parent
        try:
            for idents, msg in ours:
                _dispatch(kernel, idents, msg)
        finally:
            kernel.set_parent(*saved, channel="shell")
        return len(ours)

    @staticmethod
    def _ours(kernel: Any, item: Any) -> tuple[Any, Any] | None:
        """``(idents, message)`` when ``item`` is a comm_msg for one of our open controls."""
        frames = compat.queued_shell_frames(kernel, item)
        if frames is None:
            return None
        session = kernel.session
        try:
            _, parts = session.feed_identities(frames, copy=False)
            # The header only, as ipykernel peeks (content=False stores no digest).
            wire = session.deserialize(parts, content=False, copy=False)
            header = wire["header"]
            if header.get("msg_type") != "comm_msg":
                return None
            content = session.unpack(wire["content"])
            comm_id = content.get("comm_id") if isinstance(content, dict) else None
            data = content.get("data") if isinstance(content, dict) else None
            if (
                not isinstance(comm_id, str)
                or comm_id not in steering_comms
                or comm_id not in kernel.comm_manager.comms
                or not isinstance(data, dict)
                or not isinstance(data.get("method"), str)
            ):
                return None
            idents, parts = session.feed_identities(frames, copy=False)
            return idents, session.deserialize(parts, content=True, copy=False)
        except Exception:  # unsigned, badly signed, malformed: left to ipykernel, as before
            log.debug("shell polling: a message left queued", exc_info=True)
            return None


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _dispatch(kernel: Any, idents: Any, msg: Any) -> None:
    """What ``Kernel.dispatch_shell`` does for one comm_msg, minus the handler hooks."""
    kernel.set_parent(idents, msg, channel="shell")
    compat.publish_status(kernel, "busy", msg)
    try:
        kernel.shell_handlers["comm_msg"](kernel.shell_stream, idents, msg)
    except Exception:
        log.exception("shell polling: comm_msg handler failed")
    finally:
        _flush_output()
        compat.publish_status(kernel, "idle", msg)
        compat.send_pending_shell(kernel)


_SERVICE = ShellPolling()

#: The batch hook's call (``EarlyStoppingController.on_train_batch_end``).
poll_shell = _SERVICE.poll


def shell_polling() -> ShellPolling:
    """The process's `ShellPolling`.

    Example, in a Keras callback:

    ```python
    def on_train_begin(self, logs=None):
        self._polls = shell_polling().begin(self)

    def on_train_batch_end(self, batch, logs=None):
        if self._polls:
            poll_shell()
    ```
    """
    return _SERVICE
