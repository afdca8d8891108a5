"""Canary: every private attribute of a dependency that the package reads
(``widget_callbacks/_compat``) exists in the installed versions.

When one fails, a dependency changed a private name: its ``_compat`` function falls
back as its docstring says, and this test says which one to read again.
"""

from __future__ import annotations

import pytest

from widget_callbacks._compat import ipykernel, ipywidgets, kaleido, keras, keras_tuner
from widget_callbacks.export.images import find_chromium


@pytest.mark.parametrize("module", [keras, keras_tuner, ipykernel, ipywidgets], ids=lambda m: m.__name__)
def test_every_private_name_is_there(module) -> None:
    found = module.probe()
    assert found and all(found.values()), {name: ok for name, ok in found.items() if not ok}


@pytest.mark.skipif(find_chromium() is None, reason="kaleido's server needs Chromium")
def test_every_private_kaleido_name_is_there() -> None:
    found = kaleido.probe()
    assert found and all(found.values()), found


def test_the_keras_file_path_fallback_formats_like_keras(tmp_path) -> None:
    import keras as k

    checkpoint = k.callbacks.ModelCheckpoint(str(tmp_path / "{epoch:02d}-{loss:.2f}.keras"))
    logs = {"loss": 0.5}
    private = keras.checkpoint_file_path(checkpoint, 2, None, logs)

    class Public:
        filepath = checkpoint.filepath

    assert keras.checkpoint_file_path(Public(), 2, None, logs) == private == str(tmp_path / "03-0.50.keras")


def test_learning_rate_source_tells_a_schedule_from_a_variable() -> None:
    """``learning_rate_source`` (``Optimizer._learning_rate``): the multiplier wraps a
    schedule and assigns a variable; ``running_callbacks`` finds the fit's callbacks."""
    import keras as k

    decay = k.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert keras.learning_rate_source(k.optimizers.SGD(decay)) is decay
    assert isinstance(keras.learning_rate_source(k.optimizers.Adam(1e-3)), k.Variable)
    assert keras.learning_rate_source(object()) is None
    assert keras.running_callbacks() == []  # not inside a CallbackList's hook
