"""``EarlyStoppingController``: Keras's EarlyStopping, steerable while ``fit`` runs.

(Over 300 lines: a drop-in for keras.callbacks.EarlyStopping keeps every Keras
attribute, hook and message, and its deep copies (Keras Tuner) are steered through the
original; the decisions themselves are in core/stopping.py, the kernel plumbing it
starts in kernel/.)

A thin adapter: Keras hooks are mapped to the pure `StoppingRule`
(``core/stopping.py``), which holds Keras 3.15.1's decision logic. In a notebook the
controller turns on what it needs itself at ``on_train_begin`` (graceful Interrupt,
the watch for a ``fit`` that raised: ``kernel/steering.py``); no panel is needed. What may
be called from another thread or a signal handler (`stop`, ``patience``,
``paused``) only assigns an attribute or an int under a lock; the Keras hooks
act on it on the main thread.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import math
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import keras
from keras import ops

from .._compat import keras as compat
from ..core.guards import StopGuards
from ..core.listeners import Listeners
from ..core.monitor import Direction
from ..core.outcome import (
    STOP_BY_HAND,
    STOP_COMPLETED,
    STOP_FAILED,
    STOP_INTERRUPTED,
    STOP_NON_FINITE,
    STOP_OTHER_CALLBACK,
    STOP_PATIENCE,
    describe_exception,
)
from ..core.records import StoppingSnapshot
from ..core.stopping import StoppingRule
from ..kernel.cells import CellEndHook, current_shell
from ..kernel.polling import poll_shell, polling_support, shell_polling
from ..kernel.reconnect import reconnect_service
from ..kernel.steering import enable_steering
from .distributed import StepAgreement, step_agreement
from .guards import GuardWatch
from .learning_rate import LearningRateMultiplier
from .logs import array_shape, to_float

_print_msg = compat.print_msg()  # Keras prints its callback messages with this

__all__ = ["EarlyStoppingController"]

Listener = Callable[[StoppingSnapshot], None]

_COPIES_LOCK = threading.Lock()  # the writers of ``_live_copies`` (training threads)


def compiled_metric_direction(model: Any, monitor: str) -> Direction | None:
    """The direction of the compiled metric named like ``monitor``, as Keras finds it.

    Mirrors ``MonitorCallback._set_monitor_op``: looks through the model's
    ``CompileMetrics``/``MetricsList`` for a metric named ``monitor`` without
    its ``val_`` prefix; the last match with a ``_direction`` wins.

    Args:
        model: the Keras model (or anything; no ``metrics`` gives ``None``).
        monitor: the monitored name, e.g. ``"val_accuracy"``.

    Returns:
        ``"up"``, ``"down"`` or ``None``.
    """
    if not hasattr(model, "metrics"):
        return None
    name = monitor.removeprefix("val_")
    found: Direction | None = None
    for metric in compat.compiled_metrics(model):
        direction = compat.metric_direction(metric)
        if getattr(metric, "name", None) == name and direction is not None:
            found = "up" if direction == "up" else "down"
    return found


def _non_finite(value: Any) -> bool:
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


class EarlyStoppingController(keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` that can be stopped and tuned during ``fit``.

    A drop-in: the same arguments, defaults, attributes, messages, warnings
    and decisions as ``keras.callbacks.EarlyStopping`` (Keras 3.15.1), and
    ``isinstance(controller, keras.callbacks.EarlyStopping)`` holds. The
    decisions are made by a `StoppingRule` (``controller.rule``). Added, all
    safe to call from any thread or a signal handler:

    - `stop`: a graceful stop after the current batch; the epoch still ends
      (validation, ``on_epoch_end``) and ``restore_best_weights`` applies.
    - ``patience`` (or `set_patience`) and ``paused``: used by the next
      epoch-end decision. While paused nothing stops automatically; a patience
      below the current ``wait`` stops at the next non-improving epoch.
    - ``learning_rate_multiplier`` (or `set_learning_rate_multiplier`): x0.1 to x10
      on the optimizer's learning rate, applied on the training thread from the next
      batch, for a constant rate and a ``LearningRateSchedule`` alike; 1.0 undoes.
    - `add_listener`: a callback given a `StoppingSnapshot` (1-based epochs)
      on the main thread after ``on_train_begin``, every epoch-end decision, a
      stop by hand and ``on_train_end`` (with ``stop_reason`` filled).

    Argument validation is stricter than Keras's: a negative or non-integer
    ``patience`` or ``start_from_epoch``, a non-finite ``min_delta``, a NaN
    ``baseline`` or a non-string ``monitor`` raise.

    Args:
        monitor: quantity to be monitored. Defaults to ``"val_loss"``.
        min_delta: minimum change in the monitored quantity to qualify as an
            improvement. Defaults to ``0``.
        patience: number of epochs with no improvement after which training
            will be stopped. Defaults to ``0``.
        verbose: 0 is silent, 1 prints a message when the callback acts.
            Defaults to ``0``.
        mode: one of ``"auto"``, ``"min"``, ``"max"``; an unknown mode warns
            and falls back to ``"auto"``, as in Keras. Defaults to ``"auto"``.
        baseline: baseline value for the monitored quantity: ``wait`` is reset
            only by improving on it. Defaults to ``None``.
        restore_best_weights: restore the weights of the best epoch at the end
            of training, whoever stopped it. Defaults to ``False``.
        start_from_epoch: number of epochs to wait before starting to monitor
            improvement. Defaults to ``0``.
        graceful_interrupt: in IPython, make the notebook's Interrupt (SIGINT on
            the main thread) a graceful stop while this controller's ``fit`` runs;
            a second Interrupt raises ``KeyboardInterrupt``. When False, Interrupt
            raises ``KeyboardInterrupt`` at once, as without this callback (a
            ``fit`` that raised is still reported). Defaults to True.
        check_finite: stop at the first NaN or infinity of the monitored value,
            checked at every epoch end and after every batch. Batch logs carry only
            training metrics: for a ``val_`` monitor the batch check looks at its
            training counterpart (``loss`` for ``val_loss``), so a divergence stops
            within the batch where the training loss turns NaN/inf. Defaults to
            ``False``.
        stopping_threshold: stop once the monitored value reaches this value
            (``<=`` in min mode, ``>=`` in max mode), at an epoch end. Defaults to
            ``None``.
        divergence_threshold: stop once the monitored value is worse than this
            value (``>`` in min mode, ``<`` in max mode), at an epoch end. Defaults
            to ``None``.
        max_time: seconds, or a ``datetime.timedelta``: stop gracefully once the
            ``fit`` has run that long (counted from ``on_train_begin``, checked after
            every batch and at epoch ends). Defaults to ``None``.

    The four guards are off by default (then the decisions are exactly Keras's);
    their rules are in ``core/guards.py`` (`StopGuards`: the threshold guards skip
    warm-up epochs; pausing auto-stop holds only the patience rule). A guard's stop
    is reported like a stop by hand (``stop_reason`` ``"NaN/inf"``, ``"stopping
    threshold reached"``, ``"divergence threshold exceeded"`` or ``"time limit
    reached"``, with the batch for a stop within an epoch) and best weights are
    restored as for any stop when ``restore_best_weights`` is set.

    Raises:
        TypeError: ``graceful_interrupt`` or ``check_finite`` is not a bool, a
            threshold is not a number, ``max_time`` is neither a number nor a
            ``timedelta``.
        ValueError: a threshold is NaN, ``max_time`` is <= 0 or not finite.

    Copies: a deep copy (Keras Tuner deep-copies the callbacks for each trial)
    shares this controller's listeners (its plot and panel get the copy's
    snapshots), and while the copy's ``fit`` runs, ``stop``, ``patience``,
    ``paused``, ``running`` and ``snapshot`` of this controller act on it. A
    pickled controller keeps its settings and state, not its listeners nor
    that link.

    Example:

    >>> import numpy as np, keras
    >>> controller = EarlyStoppingController(monitor="loss", patience=3)
    >>> unsubscribe = controller.add_listener(lambda s: None)
    >>> model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(10)])
    >>> model.compile(keras.optimizers.SGD(), loss="mse")
    >>> history = model.fit(np.arange(100).reshape(5, 20), np.zeros(5),
    ...                     epochs=10, batch_size=1, callbacks=[controller],
    ...                     verbose=0)
    >>> len(history.history["loss"])  # Only 4 epochs are run.
    4
    >>> controller.snapshot().stop_reason
    'patience exhausted'
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
        *,
        graceful_interrupt: bool = True,
        check_finite: bool = False,
        stopping_threshold: float | None = None,
        divergence_threshold: float | None = None,
        max_time: float | datetime.timedelta | None = None,
    ) -> None:
        if not isinstance(graceful_interrupt, bool):
            raise TypeError(
                "graceful_interrupt must be a bool. Received: "
                f"graceful_interrupt={graceful_interrupt!r} of type {type(graceful_interrupt).__name__}"
            )
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{self.__class__.__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=2,
            )
            mode = "auto"
        self._rule = StoppingRule(
            monitor, min_delta, patience, mode, baseline, start_from_epoch,
            precision="float32", owner=self.__class__.__name__,
        )  # fmt: skip
        guards = StopGuards(check_finite, stopping_threshold, divergence_threshold, max_time)
        self._guard = GuardWatch(guards, self._rule.monitor)  # off unless given
        self._lr_multiplier = LearningRateMultiplier()  # set from any thread, applied in hooks
        # Several JAX processes: steering acts on all at the same step (adapters/distributed.py).
        self._agreement: StepAgreement | None = None
        # EarlyStopping.__init__ would assign the attributes that are
        # properties here (backed by the rule), so only Callback's runs.
        keras.callbacks.Callback.__init__(self)
        self.verbose = verbose
        self.restore_best_weights = restore_best_weights
        self.best_weights: list[Any] | None = None
        self._listeners: Listeners[StoppingSnapshot] = Listeners(type(self).__name__)
        self._stop_request: str | None = None  # assigned from any thread
        self._republish = False  # patience/pause changed from any thread during a run
        self._polls = False  # ipykernel 6: the batch hook handles the controls' clicks
        self._batch_lock = threading.Lock()  # see async_safe
        self._batch_begun = -1  # the last batch Keras started in this epoch (0-based)
        self._running = False
        self._epoch: int | None = None
        self._hand_stop: tuple[str, int, int | None] | None = None  # reason, epoch, batch
        self._end: dict[str, Any] | None = None  # snapshot overrides once the run ended
        self._last_loss_non_finite = False
        self._available: tuple[str, ...] = ()  # the logs' names when the monitor is missing
        self.failure_message: str | None = None
        self.graceful_interrupt = graceful_interrupt
        self._origin: EarlyStoppingController | None = None  # what this is a deep copy of
        self._live_copies: tuple[EarlyStoppingController, ...] = ()  # its copies in a fit now

    # -- Keras's attributes, backed by the rule -----------------------------

    @property
    def rule(self) -> StoppingRule:
        """The `StoppingRule` making the decisions."""
        return self._rule

    @property
    def guards(self) -> StopGuards:
        """The stop guards (`StopGuards`: ``check_finite``, the thresholds, ``max_time``)."""
        return self._guard.guards

    @property
    def monitor_op(self) -> Callable[..., Any] | None:
        """``keras.ops.less``/``greater`` once the direction is resolved, as in Keras."""
        resolved = self._rule.monitor_rule.resolved_mode
        if resolved is None:
            return None
        return ops.less if resolved == "min" else ops.greater

    def _rule_attr(name: str, doc: str, settable: bool = True) -> Any:
        def get(self: EarlyStoppingController) -> Any:
            return getattr(self._rule, name)

        def set_(self: EarlyStoppingController, value: Any) -> None:
            setattr(self._rule, name, value)

        return property(get, set_ if settable else None, doc=doc)

    monitor = _rule_attr("monitor", "The monitored metric name (read-only).", False)
    mode = _rule_attr("mode", "``'auto'``, ``'min'`` or ``'max'`` (read-only).", False)
    min_delta = _rule_attr(
        "min_delta", "``abs(min_delta)``, negated once resolved to min, as Keras (read-only).", False
    )
    baseline = _rule_attr("baseline", "The baseline, or ``None`` (read-only).", False)
    start_from_epoch = _rule_attr("start_from_epoch", "Warm-up epochs (read-only).", False)
    wait = _rule_attr("wait", "Epochs since the last improvement, as Keras counts them.")
    best = _rule_attr("best", "The best monitored value of this run, or ``None``.")
    best_epoch = _rule_attr("best_epoch", "0-based epoch of ``best``.")
    stopped_epoch = _rule_attr("stopped_epoch", "0-based epoch of a patience stop, else 0.")
    del _rule_attr

    @property
    def patience(self) -> int:
        """Patience in force; settable from any thread (see `set_patience`)."""
        return self._rule.patience

    @patience.setter
    def patience(self, value: int) -> None:
        self._rule.patience = value
        self._settings_changed()
        for clone in self._live_copies:
            clone.patience = value

    @property
    def paused(self) -> bool:
        """Automatic stopping is paused; settable from any thread."""
        return self._rule.paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._rule.paused = value
        self._settings_changed()
        for clone in self._live_copies:
            clone.paused = value

    @property
    def learning_rate_multiplier(self) -> float:
        """The learning-rate multiplier asked for (``1.0``: none); settable from any
        thread (see `set_learning_rate_multiplier`)."""
        return self._lr_multiplier.value

    @learning_rate_multiplier.setter
    def learning_rate_multiplier(self, value: float) -> None:
        self._lr_multiplier.set(value)
        self._settings_changed()
        for clone in self._live_copies:
            clone.learning_rate_multiplier = value

    def set_learning_rate_multiplier(self, value: float) -> None:
        """Scales the optimizer's learning rate from the next batch of a ``fit``.

        Only validates and stores the value (safe from any thread); the next
        ``on_train_begin``, ``on_epoch_begin`` or ``on_train_batch_begin`` applies it
        on the training thread (``adapters/learning_rate.py``: a constant rate is
        assigned ``rate * value / previous value``; a schedule's output is scaled).

        Args:
            value: from ``0.1`` to ``10``; ``1.0`` undoes.

        Raises:
            TypeError: ``value`` is not a number.
            ValueError: ``value`` is NaN or outside ``[0.1, 10]``.
        """
        self.learning_rate_multiplier = value

    def _apply_learning_rate(self, epoch: int, batch: int | None) -> None:
        # Training thread only: the optimizer is changed here, never in a handler.
        if self._lr_multiplier.pending and self._agreement is None:  # else the agreement applies it
            steps = (self.params or {}).get("steps")
            self._lr_multiplier.apply(self.model, epoch, batch or None, steps)

    def _settings_changed(self) -> None:
        # Listeners (the plot's band, "k epochs left") hear of it at once: after the
        # current batch on the training thread during a run, else right here.
        if self._running:
            self._republish = True
        elif not self._live_copies:  # else the running copy publishes its snapshot
            self._publish()

    # -- steering (any thread, signal handlers) -------------------------------

    @property
    def running(self) -> bool:
        """Whether a ``fit`` using this callback (or a deep copy of it) is running."""
        return self._running or any(clone._running for clone in self._live_copies)

    def set_patience(self, n: int) -> None:
        """Sets ``patience``; the next epoch-end decision uses it.

        Args:
            n: the new patience, an int >= 0.
        """
        self.patience = n

    def stop(self, reason: str = STOP_BY_HAND) -> None:
        """Asks for a graceful stop after the current batch; ignored outside a run.

        Only assigns an attribute, so it is safe from any thread and from a
        signal handler. The first request of a run wins.

        Args:
            reason: the ``stop_reason`` to report. Defaults to
                ``STOP_BY_HAND`` (``"stopped by hand"``).
        """
        if not isinstance(reason, str):
            raise TypeError(
                f"reason must be a str. Received: reason={reason!r} of type {type(reason).__name__}"
            )
        if not reason:
            raise ValueError("reason must be a non-empty str. Received: reason=''")
        for clone in self._live_copies:
            clone.stop(reason)
        if self._running and self._stop_request is None and self._hand_stop is None:
            self._stop_request = reason

    def mark_interrupted(self) -> None:
        """A graceful stop for an interrupt (e.g. SIGINT): ``stop(STOP_INTERRUPTED)``."""
        self.stop(STOP_INTERRUPTED)

    def mark_failed(self, message: str) -> None:
        """Ends a run that ``fit`` left by raising (``on_train_end`` never came).

        Listeners get a snapshot with ``stop_reason=STOP_FAILED``, in the calling
        thread: call it where the error is seen (e.g. after ``fit`` raised).
        Ignored when no run is in progress.

        Args:
            message: what failed, kept in ``failure_message``.
        """
        for clone in self._live_copies:
            self.failure_message = str(message)  # what the original's panel reads
            clone.mark_failed(message)
        if not self._running:
            return
        self._running = False
        self._leave_origin()
        self._cell_end_unregister()
        self._stop_request = None
        self.failure_message = str(message)
        last = self._epoch if self._epoch is not None else self._rule.last_epoch
        self._end = {
            "stop_reason": STOP_FAILED,
            "stopped_epoch": None if last is None else last + 1,
            "stopped_batch": None,
            "restored_epoch": None,
            "failure": self.failure_message,
        }
        self._publish()

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """Calls ``fn(snapshot)`` on the main thread after each decision.

        A listener that raises is reported once (``RuntimeWarning``) and
        training goes on.

        Args:
            fn: a callable taking a `StoppingSnapshot`.

        Returns:
            A function that unsubscribes ``fn``.
        """
        return self._listeners.add(fn)

    def snapshot(self) -> StoppingSnapshot:
        """The current state, 1-based epochs; see `StoppingSnapshot`."""
        live = self._live_copies
        if live and not self._running:
            return live[-1].snapshot()  # a deep copy's fit is running (a tuner's trial)
        snapshot = self._rule.snapshot()
        if self._available:
            snapshot = dataclasses.replace(snapshot, available=self._available)
        if self._end is not None:
            return dataclasses.replace(snapshot, **self._end)
        if self._hand_stop is not None:
            reason, epoch, batch = self._hand_stop
            return dataclasses.replace(
                snapshot, stop_reason=reason, stopped_epoch=epoch + 1, stopped_batch=batch
            )
        return snapshot

    # -- Keras hooks (main thread) -------------------------------------------

    def _set_monitor_op(self) -> None:
        direction = None
        if self._rule.mode == "auto":
            direction = compiled_metric_direction(self.model, self._rule.monitor)
        self._rule.monitor_rule.resolve(direction)

    def _is_improvement(self, monitor_value: float, reference_value: float | None) -> bool:
        return self._rule.monitor_rule.is_improvement(monitor_value, reference_value)

    def get_monitor_value(self, logs: Mapping[str, Any] | None) -> Any:
        """Keras's, with an array of one element taken as that number.

        ``F1Score`` on one unit logs an array of shape ``(1,)``: its element is
        monitored, as Keras compares it. A larger array raises ``ValueError``, the
        error Keras ends in, saying what is expected. A missing value warns as in
        Keras and gives ``None``.
        """
        value = super().get_monitor_value(logs)
        shape = array_shape(value)
        if shape == () and not type(value).__module__.startswith("numpy"):
            number = to_float(value)  # a 0-d backend tensor or keras.Variable: its number
            return value if number is None else number  # (PyTorch warns in float() with grad)
        if not shape:  # missing, a number, a 0-d NumPy array: as before
            return value
        number = to_float(value)
        if number is None:
            raise ValueError(
                f"{type(self).__name__} monitors one number per epoch: `{self.monitor}` "
                "must be a scalar or an array of one element (reduce the metric, e.g. "
                "F1Score(average='macro')). "
                f"Received: {self.monitor} of shape {shape}"
            )
        return number

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if current_shell() is not None:
            if self.graceful_interrupt:  # graceful Interrupt; a fit that raises is reported
                enable_steering(self._origin if self._origin is not None else self)
            else:  # only the report of a fit that raised
                self.__dict__.setdefault("_cell_end", CellEndHook(self._after_cell)).register()
        self._rule.reset(keep_best=not compat.early_stopping_resets_best())  # as the Keras installed
        self.best_weights = None
        self._stop_request = None
        self._hand_stop = None
        self._end = None
        self._epoch = None
        self._last_loss_non_finite = False
        self._available = ()
        self.failure_message = None
        self._guard.begin()
        self._join_origin()
        self._running = True
        # The controls' clicks are taken off the busy main shell during a plain fit,
        # also from front ends that send no subshell id (VS Code, JupyterLab < 4.4).
        reconnect_service().begin(self)
        # ipykernel 6 (Colab) has no shell channel thread: the batch hook handles them.
        self._polls = shell_polling().begin(self)
        if self._agreement is None:
            self._agreement = step_agreement(self)  # None in one process
        if self._agreement is not None:
            self._agreement.begin()
        self._apply_learning_rate(0, None)
        self._publish()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._batch_begun = -1
        self._apply_learning_rate(epoch, None)

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        # Always on the main thread: the last batch Keras started (see _stopped_batch).
        self._batch_begun = batch
        if self._agreement is not None:  # collectives: main thread, same batches everywhere
            self._agreement.batch_begin(batch)
        self._apply_learning_rate(self._epoch or 0, batch)  # after `batch` batches

    @property
    def async_safe(self) -> bool:
        """Whether Keras may run the batch hook on its thread pool (JAX, PyTorch).

        True, except where the hook handles the controls' clicks itself (ipykernel 6:
        `poll_shell` must run on the main thread). Thread-safe: a handler only sets
        state, and one lock serializes the batch hooks."""
        return polling_support() is not None

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._polls:  # ipykernel 6: a time check; every 0.1 s the controls' clicks
            poll_shell()
        with self._batch_lock:  # Keras's thread pool may run several at once
            if self._guard.active and self._hand_stop is None:  # max_time, check_finite
                reason = self._guard.on_batch(logs)
                if reason is not None and self._stop_request is None:
                    self._stop_request = reason
            if self._stop_request is not None and self._agreement is None:  # else at an agreement
                self._apply_stop(batch + 1)
            if self._republish:
                self._republish = False
                self._publish()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._stop_request is not None and self._agreement is None:  # asked for after the last batch
            self._epoch = epoch
            self._apply_stop((self.params or {}).get("steps"))
        self._stopped_batch()
        if not self._rule.monitor_rule.resolved:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        self._available = tuple(str(name) for name in logs or ()) if current is None else ()
        agreement = self._agreement  # several processes: decided on the inputs all agreed on
        decision = agreement.update(epoch, current) if agreement else self._rule.update(epoch, current)
        if decision.skipped is None and self.restore_best_weights:
            if self.best_weights is None and not decision.improved:
                self._rule.best_epoch = epoch  # as Keras does when it has no best weights yet
            if decision.improved or self.best_weights is None:
                self.best_weights = self.model.get_weights()
        if decision.should_stop:
            self.model.stop_training = True
        if self._guard.active and self._hand_stop is None:  # a guard's stop is reported as one by hand
            warm_up = epoch < self._rule.start_from_epoch
            mode = self._rule.monitor_rule.resolved_mode
            reason = self._guard.on_epoch(to_float(current), mode, warm_up=warm_up)
            if reason is not None:
                self.model.stop_training = True
                self._hand_stop = (reason, epoch, None)
        if logs and "loss" in logs:
            self._last_loss_non_finite = _non_finite(logs["loss"])
        if agreement is not None:  # a stop any process decided stops all
            agreement.epoch_end(epoch)
        self._publish()

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        rule = self._rule
        if rule.stopped_epoch > 0 and self.verbose > 0:
            _print_msg(f"Epoch {rule.stopped_epoch + 1}: early stopping")
        hand = self._hand_stop
        if hand is not None and self.verbose > 0:
            batch = "" if hand[2] is None else f", batch {hand[2]}"
            _print_msg(f"Epoch {hand[1] + 1}{batch}: {hand[0]}")
        restored = None
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
            restored = self.best_epoch + 1
        if logs and "loss" in logs and _non_finite(logs["loss"]):
            self._last_loss_non_finite = True
        reason, stopped_epoch, stopped_batch = self._outcome()
        self._end = {
            "stop_reason": reason,
            "stopped_epoch": stopped_epoch,
            "stopped_batch": stopped_batch,
            "restored_epoch": restored,
        }
        self._stop_request = None
        self._running = False
        self._leave_origin()
        self._cell_end_unregister()
        reconnect_service().end(self)  # (the end of the cell also ends it if fit raised)
        if self._polls:
            self._polls = False
            shell_polling().end(self)
        self._publish()

    # -- internals -------------------------------------------------------------

    def _apply_stop(self, batch: int | None) -> None:
        reason, self._stop_request = self._stop_request, None
        if reason is None or self._hand_stop is not None or not self._running:
            return
        # Not `self.model`: on JAX it syncs the state, racing the next step (async_safe).
        compat.unsynced_model(self).stop_training = True
        self._hand_stop = (reason, self._epoch if self._epoch is not None else 0, batch)
        self._publish()

    def _stopped_batch(self) -> None:
        """A hand stop's batch is the last one Keras ran (1-based), not the one whose hook
        asked: on Keras's thread pool (``async_safe``) hooks run behind the steps, and
        Keras breaks after the step that sees ``stop_training``. (With
        ``steps_per_execution`` > 1 on the pool, the last batch of that execution may be
        up to ``steps_per_execution - 1`` later than said.)"""
        hand, begun = self._hand_stop, self.__dict__.get("_batch_begun", -1)
        if hand is not None and hand[1] == self._epoch and hand[2] is not None and begun + 1 > hand[2]:
            self._hand_stop = (hand[0], hand[1], begun + 1)  # published at the epoch's end

    def _outcome(self) -> tuple[str, int | None, int | None]:
        """Why the run ended: stop reason, 1-based stopped epoch and batch."""
        if self._hand_stop is not None:
            reason, epoch, batch = self._hand_stop
            return reason, epoch + 1, batch
        rule = self._rule
        if rule.stopped:
            return STOP_PATIENCE, rule.stopped_epoch + 1, None
        if getattr(self.model, "stop_training", False):
            last = rule.last_epoch if rule.last_epoch is not None else self._epoch
            non_finite = rule.last_value_non_finite or self._last_loss_non_finite
            reason = STOP_NON_FINITE if non_finite else STOP_OTHER_CALLBACK
            return reason, None if last is None else last + 1, None
        return STOP_COMPLETED, None, None

    def _publish(self) -> None:
        if len(self._listeners):
            self._listeners.notify(self.snapshot())

    def __getstate__(self) -> dict[str, Any]:
        """A pickled controller keeps the configuration and state, not the listeners
        (those belong to the original's displays) nor its link to copies."""
        state = self.__dict__.copy()
        state.pop("_controls", None)  # widgets belong to the original's displays
        state.pop("_cell_end", None)  # a hook of the running cell
        state.pop("_batch_lock", None)  # a lock is not copied: each copy has its own
        state["_agreement"] = None  # made again at the copy's train begin
        state["_origin"], state["_live_copies"] = None, ()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("graceful_interrupt", True)
        state.setdefault("_origin", None)
        state.setdefault("_live_copies", ())
        state.setdefault("_agreement", None)
        if "_guard" not in state and "_rule" in state:  # pickled before the guards
            state["_guard"] = GuardWatch(StopGuards(), state["_rule"].monitor)
        state.setdefault("_lr_multiplier", LearningRateMultiplier())
        self.__dict__.update(state)
        self._batch_lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> EarlyStoppingController:
        """A copy with this controller's configuration and state (deep-copied), that
        shares its listeners and is steered through it while its ``fit`` runs (see the
        class docstring): Keras Tuner deep-copies the callbacks for each trial."""
        state = self.__getstate__()
        listeners = state.pop("_listeners")
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        clone.__setstate__(copy.deepcopy(state, memo))
        clone._listeners = listeners
        clone._origin = self._origin if self._origin is not None else self
        return clone

    def _join_origin(self) -> None:
        """A deep copy begins a fit: the original steers it until it ends."""
        origin = self._origin
        if origin is None:
            return
        self._rule.patience, self._rule.paused = origin.patience, origin.paused  # set since the copy
        if origin.learning_rate_multiplier != self._lr_multiplier.value:
            self._lr_multiplier.set(origin.learning_rate_multiplier)
        origin.failure_message = None
        with _COPIES_LOCK:
            origin._live_copies = (*origin._live_copies, self)

    def _leave_origin(self) -> None:
        origin = self._origin
        if origin is None:
            return
        with _COPIES_LOCK:
            origin._live_copies = tuple(c for c in origin._live_copies if c is not self)

    def _after_cell(self, result: Any) -> None:
        """With ``graceful_interrupt=False``: the cell that ran ``fit`` ended without
        ``on_train_end`` (``fit`` raised). Cells ending on other threads are ignored."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._cell_end_unregister()
        if self._running:
            error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
            self.mark_failed(
                describe_exception(error) if error is not None else "fit ended without on_train_end"
            )

    def _cell_end_unregister(self) -> None:
        hook = self.__dict__.get("_cell_end")
        if hook is not None:
            hook.unregister()

    @property
    def controls(self) -> Any:
        """The `ControlPanel` (Stop, patience, pause) for this controller, made once.

        Displaying the controller displays it (the one import of ``widgets`` by an
        adapter, stated in the layer contract).
        """
        panel = self.__dict__.get("_controls")
        if panel is None:
            from ..widgets.controls import ControlPanel

            panel = self.__dict__["_controls"] = ControlPanel(self)
        return panel

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.controls._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(monitor={self.monitor!r}, patience={self.patience}, "
            f"wait={self.wait}, best={self.best!r}, running={self._running}, paused={self.paused})"
        )
