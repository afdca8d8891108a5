"""The one watcher of IPython's cells: whether one runs, when one starts and when it ends.

Keras skips ``on_train_end`` when ``fit`` raises or is interrupted, so the end of the
cell is where state kept for a run is given back (steering, the reconnect service, a
plot's status, its static copy). Everything that needs it subscribes here: the
watcher registers ``pre_run_cell``/``post_run_cell`` once per shell.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

_log = logging.getLogger(__name__)

CellListener = Callable[[Any], None]


def current_shell() -> Any:
    """The running IPython shell (with ``events``), or ``None`` outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "events") else None


class CellWatcher:
    """Whether a cell is executing, and callbacks when it ends (from any thread).

    Example:

    >>> watcher = CellWatcher()
    >>> unsubscribe = watcher.on_cell_end(lambda result: None)  # no IPython: waits
    >>> watcher.running, unsubscribe()
    (False, None)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shell: Any = None
        self._listeners: list[CellListener] = []
        self._start_listeners: list[CellListener] = []
        self.running = False

    def watch(self, shell: Any = None) -> bool:
        """Registers on ``shell`` (defaults to the running one), once; returns whether
        a shell is watched."""
        shell = current_shell() if shell is None else shell
        if shell is None:
            return self._shell is not None
        with self._lock:
            if self._shell is shell:
                return True
            if self._shell is not None:
                self._unregister(self._shell)
            self._shell = shell
            # Displays and fits come from cells: a first call on the main thread is in one.
            self.running = threading.current_thread() is threading.main_thread()
        shell.events.register("pre_run_cell", self._pre)
        shell.events.register("post_run_cell", self._post)
        return True

    def on_cell_end(self, fn: CellListener, shell: Any = None) -> Callable[[], None]:
        """Calls ``fn(result)`` (IPython's ``ExecutionResult``) each time a cell ends,
        until the returned function is called."""
        return self._subscribe(self._listeners, fn, shell)

    def on_cell_start(self, fn: CellListener, shell: Any = None) -> Callable[[], None]:
        """Calls ``fn(info)`` (IPython's ``ExecutionInfo``) each time a cell starts,
        until the returned function is called."""
        return self._subscribe(self._start_listeners, fn, shell)

    def _subscribe(self, listeners: list[CellListener], fn: CellListener, shell: Any) -> Callable[[], None]:
        self.watch(shell)
        with self._lock:
            listeners.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in listeners:
                    listeners.remove(fn)

        return unsubscribe

    def _unregister(self, shell: Any) -> None:
        for name, fn in (("pre_run_cell", self._pre), ("post_run_cell", self._post)):
            try:
                shell.events.unregister(name, fn)
            except ValueError:
                pass

    def _pre(self, info: Any = None) -> None:
        self.running = True
        with self._lock:
            listeners = list(self._start_listeners)
        self._call(listeners, info)

    def _post(self, result: Any = None) -> None:
        self.running = False
        with self._lock:
            listeners = list(self._listeners)
        self._call(listeners, result)

    @staticmethod
    def _call(listeners: list[CellListener], value: Any) -> None:
        for fn in listeners:
            try:
                fn(value)
            except Exception:  # one listener must not keep the others from running
                _log.exception("a cell listener failed")


_WATCHER = CellWatcher()


def cell_watcher() -> CellWatcher:
    """The process's one `CellWatcher`."""
    return _WATCHER


class CellEndHook:
    """``fn`` subscribed to the end of cells until unregistered (re-registering is a no-op).

    Args:
        fn: called with IPython's ``ExecutionResult`` when a cell ends.

    Example:

    >>> hook = CellEndHook(lambda result: None)
    >>> hook.register(); hook.unregister()  # no IPython here: both do nothing
    """

    def __init__(self, fn: CellListener, watcher: CellWatcher | None = None) -> None:
        self._fn = fn
        self._watcher = watcher or _WATCHER
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def registered(self) -> bool:
        return self._unsubscribe is not None

    def register(self, shell: Any = None) -> None:
        """Subscribes, unless already subscribed; outside IPython it does nothing."""
        if self._unsubscribe is not None or not self._watcher.watch(shell):
            return
        self._unsubscribe = self._watcher.on_cell_end(self._fn, shell)

    def unregister(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
