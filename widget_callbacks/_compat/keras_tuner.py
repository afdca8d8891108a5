"""Keras Tuner internals (read against keras-tuner 1.4.8). Used by ``adapters`` only.

Keras Tuner is optional: nothing here imports it unless the user already has.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any


def current_trial_id() -> str | None:
    """The ``trial_id`` of the Keras Tuner trial this thread is running, or ``None``.

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
        if isinstance(trial, Trial) and isinstance(names.get("self"), BaseTuner):
            trial_id = getattr(trial, "trial_id", None)
            return str(trial_id) if trial_id is not None else None
        frame = frame.f_back
    return None


def probe() -> dict[str, bool]:
    """Whether the names `current_trial_id` reads exist in the installed Keras Tuner
    (the canary; the frame walk itself is tested with a real search)."""
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner
    from keras_tuner.engine.trial import Trial

    def takes_trial(method: Any) -> bool:
        return list(inspect.signature(method).parameters)[:2] == ["self", "trial"]

    trial = Trial(keras_tuner.HyperParameters(), trial_id="07")
    return {
        "BaseTuner.run_trial(self, trial, ...)": takes_trial(BaseTuner.run_trial),
        "Tuner._build_and_fit_model(self, trial, ...)": takes_trial(keras_tuner.Tuner._build_and_fit_model),
        "BaseTuner.search's local 'trial'": "trial = self.oracle.create_trial"
        in inspect.getsource(BaseTuner.search),
        "Trial.trial_id": trial.trial_id == "07",
    }
