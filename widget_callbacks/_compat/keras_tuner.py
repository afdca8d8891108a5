"""Keras Tuner internals (read against keras-tuner 1.4.8). Used by ``adapters`` only.

Keras Tuner is optional: nothing here imports it unless the user already has.
"""

from __future__ import annotations

import inspect
import sys
from types import SimpleNamespace
from typing import Any


def _running_trial() -> tuple[Any, Any] | None:
    """``(trial, tuner)`` of the Keras Tuner trial this thread is running, or ``None``.

    Keras Tuner gives callbacks no handle on the trial; its ``BaseTuner.search``,
    ``run_trial`` and ``_build_and_fit_model`` hold it in a local named ``trial``
    while they call ``copy.deepcopy(callbacks)`` and ``fit``. The innermost such
    frame of a ``BaseTuner`` method is read (``sys._getframe``); ``None`` when
    Keras Tuner is not imported, outside a search, or when those names change.
    """
    if "keras_tuner" not in sys.modules:
        return None
    try:
        from keras_tuner.engine.base_tuner import BaseTuner
        from keras_tuner.engine.trial import Trial
    except ImportError:
        return None
    frame: Any = sys._getframe(1)
    while frame is not None:
        names = frame.f_locals
        trial = names.get("trial")
        tuner = names.get("self")
        if isinstance(trial, Trial) and isinstance(tuner, BaseTuner):
            return trial, tuner
        frame = frame.f_back
    return None


def current_trial_id() -> str | None:
    """The ``trial_id`` of the Keras Tuner trial this thread is running, or ``None``
    (see `_running_trial`)."""
    found = _running_trial()
    trial_id = getattr(found[0], "trial_id", None) if found else None
    return str(trial_id) if trial_id is not None else None


def trial_hyperparameters(trial: Any) -> dict[str, Any]:
    """The values of a trial's hyperparameters, ``{name: value}``
    (``Trial.hyperparameters.values``); empty when they cannot be read."""
    values = getattr(getattr(trial, "hyperparameters", None), "values", None)
    return dict(values) if isinstance(values, dict) else {}


def tuner_objective(tuner: Any) -> tuple[str, str] | None:
    """``(metric name, "min" | "max")`` of the tuner's objective
    (``tuner.oracle.objective``: an ``Objective``), or ``None`` (a multi-objective,
    none, or names that changed)."""
    objective = getattr(getattr(tuner, "oracle", None), "objective", None)
    name, direction = getattr(objective, "name", None), getattr(objective, "direction", None)
    if isinstance(name, str) and direction in ("min", "max"):
        return name, direction
    return None


def current_trial() -> dict[str, Any] | None:
    """The trial this thread is running, as plain data: ``{"trial_id", "hyperparameters",
    "objective"}`` (``objective``: `tuner_objective`), or ``None`` outside a search."""
    found = _running_trial()
    if found is None:
        return None
    trial, tuner = found
    trial_id = getattr(trial, "trial_id", None)
    if trial_id is None:
        return None
    return {
        "trial_id": str(trial_id),
        "hyperparameters": trial_hyperparameters(trial),
        "objective": tuner_objective(tuner),
    }


def probe() -> dict[str, bool]:
    """Whether the names `current_trial_id` reads exist in the installed Keras Tuner
    (the canary; the frame walk itself is tested with a real search)."""
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner
    from keras_tuner.engine.trial import Trial

    def takes_trial(method: Any) -> bool:
        return list(inspect.signature(method).parameters)[:2] == ["self", "trial"]

    hyperparameters = keras_tuner.HyperParameters()
    hyperparameters.Int("units", 2, 16)
    trial = Trial(hyperparameters, trial_id="07")
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=1)
    return {
        "BaseTuner.run_trial(self, trial, ...)": takes_trial(BaseTuner.run_trial),
        "Tuner._build_and_fit_model(self, trial, ...)": takes_trial(keras_tuner.Tuner._build_and_fit_model),
        "BaseTuner.search's local 'trial'": "trial = self.oracle.create_trial"
        in inspect.getsource(BaseTuner.search),
        "Trial.trial_id": trial.trial_id == "07",
        "Trial.hyperparameters.values": trial_hyperparameters(trial) == {"units": 2},
        "Oracle.objective (name, direction)": tuner_objective(SimpleNamespace(oracle=oracle))
        == ("val_loss", "min"),
    }
