"""Field issue 9: metrics whose value is an array (``keras.metrics.F1Score``).

A one-element array is monitored as Keras monitors it; a larger one is refused with
Keras's error type and our wording; the plot draws vector metrics one line per
component on the metric's panel.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from widget_callbacks import LivePlot
from widget_callbacks.adapters.early_stopping import EarlyStoppingController
from widget_callbacks.adapters.logs import array_shape, numeric_logs, to_float
from widget_callbacks.core.history import metric_family

VECTOR_ERROR = (
    "EarlyStoppingController monitors one number per epoch: `val_f1_score` must be a "
    "scalar or an array of one element (reduce the metric, e.g. "
    "F1Score(average='macro')). Received: val_f1_score of shape (3,)"
)


def _binary_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    # F1Score wants float targets shaped like the predictions: (n, 1) here.
    return x, (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")


def _three_class_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    return x, keras.utils.to_categorical(np.argmax(x[:, :3], axis=1), 3)


def _fit_binary(callback: keras.callbacks.Callback, epochs: int = 20) -> dict[str, list[Any]]:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        keras.optimizers.SGD(0.03),
        loss="binary_crossentropy",
        metrics=[keras.metrics.F1Score(name="f1_score", threshold=0.5)],
    )
    x, y = _binary_data()
    history = model.fit(
        x, y, validation_split=0.25, epochs=epochs, batch_size=16, verbose=0, shuffle=False,
        callbacks=[callback],
    )  # fmt: skip
    return history.history


def _fit_three_class(callbacks: list[Any], epochs: int = 3) -> dict[str, list[Any]]:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(
        keras.optimizers.SGD(0.05),
        loss="categorical_crossentropy",
        metrics=[keras.metrics.F1Score(average=None)],
    )
    x, y = _three_class_data()
    history = model.fit(
        x, y, validation_split=0.25, epochs=epochs, batch_size=16, verbose=0, shuffle=False,
        callbacks=callbacks,
    )  # fmt: skip
    return history.history


# -- monitoring ------------------------------------------------------------------


def test_one_unit_f1_score_stops_like_keras_over_a_real_fit() -> None:
    keras_stopping = keras.callbacks.EarlyStopping(monitor="val_f1_score", mode="max", patience=1)
    expected = _fit_binary(keras_stopping)
    controller = EarlyStoppingController(monitor="val_f1_score", mode="max", patience=1)
    seen = _fit_binary(controller)

    assert np.shape(seen["val_f1_score"][0]) == (1,)  # what Keras logs: a (1,) array
    assert len(seen["loss"]) == len(expected["loss"]) == 5
    assert np.allclose(np.concatenate(seen["val_f1_score"]), np.concatenate(expected["val_f1_score"]))
    # val_f1_score: 0.19, 0.42, 0.48, 0.54, 0.54 (a tie is no improvement)
    assert (keras_stopping.stopped_epoch, keras_stopping.best_epoch) == (4, 3)
    assert (controller.stopped_epoch, controller.best_epoch) == (4, 3)
    assert isinstance(controller.best, float)
    assert controller.best == np.asarray(keras_stopping.best).item()
    snapshot = controller.snapshot()
    assert snapshot.stop_reason == "patience exhausted"
    assert (snapshot.best_epoch, snapshot.stopped_epoch) == (4, 5)  # 1-based


class Inject(keras.callbacks.Callback):
    """Puts ``score`` (one float32 array per epoch, given shape) into the epoch logs."""

    def __init__(self, scores: Sequence[float], shape: tuple[int, ...]) -> None:
        super().__init__()
        self.scores = scores
        self.shape = shape

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert logs is not None
        logs["score"] = np.full(self.shape, self.scores[epoch], dtype="float32")


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_arrays_decide_as_keras(shape: tuple[int, ...]) -> None:
    scores = [0.5, 0.6, 0.61, 0.65, 0.64, 0.66, 0.7, 0.69, 0.68, 0.67]
    args = dict(monitor="score", mode="max", min_delta=0.02, patience=2, baseline=0.55)
    results = []
    for stopping in (keras.callbacks.EarlyStopping(**args), EarlyStoppingController(**args)):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", loss="mse")
        history = model.fit(
            np.zeros((4, 2)), np.zeros((4, 1)), epochs=len(scores), verbose=0,
            callbacks=[Inject(scores, shape), stopping],
        )  # fmt: skip
        best = np.asarray(stopping.best).item()
        results.append((len(history.history["loss"]), stopping.stopped_epoch, stopping.best_epoch, best))
    assert results[0] == results[1]
    # 0.6 beats the baseline by min_delta, 0.65 beats 0.6; 0.64 and 0.66 do not: stop.
    assert results[0][:3] == (6, 5, 3)
    assert results[0][3] == pytest.approx(0.65)


def test_a_vector_monitor_raises_keras_error_type_with_our_message() -> None:
    # Stock Keras ends in a NumPy error deep inside its comparison.
    with pytest.raises(ValueError, match="truth value of an array with more than one element"):
        _fit_three_class([keras.callbacks.EarlyStopping(monitor="val_f1_score", mode="max")])
    controller = EarlyStoppingController(monitor="val_f1_score", mode="max", patience=1)
    with pytest.raises(ValueError) as raised:
        _fit_three_class([controller])
    assert str(raised.value) == VECTOR_ERROR


def test_get_monitor_value_cases() -> None:
    controller = EarlyStoppingController(monitor="val_f1_score")
    for value in (np.array([0.25], dtype="float32"), np.array([[0.25]]), tf.constant([0.25])):
        got = controller.get_monitor_value({"val_f1_score": value})
        assert type(got) is float and got == 0.25
    zero_d = np.float32(0.25)
    assert controller.get_monitor_value({"val_f1_score": zero_d}) is zero_d  # as before
    assert controller.get_monitor_value({"val_f1_score": 0.5}) == 0.5
    with pytest.raises(ValueError, match=r"Received: val_f1_score of shape \(0,\)$"):
        controller.get_monitor_value({"val_f1_score": np.zeros(0)})
    with pytest.raises(ValueError, match=r"Received: val_f1_score of shape \(2, 2\)$"):
        controller.get_monitor_value({"val_f1_score": tf.zeros((2, 2))})
    message = "Early stopping conditioned on metric `val_f1_score` which is not available. Available metrics are: loss"
    with pytest.warns(UserWarning, match=message):
        assert controller.get_monitor_value({"loss": 1.0}) is None


# -- the plot ----------------------------------------------------------------------


def test_vector_metric_is_one_panel_with_a_line_per_component() -> None:
    plot = LivePlot()
    history = _fit_three_class([plot.callback])

    components = [f"{prefix}f1_score[{i}]" for prefix in ("", "val_") for i in range(3)]
    # The optimizer's learning rate is drawn in a lane of its own (issue 13).
    assert plot.state.panels == ["loss", "f1_score", "learning_rate"]
    assert set(plot.history) == {"epoch", "loss", "val_loss", *components, "learning_rate"}
    epoch_traces = {t["name"]: t for t in plot.traces if t["meta"]["role"] == "metric"}
    assert sorted(epoch_traces) == sorted(["loss", "val_loss", *components, "learning_rate"])
    f1_axes = {(epoch_traces[name]["xaxis"], epoch_traces[name]["yaxis"]) for name in components}
    assert len(f1_axes) == 1 and f1_axes != {(epoch_traces["loss"]["xaxis"], epoch_traces["loss"]["yaxis"])}
    yaxis = "yaxis" + f1_axes.pop()[1].removeprefix("y")
    assert plot.plot_layout[yaxis]["title"]["text"] == "f1_score"
    for name in components:
        keras_name, index = name.split("[")[0], int(name[-2])
        expected = [float(value[index]) for value in history[keras_name]]
        assert epoch_traces[name]["x"] == [1, 2, 3]
        assert epoch_traces[name]["y"] == expected, name
    batch_names = {t["name"] for t in plot.traces if t["meta"]["role"] == "batch"}
    assert {"f1_score[0] (batch)", "f1_score[2] (batch)"} <= batch_names


def test_one_unit_f1_score_is_drawn_as_one_line() -> None:
    plot = LivePlot()
    history = _fit_binary(plot.callback, epochs=2)
    assert set(plot.history) == {"epoch", "loss", "val_loss", "f1_score", "val_f1_score", "learning_rate"}
    assert plot.history["val_f1_score"] == [float(v[0]) for v in history["val_f1_score"]]
    assert plot.state.panels == ["loss", "f1_score", "learning_rate"]


# -- numeric_logs, to_float, metric_family -----------------------------------------


def test_numeric_logs_cases() -> None:
    logs = {
        "loss": 0.5,
        "steps": 3,
        "zero_d": np.array(0.25, dtype="float32"),
        "np_scalar": np.float64(1.5),
        "one": np.array([0.75], dtype="float32"),
        "one_by_one": np.array([[2.0]]),
        "val_f1_score": np.array([0.1, 0.2, 0.3], dtype="float32"),
        "matrix": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "empty": np.zeros(0),
        "name": "adam",
        "flag": True,
        "words": np.array(["a", "b"]),
        "word": np.array(["a"]),
        "listed": [1.0, 2.0],
        "nan": float("nan"),
        "t_scalar": tf.constant(1.25),
        "t_one": tf.constant([1.5]),
        "t_vector": tf.constant([0.5, 0.25]),
        "t_int_vector": tf.constant([1, 2]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy "ndim > 0 to a scalar" DeprecationWarning
        out = numeric_logs(logs)
    nan = out.pop("nan")
    assert nan != nan
    assert out == {
        "loss": 0.5,
        "steps": 3.0,
        "zero_d": 0.25,
        "np_scalar": 1.5,
        "one": 0.75,
        "one_by_one": 2.0,
        "val_f1_score[0]": pytest.approx(0.1),
        "val_f1_score[1]": pytest.approx(0.2),
        "val_f1_score[2]": pytest.approx(0.3),
        "matrix[0,0]": 1.0,
        "matrix[0,1]": 2.0,
        "matrix[1,0]": 3.0,
        "matrix[1,1]": 4.0,
        "t_scalar": 1.25,
        "t_one": 1.5,
        "t_vector[0]": 0.5,
        "t_vector[1]": 0.25,
        "t_int_vector[0]": 1.0,
        "t_int_vector[1]": 2.0,
    }
    assert all(type(value) is float for value in out.values())
    assert list(out)[:2] == ["loss", "steps"]  # log order kept
    assert numeric_logs(None) == {} and numeric_logs({}) == {}


def test_to_float_and_array_shape() -> None:
    assert to_float(np.array([[0.5]])) == 0.5
    assert to_float(np.zeros(2)) is None and to_float(np.array([True])) is None
    assert to_float(tf.constant([[3.0]])) == 3.0 and to_float("1.0") is None
    assert to_float(10**400) is None  # OverflowError: not a float
    assert array_shape(tf.zeros((2, 3))) == (2, 3) and array_shape([1.0]) is None
    assert array_shape(keras.KerasTensor((None, 3))) is None  # unknown size


def test_metric_family_of_components() -> None:
    assert metric_family("val_f1_score[2]") == "f1_score"
    assert metric_family("f1_score[0]") == "f1_score"
    assert metric_family("matrix[1,0]") == "matrix"
    assert metric_family("val_loss") == "loss"
    assert metric_family("[0]") == "[0]"
    assert metric_family("top[k]") == "top[k]"
    assert metric_family("val_") == "val_"


def test_logs_module_does_not_import_numpy() -> None:
    path = Path(__file__).parents[1] / "widget_callbacks" / "adapters" / "logs.py"
    code = (
        "import importlib.util, sys;"
        f"spec = importlib.util.spec_from_file_location('logs', {str(path)!r});"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "print(m.numeric_logs({'loss': 1}), 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "{'loss': 1.0} False"
