"""Every Keras 3 backend: the Keras-level tests on JAX and PyTorch as well as TensorFlow.

Keras fixes its backend once per process (``KERAS_BACKEND`` before ``import keras``); this
session runs on TensorFlow (``tests/conftest.py``). The modules listed in
``conftest.BACKEND_MATRIX`` (marked ``backend_matrix``) run again, per backend, in one
``KERAS_BACKEND=<backend> python -m pytest -m backend_matrix`` child process; the test
for that backend fails with the child's failures and output. It also checks that every
Keras-level test collected here ran there, and that nothing was skipped but for the
stated reasons.

The tests of this file marked ``backend_matrix`` run in each of those processes too (and
here on TensorFlow): log values and monitored values that are the backend's own tensors
(``keras.ops`` tensors, ``keras.Variable``), in real fits.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from bounded_run import run_bounded
from conftest import BACKEND_MATRIX
from keras import ops

from widget_callbacks import LivePlot
from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.adapters.logs import numeric_logs, to_float

BACKEND = keras.backend.backend()

#: Backends run in a child process from the TensorFlow session, and how to install each.
OTHER_BACKENDS = {
    "jax": 'pip install "jax[cpu]" (in the test extra)',
    "torch": "make install (a CPU build: torch==2.13.0+cpu)",
}
MODULES = (*BACKEND_MATRIX, Path(__file__).name)  # conftest's list, and this file's marked tests
TIMEOUT = 900  # seconds per backend; about 2 min on 2 idle cores
#: Why a Keras-level test may be skipped in a child run (substrings of the reason).
ALLOWED_SKIPS = (
    "needs a running ipykernel",  # tests/test_steering.py: its kernel twin is test_kernel_steering
    "refuses steps_per_execution > 1",  # PyTorch backend
    "kaleido's server needs Chromium",
)
#: Keras's own warning on NumPy 2 from its JAX and PyTorch backends (np.array(x) of a
#: tensor or variable); it is not ours and fills the output.
KERAS_NUMPY_MESSAGE = "__array__ implementation doesn't accept a copy keyword"
KERAS_NUMPY_WARNING = f"ignore:{KERAS_NUMPY_MESSAGE}:DeprecationWarning"


# ----------------------------------------------------------------- the child runs


def _junit_id(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's junit XML writes them for ``nodeid``."""
    path, *names = nodeid.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *names[:-1]]), names[-1]


def _results(xml: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(classname, name) -> (outcome, message) from a junit XML report."""
    results = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome, message = tag, found.get("message", "")
                break
        results[(case.get("classname", ""), case.get("name", ""))] = (outcome, message)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(OTHER_BACKENDS))
def test_keras_level_tests_pass_on(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if BACKEND != "tensorflow":
        pytest.skip("runs the other backends from the TensorFlow session")
    if importlib.util.find_spec(backend) is None:
        pytest.fail(f"{backend} is not installed: {OTHER_BACKENDS[backend]}")
    modules = [f"tests/{name}" for name in MODULES]
    xml = tmp_path / f"{backend}.xml"
    argv = [
        sys.executable, "-m", "pytest", "-m", "backend_matrix", "-p", "no:cacheprovider", "-q",
        "-rfEs", "--tb=short", "-W", KERAS_NUMPY_WARNING, f"--junitxml={xml}", *modules,
    ]  # fmt: skip
    env = {**os.environ, "KERAS_BACKEND": backend, "KERAS_HOME": str(tmp_path / "keras")}
    run = run_bounded(argv, env, TIMEOUT)
    summary = run.output.strip().splitlines()[-1:] or ["(no output)"]
    print(f"KERAS_BACKEND={backend}: {summary[0]} ({run.seconds:.0f} s in all)")
    assert run.returncode is not None, f"{backend}: killed after {TIMEOUT} s:\n{run.tail()}"
    assert xml.exists(), f"{backend}: no report (exit {run.returncode}):\n{run.tail()}"
    results = _results(xml)
    bad = {f"{c}::{n}": m for (c, n), (o, m) in results.items() if o in ("failure", "error")}
    assert not bad and run.returncode == 0, (
        f"KERAS_BACKEND={backend}: {len(bad)} failed (exit {run.returncode}): {sorted(bad)}\n{run.tail()}"
    )
    skipped = {f"{c}::{n}": m for (c, n), (o, m) in results.items() if o == "skipped"}
    unexpected = {k: m for k, m in skipped.items() if not any(s in m for s in ALLOWED_SKIPS)}
    assert not unexpected, f"{backend}: skipped for a reason not stated here: {unexpected}"
    for name in MODULES:  # every module ran something
        module = f"tests.{name.removesuffix('.py')}"
        assert any(c == module and o == "passed" for (c, _), (o, _) in results.items()), (
            f"{backend}: nothing of {name} passed"
        )
    here = {  # every Keras-level test this session collected also ran there
        _junit_id(item.nodeid)
        for item in request.session.items
        if item.get_closest_marker("backend_matrix") is not None
    }
    assert not here - set(results), f"{backend}: not run there: {sorted(here - set(results))[:10]}"


# ----------------------------------------------------------------- in every backend


@pytest.mark.backend_matrix
def test_keras_runs_on_the_backend_asked_for() -> None:
    assert BACKEND == os.environ.get("KERAS_BACKEND", "tensorflow")
    assert BACKEND in ("tensorflow", *OTHER_BACKENDS)


def _tensor(value: Any, dtype: str = "float32") -> Any:
    return ops.convert_to_tensor(np.asarray(value, dtype=dtype))


@pytest.mark.backend_matrix
def test_the_backends_tensors_are_numbers_in_the_logs() -> None:
    logs = {
        "zero_d": _tensor(1.25),
        "one": _tensor([1.5]),
        "one_by_one": _tensor([[2.5]]),
        "vector": _tensor([0.5, 0.25]),
        "ints": _tensor([1, 2], "int32"),
        "half": ops.cast(_tensor(0.5), "float16"),
        "bfloat16": ops.cast(_tensor([0.75]), "bfloat16"),
        "nan": _tensor(math.nan),
        "flag": _tensor(True, "bool"),
        "flags": _tensor([True, False], "bool"),
        "empty": _tensor(np.zeros(0)),
        "variable": keras.Variable(0.125),  # trainable: on PyTorch it requires grad
        "variables": keras.Variable([0.5, 1.0], trainable=False),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning (NumPy) nor UserWarning (grad)
        warnings.filterwarnings("ignore", KERAS_NUMPY_MESSAGE, DeprecationWarning)
        out = numeric_logs(logs)
        assert to_float(logs["one_by_one"]) == 2.5 and to_float(logs["vector"]) is None
        assert to_float(logs["flag"]) is None and to_float(logs["variable"]) == 0.125
    nan = out.pop("nan")
    assert nan != nan
    assert out == {
        "zero_d": 1.25,
        "one": 1.5,
        "one_by_one": 2.5,
        "vector[0]": 0.5,
        "vector[1]": 0.25,
        "ints[0]": 1.0,
        "ints[1]": 2.0,
        "half": 0.5,
        "bfloat16": 0.75,
        "variable": 0.125,
        "variables[0]": 0.5,
        "variables[1]": 1.0,
    }  # booleans and empty arrays are not numbers, as True is not
    assert all(type(v) is float for v in out.values())


class NativeScores(keras.callbacks.Callback):
    """Puts ``score`` into the epoch logs as a tensor of the running backend."""

    def __init__(self, scores: list[float], shape: tuple[int, ...]) -> None:
        super().__init__()
        self.scores, self.shape = scores, shape

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs["score"] = _tensor(np.full(self.shape, self.scores[epoch]))


def _fit(callbacks: list[Any], epochs: int) -> tuple[int, list[np.ndarray]]:
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)
    return len(history.history["loss"]), model.get_weights()


@pytest.mark.backend_matrix
@pytest.mark.parametrize("shape", [(), (1,)])
def test_native_monitored_values_decide_as_keras_and_are_drawn(shape: tuple[int, ...]) -> None:
    scores = [0.9, 0.5, 0.6, 0.4, 0.45, 0.41, 0.7, 0.8]
    args = dict(monitor="score", mode="min", patience=2, restore_best_weights=True)
    stock = keras.callbacks.EarlyStopping(**args)
    keras_epochs, keras_weights = _fit([NativeScores(scores, shape), stock], len(scores))
    controller = EarlyStoppingController(**args)
    plot = LivePlot(static_fallback=False)
    plot.attach(controller)
    epochs, weights = _fit([NativeScores(scores, shape), controller, plot.callback], len(scores))
    assert epochs == keras_epochs == 6  # best 0.4 at epoch 4, then 2 epochs without improvement
    assert (controller.stopped_epoch, controller.best_epoch) == (stock.stopped_epoch, stock.best_epoch)
    assert controller.best == pytest.approx(np.asarray(ops.convert_to_numpy(stock.best)).item())
    for mine, theirs in zip(weights, keras_weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert plot.history["score"] == pytest.approx(scores[:6])
    snapshot = controller.snapshot()
    assert (snapshot.stop_reason, snapshot.best_epoch, snapshot.restored_epoch) == (
        "patience exhausted",
        4,
        4,
    )


class _StubModel:
    stop_training = False
    metrics: list[Any] = []


def _monitored(make: Any) -> list[Any]:
    values = [0.9, 0.5, 0.6, 0.4, 0.45, 0.41, 0.3]
    trace: list[Any] = []
    for cls in (keras.callbacks.EarlyStopping, EarlyStoppingController):
        stopping = cls(monitor="score", mode="min", patience=2)
        model = _StubModel()
        stopping.set_model(model)
        stopping.on_train_begin()
        for epoch, value in enumerate(values):
            stopping.on_epoch_end(epoch, {"score": make(value)})
            if model.stop_training:
                break
        trace.append((epoch, stopping.wait, stopping.best_epoch, stopping.stopped_epoch))
    return trace


@pytest.mark.backend_matrix
def test_monitored_tensors_and_variables_decide_as_keras_without_warnings() -> None:
    makers = {
        "0-d tensor": lambda v: _tensor(v),
        "(1,) tensor": lambda v: _tensor([v]),
        "trainable keras.Variable": lambda v: keras.Variable(v),  # PyTorch: requires grad
    }
    if BACKEND == "torch":
        import torch

        makers["tensor that requires grad"] = lambda v: torch.tensor(v, requires_grad=True) * 1
    for name, make in makers.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # PyTorch's "requires_grad=True to a scalar" UserWarning
            warnings.filterwarnings("ignore", KERAS_NUMPY_MESSAGE, DeprecationWarning)
            keras_trace, ours = _monitored(make)
        assert ours == keras_trace == (5, 2, 3, 5), name
