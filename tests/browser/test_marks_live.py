"""The early-stopping marks as the browser draws them, during a run and after it.

A notebook built here (generated regression data, fixed seeds, a tiny MLP at
batch 8) displays a ``TrainingDashboard(patience=4, restore_best_weights=True)``
around a stock ``keras.callbacks.ModelCheckpoint("ckpt/best-{epoch:03d}.keras",
save_best_only=True)``: every file it writes is named after its epoch, so the
files on disk say where checkpoints were written, independently of the
product's ``CheckpointWatcher``. A test-only callback after the dashboard's
reports every epoch end (with the files written so far) and holds ``fit`` at the
end of epoch ``HOLD`` until the test writes ``release.flag``; every product
callback has run for that epoch by then.

In the rendered plot (``gd`` is plotly's ``.js-plotly-plot`` div), while held and
after the run:

- the patience band: a rect in ``gd.layout.shapes`` from the best epoch, as wide
  as the patience (clipped at the last epoch after the run), drawn as a ``path``
  in a shape layer under the traces;
- the best-epoch marker: the overlay trace with ``meta.role == "best"`` in
  ``gd.data`` at the best epoch, with a rendered point;
- the checkpoint markers: the trace with ``meta.role == "checkpoint"``, its x the
  epochs whose files exist, one rendered point each;
- the annotations: "k epochs left" while running; the stop and "weights restored
  from epoch b" after.

The final output is saved to ``artifacts/marks.png`` for a human look.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from .jupyter import ARTIFACTS, KERNEL_TIMEOUT, REPO_ROOT, REPORT_CELL, NotebookPage
from .steering import (
    annotation_lines,
    band,
    cell_errors,
    metric_points,
    release,
    settle,
    wait_plot,
    wait_report,
)

pytestmark = pytest.mark.browser

NAME = "marks.ipynb"
HOLD = 8
PATIENCE = 4
EPOCHS = 40
SCREENSHOT = REPO_ROOT / "artifacts" / "marks.png"

SETUP = '''\
# Test-only set-up (tests/browser/test_marks_live.py).
import glob, os, re, time
import numpy as np
import keras
from widget_callbacks import TrainingDashboard

rng = np.random.default_rng(0)
x = rng.normal(size=(480, 8)).astype("float32")
w = rng.normal(size=(8, 1)).astype("float32")
y = (np.sin(x @ w) + 0.5 * rng.normal(size=(480, 1))).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")

os.makedirs("ckpt", exist_ok=True)
checkpoint = keras.callbacks.ModelCheckpoint("ckpt/best-{epoch:03d}.keras", monitor="val_loss",
                                             save_best_only=True)

def written():
    """1-based epochs of the files the stock ModelCheckpoint wrote."""
    return sorted(int(re.search(r"best-(\\d+)\\.keras$", p).group(1)) for p in glob.glob("ckpt/best-*.keras"))
'''

DASHBOARD = f"""\
dashboard = TrainingDashboard(monitor="val_loss", patience={PATIENCE}, restore_best_weights=True,
                              checkpoint=checkpoint)
dashboard
"""

GATE = f'''\
class Gate(keras.callbacks.Callback):
    """Test-only: reports each epoch end; holds fit at the end of epoch {HOLD}."""

    def on_epoch_end(self, epoch, logs=None):
        snapshot = dashboard.controller.snapshot()
        _report("epoch", epoch=epoch + 1, written=written(), best_epoch=snapshot.best_epoch,
                patience=snapshot.patience)
        if epoch + 1 == {HOLD}:
            _report("held", epoch=epoch + 1, written=written(), best_epoch=snapshot.best_epoch,
                    epochs_left=snapshot.epochs_left)
            deadline = time.time() + 600
            while not os.path.exists("release.flag") and time.time() < deadline:
                time.sleep(0.02)
'''

FIT = f"""\
history = model.fit(x, y, batch_size=8, epochs={EPOCHS}, validation_split=0.25, verbose=0,
                    callbacks=dashboard.callbacks + [Gate()])
"""

REPORT = """\
from widget_callbacks import CheckpointWatcher
_snapshot = dashboard.controller.snapshot()
_report("done", epochs=len(history.history["loss"]), written=written(),
        best_epoch=_snapshot.best_epoch, stopped_epoch=_snapshot.stopped_epoch,
        restored_epoch=_snapshot.restored_epoch, stop_reason=_snapshot.stop_reason,
        watcher=[r.epoch for r in CheckpointWatcher.for_checkpoint(checkpoint).records])
"""

CELLS = [REPORT_CELL, SETUP, DASHBOARD, GATE, FIT, REPORT]
C_DASHBOARD, C_REPORT = 2, 5


def role(state: dict[str, Any], name: str, where: str = "data") -> list[dict[str, Any]]:
    return [t for t in state.get(where, []) if t["role"] == name]


def below_paths(state: dict[str, Any]) -> int:
    """Shape paths drawn under the traces (plotly puts subplot-referenced 'below'
    shapes in the subplot's shape layer, paper-referenced ones in .layer-below)."""
    paths = state.get("shapePaths", {})
    return paths.get("layer-below", 0) + paths.get("layer-subplot", 0)


@dataclass
class MarksRun:
    held: dict[str, Any] = field(default_factory=dict)  # kernel report at the hold
    mid: dict[str, Any] = field(default_factory=dict)  # plot state while held
    done: dict[str, Any] = field(default_factory=dict)  # kernel report after fit
    final: dict[str, Any] = field(default_factory=dict)  # plot state after the run
    errors: list[str] = field(default_factory=list)  # uncaught page errors


def _left(n: int) -> str:
    return f"{n} epoch{'s' if n != 1 else ''} left"


def _marks_ready(state: dict[str, Any], epochs: int, best: int, written: list[int], left: int | None) -> bool:
    """The plot shows ``epochs`` epochs and the marks the kernel reported; ``left``
    is the "k epochs left" count while running, ``None`` after the run."""
    b = band(state, best)
    stars = role(state, "best")
    checkpoints = role(state, "checkpoint")
    ok = (
        metric_points(state, "loss") == epochs
        and b is not None
        and below_paths(state) >= 1
        and len(stars) == 1
        and stars[0]["x"] == [best]
        and len(checkpoints) == 1
        and checkpoints[0]["x"] == written
    )
    if left is not None:
        return ok and _left(left) in annotation_lines(state)
    return ok and f"weights restored from epoch {best}" in annotation_lines(state)


@pytest.fixture(scope="module")
def marks(jupyter_lab, browser) -> MarksRun:
    jupyter_lab.write_notebook(NAME, CELLS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    nb = NotebookPage(page, jupyter_lab, NAME, test_name="marks")
    run = MarksRun()
    try:
        nb.open()
        nb.wait_kernel_ready()
        nb.run_all()
        run.held = wait_report(nb, "held", cells=range(len(CELLS)), timeout=KERNEL_TIMEOUT)
        best, written, left = run.held["best_epoch"], run.held["written"], run.held["epochs_left"]
        run.mid = wait_plot(
            nb,
            C_DASHBOARD,
            lambda s: _marks_ready(s, HOLD, best, written, left),
            f"{HOLD} epochs, band from epoch {best}, best star at {best}, checkpoints at {written} "
            f"and {_left(left)!r} while fit is held",
        )
        nb.screenshot("held", locator=nb.cell_output(C_DASHBOARD))
        release(nb, "release.flag")
        run.done = wait_report(nb, "done", cells=range(len(CELLS)), timeout=KERNEL_TIMEOUT)
        best, written, epochs = run.done["best_epoch"], run.done["written"], run.done["epochs"]
        run.final = wait_plot(
            nb,
            C_DASHBOARD,
            lambda s: _marks_ready(s, epochs, best, written, None),
            f"{epochs} epochs, band from epoch {best}, best star, checkpoints at {written} "
            "and the restore after the run",
        )
        nb.wait_idle()
        assert not cell_errors(nb, None), cell_errors(nb, None)
        out = nb.cell_output(C_DASHBOARD)
        out.scroll_into_view_if_needed()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        out.screenshot(path=str(SCREENSHOT))
        run.errors = [line for line in nb.console if line.startswith("pageerror")]
        return run
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "marks-observations.json").write_text(json.dumps(run.__dict__, indent=1, default=str))
        release(nb, "release.flag")
        try:
            settle(nb)
        finally:
            context.close()
            jupyter_lab.shutdown_kernels()
            jupyter_lab.clean_root()


def _check_marks(state: dict[str, Any], best: int, written: list[int], band_end: int) -> None:
    b = band(state, best)
    assert b is not None, state["shapes"]
    assert (b["x0"], b["x1"]) == (best, band_end), b
    assert b["layer"] == "below" and b["yref"].endswith("domain"), b
    assert below_paths(state) >= sum(s["layer"] == "below" for s in state["shapes"]), state["shapePaths"]

    (star,) = role(state, "best")
    assert star["x"] == [best], star
    (star_drawn,) = role(state, "best", "rendered")
    assert star_drawn["points"] == 1, star_drawn

    (checkpoints,) = role(state, "checkpoint")
    assert checkpoints["x"] == written, (checkpoints["x"], written)
    (checkpoints_drawn,) = role(state, "checkpoint", "rendered")
    assert checkpoints_drawn["points"] == len(written), checkpoints_drawn


def test_marks_while_fit_runs(marks: MarksRun):
    held, mid = marks.held, marks.mid
    assert held["epoch"] == HOLD
    assert mid["status"] == "busy"
    best, written = held["best_epoch"], held["written"]
    assert written and written[-1] == best, f"a best-only checkpoint is written at each new best: {written}"
    assert 2 <= len(written) <= HOLD, written
    _check_marks(mid, best, written, band_end=best + PATIENCE)
    # Keras counts wait = epochs since the best; the stop comes when wait reaches patience.
    left = PATIENCE - (HOLD - best)
    assert held["epochs_left"] == left, held
    assert _left(left) in annotation_lines(mid), mid["annotations"]
    assert mid["progress"].startswith(f"Epoch {HOLD}/{EPOCHS}"), mid["progress"]
    assert role(mid, "stop") == [], "a stop marker while nothing stopped"


def test_marks_after_fit(marks: MarksRun):
    done, final = marks.done, marks.final
    best, written = done["best_epoch"], done["written"]
    end = done["stopped_epoch"] or done["epochs"]
    assert done["watcher"] == written, f"CheckpointWatcher records {done['watcher']}, files {written}"
    assert done["restored_epoch"] == best, done
    _check_marks(final, best, written, band_end=min(best + PATIENCE, end))
    (stop,) = role(final, "stop")
    assert stop["x"] == [end], stop
    assert f"weights restored from epoch {best}" in annotation_lines(final), final["annotations"]
    if done["stop_reason"] == "patience exhausted":
        assert f"stopped at epoch {end}: patience exhausted" in annotation_lines(final), final["annotations"]
    assert not any(line.endswith(" left") for line in annotation_lines(final)), final["annotations"]


def test_marks_screenshot_and_page_errors(marks: MarksRun):
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
    assert not marks.errors, marks.errors
