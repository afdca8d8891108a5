"""ipywidgets controls for an ``EarlyStoppingController``: Stop, patience, the learning-rate
multiplier, pause, status.

(Over 300 lines: five controls, each with a handler that only sets the controller's
state and puts the control back when refused, and one listener syncing them all.)

Threads: the handlers below may run on a kernel subshell thread (see
``kernel.events.route_comm_to_subshell``) while ``fit`` runs on the main thread, and the
controller's listener runs on the fit thread. So:

- handlers only call the controller's thread-safe API (``stop``, ``set_patience``,
  ``set_learning_rate_multiplier``, ``paused``), never the model, its optimizer or a
  plot (the controller applies the multiplier on the training thread at its next
  hook);
- the listener only sets traits (kernel -> front end updates flow at all times);
- one re-entrant lock per panel serialises every trait write on these widgets:
  front-end messages (``_handle_msg``, which runs ``set_state`` and the observers)
  and listener updates, so neither sees the other's half-applied state.
"""

from __future__ import annotations

import contextlib
import html
import logging
import math
import threading
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets

from .._compat import ipywidgets as compat
from ..core.learning_rate import MULTIPLIER_MAX, MULTIPLIER_MIN
from ..core.outcome import STOP_BY_HAND, STOP_COMPLETED, status_text
from ..core.protocol import STATUS_TRAINING, STATUS_WAITING
from ..core.records import StoppingSnapshot
from ..kernel.events import event_support, register_steering_widget, unregister_steering_widget
from ..kernel.steering import InterruptibleController, enable_steering

__all__ = ["ControlPanel", "status_text"]

_log = logging.getLogger(__name__)

_SLIDER_MIN_MAX = 50


class SteerableController(InterruptibleController, Protocol):
    """The part of ``EarlyStoppingController`` the panel uses (thread-safe): what
    steering needs, plus the controls' own."""

    paused: bool

    @property
    def patience(self) -> int: ...

    def stop(self, reason: str = STOP_BY_HAND) -> None: ...

    def set_patience(self, n: int) -> None: ...

    # Also used when present: ``learning_rate_multiplier`` and
    # ``set_learning_rate_multiplier(value)`` (the LR control stays disabled without).

    def snapshot(self) -> StoppingSnapshot: ...


_METHODS = frozenset({"update", "request_state", "custom"})  # what ipywidgets 7 and 8 handle


class _Guarded:
    """Mixin: front-end messages are handled under the panel's lock; a malformed one
    (no known method, a state the traits refuse) is ignored with a debug log."""

    _wc_lock: threading.RLock | None = None

    def _handle_msg(self, msg: dict[str, Any]) -> None:
        content = msg.get("content") if isinstance(msg, dict) else None
        data = content.get("data") if isinstance(content, dict) else None
        if not isinstance(data, dict) or data.get("method") not in _METHODS:
            _log.debug("ignored a malformed control message: %r", msg)
            return
        try:
            with self._wc_lock or contextlib.nullcontext():
                compat.handle_msg(_Guarded, self, msg)
        except Exception:
            _log.debug("ignored a control message that could not be applied", exc_info=True)


class _Button(_Guarded, ipywidgets.Button):
    pass


class _IntSlider(_Guarded, ipywidgets.IntSlider):
    pass


class _ToggleButton(_Guarded, ipywidgets.ToggleButton):
    pass


class _FloatLogSlider(_Guarded, ipywidgets.FloatLogSlider):
    pass


def _failure_message(controller: Any) -> str | None:
    value = getattr(controller, "failure_message", None)
    return value if isinstance(value, str) and value else None


class ControlPanel:
    """Stop, patience and pause controls that act on a controller while ``fit`` runs.

    The controls are disabled before and after a run; the controller's listener
    enables them at train begin. The status line says what happens (waiting,
    training epoch k, stopped by hand at epoch k, batch j, patience exhausted,
    failed: ..., finished) and when clicks act in this front end (see
    ``describe_event_support``). Each control's comm is routed to the front end's
    kernel subshell so clicks are handled during a blocking ``fit``.

    Attributes: ``widget`` (the ``HBox`` to display; the panel itself displays it
    too), ``stop_button``, ``patience_slider``, ``lr_slider`` (the learning-rate
    multiplier, x0.1 to x10 on a log scale), ``lr_undo`` (back to x1),
    ``pause_toggle``, ``status`` (HTML, escaped text) and ``routed`` (every control
    comm was routed to a subshell).

    Args:
        controller: the ``EarlyStoppingController`` to steer.
        steering: turn on graceful Interrupt and the report of a ``fit`` that raised
            now (``kernel.steering.enable_steering``); the controller also does it
            itself at ``on_train_begin`` in IPython. Not for a controller made with
            ``graceful_interrupt=False``. Defaults to `True`.

    Example:

    ```python
    controller = EarlyStoppingController(monitor="val_loss", patience=5)
    panel = ControlPanel(controller)
    display(panel)
    model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[controller])
    ```
    """

    def __init__(self, controller: SteerableController, *, steering: bool = True) -> None:
        if not callable(getattr(controller, "add_listener", None)):
            raise TypeError(
                "controller must be an EarlyStoppingController (with add_listener). "
                f"Received: controller={controller!r}"
            )
        self._controller = controller
        self._lock = threading.RLock()
        self._syncing = False
        patience = int(controller.patience)
        self.stop_button = _Button(
            description="Stop", icon="stop", button_style="danger", disabled=True,
            tooltip="Stop training after the current batch (best weights are restored)",
        )  # fmt: skip
        self.patience_slider = _IntSlider(
            value=patience, min=0, max=max(_SLIDER_MIN_MAX, 2 * patience),
            description="Patience", continuous_update=False, disabled=True,
        )  # fmt: skip
        self.lr_slider = _FloatLogSlider(
            value=float(getattr(controller, "learning_rate_multiplier", 1.0)),
            base=10, min=math.log10(MULTIPLIER_MIN), max=math.log10(MULTIPLIER_MAX), step=0.05,
            description="LR \u00d7", readout_format=".2g", continuous_update=False, disabled=True,
            tooltip="Multiply the learning rate from the next batch (a schedule's output is scaled)",
        )  # fmt: skip
        self.lr_undo = _Button(
            description="x1", icon="undo", disabled=True, tooltip="Undo: learning-rate multiplier back to x1",
            layout=ipywidgets.Layout(width="auto"),
        )  # fmt: skip
        self.pause_toggle = _ToggleButton(
            value=bool(controller.paused), description="Pause auto-stop", icon="pause",
            disabled=True, tooltip="Keep training while patience is exhausted",
        )  # fmt: skip
        self.status = ipywidgets.HTML(value="")
        self.widget = ipywidgets.HBox(
            [
                self.stop_button,
                self.patience_slider,
                self.lr_slider,
                self.lr_undo,
                self.pause_toggle,
                self.status,
            ],
            layout=ipywidgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        self.routed = True
        for control in self._controls():
            control._wc_lock = self._lock
            self.routed = register_steering_widget(control) and self.routed
        self.stop_button.on_click(self._on_stop)
        self.patience_slider.observe(self._on_patience, names="value")
        self.lr_slider.observe(self._on_multiplier, names="value")
        self.lr_undo.on_click(self._on_undo)
        self.pause_toggle.observe(self._on_pause, names="value")
        self._state, self._text = STATUS_WAITING, "waiting"
        steering = steering and getattr(controller, "graceful_interrupt", True) is not False
        self._steering = enable_steering(controller) if steering else None
        snapshot = controller.snapshot()
        if controller.running or snapshot.stop_reason is not None:
            self._on_snapshot(snapshot)  # made during or after a run
        else:
            self._render()
        self._unsubscribe: Callable[[], None] | None = controller.add_listener(self._on_snapshot)

    # ------------------------------------------------------------------ public

    @property
    def state(self) -> str:
        """One of ``_protocol.STATUSES``."""
        return self._state

    @property
    def status_line(self) -> str:
        """The status text without markup."""
        return self._text

    def close(self) -> None:
        """Unsubscribe from the controller and close the widgets."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for control in self._controls():
            unregister_steering_widget(control)
        for w in (*self._controls(), self.status, self.widget):
            w.close()

    def _controls(self) -> tuple[Any, ...]:
        return (self.stop_button, self.patience_slider, self.lr_slider, self.lr_undo, self.pause_toggle)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ handlers (any thread)

    def _on_stop(self, _button: Any) -> None:
        try:
            self._controller.stop(STOP_BY_HAND)
        except Exception:  # never let a click raise in the kernel's log
            _log.exception("stopping training failed")

    def _on_patience(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._syncing:
                return
            try:
                self._controller.set_patience(int(change["new"]))
            except ValueError as error:
                self._syncing = True
                try:
                    self.patience_slider.value = int(self._controller.patience)
                finally:
                    self._syncing = False
                self._show(self._state, f"{self._text} ({error})")
                return
            self._grow_slider(int(change["new"]))

    def _on_multiplier(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._syncing:
                return
            value = change["new"]
            if isinstance(value, float) and math.isfinite(value):
                value = float(f"{value:.6g}")  # 10 ** -1 from the log slider may miss 0.1
            self._set_multiplier(value)

    def _on_undo(self, _button: Any) -> None:
        with self._lock:
            self._set_multiplier(1.0)

    def _set_multiplier(self, value: Any) -> None:
        """Asks the controller for ``value``; a refused one (out of range, NaN, a
        controller without a multiplier) puts the slider back and says why."""
        try:
            self._controller.set_learning_rate_multiplier(float(value))  # type: ignore[attr-defined]
        except (TypeError, ValueError, AttributeError) as error:
            self._show(self._state, f"{self._text} ({error})")
        self._sync_multiplier()

    def _sync_multiplier(self) -> None:
        multiplier = float(getattr(self._controller, "learning_rate_multiplier", 1.0))
        self._syncing = True
        try:
            if self.lr_slider.value != multiplier:
                self.lr_slider.value = multiplier
        finally:
            self._syncing = False
        self.lr_undo.disabled = self.lr_slider.disabled or multiplier == 1.0

    def _on_pause(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._syncing:
                return
            try:
                self._controller.paused = bool(change["new"])
            except Exception:
                _log.exception("pausing auto-stop failed")

    # ------------------------------------------------------------------ listener (fit thread)

    def _on_snapshot(self, snapshot: StoppingSnapshot) -> None:
        try:
            self._apply(snapshot)
        except Exception:  # a broken panel must not break training
            _log.exception("updating the controls failed")

    def _apply(self, snapshot: StoppingSnapshot) -> None:
        running = bool(self._controller.running)
        failure = _failure_message(self._controller)
        state, text = status_text(snapshot, running, failure)
        with self._lock:
            stopping = snapshot.stop_reason is not None and snapshot.stop_reason != STOP_COMPLETED
            self.stop_button.disabled = not running or stopping
            self.patience_slider.disabled = not running
            self.lr_slider.disabled = not running or not hasattr(self._controller, "learning_rate_multiplier")
            self.pause_toggle.disabled = not running
            self._syncing = True
            try:
                patience = int(self._controller.patience)
                self._grow_slider(patience)
                if self.patience_slider.value != patience:
                    self.patience_slider.value = patience
                paused = bool(self._controller.paused)
                if self.pause_toggle.value != paused:
                    self.pause_toggle.value = paused
            finally:
                self._syncing = False
            self._sync_multiplier()
            self._show(state, text)

    # ------------------------------------------------------------------ helpers

    def _grow_slider(self, patience: int) -> None:
        if patience > self.patience_slider.max:
            self.patience_slider.max = max(_SLIDER_MIN_MAX, 2 * patience)

    def _render(self) -> None:
        with self._lock:
            self._show(self._state, self._text)

    def _show(self, state: str, text: str) -> None:
        self._state, self._text = state, text
        hint = event_support().sentence if state in (STATUS_WAITING, STATUS_TRAINING) else ""
        line = f"<b>{html.escape(text)}</b>"
        if hint:
            line += f" <span style='opacity:0.7'>&middot; {html.escape(hint)}</span>"
        self.status.value = line
