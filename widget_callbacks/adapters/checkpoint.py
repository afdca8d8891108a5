"""Watching a stock ``keras.callbacks.ModelCheckpoint`` for the files it really writes.

The watcher wraps the checkpoint *instance's* save step, so it works wherever
the checkpoint sits in ``fit(callbacks=[...])`` and needs no callback of its
own. A record is made only when the file's state on disk (existence, inode,
``mtime_ns``, size) changed across the save.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import keras

from .._compat import keras as compat
from ..core.checkpoints import CheckpointLog
from ..core.listeners import Listeners
from ..core.records import CheckpointRecord
from .logs import to_float

__all__ = ["CheckpointWatcher"]

Listener = Callable[[CheckpointRecord], None]
_FileState = tuple[int, int, int]

_watchers: weakref.WeakKeyDictionary[Any, CheckpointWatcher] = weakref.WeakKeyDictionary()
_watchers_lock = threading.Lock()


def _file_state(path: str) -> _FileState | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _plain_method(checkpoint: Any, name: str) -> Any:
    """``checkpoint.<name>`` as its class defines it, bound to ``checkpoint``."""
    return getattr(type(checkpoint), name).__get__(checkpoint, type(checkpoint))


class _Hook:
    """A wrapped method kept on the checkpoint instance.

    A deep copy or a pickle of the checkpoint gets the class's plain method
    instead, so a copy never calls into the original (copies are not watched).
    """

    def __init__(self, checkpoint: Any, name: str, call: Callable[..., Any], original: Any) -> None:
        self._checkpoint, self._name, self._call = checkpoint, name, call
        self.__wrapped__ = original

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        copy = memo.get(id(self._checkpoint))
        return self if copy is None else _plain_method(copy, self._name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_plain_method, (self._checkpoint, self._name))


def _logged_value(monitor: str | None, logs: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The metric and value a checkpoint's marker is drawn at, from the logs of the
    moment it was written: the monitored one when logged, else its training
    counterpart (``"loss"`` for ``"val_loss"``: batch logs and fits without
    validation have no ``val_*``), else ``"loss"``. ``(None, None)`` when none is."""
    names = [monitor] if monitor else []
    if monitor and monitor.startswith("val_"):
        names.append(monitor[len("val_") :])
    names.append("loss")
    for name in names:
        value = to_float(logs.get(name))  # size-1 arrays too (F1Score)
        if value is not None:
            return name, value
    return None, None


class CheckpointWatcher:
    """Records the files a stock ``keras.callbacks.ModelCheckpoint`` really wrote.

    Works with ``save_best_only`` on or off, ``save_freq="epoch"`` or an
    integer, and any position in the callbacks list. It wraps the instance's
    private ``_save_model`` when present (Keras 3); without it, it wraps the
    public ``on_epoch_end``/``on_train_batch_end`` and checks the formatted
    file path around them. Its own bookkeeping never breaks the checkpoint:
    errors in it are reported once as a ``RuntimeWarning``. Records accumulate
    across fits, as files do; see `reset`.

    Use `for_checkpoint` to get the one watcher of a checkpoint.

    Args:
        checkpoint: the ``keras.callbacks.ModelCheckpoint`` to watch.

    Example:

    >>> import os, tempfile, numpy as np, keras
    >>> folder = tempfile.mkdtemp()
    >>> checkpoint = keras.callbacks.ModelCheckpoint(
    ...     os.path.join(folder, "{epoch:02d}.weights.h5"),
    ...     save_weights_only=True, monitor="loss")
    >>> watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", loss="mse")
    >>> _ = model.fit(np.ones((8, 4)), np.ones(8), epochs=2, verbose=0,
    ...               callbacks=[checkpoint])
    >>> [(r.epoch, os.path.basename(r.path)) for r in watcher.records]
    [(1, '01.weights.h5'), (2, '02.weights.h5')]
    """

    def __init__(self, checkpoint: keras.callbacks.ModelCheckpoint) -> None:
        if not isinstance(checkpoint, keras.callbacks.ModelCheckpoint):
            raise TypeError(
                "checkpoint must be a keras.callbacks.ModelCheckpoint. "
                f"Received: {checkpoint!r} of type {type(checkpoint).__name__}"
            )
        self._checkpoint = checkpoint
        self._log = CheckpointLog()
        self._listeners: Listeners[CheckpointRecord] = Listeners("CheckpointWatcher")
        self._warned = False
        self._epoch = 0  # 0-based, tracked only in the fallback mode
        self._saved: dict[str, Any] = {}  # instance attributes replaced, to restore
        save_method = compat.checkpoint_save_method(checkpoint)
        if save_method is not None:
            self._mode = "save_model"
            self._wrap(save_method, self._wrap_save_model)
        else:
            self._mode = "hooks"
            self._wrap("on_epoch_begin", self._wrap_epoch_begin)
            self._wrap("on_epoch_end", self._wrap_epoch_end)
            self._wrap("on_train_batch_end", self._wrap_batch_end)
        with _watchers_lock:
            _watchers.setdefault(checkpoint, self)

    @classmethod
    def for_checkpoint(cls, checkpoint: keras.callbacks.ModelCheckpoint) -> CheckpointWatcher:
        """The watcher of ``checkpoint``, created at the first call.

        Args:
            checkpoint: a ``keras.callbacks.ModelCheckpoint``.

        Returns:
            The same `CheckpointWatcher` for the same checkpoint every time.
        """
        with _watchers_lock:
            watcher = _watchers.get(checkpoint)
        return watcher if watcher is not None else cls(checkpoint)

    # -- public -----------------------------------------------------------------

    @property
    def checkpoint(self) -> keras.callbacks.ModelCheckpoint:
        """The watched checkpoint."""
        return self._checkpoint

    @property
    def mode(self) -> str:
        """``"save_model"`` (wraps ``_save_model``) or ``"hooks"`` (the fallback)."""
        return self._mode

    @property
    def log(self) -> CheckpointLog:
        """The `CheckpointLog` behind `records`."""
        return self._log

    @property
    def records(self) -> tuple[CheckpointRecord, ...]:
        """Records of the files really written, oldest first."""
        return self._log.records

    def reset(self) -> None:
        """Forgets the records (files on disk are left alone)."""
        self._log.reset()

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """Calls ``fn(record)`` after each file really written (on the training thread).

        Args:
            fn: a callable taking a `CheckpointRecord`.

        Returns:
            A function that unsubscribes ``fn``.
        """
        return self._listeners.add(fn)

    def detach(self) -> None:
        """Stops watching: restores the checkpoint's own methods."""
        for name, previous in self._saved.items():
            if previous is None:
                self._checkpoint.__dict__.pop(name, None)
            else:
                self._checkpoint.__dict__[name] = previous
        self._saved.clear()
        with _watchers_lock:
            if _watchers.get(self._checkpoint) is self:
                del _watchers[self._checkpoint]

    # -- wrapping ------------------------------------------------------------------

    def _wrap(self, name: str, factory: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = getattr(self._checkpoint, name)
        self._saved[name] = self._checkpoint.__dict__.get(name)
        setattr(self._checkpoint, name, _Hook(self._checkpoint, name, factory(original), original))

    def _wrap_save_model(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def _save_model(*args: Any, **kwargs: Any) -> Any:
            names = ("epoch", "batch", "logs")
            bound = dict(zip(names, args))
            bound.update({k: v for k, v in kwargs.items() if k in names})
            epoch, batch, logs = bound.get("epoch"), bound.get("batch"), bound.get("logs")
            return self._around(original, args, kwargs, epoch, batch, logs)

        return _save_model

    def _wrap_epoch_begin(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def on_epoch_begin(epoch: int, logs: Mapping[str, Any] | None = None) -> Any:
            self._epoch = epoch
            return original(epoch, logs)

        return on_epoch_begin

    def _wrap_epoch_end(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def on_epoch_end(epoch: int, logs: Mapping[str, Any] | None = None) -> Any:
            if self._checkpoint.save_freq != "epoch":
                return original(epoch, logs)
            return self._around(original, (epoch, logs), {}, epoch, None, logs)

        return on_epoch_end

    def _wrap_batch_end(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def on_train_batch_end(batch: int, logs: Mapping[str, Any] | None = None) -> Any:
            if self._checkpoint.save_freq == "epoch":
                return original(batch, logs)
            return self._around(original, (batch, logs), {}, self._epoch, batch, logs)

        return on_train_batch_end

    # -- recording -----------------------------------------------------------------

    def _around(
        self,
        original: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        epoch: Any,
        batch: Any,
        logs: Mapping[str, Any] | None,
    ) -> Any:
        path: str | None = None
        before: _FileState | None = None
        try:
            path = self._file_path(int(epoch), None if batch is None else int(batch), logs or {})
            before = _file_state(path)
        except Exception:  # a bad format: the checkpoint itself reports it
            path = None
        result = original(*args, **kwargs)
        if path is not None:
            try:
                after = _file_state(path)
                if after is not None and after != before:
                    self._record(int(epoch), None if batch is None else int(batch), path, logs or {})
            except Exception as exc:  # never break the user's checkpoint
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"CheckpointWatcher could not record {path!r}: {exc!r}", RuntimeWarning, stacklevel=2
                    )
        return result

    def _file_path(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> str:
        return compat.checkpoint_file_path(self._checkpoint, epoch, batch, logs)

    def _record(self, epoch: int, batch: int | None, path: str, logs: Mapping[str, Any]) -> None:
        monitor = getattr(self._checkpoint, "monitor", None)
        monitor = monitor if isinstance(monitor, str) else None
        value_metric, value = _logged_value(monitor, logs)
        record = self._log.add(
            CheckpointRecord(
                epoch=epoch + 1,
                path=path,
                batch=None if batch is None else batch + 1,
                value=value,
                monitor=monitor,
                value_metric=value_metric,
            )
        )
        self._listeners.notify(record)

    def __repr__(self) -> str:
        return f"CheckpointWatcher({self._checkpoint.filepath!r}, {len(self._log)} records)"
