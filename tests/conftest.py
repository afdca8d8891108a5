"""Shared test settings: TensorFlow kept quiet, Keras kept out of the home folder, and
the Keras-level modules marked ``backend_matrix`` (run again on JAX and PyTorch)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras-home-"))

#: The Keras-level test modules: real fits with the plot's callback, the controller and its
#: differential test, checkpoint marks, hand stop, slider, Interrupt (a real kernel),
#: restored weights. Marked ``backend_matrix``: tests/test_backends.py runs them again
#: with KERAS_BACKEND=jax and torch (Keras's backend is fixed per process), with its own
#: tests marked so.
BACKEND_MATRIX = (
    "test_checkpoint_marks.py",
    "test_compat.py",
    "test_controls.py",
    "test_dashboard.py",
    "test_differential.py",
    "test_early_stopping_controller.py",
    "test_field_batches.py",
    "test_field_states.py",
    "test_kernel_steering.py",
    "test_live_plot.py",
    "test_steering.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in BACKEND_MATRIX and item.path.parent.name == "tests":
            item.add_marker(pytest.mark.backend_matrix)


@pytest.fixture
def ipython_shell(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real IPython shell in this process, undone afterwards (no history file)."""
    import builtins
    import sys

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    main, names = sys.modules["__main__"], set(vars(builtins))
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    try:
        yield shell
    finally:
        InteractiveShell.clear_instance()
        sys.modules["__main__"] = main
        for name in set(vars(builtins)) - names:
            delattr(builtins, name)
