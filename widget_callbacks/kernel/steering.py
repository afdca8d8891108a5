"""Steering a running ``model.fit`` from the notebook while it blocks the cell.

(Over 300 lines: three ways a user ends a running fit, graceful SIGINT, a fit that raised
and fit_async, share the controller protocol and the interrupt guard; split, each part
would import the others.)

(Subshell routing and detecting what the kernel offers: ``_events.py``.)

- SIGINT (main thread only): ``GracefulInterrupt``/``Steering`` make the first
  Interrupt a graceful stop; a second one behaves as before (``KeyboardInterrupt``).
- An async cell: ``await fit_async(...)`` runs ``fit`` in a worker thread, and
  ipykernel handles comm messages during the await, in any front end.

No ipywidgets import; ipykernel and IPython are imported lazily and feature-detected.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import weakref
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, Protocol

from ..core.outcome import describe_exception
from ..core.records import StoppingSnapshot
from .cells import CellEndHook
from .events import async_fits
from .polling import shell_polling

__all__ = ["GracefulInterrupt", "Steering", "enable_steering", "fit_async", "graceful_interrupts"]

_SIGNAL_TICK = 0.1  # seconds between wake-ups of the main thread in fit_async


class InterruptibleController(Protocol):
    """The part of ``EarlyStoppingController`` that interrupts and fit-failure handling
    use (thread-safe). The control panel needs another part: ``_controls.SteerableController``."""

    @property
    def running(self) -> bool: ...

    def mark_interrupted(self) -> None: ...

    def mark_failed(self, message: str) -> None: ...

    def add_listener(self, fn: Callable[[StoppingSnapshot], None]) -> Callable[[], None]: ...


# --------------------------------------------------------------------------- SIGINT


class GracefulInterrupt:
    """A SIGINT handler that turns the first Interrupt into a graceful stop.

    The first SIGINT calls ``mark_interrupted()`` (it only assigns an attribute: safe
    in a signal handler): ``fit`` stops after the current batch and restores the best
    weights. A second SIGINT gets the previous handler's behaviour (in a kernel,
    ``KeyboardInterrupt``). ``install``/``uninstall`` are no-ops off the main thread.

    Args:
        *controllers: ``EarlyStoppingController`` instances to stop.

    Example:

    ```python
    guard = GracefulInterrupt(controller)
    guard.install()  # then fit, then, in a finally:
    guard.uninstall()
    ```
    """

    def __init__(self, *controllers: InterruptibleController) -> None:
        self._controllers = controllers
        self._previous: Any = None
        self._installed = False
        self._interrupts = 0

    @property
    def installed(self) -> bool:
        """Whether this handler is installed now."""
        return self._installed

    def install(self) -> bool:
        """Install the handler; returns ``False`` off the main thread."""
        if self._installed:
            return True
        if threading.current_thread() is not threading.main_thread():
            return False
        try:
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        except (ValueError, OSError):  # an embedding without signals
            return False
        self._interrupts = 0
        self._installed = True
        return True

    def uninstall(self) -> None:
        """Restore the previous handler (unless someone replaced ours since)."""
        if not self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._installed = False
        if signal.getsignal(signal.SIGINT) == self._handle:
            signal.signal(signal.SIGINT, self._previous)

    def __enter__(self) -> GracefulInterrupt:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._interrupts += 1
        if not self._installed or self._interrupts > 1:
            self._delegate(signum, frame)
            return
        for controller in self._controllers:
            controller.mark_interrupted()

    def _delegate(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous
        if previous is signal.SIG_IGN:
            return
        if callable(previous):
            previous(signum, frame)
            return
        raise KeyboardInterrupt  # SIG_DFL / unknown: what Python's default handler does


def graceful_interrupts(*controllers: InterruptibleController) -> GracefulInterrupt:
    """A ``GracefulInterrupt`` for a ``with`` block (installed on entry, restored on exit).

    Example:

    ```python
    with graceful_interrupts(controller):
        model.fit(x, y, epochs=100, callbacks=[controller])
    ```
    """
    return GracefulInterrupt(*controllers)


# --------------------------------------------------------------------------- plain fit in a cell


class Steering:
    """Graceful Interrupt and failure detection for a plain ``model.fit`` in a cell.

    A controller listener: at train begin on the main thread it installs a
    ``GracefulInterrupt`` and an IPython ``post_run_cell`` hook; train end undoes both.
    When ``fit`` raises, Keras skips ``on_train_end``: the hook (not run for ``silent``
    executions) restores the handler and calls ``mark_failed("Type: message")``; the
    exception reaches the cell unchanged. Fits on other threads are left alone.

    Args:
        controller: the ``EarlyStoppingController`` to steer.

    Example:

    ```python
    steering = enable_steering(controller)
    model.fit(x, y, epochs=100, callbacks=[controller])  # Interrupt stops gracefully
    steering.detach()
    ```
    """

    def __init__(self, controller: InterruptibleController) -> None:
        self._controller = controller
        self._guard = GracefulInterrupt(controller)
        self._active = False
        self._cell_hook = CellEndHook(self._post_run_cell)
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = controller.add_listener(self._on_snapshot)

    def detach(self) -> None:
        """Stop steering this controller (restores the handler if installed)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._finish()
        _STEERINGS.pop(self._controller, None)

    def _on_snapshot(self, snapshot: StoppingSnapshot) -> None:
        running = bool(self._controller.running)
        # A run's first snapshot has no epoch and no stop yet; it also marks a new run
        # after a fit that raised outside IPython (no post_run_cell to clean up).
        fresh = snapshot.last_epoch is None and snapshot.stop_reason is None
        with self._lock:
            begin = running and (fresh or not self._active)
            end = self._active and not running
            self._active = running
        if begin and threading.current_thread() is threading.main_thread():
            self._guard.uninstall()  # a stale handler from an aborted run
            self._guard.install()
            self._cell_hook.register()
        elif end:
            self._finish()

    def _finish(self) -> None:
        with self._lock:
            self._active = False
        self._guard.uninstall()
        self._cell_hook.unregister()

    def _post_run_cell(self, result: Any) -> None:
        """The cell that ran ``fit`` ended; on_train_end did not run if still running.

        Not ``post_execute``: the ``comm`` package fires that around every comm
        message, on whatever thread handles it. A cell ending on a subshell thread
        is not the one running ``fit`` on the main thread: ignored.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        self._finish()
        if not self._controller.running:
            return
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if error is not None:
            self._controller.mark_failed(describe_exception(error))
        else:
            self._controller.mark_failed("fit ended without on_train_end (exception caught in the cell)")


_STEERINGS: weakref.WeakKeyDictionary[Any, Steering] = weakref.WeakKeyDictionary()
_STEERINGS_LOCK = threading.Lock()


def enable_steering(controller: InterruptibleController) -> Steering:
    """Attach ``Steering`` to ``controller`` once; later calls return the same one.

    Args:
        controller: the ``EarlyStoppingController`` to steer.

    Example: ``enable_steering(controller)``, then ``model.fit(..., callbacks=[controller])``.
    """
    with _STEERINGS_LOCK:
        steering = _STEERINGS.get(controller)
        if steering is None:
            steering = Steering(controller)
            _STEERINGS[controller] = steering
        return steering


# --------------------------------------------------------------------------- fit_async


def _controllers_in(callbacks: Any) -> list[InterruptibleController]:
    if callbacks is None:
        return []
    items = getattr(callbacks, "callbacks", callbacks)  # a keras CallbackList
    if not isinstance(items, Sequence):
        items = list(items)
    return [
        cb
        for cb in items
        if callable(getattr(cb, "mark_interrupted", None)) and callable(getattr(cb, "mark_failed", None))
    ]


class _AwaitedFit:
    """A weak-referenceable owner of the shell polling for one ``fit_async``."""


async def fit_async(model: Any, *args: Any, callbacks: Any = None, **kwargs: Any) -> Any:
    """Run ``model.fit`` in a worker thread so the cell's widgets act during training.

    ipykernel handles comm messages (Stop, patience) during the await, with or without
    subshells. Output, progress bar and warnings land in the awaiting cell. Interrupt
    stops gracefully (a handler on the main thread around the await); a second one
    cancels the await, and the worker stops after its current batch.

    Args:
        model: a compiled Keras model.
        *args: positional arguments of ``model.fit`` (``x``, ``y``, ...).
        callbacks: ``model.fit``'s callbacks, passed by keyword. Controllers among
            them are marked interrupted on Interrupt and failed if ``fit`` raises.
            Defaults to `None`.
        **kwargs: other keyword arguments of ``model.fit``.

    Returns:
        The ``History`` returned by ``model.fit``. Exceptions propagate unchanged.

    Example:

    ```python
    history = await fit_async(model, x, y, epochs=50, callbacks=[controller])
    ```
    """
    controllers = _controllers_in(callbacks)
    guard = GracefulInterrupt(*controllers)
    guard.install()
    async_fits.add(1)
    # ipykernel 6 runs the awaiting cell's shell messages only after it: this loop, on
    # the main thread, handles our controls' pending clicks (kernel/polling.py).
    owner, polling = _AwaitedFit(), shell_polling()
    polled = polling.begin(owner)
    try:
        task = asyncio.ensure_future(asyncio.to_thread(model.fit, *args, callbacks=callbacks, **kwargs))
        while not task.done():
            # Wake the main thread now and then: a Python signal handler only runs
            # when the main thread executes bytecode, not while it sleeps in select().
            await asyncio.wait({task}, timeout=_SIGNAL_TICK)
            if polled:
                polling.poll()
        return task.result()
    except asyncio.CancelledError:
        for controller in controllers:
            if controller.running:
                controller.mark_interrupted()
        raise
    except Exception as error:
        for controller in controllers:
            if controller.running:
                controller.mark_failed(describe_exception(error))
        raise
    finally:
        if polled:
            polling.end(owner)
        async_fits.add(-1)
        guard.uninstall()
