"""CheckpointWatcher in real tiny fits: its records are exactly the files on disk."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import pytest

from widget_callbacks.adapters.checkpoint import CheckpointWatcher
from widget_callbacks.core.monitor import MonitorRule
from widget_callbacks.core.records import CheckpointRecord

BATCHES = 8


@pytest.fixture(autouse=True)
def _keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(5)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(0.3), loss="mse")
    return m


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(BATCHES * 8 + 16, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]]) + rng.normal(size=(len(x), 1))).astype("float32")
    return {"x": x[16:], "y": y[16:], "validation_data": (x[:16], -y[:16])}  # val_loss goes up and down


class Scores(keras.callbacks.Callback):
    """Puts a scripted ``score`` into the epoch logs of the callbacks after it."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.scores = scores

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs["score"] = self.scores[epoch]


def _fit(
    model: keras.Model, data: dict[str, Any], callbacks: list[Any], epochs: int = 4
) -> dict[str, list[float]]:
    history = model.fit(**data, batch_size=8, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)
    return history.history


def _on_disk(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.iterdir() if p.is_file())


def _epoch_of(path: str) -> int:
    match = re.search(r"ep(\d+)", os.path.basename(path))
    assert match, path
    return int(match.group(1))


@pytest.mark.parametrize("position", ["first", "last"])
def test_every_epoch_records_match_files(
    model: keras.Model, data: dict[str, Any], tmp_path: Path, position: str
) -> None:
    folder = tmp_path / "ckpt"
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(folder / "ep{epoch:02d}.weights.h5"), save_weights_only=True
    )
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    assert watcher.mode == "save_model" and CheckpointWatcher.for_checkpoint(checkpoint) is watcher
    others = [keras.callbacks.History(), Scores([0.0] * 4)]
    history = _fit(model, data, [checkpoint, *others] if position == "first" else [*others, checkpoint])
    records = watcher.records
    assert [r.path for r in records] == _on_disk(folder)
    assert [r.epoch for r in records] == [1, 2, 3, 4] == [_epoch_of(r.path) for r in records]
    assert [r.value for r in records] == history["val_loss"]
    assert all(r.batch is None and r.monitor == "val_loss" for r in records)


@pytest.mark.parametrize("position", ["first", "last"])
def test_save_best_only_records_only_the_improvements(
    model: keras.Model, data: dict[str, Any], tmp_path: Path, position: str
) -> None:
    folder = tmp_path / "best"
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(folder / "ep{epoch:02d}.weights.h5"), save_weights_only=True, save_best_only=True
    )
    watcher = CheckpointWatcher(checkpoint)
    seen: list[CheckpointRecord] = []
    watcher.add_listener(seen.append)
    callbacks = [checkpoint, keras.callbacks.History()]
    history = _fit(model, data, callbacks if position == "first" else callbacks[::-1], epochs=6)
    rule, best, expected = MonitorRule("val_loss"), None, []
    for epoch, value in enumerate(history["val_loss"], start=1):  # ModelCheckpoint's rule
        if rule.is_improvement(value, best):
            best = value
            expected.append(epoch)
    assert 0 < len(expected) < 6, (
        f"the scripted data should give some non-improving epochs: {history['val_loss']}"
    )
    assert [r.epoch for r in watcher.records] == expected
    assert [r.path for r in watcher.records] == _on_disk(folder) and list(watcher.records) == seen


def test_one_path_overwritten_is_recorded_at_every_write(
    model: keras.Model, data: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "best.weights.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(path), monitor="score", mode="max", save_weights_only=True, save_best_only=True
    )
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    _fit(model, data, [Scores([0.1, 0.5, 0.4, 0.9, 0.9]), checkpoint], epochs=5)
    assert [(r.epoch, r.value, r.monitor) for r in watcher.records] == [
        (1, 0.1, "score"),
        (2, 0.5, "score"),
        (4, 0.9, "score"),
    ]
    assert {r.path for r in watcher.records} == {str(path)} and _on_disk(tmp_path) == [str(path)]


def test_integer_save_freq_records_batches(model: keras.Model, data: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "batches"
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(folder / "ep{epoch:02d}-b{batch:02d}.weights.h5"), save_weights_only=True, save_freq=3
    )
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    _fit(model, data, [keras.callbacks.History(), checkpoint], epochs=3)
    records = watcher.records
    assert len(records) == 3 * BATCHES // 3
    assert [r.path for r in records] == _on_disk(folder)
    names = [os.path.basename(r.path) for r in records]
    assert names == [f"ep{r.epoch:02d}-b{r.batch:02d}.weights.h5" for r in records]
    assert [(r.epoch, r.batch) for r in records][:3] == [(1, 3), (1, 6), (2, 1)]


def test_full_model_files(model: keras.Model, data: dict[str, Any], tmp_path: Path) -> None:
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "ep{epoch}.keras"), monitor="loss")
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    history = _fit(model, data, [checkpoint], epochs=2)
    assert [r.path for r in watcher.records] == _on_disk(tmp_path)
    assert [r.value for r in watcher.records] == history["loss"]


class HiddenSaveModel(keras.callbacks.ModelCheckpoint):
    """A ModelCheckpoint without ``_save_model``: the watcher falls back to the public hooks."""

    _save_model = None  # type: ignore[assignment]

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._should_save_on_batch(batch):
            keras.callbacks.ModelCheckpoint._save_model(
                self, epoch=self._current_epoch, batch=batch, logs=logs
            )

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            keras.callbacks.ModelCheckpoint._save_model(self, epoch=epoch, batch=None, logs=logs)


@pytest.mark.parametrize("save_freq", ["epoch", 5])
def test_fallback_without_save_model(
    model: keras.Model, data: dict[str, Any], tmp_path: Path, save_freq: Any
) -> None:
    folder = tmp_path / "fallback"
    name = "ep{epoch:02d}.weights.h5" if save_freq == "epoch" else "ep{epoch:02d}-b{batch}.weights.h5"
    checkpoint = HiddenSaveModel(str(folder / name), save_weights_only=True, save_freq=save_freq)
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    assert watcher.mode == "hooks"
    _fit(model, data, [checkpoint, keras.callbacks.History()], epochs=3)
    assert [r.path for r in watcher.records] == _on_disk(folder) and watcher.records
    for r in watcher.records:
        suffix = ".weights.h5" if save_freq == "epoch" else f"-b{r.batch}.weights.h5"
        assert os.path.basename(r.path) == f"ep{r.epoch:02d}{suffix}"
    assert len(watcher.records) == (3 if save_freq == "epoch" else 3 * BATCHES // 5)


def test_watcher_never_breaks_the_checkpoint(
    model: keras.Model, data: dict[str, Any], tmp_path: Path
) -> None:
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "{nope}.weights.h5"), save_weights_only=True)
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        _fit(model, data, [checkpoint], epochs=1)
    assert watcher.records == ()

    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "ok{epoch}.weights.h5"), save_weights_only=True
    )
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)

    def bad(record: CheckpointRecord) -> None:
        raise RuntimeError("listener bug")

    watcher.add_listener(bad)
    with pytest.warns(RuntimeWarning, match="listener bug"):
        _fit(model, data, [checkpoint], epochs=2)
    assert len(watcher.records) == 2 and [r.path for r in watcher.records] == sorted(
        map(str, tmp_path.glob("ok*"))
    )


def test_records_accumulate_reset_and_detach(
    model: keras.Model, data: dict[str, Any], tmp_path: Path
) -> None:
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "last.weights.h5"), save_weights_only=True)
    watcher = CheckpointWatcher.for_checkpoint(checkpoint)
    _fit(model, data, [checkpoint], epochs=2)
    _fit(model, data, [checkpoint], epochs=1)
    assert [r.epoch for r in watcher.records] == [1, 2, 1]  # every write of the same file
    watcher.reset()
    assert watcher.records == ()
    watcher.detach()
    assert "_save_model" not in vars(checkpoint)
    _fit(model, data, [checkpoint], epochs=1)
    assert watcher.records == () and CheckpointWatcher.for_checkpoint(checkpoint) is not watcher


def test_rejects_what_is_not_a_model_checkpoint() -> None:
    with pytest.raises(TypeError, match="checkpoint must be a keras.callbacks.ModelCheckpoint. Received: 3"):
        CheckpointWatcher(3)  # type: ignore[arg-type]
    watcher = CheckpointWatcher(keras.callbacks.ModelCheckpoint("x.keras"))
    with pytest.raises(TypeError, match="fn must be callable"):
        watcher.add_listener("no")  # type: ignore[arg-type]


def test_a_deep_copy_of_a_watched_checkpoint_is_plain(tmp_path: Path) -> None:
    import copy

    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "x.weights.h5"), save_weights_only=True)
    CheckpointWatcher.for_checkpoint(checkpoint)
    clone = copy.deepcopy(checkpoint)
    assert clone._save_model.__self__ is clone  # the class's method, bound to the copy
    assert checkpoint._save_model.__wrapped__.__self__ is checkpoint
