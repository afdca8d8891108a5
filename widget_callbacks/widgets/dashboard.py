"""`TrainingDashboard`: plot, controls and callbacks for the common case, in one object."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import ipywidgets
import keras

from ..adapters.distributed import is_secondary_process
from ..adapters.early_stopping import EarlyStoppingController
from ..kernel.steering import fit_async
from .controls import ControlPanel
from .live_plot import LivePlot


class TrainingDashboard:
    """A live plot with early-stopping controls and an optional checkpoint, ready for ``fit``.

    Builds an `EarlyStoppingController` (the same arguments and defaults as
    ``keras.callbacks.EarlyStopping``), a `LivePlot` drawing its marks, the controls
    (Stop, patience, pause) and, when ``checkpoint`` is given, a stock
    ``keras.callbacks.ModelCheckpoint`` whose written files are marked on the plot.
    Each part stays usable on its own: ``.plot``, ``.controller``, ``.controls``,
    ``.checkpoint``.

    Args:
        monitor: the metric to watch. Defaults to ``"val_loss"``.
        patience: epochs without improvement before stopping. Defaults to 0.
        checkpoint: a file path for a ``ModelCheckpoint`` (``.keras``, or
            ``.weights.h5`` to save weights only), an existing ``ModelCheckpoint``,
            or None for no checkpoint. Defaults to None.
        save_best_only: with a checkpoint path, keep only the best model (by
            ``monitor``). Defaults to True.
        plot: a `LivePlot` to draw on. Defaults to None: a new one.
        **early_stopping: the other arguments of ``keras.callbacks.EarlyStopping``
            (``min_delta``, ``verbose``, ``mode``, ``baseline``,
            ``restore_best_weights``, ``start_from_epoch``).

    Several JAX processes (``keras.distribution`` over ``jax.distributed``): build one
    in every process, after ``jax.distributed.initialize``. Process 0 shows it and its
    controls act on every process at the same step (``adapters/distributed.py``); on
    the other processes it shows nothing, its widgets send nothing (they are made
    without a comm), and ``callbacks`` holds only the controller (process 0 alone
    writes the checkpoint: ``DataParallel`` replicates the weights).

    Example:

    ```python
    dashboard = TrainingDashboard(monitor="val_loss", patience=5,
                                  restore_best_weights=True, checkpoint="best.keras")
    display(dashboard)
    model.fit(x, y, epochs=100, validation_split=0.2, verbose=0,
              callbacks=dashboard.callbacks)
    # or, where clicks must act in front ends without kernel subshells:
    history = await dashboard.fit_async(model, x, y, epochs=100, validation_split=0.2)
    ```
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        *,
        checkpoint: str | os.PathLike[str] | keras.callbacks.ModelCheckpoint | None = None,
        save_best_only: bool = True,
        plot: LivePlot | None = None,
        **early_stopping: Any,
    ) -> None:
        if plot is not None and not isinstance(plot, LivePlot):
            raise TypeError(f"plot must be a LivePlot or None. Received: plot={plot!r}")
        self.controller = EarlyStoppingController(monitor=monitor, patience=patience, **early_stopping)
        self.checkpoint = _checkpoint(checkpoint, monitor, save_best_only, self.controller.mode)
        self._shown = not is_secondary_process()  # process 0, or a single process
        with _front_end(self._shown):
            self.plot = plot if plot is not None else LivePlot()
            if self._shown:
                self.plot.attach(self.controller, *([self.checkpoint] if self.checkpoint else []))
            self.controls = ControlPanel(self.controller)
            self.widget = ipywidgets.VBox([self.controls.widget, self.plot])

    @property
    def callbacks(self) -> list[keras.callbacks.Callback]:
        """The callbacks to pass to ``model.fit``: plot, controller and checkpoint."""
        if not self._shown:  # another process of a multi-process run: steering only
            return [self.controller]
        callbacks: list[keras.callbacks.Callback] = [self.plot.callback, self.controller]
        if self.checkpoint is not None:
            callbacks.append(self.checkpoint)
        return callbacks

    async def fit_async(self, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Runs ``model.fit`` in a worker thread, with this dashboard's callbacks added.

        Await it in a cell (``history = await dashboard.fit_async(model, x, y)``): the
        kernel handles Stop and the slider during the await in every front end.

        Args:
            model: a compiled Keras model.
            *args: positional arguments of ``model.fit``.
            **kwargs: keyword arguments of ``model.fit``; ``callbacks`` are kept and
                this dashboard's are appended.

        Returns:
            The ``History`` returned by ``model.fit``.
        """
        callbacks = list(kwargs.pop("callbacks", None) or []) + self.callbacks
        return await fit_async(model, *args, callbacks=callbacks, **kwargs)

    def to_figure(self) -> Any:
        """The plot as a plotly Figure; see `LivePlot.to_figure`."""
        return self.plot.to_figure()

    def save(self, path: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Writes the plot to a file; see `LivePlot.save`."""
        return self.plot.save(path, **kwargs)

    def _ipython_display_(self) -> None:
        # Shown like the plot: under a display id, with its static copy after a fit.
        if self._shown:
            self.plot._display_with_static_copy(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs) if self._shown else {}


@contextlib.contextmanager
def _front_end(shown: bool) -> Iterator[None]:
    """Widgets made inside open a comm to the front end only when ``shown``: else they
    get ``comm.DummyComm`` (the ``comm`` package's replaceable ``create_comm``, which
    ipywidgets 8 calls), which sends nothing."""
    if shown:
        yield
        return
    import comm

    create = comm.create_comm
    comm.create_comm = comm.DummyComm
    try:
        yield
    finally:
        comm.create_comm = create


def _checkpoint(
    checkpoint: str | os.PathLike[str] | keras.callbacks.ModelCheckpoint | None,
    monitor: str,
    save_best_only: bool,
    mode: str,
) -> keras.callbacks.ModelCheckpoint | None:
    if checkpoint is None or isinstance(checkpoint, keras.callbacks.ModelCheckpoint):
        return checkpoint
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(
            "checkpoint must be a file path, a keras.callbacks.ModelCheckpoint or None. "
            f"Received: checkpoint={checkpoint!r}"
        )
    path = os.fspath(checkpoint)
    weights_only = path.endswith(".weights.h5")
    # ModelCheckpoint raises its own clear error for a wrong suffix.
    return keras.callbacks.ModelCheckpoint(
        path,
        monitor=monitor,
        save_best_only=save_best_only,
        save_weights_only=weights_only,
        mode=mode if mode in ("min", "max") else "auto",
    )
