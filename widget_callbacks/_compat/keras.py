"""Keras private names (read against Keras 3.5 to 3.15.1). Used by ``adapters`` only."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
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


@functools.cache
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
    }


def _has_containers() -> bool:
    try:
        from keras.src.trainers.compile_utils import CompileMetrics, MetricsList  # noqa: F401
    except ImportError:
        return False
    return True
