"""Several devices in one process: TensorFlow's ``MirroredStrategy`` over 2 logical CPUs
and Keras's ``DataParallel`` over 2 JAX host devices.

Each strategy runs in its own child process (the devices are fixed before TensorFlow or
XLA starts: ``tf.config.set_logical_device_configuration``,
``XLA_FLAGS=--xla_force_host_platform_device_count=2``): ``python tests/test_devices.py
--worker mirrored|data_parallel OUT.json``. The worker runs six fits of a tiny model on
2 replicas and writes what it saw; the tests below read it (one child per strategy,
bounded by TIMEOUT):

- ``stock`` / ``ours``: the same seeds and data with ``keras.callbacks.EarlyStopping``,
  then with an `EarlyStoppingController` (its `ControlPanel`, a `LivePlot` attached to it
  and to a ``ModelCheckpoint(save_best_only=True)``): the same epochs, stop, best epoch and
  restored weights; the plot's curves, best and stop marks and checkpoint markers.
- ``stock_slider`` / ``ours_slider``: the patience lowered from 50 to 1 at the start of
  epoch 4, on stock Keras by assignment, on ours by the slider's message handled on
  another thread (as a kernel subshell does): the same decisions again.
- ``hand_stop``: the Stop button's message from another thread once epoch 5 began
  (val_loss is past its best by then), not waited for: a graceful stop, the best weights
  restored over later ones.
- ``interrupt``: SIGINT sent from another thread once epoch 5 began, with the graceful
  Interrupt handler installed (what the notebook's Interrupt button does): the same.

``tf.distribute.MultiWorkerMirroredStrategy`` over 2 worker processes cannot ``fit`` under
Keras 3.15 + TF 2.21 (a ``PerReplica`` conversion error, with or without callbacks):
``test_multi_worker_mirrored_strategy_cannot_fit`` keeps that checked (strict xfail).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from bounded_run import run_bounded, run_together

HERE = Path(__file__).resolve()
TIMEOUT = 420  # seconds per strategy: seen 70-100 s (mirrored), 20 s (data_parallel), 2 busy cores
EPOCHS = 25
STRATEGIES = {
    "mirrored": {"KERAS_BACKEND": "tensorflow"},
    "data_parallel": {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
}
CLICK = {"content": {"data": {"method": "custom", "content": {"event": "click"}}}, "buffers": []}


def _slider(value: int) -> dict[str, Any]:
    return {
        "content": {"data": {"method": "update", "state": {"value": value}, "buffer_paths": []}},
        "buffers": [],
    }


# --------------------------------------------------------------------------- the worker


def _worker(strategy: str, out: Path) -> None:
    """Runs in the child process: devices first, then Keras, then the five fits."""
    import contextlib
    import signal
    import threading

    import numpy as np

    if strategy == "mirrored":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        mirrored = tf.distribute.MirroredStrategy(devices)
        scope: Any = mirrored.scope
        replicas = int(mirrored.num_replicas_in_sync)
    else:
        import jax
        import keras

        devices = [str(d) for d in jax.devices()]
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
        scope = contextlib.nullcontext
        replicas = len(jax.devices())

    import keras

    from widget_callbacks import ControlPanel, EarlyStoppingController, LivePlot
    from widget_callbacks.kernel.steering import graceful_interrupts

    rng = np.random.default_rng(0)  # noise: val_loss improves briefly, then overfits
    x, y = rng.normal(size=(96, 8)).astype("float32"), rng.normal(size=(96, 1)).astype("float32")
    xv, yv = rng.normal(size=(32, 8)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    folder = out.parent / f"{strategy}-checkpoints"

    def build() -> keras.Model:
        keras.utils.set_random_seed(0)
        with scope():
            model = keras.Sequential(
                [keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
            )
            model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
        return model

    class Recorder(keras.callbacks.Callback):
        """Weights at the best val_loss (strict, as Keras); runs ``at_epoch_begin[epoch]``."""

        def __init__(self, at_epoch_begin: dict[int, Any] | None = None) -> None:
            super().__init__()
            self.at = at_epoch_begin or {}
            self.best, self.best_epoch, self.best_weights = np.inf, None, None
            self.final_weights: list[Any] | None = None

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if epoch in self.at:
                self.at[epoch]()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if logs["val_loss"] < self.best:
                self.best, self.best_epoch = logs["val_loss"], epoch + 1
                self.best_weights = self.model.get_weights()

        def on_train_end(self, logs: Any = None) -> None:  # before the controller's restore
            self.final_weights = self.model.get_weights()

    def in_thread(fn: Any) -> Any:
        def run() -> None:
            thread = threading.Thread(target=fn)
            thread.start()
            thread.join()

        return run

    def fit(model: keras.Model, callbacks: list[Any]) -> dict[str, Any]:
        history = model.fit(
            x, y, validation_data=(xv, yv), batch_size=16, epochs=EPOCHS, shuffle=False, verbose=0,
            callbacks=callbacks,
        )  # fmt: skip
        return {"epochs": len(history.epoch), "val_loss": history.history["val_loss"]}

    def same(a: list[Any], b: list[Any]) -> bool:
        return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))

    def stopping(cb: Any) -> dict[str, Any]:
        return {"stopped_epoch": int(cb.stopped_epoch), "best_epoch": int(cb.best_epoch)}

    def ours(controller: Any, panel: Any, plot: Any) -> dict[str, Any]:
        s = controller.snapshot()
        figure = plot.state.figure()
        roles: dict[str, list[Any]] = {}
        for trace in figure["data"]:
            role = trace.get("meta", {}).get("role")
            if role in ("best", "stop", "checkpoint"):
                roles.setdefault(role, []).extend(trace["x"])
        curves = {t["name"]: t["x"] for t in figure["data"] if t.get("meta", {}).get("role") == "metric"}
        return {
            **stopping(controller),
            "reason": s.stop_reason, "snap_stopped_epoch": s.stopped_epoch, "snap_best_epoch": s.best_epoch,
            "restored_epoch": s.restored_epoch, "patience": s.patience,
            "panel_state": panel.state, "panel_status": panel.status_line,
            "plot_status": plot.progress["status"], "plot_message": plot.progress["message"],
            "plot_epochs": plot.history["epoch"], "plot_val_loss": plot.history.get("val_loss"),
            "curves": curves, "marks": roles,
            "checkpoints": [r.epoch for r in plot.state.checkpoints],
        }  # fmt: skip

    result: dict[str, Any] = {"strategy": strategy, "devices": devices, "replicas": replicas}
    result["backend"] = keras.backend.backend()
    args = dict(monitor="val_loss", patience=2, restore_best_weights=True)

    # 1. automatic early stopping: stock Keras, then ours with the panel, plot and checkpoint
    stock = keras.callbacks.EarlyStopping(**args)
    model = build()
    result["stock"] = {**fit(model, [stock]), **stopping(stock)}
    stock_weights = model.get_weights()
    if strategy == "data_parallel":
        kernel = model.layers[0].kernel.value
        result["stock"]["kernel_devices"] = len(kernel.sharding.device_set)
    controller = EarlyStoppingController(**args)
    panel, plot = ControlPanel(controller), LivePlot(static_fallback=False)
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(folder / "ep{epoch:02d}.weights.h5"), save_weights_only=True, save_best_only=True
    )
    plot.attach(controller, checkpoint)
    drawn: list[int] = []

    class During(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            drawn.append(len(plot.history["epoch"]))  # drawn by the time the next callback runs

    model = build()
    result["ours"] = {
        **fit(model, [plot.callback, controller, checkpoint, During()]),
        **ours(controller, panel, plot),
    }
    result["ours"]["drawn_during"] = drawn
    result["ours"]["files"] = sorted(p.name for p in folder.iterdir())
    result["ours"]["same_weights_as_stock"] = same(model.get_weights(), stock_weights)

    # 2. the patience slider moved from 50 to 1 at the start of epoch 4
    stock = keras.callbacks.EarlyStopping(**{**args, "patience": 50})
    model = build()
    lower = Recorder({3: lambda: setattr(stock, "patience", 1)})
    result["stock_slider"] = {**fit(model, [lower, stock]), **stopping(stock)}
    stock_weights = model.get_weights()
    controller = EarlyStoppingController(**{**args, "patience": 50})
    panel, plot = ControlPanel(controller), LivePlot(static_fallback=False)
    plot.attach(controller)
    model = build()
    slide = Recorder({3: in_thread(lambda: panel.patience_slider._handle_msg(_slider(1)))})
    result["ours_slider"] = {
        **fit(model, [slide, plot.callback, controller]),
        **ours(controller, panel, plot),
    }
    result["ours_slider"]["same_weights_as_stock"] = same(model.get_weights(), stock_weights)

    # 3. a hand stop: the Stop button's message from another thread, not waited for
    for name in ("hand_stop", "interrupt"):
        controller = EarlyStoppingController(**{**args, "patience": 100})
        panel, plot = ControlPanel(controller), LivePlot(static_fallback=False)
        plot.attach(controller)
        go = threading.Event()

        def act(name: str = name, panel: Any = panel, go: threading.Event = go) -> None:
            go.wait(120)
            if name == "hand_stop":
                panel.stop_button._handle_msg(CLICK)
            else:  # 4. what the notebook's Interrupt button sends the kernel
                os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=act, daemon=True).start()
        recorder = Recorder({4: go.set})  # epoch 5: val_loss is past its best
        model = build()
        with graceful_interrupts(controller) if name == "interrupt" else contextlib.nullcontext():
            result[name] = {
                **fit(model, [recorder, plot.callback, controller]),
                **ours(controller, panel, plot),
            }
        result[name]["recorded_best_epoch"] = recorder.best_epoch
        result[name]["restored_best"] = same(model.get_weights(), recorder.best_weights)
        result[name]["moved"] = not same(recorder.final_weights, recorder.best_weights)
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------- the tests


def _start(strategy: str, tmp: Path) -> dict[str, Any]:
    out = tmp / f"{strategy}.json"
    env = {**os.environ, **STRATEGIES[strategy], "KERAS_HOME": str(tmp / "keras")}
    run = run_bounded([sys.executable, str(HERE), "--worker", strategy, str(out)], env, TIMEOUT)
    print(f"{strategy}: worker took {run.seconds:.0f} s")
    assert run.returncode == 0 and out.exists(), f"{strategy} worker (exit {run.returncode}):\n{run.tail()}"
    return dict(json.loads(out.read_text()), seconds=run.seconds)


_RUNS: dict[str, dict[str, Any] | str] = {}  # a result, or why the worker failed


@pytest.fixture(params=sorted(STRATEGIES))
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The worker's result for one strategy, computed once per session (a failure too)."""
    strategy = request.param
    if strategy not in _RUNS:
        try:
            _RUNS[strategy] = _start(strategy, tmp_path_factory.mktemp(strategy))
        except AssertionError as error:
            _RUNS[strategy] = str(error)
    result = _RUNS[strategy]
    if isinstance(result, str):
        pytest.fail(result, pytrace=False)
    return result


pytestmark = pytest.mark.slow


def test_two_replicas(run: dict[str, Any]) -> None:
    assert run["replicas"] == 2 and len(run["devices"]) == 2, run["devices"]
    assert run["backend"] == STRATEGIES[run["strategy"]]["KERAS_BACKEND"]
    if run["strategy"] == "data_parallel":
        assert run["stock"]["kernel_devices"] == 2  # the variables live on both devices


def test_decisions_and_restored_weights_equal_stock_keras(run: dict[str, Any]) -> None:
    stock, ours = run["stock"], run["ours"]
    assert ours["epochs"] == stock["epochs"] < EPOCHS, "a patience stop, the same epoch"
    assert (ours["stopped_epoch"], ours["best_epoch"]) == (stock["stopped_epoch"], stock["best_epoch"])
    assert ours["val_loss"] == stock["val_loss"]
    assert ours["same_weights_as_stock"], "restored weights differ from stock Keras's"
    assert ours["reason"] == "patience exhausted"
    assert (ours["snap_stopped_epoch"], ours["restored_epoch"]) == (
        stock["stopped_epoch"] + 1,
        stock["best_epoch"] + 1,
    )


def test_the_plot_draws_curves_marks_and_checkpoints(run: dict[str, Any]) -> None:
    ours = run["ours"]
    epochs = list(range(1, ours["epochs"] + 1))
    assert ours["plot_epochs"] == epochs and ours["drawn_during"] == epochs
    assert ours["plot_val_loss"] == pytest.approx(ours["val_loss"])
    assert ours["curves"]["loss"] == epochs and ours["curves"]["val_loss"] == epochs
    assert ours["marks"]["best"] == [ours["best_epoch"] + 1]
    assert ours["marks"]["stop"] == [ours["stopped_epoch"] + 1]
    improved = [
        e for e, v in enumerate(ours["val_loss"], 1) if v < min(ours["val_loss"][: e - 1], default=1e30)
    ]
    assert ours["checkpoints"] == improved == ours["marks"]["checkpoint"]
    assert ours["files"] == [f"ep{e:02d}.weights.h5" for e in improved]
    assert ours["plot_status"] == "stopped" and "patience" in ours["plot_message"]
    assert ours["panel_state"] == "stopped"


def test_the_patience_slider_decides_as_stock_keras_told_the_same(run: dict[str, Any]) -> None:
    stock, ours = run["stock_slider"], run["ours_slider"]
    assert ours["patience"] == 1
    assert ours["epochs"] == stock["epochs"] < EPOCHS
    assert (ours["stopped_epoch"], ours["best_epoch"]) == (stock["stopped_epoch"], stock["best_epoch"])
    assert ours["same_weights_as_stock"] and ours["reason"] == "patience exhausted"


@pytest.mark.parametrize("case", ["hand_stop", "interrupt"])
def test_a_stop_from_another_thread_is_graceful_and_restores_best(run: dict[str, Any], case: str) -> None:
    ours = run[case]
    reason = "stopped by hand" if case == "hand_stop" else "interrupted"
    assert ours["reason"] == reason, ours
    # asked for from another thread once epoch 5 began; not waited for, so it may land later
    assert 5 <= ours["snap_stopped_epoch"] < EPOCHS and ours["epochs"] == ours["snap_stopped_epoch"]
    assert ours["restored_epoch"] == ours["recorded_best_epoch"] < ours["snap_stopped_epoch"]
    assert ours["restored_best"] and ours["moved"], "best weights restored over later ones"
    assert ours["marks"]["stop"] == [ours["snap_stopped_epoch"]]
    assert ours["plot_status"] == "stopped" and ours["panel_state"] == "stopped"


_MULTI_WORKER = r"""
import json, os, sys
index, ports = int(sys.argv[1]), sys.argv[2].split(",")
cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
import numpy as np, tensorflow as tf, keras
strategy = tf.distribute.MultiWorkerMirroredStrategy()
assert strategy.num_replicas_in_sync == 2
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", loss="mse")
model.fit(np.zeros((32, 4), "float32"), np.zeros((32, 1), "float32"), batch_size=8, epochs=1, verbose=0)
print("FITTED")
"""


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class PerReplicaError(Exception):
    """MultiWorkerMirroredStrategy's known failure to fit."""


@pytest.mark.xfail(
    strict=True, raises=PerReplicaError,
    reason="Keras 3.15 + TF 2.21: MultiWorkerMirroredStrategy over 2 workers cannot fit "
    "(PerReplica); when it passes, say so in the README",
)  # fmt: skip
def test_multi_worker_mirrored_strategy_cannot_fit(tmp_path: Path) -> None:
    """Two worker processes on 127.0.0.1, no callbacks: ``fit`` raises ``ValueError: Attempt
    to convert a value (PerReplica: ...)`` in both. (One worker alone, one replica, fits.)"""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "KERAS_HOME": str(tmp_path)}
    ports = ",".join(map(str, _free_ports(2)))
    runs = run_together([([sys.executable, "-c", _MULTI_WORKER, str(i), ports], env) for i in (0, 1)], 240)
    if all(r.returncode not in (0, None) and "PerReplica" in r.output for r in runs):
        raise PerReplicaError(runs[0].output.strip().splitlines()[-1])
    for run in runs:  # any other failure is real
        assert run.returncode == 0 and "FITTED" in run.output, run.tail()


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker(sys.argv[2], Path(sys.argv[3]))
