"""EarlyStoppingController against keras.callbacks.EarlyStopping itself.

Both callbacks are driven by hand with the same generated sequences of
monitored values (plateaus, ties, NaN, inf, noise, improving then worse,
missing epochs, differences below float32 precision), crossed with modes,
``min_delta``, ``patience``, ``baseline``, ``start_from_epoch``,
``restore_best_weights``, a non-zero first epoch, patience changed mid-run and
a second run of the same instances. After every epoch end they must agree on
``wait``, ``best`` (NaN-aware), ``best_epoch``, ``stopped_epoch`` and the stop
flag; at the end on the restored weights, the printed messages, the warnings
and the errors. A real tiny ``fit`` is compared at the end.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import pytest
from keras.src.trainers.compile_utils import MetricsList

from widget_callbacks.adapters.early_stopping import EarlyStoppingController

#: Number of generated cases compared with keras.callbacks.EarlyStopping.
N_CASES = 3000
SEED = 20261127

NAN, INF = math.nan, math.inf
MONITORS = [  # (monitor, mode)
    ("loss", "auto"),
    ("val_loss", "auto"),
    ("val_accuracy", "auto"),  # direction "up" from the compiled metric
    ("val_mae", "auto"),  # direction "down" from the compiled metric
    ("val_loss", "min"),
    ("val_loss", "max"),
    ("val_accuracy", "max"),
    ("accuracy", "min"),
    ("val_custom_score", "auto"),  # unknown direction: ValueError in both
    ("loss", "sideways"),  # unknown mode: warning, then auto, in both
]
MIN_DELTAS = [0, 0, 0.0, 0.1, 0.05, -0.1, 1e-3, -1e-3, 2e-8, 1e-8, 0.25, 1]
PATIENCES = [0, 0, 1, 1, 2, 3, 5]
START_FROM = [0, 0, 0, 1, 3]
KINDS = ["plateau", "grid", "noisy", "up_down", "non_finite", "missing", "float32_edge", "mixed"]

_METRICS: list[Any] = []


class StubModel:
    """What EarlyStopping touches: stop_training, get/set_weights, metrics."""

    def __init__(self) -> None:
        if not _METRICS:  # real metrics with a _direction, built once
            _METRICS.append(
                MetricsList(
                    [
                        keras.metrics.BinaryAccuracy(name="accuracy"),
                        keras.metrics.MeanAbsoluteError(name="mae"),
                    ]
                )
            )
        self.metrics = list(_METRICS)
        self.stop_training = False
        self.weights_tag: int | None = None
        self.restored: list[Any] = []

    def get_weights(self) -> list[Any]:
        return [self.weights_tag]

    def set_weights(self, weights: list[Any]) -> None:
        self.restored.append(weights[0])


@dataclass
class Case:
    monitor: str
    mode: str
    min_delta: float
    patience: int
    baseline: float | None
    start_from_epoch: int
    restore_best_weights: bool
    verbose: int
    runs: list[tuple[int, list[float | None]]]  # (initial_epoch, values)
    patience_change: tuple[int, int] | None  # (at epoch index, new patience)
    kind: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


def _sequence(rng: random.Random, kind: str, n: int) -> list[float | None]:
    if kind == "plateau":
        v, out = rng.uniform(0, 2), []
        for _ in range(n):
            if rng.random() < 0.2:
                v -= rng.choice([0.1, 0.05, 1e-3, 0.0])
            out.append(v)
        return out
    if kind == "grid":  # ties and values exactly min_delta apart (in float64 or not)
        step = rng.choice([0.1, 0.05, 0.25, 1.0])
        return [rng.randint(0, 8) * step for _ in range(n)]
    if kind == "noisy":
        v, out = rng.uniform(-1, 3), []
        for _ in range(n):
            v += rng.gauss(-0.02, 0.1)
            out.append(v)
        return out
    if kind == "up_down":  # improving, then worse
        turn = rng.randint(0, n)
        start, slope = rng.uniform(0, 2), rng.choice([0.1, 0.05, 0.01, 1e-8])
        return [start - slope * min(i, turn) + slope * max(0, i - turn) for i in range(n)]
    if kind == "float32_edge":  # differences at or below float32 resolution
        base = rng.choice([0.5, 1.0, 0.1, 3.0, 1e-3])
        ulp = np.spacing(np.float32(base)).item()
        return [
            base + rng.choice([-2, -1, -0.5, 0, 0.5, 1, 2, -1e-3]) * ulp * rng.randint(0, 3) for _ in range(n)
        ]
    base_kind = rng.choice(["plateau", "grid", "noisy", "up_down"])
    out = _sequence(rng, base_kind, n)
    specials = {
        "non_finite": [NAN, INF, -INF],
        "missing": [None],
        "mixed": [NAN, INF, -INF, None, 3e38, -3e38],
    }[kind]
    p = rng.choice([0.1, 0.3])
    return [rng.choice(specials) if rng.random() < p else v for v in out]


def _case(rng: random.Random) -> Case:
    monitor, mode = rng.choice(MONITORS)
    kind = rng.choice(KINDS)
    runs = []
    for _ in range(rng.choice([1, 1, 1, 2])):
        n = rng.randint(1, 25)
        runs.append((rng.choice([0, 0, 0, 2]), _sequence(rng, kind, n)))
    values = [v for _, seq in runs for v in seq if v is not None]
    baseline: float | None = None
    r = rng.random()
    if r < 0.2 and values:
        baseline = rng.choice(values)  # ties with a value of the sequence
        baseline = None if isinstance(baseline, float) and math.isnan(baseline) else baseline
    elif r < 0.4:
        baseline = rng.choice([0.0, 0.5, 1.0, -1.0, 2.5, INF, -INF])
    change = None
    if rng.random() < 0.2:
        change = (rng.randint(0, 10), rng.choice([0, 1, 2, 4]))
    return Case(
        monitor=monitor,
        mode=mode,
        min_delta=rng.choice(MIN_DELTAS),
        patience=rng.choice(PATIENCES),
        baseline=baseline,
        start_from_epoch=rng.choice(START_FROM),
        restore_best_weights=rng.random() < 0.5,
        verbose=1 if rng.random() < 0.2 else 0,
        runs=runs,
        patience_change=change,
        kind=kind,
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _normalize(text: str) -> str:
    return text.replace("EarlyStoppingController", "EarlyStopping")


def _drive(cls: type, case: Case) -> dict[str, Any]:
    """Runs ``case`` through a fresh instance of ``cls``; returns everything observed."""
    out = io.StringIO()
    trace: list[tuple[Any, ...]] = []
    error = None
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        cb = None
        try:
            cb = cls(
                monitor=case.monitor,
                min_delta=case.min_delta,
                patience=case.patience,
                verbose=case.verbose,
                mode=case.mode,
                baseline=case.baseline,
                restore_best_weights=case.restore_best_weights,
                start_from_epoch=case.start_from_epoch,
            )
            model = StubModel()
            cb.set_model(model)
            for initial_epoch, values in case.runs:
                model.stop_training = False  # as fit() does
                cb.on_train_begin()
                for i, value in enumerate(values):
                    epoch = initial_epoch + i
                    if case.patience_change and case.patience_change[0] == i:
                        cb.patience = case.patience_change[1]
                    model.weights_tag = epoch
                    logs = {"other": 1.0} if value is None else {case.monitor: value, "other": 1.0}
                    cb.on_epoch_begin(epoch)
                    cb.on_epoch_end(epoch, logs)
                    trace.append(
                        (epoch, cb.wait, cb.best, cb.best_epoch, cb.stopped_epoch, model.stop_training)
                    )
                    if model.stop_training:
                        break
                cb.on_train_end()
                trace.append(("end", cb.best_weights, list(model.restored), cb.min_delta))
        except ValueError as exc:
            error = _normalize(str(exc))
    return {
        "trace": trace,
        "error": error,
        "stdout": out.getvalue(),
        "warnings": [(w.category, _normalize(str(w.message))) for w in caught],
        "monitor_op": None if cb is None else getattr(cb.monitor_op, "__name__", None),
    }


def _mismatch(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    for key in ("error", "stdout", "warnings", "monitor_op"):
        if a[key] != b[key]:
            return f"{key}: keras={a[key]!r} controller={b[key]!r}"
    if len(a["trace"]) != len(b["trace"]):
        return f"trace length: keras={len(a['trace'])} controller={len(b['trace'])}"
    for x, y in zip(a["trace"], b["trace"]):
        if len(x) != len(y) or not all(_same(p, q) for p, q in zip(x, y)):
            return f"trace: keras={x!r} controller={y!r}"
    return None


def generate_cases(n: int = N_CASES, seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    return [_case(rng) for _ in range(n)]


def test_differential_against_keras_early_stopping() -> None:
    cases = generate_cases()
    start = time.perf_counter()
    mismatches = []
    for index, case in enumerate(cases):
        problem = _mismatch(
            _drive(keras.callbacks.EarlyStopping, case), _drive(EarlyStoppingController, case)
        )
        if problem:
            mismatches.append((index, case, problem))
    elapsed = time.perf_counter() - start
    print(f"differential: {len(cases)} cases, {len(mismatches)} mismatches, {elapsed:.1f} s")
    detail = "\n".join(f"case {i} {c}: {p}" for i, c, p in mismatches[:5])
    assert not mismatches, f"{len(mismatches)} mismatches in {N_CASES} cases:\n{detail}"
    assert len(cases) == N_CASES, f"expected {N_CASES} cases, ran {len(cases)}"


def test_generated_cases_cover_the_interesting_features() -> None:
    cases = generate_cases()
    kinds = {c.kind for c in cases}
    assert kinds == set(KINDS)
    values = [v for c in cases for _, seq in c.runs for v in seq]
    assert any(v is None for v in values)
    assert any(isinstance(v, float) and math.isnan(v) for v in values)
    assert any(v == INF for v in values) and any(v == -INF for v in values)
    assert {c.patience for c in cases} >= {0, 1, 5}
    assert any(c.baseline is not None for c in cases) and any(c.start_from_epoch for c in cases)
    assert any(c.min_delta < 0 for c in cases) and any(c.patience_change for c in cases)
    assert any(len(c.runs) == 2 for c in cases) and any(r[0] > 0 for c in cases for r in c.runs)
    # Some cases must stop early and some must restore weights, in Keras itself.
    outcomes = [_drive(keras.callbacks.EarlyStopping, c) for c in cases[:300]]
    assert any(o["trace"] and any(t[-1] is True for t in o["trace"]) for o in outcomes)
    assert any(t[0] == "end" and t[2] for o in outcomes for t in o["trace"])
    assert any(o["error"] for o in outcomes) and any(o["warnings"] for o in outcomes)


# -- a real tiny fit --------------------------------------------------------------


def _fit(callback: keras.callbacks.Callback) -> tuple[int, list[np.ndarray]]:
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(320, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1)) + 0.5 * rng.normal(size=(320, 1))).astype("float32")
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    history = model.fit(
        x[:256], y[:256], validation_data=(x[256:], y[256:]), epochs=10, batch_size=32,
        shuffle=False, verbose=0, callbacks=[callback],
    )  # fmt: skip
    return len(history.history["loss"]), model.get_weights()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"monitor": "val_loss", "min_delta": 0.03, "patience": 1, "restore_best_weights": True},
        {"monitor": "val_mae", "min_delta": 0.01, "restore_best_weights": True, "start_from_epoch": 2},
    ],
)
def test_real_fit_matches_keras(kwargs: dict[str, Any]) -> None:
    keras_epochs, keras_weights = _fit(keras.callbacks.EarlyStopping(**kwargs))
    controller = EarlyStoppingController(**kwargs)
    epochs, weights = _fit(controller)
    assert epochs == keras_epochs
    assert epochs < 10, "the fit should stop early to be a meaningful comparison"
    for a, b in zip(weights, keras_weights):
        np.testing.assert_array_equal(a, b)
    snapshot = controller.snapshot()
    assert snapshot.stop_reason == "patience exhausted"
    assert snapshot.restored_epoch == controller.best_epoch + 1
