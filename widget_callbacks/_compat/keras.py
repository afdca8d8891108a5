"""Keras private names (read against Keras 3.5 to 3.15.1). Used by ``adapters`` only."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any


def print_msg() -> Callable[[str], None]:
    """``keras.src.utils.io_utils.print_msg`` (stdout or absl logging, as Keras's own
    callbacks print); ``print`` when it is gone."""
    try:
        from keras.src.utils.io_utils import print_msg as keras_print_msg
    except ImportError:
        return print
    return keras_print_msg


def compiled_metrics(model: Any) -> Iterator[Any]:
    """The metrics inside a compiled model's ``CompileMetrics``/``MetricsList``
    containers (``keras.src.trainers.compile_utils``), as ``MonitorCallback`` reads
    them; nothing when those classes are gone."""
    try:
        from keras.src.trainers.compile_utils import CompileMetrics, MetricsList
    except ImportError:
        return
    for container in getattr(model, "metrics", ()):
        if isinstance(container, (CompileMetrics, MetricsList)):
            yield from container.metrics


def metric_direction(metric: Any) -> str | None:
    """A metric's private ``_direction`` (``"up"``/``"down"``), or ``None``."""
    direction = getattr(metric, "_direction", None)
    return direction if isinstance(direction, str) else None


def checkpoint_save_method(checkpoint: Any) -> str | None:
    """The name of ``ModelCheckpoint``'s private save step (``_save_model``, Keras 3),
    or ``None`` when it is gone (watch the public hooks instead)."""
    return "_save_model" if callable(getattr(checkpoint, "_save_model", None)) else None


def checkpoint_file_path(checkpoint: Any, epoch: int, batch: int | None, logs: Any) -> str:
    """The path ``ModelCheckpoint`` saves to for a 0-based epoch/batch: its private
    ``_get_file_path`` when present, else ``filepath`` formatted as Keras does."""
    get_file_path = getattr(checkpoint, "_get_file_path", None)
    if callable(get_file_path):
        return str(get_file_path(epoch, batch, logs))
    filepath = str(checkpoint.filepath)
    if batch is None or "batch" in logs:
        return filepath.format(epoch=epoch + 1, **logs)
    return filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)


@functools.lru_cache(maxsize=1)
def early_stopping_resets_best() -> bool:
    """Whether ``EarlyStopping.on_train_begin`` forgets ``best`` (Keras >= 3.15.0; 3.13
    keeps it across ``fit`` calls), seen by calling it once on a stock instance."""
    import keras

    stock = keras.callbacks.EarlyStopping()
    stock.best = 1.0
    try:
        stock.on_train_begin()
    except Exception:
        return True
    return stock.best is None


def unsynced_model(callback: Any) -> Any:
    """A callback's model as set by ``set_model`` (``Callback._model``), without what
    the public ``Callback.model`` does on JAX: ``model.jax_state_sync()``, which writes
    the step's state back into every variable. From a batch hook on Keras's thread
    pool (``async_safe``) that sync races the next step, whose buffers it donated
    (Keras then fails with "Buffer has been deleted or donated"); on the main thread
    it costs a copy of every variable per batch. Falls back to ``callback.model``."""
    model = callback.__dict__.get("_model")
    return model if model is not None else callback.model


def learning_rate_source(optimizer: Any) -> Any:
    """What a Keras 3 optimizer's rate comes from: its private ``_learning_rate`` (a
    ``keras.Variable`` for a constant rate, a ``LearningRateSchedule``, or a callable);
    ``None`` when the attribute is gone (the public ``learning_rate`` gives only the
    current value). Read by ``adapters/learning_rate.py`` to tell a schedule (scaled
    by wrapping it) from a variable (scaled by assigning it); it is replaced only
    through the public ``learning_rate`` setter."""
    return getattr(optimizer, "_learning_rate", None)


def running_callbacks(limit: int = 8) -> list[Any]:
    """The callbacks of the ``keras.callbacks.CallbackList`` whose hook is running now
    (Keras 3's ``CallbackList.on_train_begin`` calls each callback's hook itself: its
    frame is a few frames up, its ``self`` the list), e.g. to find a
    ``ReduceLROnPlateau`` beside the caller; ``[]`` when none is found within
    ``limit`` frames."""
    import sys

    import keras

    frame: FrameType | None = sys._getframe(1)
    for _ in range(limit):
        if frame is None:
            break
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.callbacks.CallbackList):
            return list(owner.callbacks)
        frame = frame.f_back
    return []


def probe() -> dict[str, bool]:
    """Whether each private name above exists in the installed Keras (the canary)."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", loss="mse", metrics=["mae"])
    model.build((None, 2))
    try:
        from keras.src.utils.io_utils import print_msg as found  # noqa: F401

        has_print = True
    except ImportError:
        has_print = False
    checkpoint = keras.callbacks.ModelCheckpoint("probe.keras")
    return {
        "keras.src.utils.io_utils.print_msg": has_print,
        "compile_utils.CompileMetrics/MetricsList": _has_containers(),
        "Metric._direction": all(
            metric_direction(m) is not None for m in (keras.metrics.MeanAbsoluteError(),)
        ),
        "ModelCheckpoint._save_model": checkpoint_save_method(checkpoint) is not None,
        "ModelCheckpoint._get_file_path": callable(getattr(checkpoint, "_get_file_path", None)),
        "Callback._model": _callback_model_is_private_attribute(model),
        "Optimizer._learning_rate": _learning_rate_sources_are_known(),
        "CallbackList frame (running_callbacks)": _running_callbacks_found(),
    }


def _has_containers() -> bool:
    try:
        from keras.src.trainers.compile_utils import CompileMetrics, MetricsList  # noqa: F401
    except ImportError:
        return False
    return True


def _callback_model_is_private_attribute(model: Any) -> bool:
    import keras

    callback = keras.callbacks.Callback()
    callback.set_model(model)
    return callback.__dict__.get("_model") is model


def _learning_rate_sources_are_known() -> bool:
    import keras

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    scheduled = learning_rate_source(keras.optimizers.SGD(schedule)) is schedule
    constant = learning_rate_source(keras.optimizers.SGD(0.1))
    return scheduled and isinstance(constant, keras.Variable)


def _running_callbacks_found() -> bool:
    import keras

    found: list[Any] = []

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            found.extend(running_callbacks())

    probe, other = Probe(), keras.callbacks.ReduceLROnPlateau()
    keras.callbacks.CallbackList([probe, other]).on_train_begin()
    return probe in found and other in found
