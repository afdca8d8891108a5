"""The learning rate of a Keras 3 optimizer: read for the plot's lane, steered by a
multiplier.

- `read_learning_rate`: the current rate, ``float(keras.ops.convert_to_numpy(
  optimizer.learning_rate))``, for a constant rate and a ``LearningRateSchedule``
  alike (Keras's getter calls the schedule with the optimizer's iterations); ``None``
  when it cannot be read.
- `LearningRateFeed`: what ``PlotFeedCallback`` does with it: the ``learning_rate``
  entry of the logs it draws (when Keras's logs lack it; ``ReduceLROnPlateau`` and
  ``LearningRateScheduler`` log it themselves) and the changes worth a mark
  (``core/learning_rate.py``: `RateWatch`), with ``ReduceLROnPlateau``'s reason when
  one is among the callbacks.
- `LearningRateMultiplier`: the multiplier the controls set from any thread (only a
  float and a flag under a lock) and ``EarlyStoppingController`` applies on the
  training thread at its next hook. A constant rate is assigned ``rate * new / old``
  (so a cut made meanwhile by ``ReduceLROnPlateau`` is kept, and a callback that
  assigns an absolute rate later, ``LearningRateScheduler``, overrides it). A schedule
  cannot be assigned a value (Keras 3 raises): its output is scaled by `ScaledSchedule`,
  which replaces it through the public ``learning_rate`` setter the first time a
  multiplier other than 1 is applied; the traced train function is then rebuilt
  (``model.make_train_function(force=True)``) so that the graph reads the
  multiplier's variable (on JAX, whose jitted step takes the variable's value as a
  constant, at every change). Each change applied is reported for the plot's marks.

The optimizer's private ``_learning_rate`` is read through one function,
``_compat.keras.learning_rate_source``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Iterable
from typing import Any

import keras

from .._compat import keras as compat
from ..core.figure import batch_x
from ..core.learning_rate import (
    LEARNING_RATE,
    LearningRateChange,
    RateWatch,
    check_multiplier,
    multiplier_note,
)

__all__ = [
    "LearningRateFeed",
    "LearningRateMultiplier",
    "ScaledSchedule",
    "changer_reason",
    "read_learning_rate",
]

_log = logging.getLogger("widget_callbacks.learning_rate")

_Schedule = keras.optimizers.schedules.LearningRateSchedule


def read_learning_rate(optimizer: Any) -> float | None:
    """The optimizer's current learning rate as a float, or ``None`` when it has none
    that reads as one number (no optimizer, a custom one, a callable that raises)."""
    if optimizer is None:
        return None
    try:
        return _number(optimizer.learning_rate)
    except Exception:  # whatever a custom optimizer raises: no lane, training goes on
        return None


def _number(value: Any) -> float:
    """A Variable or tensor of one element as a float (a Variable through its public
    ``numpy()``: NumPy 2 warns when it converts a TensorFlow variable itself)."""
    if isinstance(value, keras.Variable):
        return float(value.numpy())
    return float(keras.ops.convert_to_numpy(value))


def is_scheduled(optimizer: Any) -> bool:
    """Whether the optimizer's rate comes from a ``LearningRateSchedule``."""
    return isinstance(compat.learning_rate_source(optimizer), _Schedule)


@keras.saving.register_keras_serializable(package="widget_callbacks")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A ``LearningRateSchedule`` times a multiplier held in a variable.

    The traced train step reads the variable, so assigning it (on the training
    thread) changes the rate from the next step, without retracing.

    Args:
        schedule: the schedule to scale.
        multiplier: its initial multiplier. Defaults to ``1.0``.

    Example:

    >>> import keras
    >>> decay = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    >>> scaled = ScaledSchedule(decay, 0.5)
    >>> round(float(scaled(0)), 6)
    0.05
    """

    def __init__(self, schedule: Any, multiplier: float = 1.0) -> None:
        super().__init__()
        self.schedule = schedule
        self.multiplier = keras.Variable(
            float(multiplier), dtype="float32", trainable=False, name="learning_rate_multiplier"
        )

    def __call__(self, step: Any) -> Any:
        rate = keras.ops.convert_to_tensor(self.schedule(step))
        return keras.ops.multiply(rate, keras.ops.cast(self.multiplier, rate.dtype))

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "multiplier": _number(self.multiplier),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScaledSchedule:
        schedule = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(schedule, config.get("multiplier", 1.0))


# Changes applied by a multiplier, kept per optimizer until the plot's feed takes them.
_REPORTS_LOCK = threading.Lock()
_reports: weakref.WeakKeyDictionary[Any, list[LearningRateChange]] = weakref.WeakKeyDictionary()


def report_change(optimizer: Any, change: LearningRateChange) -> None:
    """Keeps a change of ``optimizer``'s rate for `take_reports` (any thread); an
    optimizer that takes no weak reference is not reported."""
    with _REPORTS_LOCK, contextlib.suppress(TypeError):
        _reports.setdefault(optimizer, []).append(change)


def take_reports(optimizer: Any) -> list[LearningRateChange]:
    """The changes reported for ``optimizer`` since the last call, oldest first."""
    if optimizer is None:
        return []
    with _REPORTS_LOCK:
        try:
            return _reports.pop(optimizer, [])
        except TypeError:  # takes no weak reference: never reported
            return []


def changer_reason(callbacks: Iterable[Any]) -> str:
    """Why a constant rate changes, from the callbacks of the fit: ``ReduceLROnPlateau``'s
    rule, ``LearningRateScheduler``, both (``" or "``), else ``"changed"``.

    >>> changer_reason([keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=2)])
    'ReduceLROnPlateau: val_loss did not improve for 2 epochs'
    """
    reasons = []
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.ReduceLROnPlateau):
            patience = int(callback.patience)
            epochs = "epoch" if patience == 1 else "epochs"
            reasons.append(f"ReduceLROnPlateau: {callback.monitor} did not improve for {patience} {epochs}")
        elif isinstance(callback, keras.callbacks.LearningRateScheduler):
            reasons.append("LearningRateScheduler")
    return " or ".join(dict.fromkeys(reasons)) or "changed"


class LearningRateFeed:
    """The learning-rate lane and its change marks, for ``PlotFeedCallback``.

    Runs in the callback's hooks. An optimizer without a readable rate gets no lane:
    one log line says so (logger ``widget_callbacks.learning_rate``) and training goes
    on. On JAX, Keras empties the variables during an epoch (its state lives in the
    jitted step's arrays until the epoch ends): a batch read then finds no rate and the
    lane has its epoch points only.
    """

    def __init__(self) -> None:
        self._optimizer: Any = None
        self._watch = RateWatch()
        self._readable = False
        self._lock = threading.Lock()  # batch hooks may run on Keras's thread pool (JAX, PyTorch)

    @property
    def readable(self) -> bool:
        """Whether this fit's optimizer has a rate to draw."""
        return self._readable

    def begin(self, model: Any, callbacks: Iterable[Any] = ()) -> None:
        """A fit starts: the optimizer, whether its rate is a schedule, who may change it.

        Args:
            model: the model being fit.
            callbacks: the fit's callbacks (a ``ReduceLROnPlateau`` among them names
                the reason of a cut). Defaults to ``()``.
        """
        optimizer = getattr(model, "optimizer", None)
        self._optimizer = optimizer
        take_reports(optimizer)  # made before this fit: not drawn
        rate = read_learning_rate(optimizer)
        self._readable = rate is not None
        self._watch = RateWatch(schedule=is_scheduled(optimizer), reason=changer_reason(callbacks))
        if rate is None:
            _log.warning(
                "The learning rate of %s cannot be read: the plot has no learning-rate lane.",
                type(optimizer).__name__ if optimizer is not None else "a model without an optimizer",
            )
            return
        self._watch.last = rate

    def read(
        self, logs: dict[str, float] | None, *, x: float, epoch: int
    ) -> tuple[float | None, list[LearningRateChange]]:
        """The rate now (from ``logs`` when Keras logged it, else the optimizer) and the
        changes to mark since the last read.

        Args:
            logs: the numeric logs about to be drawn, or ``None`` (a read between two
                epochs). A ``learning_rate`` entry is taken as the rate, as logged.
            x: where this read is drawn.
            epoch: its 1-based epoch.

        Returns:
            ``(rate, changes)``; ``(None, [])`` without a readable rate.
        """
        if not self._readable:
            return None, []
        rate = logs.get(LEARNING_RATE) if logs else None
        if rate is None:
            rate = read_learning_rate(self._optimizer)
        if rate is None:
            return None, []
        with self._lock:
            reported = take_reports(self._optimizer)
            return rate, self._watch.observe(rate, x=x, epoch=epoch, reported=reported)


class LearningRateMultiplier:
    """A learning-rate multiplier: set from any thread, applied on the training thread.

    `set` only validates, then assigns a float and a flag under a lock (what a control's
    handler may do on a kernel subshell's thread); `apply`, called from the
    controller's hooks on the training thread, changes the optimizer.

    Example:

    >>> multiplier = LearningRateMultiplier()
    >>> multiplier.set(0.5)
    >>> multiplier.value, multiplier.pending
    (0.5, True)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 1.0
        self._pending = False
        self._applied: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    @property
    def value(self) -> float:
        """The multiplier asked for (``1.0``: none)."""
        return self._value

    @property
    def pending(self) -> bool:
        """Whether a value waits to be applied."""
        return self._pending

    def set(self, value: float) -> None:
        """Asks for a multiplier, applied at the next hook of a ``fit`` (any thread).

        Args:
            value: from ``0.1`` to ``10``; ``1.0`` undoes.

        Raises:
            TypeError: ``value`` is not a number.
            ValueError: ``value`` is NaN or outside ``[0.1, 10]``.
        """
        number = check_multiplier(value)
        with self._lock:
            self._value = number
            self._pending = True

    def apply(
        self, model: Any, epoch: int, batch: int | None, steps: int | None
    ) -> LearningRateChange | None:
        """Applies a pending multiplier to ``model.optimizer`` (training thread).

        Args:
            model: the model being fit.
            epoch: the 0-based epoch.
            batch: the 1-based batch just ended, or ``None`` between epochs (then the
                change is drawn at the end of epoch ``epoch``).
            steps: batches per epoch, if known.

        Returns:
            The change applied (also reported for the plot's marks), or ``None``.
        """
        if not self._pending:
            return None
        with self._lock:
            value, self._pending = self._value, False
        optimizer = getattr(model, "optimizer", None)
        before = read_learning_rate(optimizer)
        if optimizer is None or before is None:
            return None
        source = compat.learning_rate_source(optimizer)
        if isinstance(source, ScaledSchedule):
            old = _number(source.multiplier)
        elif isinstance(source, _Schedule):
            old = 1.0
        elif isinstance(source, keras.Variable):
            old = self._applied.get(optimizer, 1.0)
        else:
            _log.warning(
                "The learning rate of %s is a %s: the multiplier cannot scale it.",
                type(optimizer).__name__,
                type(source).__name__,
            )
            return None
        if value == old:
            return None
        if isinstance(source, ScaledSchedule):
            source.multiplier.assign(value)
            if keras.backend.backend() == "jax":  # jit captured the variable's value: retrace
                model.make_train_function(force=True)
        elif isinstance(source, _Schedule):
            optimizer.learning_rate = ScaledSchedule(source, value)  # the public setter
            model.make_train_function(force=True)  # the new graph reads the multiplier
        else:
            optimizer.learning_rate = before * value / old
            self._applied[optimizer] = value
        after = read_learning_rate(optimizer)
        x = float(epoch) if batch is None else batch_x(epoch + 1, batch, steps)
        change = LearningRateChange(
            x, epoch + 1, before, before if after is None else after, multiplier_note(old, value)
        )
        report_change(optimizer, change)
        return change

    def __getstate__(self) -> dict[str, Any]:
        return {"_value": self._value, "_pending": self._pending}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self._value = state.get("_value", 1.0)
        self._pending = state.get("_pending", False)

    def __deepcopy__(self, memo: dict[int, Any]) -> LearningRateMultiplier:
        clone = LearningRateMultiplier()
        clone.__setstate__(self.__getstate__())
        return clone
