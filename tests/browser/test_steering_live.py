"""Stop by hand and retune patience while ``model.fit`` runs in the same cell.

JupyterLab 4.6 + ipykernel 7.4 in headless Chromium (and Notebook 7 for the Stop
button). The notebooks are built by ``steering.py`` with generated data (noise to
fit: val_loss is best at epoch 1, so restoring the best weights really changes
the model) and a tiny MLP at batch 8. Each scenario is a ``TrainingDashboard``
displayed in one cell, a plain ``model.fit(..., callbacks=dashboard.callbacks +
[probe], verbose=0)`` (or ``await dashboard.fit_async(...)``) in the next, and a
report cell; ``probe`` only observes (epoch reports, weights of every epoch end,
batch times) and can hold ``fit`` for the test.

Scenarios 1-4 run one after the other in one JupyterLab notebook and kernel (the
kernel and TensorFlow start once); each has its own dashboard, model and
reports, and a test that fails leaves the kernel idle for the next one
(``settle``: release the holds, interrupt).

1. Stop during a plain fit: ``fit`` returns within one batch + 1 s of the click,
   the partial epoch is in the history, the best weights are restored, the plot
   says "stopped by hand at epoch k, batch j", the controls are disabled.
2. The patience slider during a plain fit on a plateau (learning rate 0): set to 2
   once epoch 3 is done, the value reaches the kernel during the busy cell and
   training stops at the next epoch end (within 3 epochs of the move); the
   patience band is redrawn with the new width.
3. Interrupt (the toolbar's kernel interrupt): a graceful stop, no
   KeyboardInterrupt, reason "interrupted", best weights restored.
4. Stop during ``await dashboard.fit_async(...)``.
5. Scenario 1 in Notebook 7.

Every measured stop latency is printed and appended to
``artifacts/browser/stop-latencies.jsonl``; ``steering.measure_stop_latency`` is
the function the benchmarks can reuse.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from .jupyter import (
    ARTIFACTS,
    KERNEL_TIMEOUT,
    REPORT_CELL,
    HarnessTimeout,
    NotebookPage,
    _slug,
)
from .steering import (
    PAUSE_LABEL,
    SETUP,
    STOP_LABEL,
    Scenario,
    StopLatency,
    annotation_lines,
    band,
    cell_errors,
    layout,
    measure_stop_latency,
    metric_points,
    plot_state,
    release,
    run_cells,
    settle,
    stop_cells,
    wait_plot,
    wait_report,
)

pytestmark = pytest.mark.browser

NAME = "steering.ipynb"
#: Plateau: held at the end of epoch HOLD_EPOCH (the slider is moved then), then
#: after batch HOLD_BATCH of the next epoch (the band is looked at then).
HOLD_EPOCH = 3
HOLD_BATCH = (HOLD_EPOCH + 1, 5)
NEW_PATIENCE = 2
OLD_PATIENCE = 50
#: Patience lowered to 2 when wait is already 2 (best epoch 1, end of epoch 3): Keras
#: stops at the next epoch that does not improve, so the band runs from the best
#: epoch to HOLD_EPOCH + 1 (it used to be drawn NEW_PATIENCE wide, saying "0 epochs
#: left", which is not where Keras stops).
STOP_EPOCH = HOLD_EPOCH + 1
#: How long the band may take to show a new patience in the page (a kernel ->
#: page trait update takes well under a second here).
BAND_REDRAW_S = 10.0
#: Slack on top of one batch between the click and ``fit`` returning.
STOP_SLACK_S = 1.0

S1, S2, S3, S4 = layout(2, ["s1", "s2", "s3", "s4"])
CELLS = [
    REPORT_CELL,
    SETUP,
    *stop_cells("s1"),
    *stop_cells(
        "s2",
        patience=OLD_PATIENCE,
        learning_rate="0",
        data="x_small, y_small",
        hold_epoch=HOLD_EPOCH,
        hold_batch=HOLD_BATCH,
    ),
    *stop_cells("s3"),
    *stop_cells("s4", mode="async"),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab_session(jupyter_lab, browser):
    """One JupyterLab page and kernel for scenarios 1-4, set up (data, model, probes)."""
    jupyter_lab.write_notebook(NAME, CELLS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    nb = NotebookPage(page, jupyter_lab, NAME, test_name="steering-lab")
    try:
        nb.open()
        nb.wait_kernel_ready()
        run_cells(nb, 0, 1)
        nb.wait_cells_done(timeout=KERNEL_TIMEOUT, indices=[0, 1])
        errors = cell_errors(nb, [0, 1])
        assert not errors, f"the set-up cells failed: {errors}"
        yield nb
    finally:
        with contextlib.suppress(Exception):
            settle(nb)
        context.close()
        jupyter_lab.shutdown_kernels()
        jupyter_lab.clean_root()


@pytest.fixture
def lab_nb(lab_session: NotebookPage, request):
    """The shared notebook, named after the test for screenshots; left idle after."""
    lab_session.test_name = _slug(request.node.name)
    yield lab_session
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        lab_session.screenshot("failed")
    settle(lab_session)


# --------------------------------------------------------------------------- shared checks


def wait_epochs_done(nb: NotebookPage, sc: Scenario, epochs: int = 3) -> dict[str, Any]:
    """Wait until ``epochs`` epochs ended in the kernel and the plot shows them."""
    wait_report(
        nb, f"{sc.name}-epoch", cells=sc.cells, until=lambda r: r["epoch"] >= epochs, timeout=KERNEL_TIMEOUT
    )
    return wait_plot(
        nb,
        sc.display,
        lambda s: metric_points(s, "loss") >= epochs,
        f"the plot of {sc.name} to show {epochs} epochs of loss",
    )


def controls(state: dict[str, Any]) -> dict[str, Any]:
    """The panel's controls as the page shows them."""
    buttons = state.get("buttons") or []
    stop = next((b for b in buttons if STOP_LABEL.match(b["text"])), None)
    pause = next((b for b in buttons if PAUSE_LABEL.search(b["text"])), None)
    slider = state.get("slider") or {}
    return {
        "stop": None if stop is None else stop["disabled"],
        "pause": None if pause is None else pause["disabled"],
        "patience": slider.get("disabled"),
    }


ALL_DISABLED = {"stop": True, "pause": True, "patience": True}


def check_stopped_by_hand(nb: NotebookPage, sc: Scenario, m: StopLatency) -> dict[str, Any]:
    """Scenario 1's checks on a measured stop; returns the final plot state."""
    r, snap = m.report, m.report["snapshot"]
    assert snap["stop_reason"] == "stopped by hand", snap
    k, j, best = snap["stopped_epoch"], snap["stopped_batch"], snap["best_epoch"]
    # The click came after epoch 3 ended; the stop acts after the current batch,
    # and Keras keeps that partial epoch (validation, on_epoch_end) in the history.
    assert k is not None and k > 3, snap
    assert j is not None and 1 <= j <= r["steps"], (j, r["steps"])
    assert r["epochs"] == k, f"history has {r['epochs']} epochs, stopped at epoch {k}"

    click = wait_report(nb, f"{sc.name}-click", cells=sc.cells)
    published = wait_report(nb, f"{sc.name}-published", cells=sc.cells)
    t0 = m.click_time
    # fit_async puts the given callbacks (the probe) before the dashboard's.
    order = (
        "probe before the dashboard's callbacks"
        if sc.name == S4.name
        else "probe after the dashboard's callbacks"
    )
    steps = (
        f"click event -> kernel handled it {click['time'] - t0:.3f} s (thread {click['thread']}), "
        f"-> the stop decided and drawn (controller listeners done) "
        f"{published['time'] - t0:.3f} s, -> probe's on_epoch_end {r['last_epoch_ended'] - t0:.3f} s, "
        f"-> probe's on_train_end {r['train_ended'] - t0:.3f} s ({order}), "
        f"-> fit returned {m.returned - t0:.3f} s; "
        f"Playwright's click() call began {t0 - m.clicked:.3f} s before the event"
    )
    print(f"  {sc.name}: {steps}")
    assert m.clicked_page is not None, "the page saw no click event"
    budget = r["batch_s"] + STOP_SLACK_S
    assert m.latency <= budget, (
        f"fit returned {m.latency:.3f} s after the click; budget one batch "
        f"({1000 * r['batch_s']:.1f} ms) + {STOP_SLACK_S} s; {steps}"
    )
    assert click["running"] and click["time"] <= m.returned, (
        f"the kernel handled the click at {click['time']:.3f} (thread {click['thread']}, "
        f"running={click['running']}), fit returned at {m.returned:.3f}"
    )

    assert snap["restored_epoch"] == best, snap
    assert r["restored_equals_best"], (
        f"the weights after fit are not those of the best epoch {best} (epochs kept: {r['weight_epochs']})"
    )
    if best != k:
        assert not r["restored_equals_last"], "the weights are still those of the last epoch"

    expected = f"stopped by hand at epoch {k}, batch {j}"
    restored = f"weights restored from epoch {best}"
    state = wait_plot(
        nb,
        sc.display,
        lambda s: {expected, restored} <= set(annotation_lines(s)) and controls(s) == ALL_DISABLED,
        f"the plot to say {expected!r} and {restored!r}, and the controls to be disabled",
    )
    assert any(expected in text for text in state["annotationDom"]), state["annotationDom"]
    assert r["disabled"] == ALL_DISABLED, r["disabled"]
    assert expected in r["status"], r["status"]
    assert not cell_errors(nb, sc.cells)
    return state


# --------------------------------------------------------------------------- 1. Stop, plain fit


def test_stop_button_ends_plain_fit_within_a_batch(lab_nb):
    nb, sc = lab_nb, S1
    run_cells(nb, sc.display, sc.report)
    wait_epochs_done(nb, sc)
    assert nb.execution_status() == "busy"
    m = measure_stop_latency(
        nb, button_cell=sc.display, returned_report=sc.name, cells=sc.cells, label="JupyterLab, model.fit"
    )
    check_stopped_by_hand(nb, sc, m)


# --------------------------------------------------------------------------- 2. patience slider


@dataclass
class PlateauRun:
    """What the ``plateau`` fixture saw (plot states from :func:`plot_state`)."""

    before: dict[str, Any] = field(default_factory=dict)  # held at the end of epoch HOLD_EPOCH
    patience: dict[str, Any] = field(default_factory=dict)  # kernel report of the new value
    moved_at: float = 0.0  # time.time() once the readout showed it
    held: dict[str, Any] = field(default_factory=dict)  # held after HOLD_BATCH
    during: dict[str, Any] | None = None  # band redrawn while held (None: not)
    during_last: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)  # after fit returned
    after: dict[str, Any] = field(default_factory=dict)


def _band_width(state: dict[str, Any], best: int = 1) -> float | None:
    b = band(state, best)
    return None if b is None else b["x1"] - b["x0"]


@pytest.fixture(scope="module")
def plateau(lab_session: NotebookPage) -> PlateauRun:
    """Scenario 2 driven once; the tests below judge it."""
    nb, sc, run = lab_session, S2, PlateauRun()
    nb.test_name = "steering-plateau"
    try:
        run_cells(nb, sc.display, sc.report)
        wait_report(nb, f"{sc.name}-held-epoch", cells=sc.cells, timeout=KERNEL_TIMEOUT)
        run.before = wait_plot(
            nb,
            sc.display,
            lambda s: metric_points(s) >= HOLD_EPOCH and _band_width(s) == OLD_PATIENCE,
            f"the plot to show {HOLD_EPOCH} epochs and a band of width {OLD_PATIENCE} from epoch 1",
        )
        assert controls(run.before) == {"stop": False, "pause": False, "patience": False}, run.before
        nb.set_slider(sc.display, NEW_PATIENCE)
        run.moved_at = time.time()
        run.patience = wait_report(
            nb, f"{sc.name}-patience", cells=sc.cells, until=lambda r: r["value"] == NEW_PATIENCE
        )
        release(nb, f"{sc.name}-release-epoch.flag")
        run.held = wait_report(nb, f"{sc.name}-held-batch", cells=sc.cells, timeout=KERNEL_TIMEOUT)
        try:
            run.during = wait_plot(
                nb,
                sc.display,
                lambda s: _band_width(s) == STOP_EPOCH - 1,
                f"the band to be redrawn to end at epoch {STOP_EPOCH} while fit runs",
                timeout=BAND_REDRAW_S,
            )
        except HarnessTimeout:
            run.during = None
        run.during_last = plot_state(nb, sc.display)
        release(nb, f"{sc.name}-release-batch.flag")
        run.report = wait_report(nb, sc.name, cells=sc.cells, timeout=KERNEL_TIMEOUT)
        run.after = wait_plot(
            nb,
            sc.display,
            lambda s: (
                any("patience exhausted" in line for line in annotation_lines(s))
                and controls(s) == ALL_DISABLED
            ),
            "the plot to say 'patience exhausted' and the controls to be disabled",
        )
        return run
    finally:
        (ARTIFACTS / "plateau-observations.json").write_text(json.dumps(run.__dict__, indent=1, default=str))
        settle(nb)


def test_patience_slider_reaches_kernel_and_stops_training(plateau: PlateauRun):
    check_slider_run(plateau, off_main_thread=True)


def check_slider_run(plateau: PlateauRun, *, off_main_thread: bool) -> None:
    """Scenario 2's checks. ``off_main_thread``: a thread other than the busy main one
    took the value (a subshell, the shell channel's worker); else the main thread did,
    from the batch hook (ipykernel 6)."""
    p, r = plateau.patience, plateau.report
    # The value reached the kernel during the busy cell: fit was running (held at
    # the end of epoch HOLD_EPOCH).
    assert p["running"] is True and p["last_epoch"] == HOLD_EPOCH, p
    assert (p["thread"] != "MainThread") is off_main_thread, p
    assert p["patience"] == NEW_PATIENCE, p
    assert p["time"] - plateau.moved_at < 5.0, "the kernel took more than 5 s to get the value"

    snap = r["snapshot"]
    assert snap["best_epoch"] == 1, f"not a plateau: {snap}"
    assert snap["patience"] == NEW_PATIENCE, snap
    assert snap["stop_reason"] == "patience exhausted", snap
    # wait = epoch - best_epoch >= 2 at the first epoch end after the move: epoch HOLD_EPOCH + 1.
    assert snap["stopped_epoch"] == HOLD_EPOCH + 1, snap
    assert snap["stopped_epoch"] - HOLD_EPOCH <= 3
    assert r["epochs"] == HOLD_EPOCH + 1, r["epochs"]
    assert r["restored_equals_best"] and snap["restored_epoch"] == 1, snap
    assert r["disabled"] == ALL_DISABLED, r["disabled"]

    # After the run: the band from the best epoch to the stop, drawn.
    after = plateau.after
    assert _band_width(after) == STOP_EPOCH - 1, after["shapes"]
    assert sum(after["shapePaths"].values()) >= len(after["shapes"]), after["shapePaths"]
    assert f"stopped at epoch {HOLD_EPOCH + 1}: patience exhausted" in annotation_lines(after), after[
        "annotations"
    ]


def test_patience_band_redraws_while_fit_runs(plateau: PlateauRun):
    assert plateau.held["epoch"] == HOLD_BATCH[0] and plateau.held["batch"] == HOLD_BATCH[1]
    assert plateau.during_last["status"] == "busy"
    assert plateau.during is not None, (
        f"while fit was held after batch {HOLD_BATCH[1]} of epoch {HOLD_BATCH[0]} "
        f"(patience {NEW_PATIENCE} in the kernel since the end of epoch {HOLD_EPOCH}), the band "
        f"was {_band_width(plateau.during_last)} epochs wide, not ending at epoch {STOP_EPOCH}, "
        f"after {BAND_REDRAW_S:.0f} s; "
        f"annotations: {plateau.during_last.get('annotations')}"
    )
    # wait is HOLD_EPOCH - 1 = 2 >= patience: the next epoch is the last one.
    assert "1 epoch left" in annotation_lines(plateau.during), plateau.during["annotations"]


# --------------------------------------------------------------------------- 3. interrupt


def test_interrupt_stops_gracefully_and_restores_best_weights(lab_nb):
    nb, sc = lab_nb, S3
    run_cells(nb, sc.display, sc.report)
    wait_epochs_done(nb, sc)
    assert nb.execution_status() == "busy"
    interrupted = time.time()
    nb.interrupt()
    r = wait_report(nb, sc.name, cells=sc.cells, timeout=60)
    print(f"interrupt latency: toolbar interrupt -> fit returned {r['returned'] - interrupted:.3f} s")

    assert not cell_errors(nb, sc.cells), cell_errors(nb, sc.cells)
    assert "KeyboardInterrupt" not in nb.output_text(sc.fit)
    snap = r["snapshot"]
    assert snap["stop_reason"] == "interrupted", snap
    k, best = snap["stopped_epoch"], snap["best_epoch"]
    assert k is not None and k > 3 and r["epochs"] == k, (snap, r["epochs"])
    assert snap["restored_epoch"] == best and r["restored_equals_best"], (snap, r["weight_epochs"])
    if best != k:
        assert not r["restored_equals_last"]

    expected, restored = f"stopped at epoch {k}: interrupted", f"weights restored from epoch {best}"
    wait_plot(
        nb,
        sc.display,
        lambda s: {expected, restored} <= set(annotation_lines(s)) and controls(s) == ALL_DISABLED,
        f"the plot to say {expected!r} and {restored!r}, and the controls to be disabled",
    )
    assert r["disabled"] == ALL_DISABLED
    assert r["status"].startswith(f"interrupted at epoch {k}"), r["status"]


# --------------------------------------------------------------------------- 4. fit_async


def test_stop_button_ends_awaited_fit_async(lab_nb):
    nb, sc = lab_nb, S4
    run_cells(nb, sc.display, sc.report)
    wait_epochs_done(nb, sc)
    m = measure_stop_latency(
        nb,
        button_cell=sc.display,
        returned_report=sc.name,
        cells=sc.cells,
        label="JupyterLab, await fit_async",
    )
    check_stopped_by_hand(nb, sc, m)


# --------------------------------------------------------------------------- 5. Notebook 7


def test_stop_button_ends_plain_fit_in_notebook7(jupyter_notebook, notebook7):
    name = "steering_nb7.ipynb"
    (sc,) = layout(2, ["s5"])
    jupyter_notebook.write_notebook(name, [REPORT_CELL, SETUP, *stop_cells("s5")])
    nb = notebook7(name)
    try:
        nb.run_all()
        wait_epochs_done(nb, sc)
        assert nb.execution_status() == "busy"
        m = measure_stop_latency(
            nb, button_cell=sc.display, returned_report=sc.name, cells=sc.cells, label="Notebook 7, model.fit"
        )
        check_stopped_by_hand(nb, sc, m)
    finally:
        settle(nb)
