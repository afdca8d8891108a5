"""A page reloaded while a plain ``model.fit`` blocks the cell gets its widgets back.

(Over 300 lines: the module docstring below explains the wire protocol it serves, and
the router, worker and service share private state of one installation.)

The problem (JupyterLab 4.6, ipykernel 7.4): on reconnect the page sends
``kernel_info_request`` on the shell channel without a subshell id. ipykernel's shell
channel thread hands it to the main shell, which is inside ``model.fit``, so the page
never learns the kernel's session (it drops every kernel message until it does) nor
that the kernel has subshells. The widget manager's ``jupyter.widget.control`` comm
(``comm_open`` + ``request_states``), and its fallback (``comm_info_request`` + one
``request_state`` per widget), carry no subshell id either and queue behind ``fit``:
the widgets come back when the cell ends.

What this does, only while a fit with our callbacks runs on the main thread:

- the shell socket's receive callback (ipykernel 7's ``Kernel.shell_channel_thread_main``,
  run on the "Shell channel" thread) is wrapped. The wrapper reads the header as
  ipykernel does and hands these messages to a dedicated thread instead of the main
  shell: ``kernel_info_request`` and ``comm_info_request`` without a subshell id;
  ``comm_open`` for target ``jupyter.widget.control`` without a subshell id;
  ``comm_msg``/``comm_close`` on such control comms; ``comm_msg`` whose method is
  ``request_state`` on a ``jupyter.widget`` comm; ``comm_msg``/``comm_close`` without
  a subshell id on our control widgets' comms (``comms.py``: Stop, the patience
  slider, pause), so they act during ``fit`` in front ends that send no subshell id
  (VS Code, JupyterLab < 4.4). Everything else goes to ipykernel's own routing,
  untouched, in order. No message is modified: the original frames are handed on.
- the dedicated thread runs an asyncio loop that handles them one at a time in
  arrival order, with the kernel's own handlers (``kernel.shell_handlers``), as
  ``Kernel.dispatch_shell`` does: busy status, handler, idle status, all with the
  request as parent. Replies to the shell socket are sent by the shell channel
  thread through the shell stream (what ipykernel's subshells do). The parent is set
  in this thread's context only: output of the running cell keeps its parent.
- it is installed at ``on_train_begin`` (main thread only) and removed at
  ``on_train_end``; an IPython ``post_run_cell`` hook removes it when the cell ends
  without ``on_train_end`` (an exception, an interrupt).

Why not an ipykernel subshell: ``Kernel.dispatch_shell`` asserts that a request other
than ``comm_msg``/``comm_close`` carries the id of the subshell handling it, so a
``kernel_info_request`` without one cannot be dispatched on a subshell without
rewriting its header, which would also change the parent header of every reply and
make ipykernel route the control comm's later messages to that subshell.

Handlers run off the main thread: ``request_states`` serializes every widget's state
there. ``LivePlot.get_state`` takes the plot's lock and copies its lists. Other widgets
are read as ipykernel's own subshells would read them. What a front end sees differs
from stock ipykernel only in timing, and in what ipykernel's subshells do as well:
the idle status after a served comm message makes the page show "idle" while fit
runs; a comm message handler triggers IPython's ``pre_execute``/``post_execute``
events on this thread; a served ``request_state`` makes ipykernel route that widget's
later messages to the main shell (it replied without a subshell id). If
``request_states`` raises (a widget created on the main thread while the states are
read), the page falls back after 4 s to ``comm_info_request`` + ``request_state``,
served here too.

Feature-detected: a no-op (``begin`` returns False) outside a kernel, on ipykernel < 7,
without subshells (no shell channel thread), or when the shell stream's callback is not
ipykernel's own (someone else wrapped it). Errors are logged, never raised. The
environment variable ``WIDGET_CALLBACKS_RECONNECT=0`` (read at each ``begin``) turns
it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .._compat import ipykernel as compat
from .cells import CellEndHook
from .comms import steering_comms
from .running import dispatch_support, kernel_for, running_kernel

__all__ = ["ReconnectService", "reconnect_service", "reconnect_support", "serve_reconnects_during_fit"]

log = logging.getLogger("widget_callbacks.reconnect")

CONTROL_TARGET = "jupyter.widget.control"
WIDGET_TARGET = "jupyter.widget"
#: Requests answered off the main shell when they carry no subshell id.
REQUESTS = frozenset({"kernel_info_request", "comm_info_request"})
#: Handlers with no side effect before their reply: retried if they raise
#: ``RuntimeError`` (a dict changed size while the main thread made a comm).
_RETRIED = REQUESTS
_RETRIES = 3
_SWAP_TIMEOUT = 2.0  # seconds to wait for the shell channel thread to swap callbacks
THREAD_NAME = "widget-callbacks-reconnect"
ENV_SWITCH = "WIDGET_CALLBACKS_RECONNECT"


def _main_shell_thread(kernel: Any) -> threading.Thread:
    """The thread that runs ipykernel's main shell (the one a plain ``fit`` blocks)."""
    thread = getattr(getattr(kernel, "shell_channel_thread", None), "parent_thread", None)
    return thread if isinstance(thread, threading.Thread) else threading.main_thread()


def reconnect_support(kernel: Any = None) -> str | None:
    """``None`` if the reconnect service can run in this kernel, else why not.

    Example: ``reconnect_support()`` is ``"not in an ipykernel kernel"`` in a script.
    """
    found = kernel_for(ENV_SWITCH, kernel)
    if isinstance(found, str):
        return found
    kernel, version = found
    if version < (7,):
        return f"ipykernel {'.'.join(map(str, version))} < 7 (no shell channel thread)"
    if not compat.supports_subshells(kernel):
        return "the kernel runs without subshells (no shell channel thread)"
    thread = getattr(kernel, "shell_channel_thread", None)
    loop = getattr(thread, "io_loop", None)
    if loop is None or not callable(getattr(loop, "add_callback", None)):
        return "no shell channel thread loop"
    stream = getattr(kernel, "shell_stream", None)
    if stream is None or not callable(getattr(stream, "on_recv", None)):
        return "no shell stream"
    if getattr(stream, "io_loop", None) is not loop:
        return "the shell stream does not run on the shell channel thread"
    original = getattr(kernel, "shell_channel_thread_main", None)
    if original is None or not inspect.iscoroutinefunction(original):
        return "no Kernel.shell_channel_thread_main coroutine"
    current = compat.shell_recv_callback(stream)
    if current != original and not _is_ours(current):
        return "the shell stream's callback is not ipykernel's own"
    problem = dispatch_support(kernel, (*REQUESTS, "comm_open", "comm_msg", "comm_close"))
    if problem is not None:
        return problem
    return compat.shell_parent_settable(kernel)


def _is_ours(callback: Any) -> bool:
    return isinstance(getattr(callback, "__self__", None), _Router)


class _ShellReplies:
    """Stands in for the shell socket in handlers: the shell channel thread sends.

    ipykernel's shell stream must only be used on its own thread (see
    ``SubshellManager._send_on_shell_channel``); the frames are copied to bytes first.
    """

    def __init__(self, kernel: Any) -> None:
        self._loop = kernel.shell_channel_thread.io_loop
        self._stream = kernel.shell_stream

    def send_multipart(self, parts: Any, copy: bool = True, track: bool = False) -> None:
        frames = [p if isinstance(p, bytes) else bytes(p) for p in parts]
        self._loop.add_callback(self._stream.send_multipart, frames)


_STOP = object()


class _Worker:
    """A thread with an asyncio loop that dispatches forwarded shell messages in order."""

    def __init__(self, kernel: Any, served: Counter[str], served_lock: threading.Lock) -> None:
        self._kernel = kernel
        self._replies = _ShellReplies(kernel)
        self._served, self._served_lock = served, served_lock
        self._loop = asyncio.new_event_loop()
        self._queue: asyncio.Queue[Any] | None = None
        self._ready = threading.Event()
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    def start(self, timeout: float) -> bool:
        self.thread.start()
        return self._ready.wait(timeout)

    def submit(self, frames: Any) -> None:
        """Thread-safe; raises RuntimeError once the loop is closed."""
        assert self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, frames)

    def stop(self) -> None:
        """Thread-safe: the loop ends after the messages submitted before."""
        self._stopped = True
        if self._queue is None:  # not started yet: _run returns at once
            return
        with contextlib.suppress(RuntimeError):  # already closed
            self._loop.call_soon_threadsafe(self._queue.put_nowait, _STOP)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._queue = asyncio.Queue()
            self._ready.set()
            if self._stopped:
                return
            self._loop.run_until_complete(self._serve())
        except Exception:
            log.exception("reconnect worker failed")
        finally:
            with contextlib.suppress(Exception):
                self._loop.close()

    async def _serve(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            if item is _STOP:
                return
            try:
                await self._dispatch(item)
            except Exception:
                log.exception("reconnect worker: dispatch failed")

    async def _dispatch(self, frames: Any) -> None:
        """What ``Kernel.dispatch_shell`` does, minus aborting and SIGINT hooks."""
        kernel = self._kernel
        session = kernel.session
        if session is None:
            return
        try:
            idents, parts = session.feed_identities(frames, copy=False)
            msg = session.deserialize(parts, content=True, copy=False)
        except Exception:
            log.exception("reconnect worker: invalid message")
            return
        msg_type = msg["header"]["msg_type"]
        handler = kernel.shell_handlers.get(msg_type)
        if handler is None:
            log.warning("reconnect worker: no handler for %r", msg_type)
            return
        # This task's context only (not Kernel.set_parent, which also sets the shell's
        # and the output streams' process-wide fallback parent).
        compat.set_shell_parent(kernel, idents, msg)
        compat.publish_status(kernel, "busy", msg)
        try:
            attempts = _RETRIES if msg_type in _RETRIED else 1
            for attempt in range(attempts):
                try:
                    result = handler(self._replies, idents, msg)
                    if inspect.isawaitable(result):
                        await result
                    break
                except RuntimeError:
                    if attempt + 1 == attempts:
                        raise
            with self._served_lock:
                self._served[msg_type] += 1
        except Exception:
            log.exception("reconnect worker: %s handler failed", msg_type)
        finally:
            compat.publish_status(kernel, "idle", msg)


class _Router:
    """The wrapper of the shell stream's callback, for one installation."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.stream = kernel.shell_stream
        self.shell_loop = kernel.shell_channel_thread.io_loop
        self.original = kernel.shell_channel_thread_main
        self.copy = False
        self.served: Counter[str] = Counter()
        self.served_lock = threading.Lock()
        self.worker = _Worker(kernel, self.served, self.served_lock)
        self.control_comms: set[str] = set()
        self.active = False
        self._forward_lock = threading.Lock()

    # -- main thread
    def start(self) -> bool:
        if not self.worker.start(_SWAP_TIMEOUT):
            self.worker.stop()
            return False
        self.active = True
        done, ok = threading.Event(), []

        def swap() -> None:
            try:
                if not self.active:
                    return
                if compat.shell_recv_callback(self.stream) != self.original:
                    log.warning("reconnect service: the shell stream's callback changed; not installed")
                    return
                self.copy = bool(getattr(self.stream, "_recv_copy", False))
                self.stream.on_recv(self.route, copy=self.copy)
                ok.append(True)
            except Exception:
                log.exception("reconnect service: install failed")
            finally:
                done.set()

        self.shell_loop.add_callback(swap)
        if not done.wait(_SWAP_TIMEOUT) or not ok:
            self.stop()
            return False
        return True

    def stop(self) -> None:
        with self._forward_lock:  # nothing is forwarded after the worker's stop marker
            self.active = False
            self.worker.stop()
        done = threading.Event()

        def unswap() -> None:
            try:
                if compat.shell_recv_callback(self.stream) == self.route:
                    self.stream.on_recv(self.original, copy=self.copy)
            except Exception:
                log.exception("reconnect service: uninstall failed")
            finally:
                done.set()

        try:
            self.shell_loop.add_callback(unswap)
        except Exception:
            log.exception("reconnect service: uninstall not scheduled")
            return
        # Until the swap back runs, route() passes everything through (active is False).
        done.wait(_SWAP_TIMEOUT)

    # -- shell channel thread
    async def route(self, msg: Any) -> None:
        try:
            if self.active and self._forward(msg):
                return
        except Exception:
            log.exception("reconnect service: routing failed; passed to ipykernel")
        await self.original(msg)

    def _forward(self, msg: Any) -> bool:
        session = self.kernel.session
        if session is None:
            return False
        try:
            _, parts = session.feed_identities(msg, copy=False)
            wire = session.deserialize(parts, content=False, copy=False)  # the header, as ipykernel
        except Exception:  # unsigned, badly signed, malformed: ipykernel logs and drops it
            log.debug("reconnect service: invalid message passed to ipykernel", exc_info=True)
            return False
        header = wire["header"]
        msg_type = header.get("msg_type")
        untagged = header.get("subshell_id") is None
        opened = None
        if msg_type in REQUESTS:
            wanted = untagged
        elif msg_type == "comm_open":
            content = session.unpack(wire["content"])
            wanted = untagged and content.get("target_name") == CONTROL_TARGET
            opened = content.get("comm_id")
        elif msg_type in ("comm_msg", "comm_close"):
            content = session.unpack(wire["content"])
            comm_id = content.get("comm_id")
            target = self._target(comm_id)
            data = content.get("data")
            wanted = (
                comm_id in self.control_comms
                or target == CONTROL_TARGET
                # Our controls, from a front end that names no subshell (VS Code, Lab < 4.4);
                # a comm the kernel no longer has is left to ipykernel, as before.
                or (untagged and target is not None and comm_id in steering_comms)
                or (
                    msg_type == "comm_msg"
                    and target == WIDGET_TARGET
                    and isinstance(data, dict)
                    and data.get("method") == "request_state"
                )
            )
        else:
            return False
        if not wanted:
            return False
        with self._forward_lock:
            if not self.active:
                return False
            self.worker.submit(msg)  # the original frames, unmodified
            if isinstance(opened, str):
                self.control_comms.add(opened)
        return True

    def _target(self, comm_id: Any) -> str | None:
        comms = getattr(getattr(self.kernel, "comm_manager", None), "comms", None)
        comm = comms.get(comm_id) if isinstance(comms, dict) and isinstance(comm_id, str) else None
        return getattr(comm, "target_name", None)


class ReconnectService:
    """Installs the routing while at least one owner (a running fit) holds it.

    Thread-safe. ``begin`` acts only on the thread of ipykernel's main shell (the one a
    plain ``fit`` in a cell blocks; a fit on another thread leaves it free); ``end``
    from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owners: weakref.WeakSet[Any] = weakref.WeakSet()
        self._router: _Router | None = None
        self._cell_hook = CellEndHook(self._post_run_cell)
        self._served: Counter[str] = Counter()
        self.installs = 0

    @property
    def installed(self) -> bool:
        """Whether the routing is on now."""
        router = self._router
        return router is not None and router.active

    def served(self) -> dict[str, int]:
        """How many messages of each type were handled off the main shell, in all."""
        with self._lock:
            total = Counter(self._served)
            router = self._router
            if router is not None:
                with router.served_lock:
                    total.update(router.served)
            return dict(total)

    def begin(self, owner: Any) -> bool:
        """A fit starts (``on_train_begin``): install unless already on.

        Returns whether the routing is on. Never raises.
        """
        try:
            kernel = running_kernel()
            if kernel is None or threading.current_thread() is not _main_shell_thread(kernel):
                return False
            with self._lock:
                self._owners.add(owner)
                if self._router is None:
                    reason = reconnect_support(kernel)
                    if reason is not None:
                        log.debug("reconnect service off: %s", reason)
                        return False
                    router = _Router(kernel)
                    if not router.start():
                        return False
                    self._router = router
                    self.installs += 1
                    self._cell_hook.register()
                return True
        except Exception:
            log.exception("reconnect service: begin failed")
            return False

    def end(self, owner: Any) -> None:
        """A fit ends (``on_train_end``): uninstall once no fit holds it. Never raises."""
        try:
            with self._lock:
                self._owners.discard(owner)
                if not self._owners:
                    self._uninstall()
        except Exception:
            log.exception("reconnect service: end failed")

    def end_all(self) -> None:
        """Uninstall whoever holds it. Never raises."""
        try:
            with self._lock:
                self._owners.clear()
                self._uninstall()
        except Exception:
            log.exception("reconnect service: end_all failed")

    def _uninstall(self) -> None:
        router, self._router = self._router, None
        self._cell_hook.unregister()
        if router is not None:
            router.stop()
            with router.served_lock:  # (the worker may still be draining: counted so far)
                self._served.update(router.served)

    def _post_run_cell(self, result: Any) -> None:
        # The cell that ran fit ended (on_train_end was skipped if fit raised). A cell
        # that ends on a subshell thread is another cell.
        router = self._router
        if router is not None and threading.current_thread() is _main_shell_thread(router.kernel):
            self.end_all()


_SERVICE = ReconnectService()


def reconnect_service() -> ReconnectService:
    """The process's `ReconnectService`.

    Example, in a Keras callback:

    ```python
    def on_train_begin(self, logs=None):
        reconnect_service().begin(self)

    def on_train_end(self, logs=None):
        reconnect_service().end(self)
    ```
    """
    return _SERVICE


@contextlib.contextmanager
def serve_reconnects_during_fit() -> Iterator[bool]:
    """A ``with`` block during which a reloaded page gets its widgets back.

    Yields whether the routing is on (False outside a kernel, on ipykernel < 7, off the
    main thread).

    Example:

    ```python
    with serve_reconnects_during_fit():
        model.fit(x, y, epochs=100, callbacks=[plot.callback])
    ```
    """
    owner = _Owner()
    on = _SERVICE.begin(owner)
    try:
        yield on
    finally:
        _SERVICE.end(owner)


class _Owner:
    """A weak-referenceable token for ``serve_reconnects_during_fit``."""
