"""The product end to end: notebooks/quickstart.ipynb in JupyterLab, watched live.

One run of the quickstart (one kernel) feeds every test in this module; the
``quickstart`` fixture drives it and records what it saw, the tests judge it.

To look at the page mid-run without racing the training, the copy of the
notebook gets two test-only cells: ``_report`` (writes JSON next to the notebook)
and a gate that wraps ``model.fit`` to append one callback, which reports every
epoch and *holds* ``fit`` at the end of epoch ``HOLD`` until the test writes
``release.flag``. The held epoch is an ordinary slow epoch to everything else:
the cell is busy in a synchronous ``model.fit``, every product callback
(plot, controller, checkpoint) has already run for that epoch.

Page reload while ``fit`` runs (JupyterLab 4.6.6, ipykernel 7.4.0). Stock ipykernel
alone cannot restore the widget until the cell ends, because

1. on reconnect JupyterLab sends ``kernel_info_request`` on the shell channel;
   ipykernel routes it to the main shell, which is inside ``model.fit``, so
   ``kernel.info`` stays pending (pending messages are flushed after its 3 s
   timeout, but without a kernel_info reply the front end does not know the
   kernel's session nor that it supports subshells);
2. so the widget manager's ``jupyter.widget.control`` comm (``comm_open`` and
   ``request_states``) carries no subshell id and is queued on the same main
   shell; after 4 s the manager falls back to ``comm_info_request`` plus one
   ``request_state`` per widget, also queued there;
3. the output shows "Loading widget..." and is rendered on the manager's
   ``restored`` signal, i.e. right after the cell ends.

``LivePlotCallback`` turns on ``widget_callbacks.kernel.reconnect`` for the duration of
``fit``: those messages (and only those) are handled on a dedicated thread instead
of the main shell, so the reloaded page gets the kernel info and the whole history
while ``fit`` is still held (about 2 s after the reconnect here).
``test_reload_mid_run_...`` checks exactly that; ``tests/test_reconnect.py`` checks
the kernel side message by message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .jupyter import (
    ARTIFACTS,
    REPO_ROOT,
    REPORT_CELL,
    JupyterServer,
    NotebookPage,
    read_notebook,
    wait_for_report,
    wait_until,
)

pytestmark = pytest.mark.browser

QUICKSTART = REPO_ROOT / "notebooks" / "quickstart.ipynb"
#: The README's screenshot: written by this test when WC_UPDATE_SCREENSHOT=1
#: (`make screenshot`), so that an ordinary test run leaves the checkout clean.
SCREENSHOT = REPO_ROOT / "docs" / "screenshot.png"

#: fit is held at the end of this epoch (1-based) for the mid-run checks.
HOLD = 3
#: After a mid-run reload, how long the page is watched while fit is held. With
#: the reconnect service the widget is back about 2 s after the reconnect; 15 s
#: leaves a wide margin on two loaded cores.
RELOAD_WATCH_S = 15.0
#: Budget for the whole fit (TensorFlow import and 40 tiny epochs on a loaded CPU).
FIT_TIMEOUT = 300.0

# The contract names the progress line ``.wc-progress``; the front end (js/src/
# progress.mjs) currently calls it ``wc-progress-text``. Either is accepted.
PROGRESS = ".wc-progress, .wc-progress-text"
PLOT = ".js-plotly-plot"
POINTS = ".scatterlayer .trace .points path.point"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

GATE_CELL = f"""\
# Test-only (tests/browser/test_quickstart_live.py): report every epoch and hold
# fit at the end of epoch {HOLD} until the test writes release.flag.
class _Gate(keras.callbacks.Callback):
    epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        _report("epoch", epoch=epoch + 1)
        if epoch + 1 == {HOLD}:
            _report("held", epoch=epoch + 1)
            _deadline = _time.time() + 600
            while not _os.path.exists("release.flag") and _time.time() < _deadline:
                _time.sleep(0.02)

    def on_train_end(self, logs=None):
        _report("fit_end", epochs=self.epochs)

_unwrapped_fit = model.fit
def _gated_fit(*args, callbacks=None, **kwargs):
    return _unwrapped_fit(*args, callbacks=[*(callbacks or []), _Gate()], **kwargs)
model.fit = _gated_fit
"""

# JS: what the plot cell shows now. Traces are matched to plotly's data through
# the d3 binding of each `.trace` group (``__data__[0].trace``).
SNAPSHOT_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
const out = {status: null, progress: null, plot: false, traces: [], ticks: [], text: ''};
const ind = p && p.node.querySelector('.jp-Notebook-ExecutionIndicator[data-status]');
out.status = ind ? ind.getAttribute('data-status') : null;
if (!c) return out;
const area = c.node.querySelector('.jp-OutputArea');
out.text = area ? area.innerText.slice(0, 300) : '';
const prog = c.node.querySelector(arg.progress);
out.progress = prog ? prog.textContent : null;
const gd = c.node.querySelector(arg.plot);
if (!gd) return out;
out.plot = true;
for (const g of gd.querySelectorAll('.scatterlayer .trace')) {
  const d = g.__data__ && g.__data__[0] && g.__data__[0].trace;
  out.traces.push({
    name: d ? d.name : null,
    role: d && d.meta ? d.meta.role : null,
    mode: d ? d.mode : null,
    x: d && d.x ? Array.from(d.x) : null,
    xaxis: d ? d.xaxis : null,
    points: g.querySelectorAll('.points path.point').length,
  });
}
out.ticks = Array.from(gd.querySelectorAll('.xtick text')).map(t => t.textContent);
out.xranges = {};
const fl = gd._fullLayout || {};
for (const k of Object.keys(fl)) {
  if (/^xaxis\d*$/.test(k) && fl[k] && Array.isArray(fl[k].range)) out.xranges[k] = fl[k].range.slice();
}
out.allPoints = gd.querySelectorAll(arg.points).length;
return out;
"""

EPOCH_RX = re.compile(r"Epoch (\d+)/(\d+)")


def _epoch(progress: str | None) -> tuple[int, int] | None:
    m = EPOCH_RX.search(progress or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _metric(snapshot: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((t for t in snapshot["traces"] if t["name"] == name and t["role"] == "metric"), None)


@dataclass
class QuickstartRun:
    """What the ``quickstart`` fixture saw (times in seconds; ``reload_watch``
    entries are seconds after the reloaded page reconnected)."""

    epochs_planned: int = 0
    mid: dict[str, Any] = field(default_factory=dict)  # snapshot while held
    saved_widget_outputs: int = 0  # widget-view outputs on disk
    reload_connected_after_s: float | None = None
    reload_watch: list[dict[str, Any]] = field(default_factory=list)
    restored_while_busy: dict[str, Any] | None = None  # first snapshot with points
    reload_kernel_info: dict[str, Any] | None = None  # the page's kernel after the restore
    restored_after_release_s: float | None = None
    fit_end_to_restore_s: float | None = None
    epochs_trained: int | None = None
    final: dict[str, Any] = field(default_factory=dict)
    screenshot: Path | None = None
    errors: list[str] = field(default_factory=list)  # uncaught page errors


def _source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _find(cells: list[dict[str, Any]], text: str, what: str) -> int:
    for i, c in enumerate(cells):
        if c["cell_type"] == "code" and text in _source(c) and "_Gate" not in _source(c):
            return i
    raise AssertionError(f"the quickstart has no code cell with {text!r} ({what})")


def _prepare(server: JupyterServer) -> tuple[str, int, int]:
    """Copy the quickstart into the server with the two test cells (``_report``
    first, the gate just before the fit cell). Returns the notebook name, the
    index of the plot cell and the planned number of epochs (``EPOCHS = N``)."""
    name = "quickstart.ipynb"
    dest = server.copy_notebook(QUICKSTART, name)
    nb = read_notebook(dest)
    cells = nb["cells"]

    def code(source: str) -> dict[str, Any]:
        cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
        if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
            cell["id"] = uuid.uuid4().hex[:8]
        return cell

    cells.insert(_find(cells, "model.fit(", "the fit"), code(GATE_CELL))
    cells.insert(next(i for i, c in enumerate(cells) if c["cell_type"] == "code"), code(REPORT_CELL))
    dest.write_text(json.dumps(nb, indent=1))
    epochs = re.search(r"^EPOCHS\s*=\s*(\d+)", "\n".join(map(_source, cells)), re.M)
    assert epochs, "the quickstart sets no EPOCHS = N"
    return name, _find(cells, "TrainingDashboard(", "the dashboard"), int(epochs.group(1))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def quickstart(jupyter_lab, browser) -> QuickstartRun:
    if not QUICKSTART.exists():
        pytest.skip(f"{QUICKSTART} does not exist yet")
    run = QuickstartRun()
    name, plot_i, run.epochs_planned = _prepare(jupyter_lab)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    nb = NotebookPage(page, jupyter_lab, name, test_name="quickstart")
    folder = nb.folder
    snapshot = lambda: nb.evaluate(SNAPSHOT_JS, index=plot_i, progress=PROGRESS, plot=PLOT, points=POINTS)  # noqa: E731
    try:
        nb.open()
        kernel_id = nb.wait_kernel_ready()
        nb.run_all()

        # (1) Held at the end of epoch HOLD: the cell is busy, the plot has the points.
        wait_for_report(folder, "held", timeout=FIT_TIMEOUT, page=nb, abort_on_error=True)
        nb.wait_selector(plot_i, PLOT)

        def held_view() -> dict[str, Any] | None:
            s = snapshot()
            loss = _metric(s, "loss")
            return s if loss and loss["points"] >= HOLD and _epoch(s["progress"]) else None

        run.mid = wait_until(
            held_view,
            f"the plot to show {HOLD} loss points and an 'Epoch i/N' progress line while fit is held",
            page=nb,
        )
        nb.screenshot("mid-run", locator=nb.cell_output(plot_i))

        # (2) Save and reload mid-run.
        nb.save()
        saved = read_notebook(nb.path)
        run.saved_widget_outputs = sum(
            WIDGET_VIEW in o.get("data", {}) for o in saved["cells"][plot_i].get("outputs", [])
        )
        t0 = time.monotonic()
        nb.reload()
        assert nb.wait_kernel_connected() == kernel_id
        run.reload_connected_after_s = time.monotonic() - t0
        t_connected = time.monotonic()
        fit_end_path = folder / "_reports" / "fit_end.json"
        # The kernel is held in fit the whole time (the gate), so this is mid-run by
        # construction. Neither the page's indicator ('unknown' after a reconnect
        # during a busy cell) nor the server's execution_state (set 'idle' by
        # control-channel and subshell replies) can tell that.
        while time.monotonic() - t_connected < RELOAD_WATCH_S:
            s = snapshot()
            entry = {
                "t": round(time.monotonic() - t_connected, 2),
                "indicator": s["status"],
                "text": s["text"][:60],
                "points": s.get("allPoints", 0),
                "progress": s["progress"],
            }
            run.reload_watch.append(entry)
            if s.get("allPoints", 0) > 0:
                run.restored_while_busy = s | {"t": entry["t"]}
                # supportsSubshells is set by the kernel_info reply only.
                run.reload_kernel_info = nb.evaluate(
                    """const p = __panel(arg.path);
                       const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
                       return k ? {supportsSubshells: k.supportsSubshells, status: k.status} : null;"""
                )
                break
            time.sleep(0.25)
        assert not fit_end_path.exists(), "fit ended while it was held"
        nb.screenshot("after-reload-mid-run", locator=nb.cell_output(plot_i))

        # Release the fit; when does the reloaded page get the widget?
        t_release = time.monotonic()
        (folder / "release.flag").write_text("")
        nb.wait_selector(plot_i, PLOT, timeout=FIT_TIMEOUT)
        restored_wall = time.time()
        run.restored_after_release_s = time.monotonic() - t_release
        fit_end = wait_for_report(folder, "fit_end", timeout=FIT_TIMEOUT, page=nb)
        run.fit_end_to_restore_s = restored_wall - fit_end["time"]

        # (3) The end. The reloaded page shows no output of the cells queued after
        # fit (their results went to the page that sent them), so the number of
        # epochs trained comes from the gate's fit_end report.
        run.epochs_trained = fit_end["epochs"]

        def final_view() -> dict[str, Any] | None:
            s = snapshot()
            loss = _metric(s, "loss")
            done = _epoch(s["progress"]) == (run.epochs_trained, run.epochs_planned)
            return s if done and loss and len(loss["x"] or []) == run.epochs_trained else None

        run.final = wait_until(
            final_view,
            f"the loss trace to hold {run.epochs_trained} epochs and the progress line to say "
            f"Epoch {run.epochs_trained}/{run.epochs_planned}",
            page=nb,
        )
        nb.wait_idle()
        run.errors = [line for line in nb.console if line.startswith("pageerror")]

        # (4) README screenshot: the widget's output area only.
        out = nb.cell_output(plot_i)
        out.scroll_into_view_if_needed()
        final = ARTIFACTS / "quickstart-final.png"
        out.screenshot(path=str(final))
        if os.environ.get("WC_UPDATE_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(final, SCREENSHOT)
        run.screenshot = final
        (ARTIFACTS / "quickstart-observations.json").write_text(
            json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in run.__dict__.items()}, indent=1)
        )
        return run
    except Exception:
        run.errors = [line for line in nb.console if line.startswith("pageerror")]
        nb.screenshot("fixture-failed")
        (ARTIFACTS / "quickstart-observations.json").write_text(
            json.dumps(
                {k: (str(v) if isinstance(v, Path) else v) for k, v in run.__dict__.items()},
                indent=1,
                default=str,
            )
        )
        raise
    finally:
        with_release = folder / "release.flag"
        if not with_release.exists():
            with_release.write_text("")
        context.close()
        jupyter_lab.shutdown_kernels()
        jupyter_lab.clean_root()


def test_plot_has_points_while_fit_runs(quickstart):
    mid = quickstart.mid
    assert mid["status"] == "busy", mid["status"]
    epoch, epochs = _epoch(mid["progress"])
    assert epochs == quickstart.epochs_planned
    assert epoch < epochs, mid["progress"]
    assert mid["allPoints"] > 0
    loss = _metric(mid, "loss")
    assert loss["x"] == list(range(1, HOLD + 1)), loss
    assert loss["points"] == HOLD


class RestoreBlockedWhileBusy(AssertionError):
    """The reloaded page got no widget while fit was running."""


def test_reload_mid_run_shows_history_while_fit_runs(quickstart):
    assert quickstart.saved_widget_outputs == 1
    assert quickstart.reload_watch, "nothing observed after the reload"
    restored = quickstart.restored_while_busy
    if restored is None:
        last = quickstart.reload_watch[-1]
        raise RestoreBlockedWhileBusy(
            f"no plot {RELOAD_WATCH_S:.0f} s after the reloaded page reconnected while fit was "
            f"held at epoch {HOLD}; last seen: {last}"
        )
    # The history so far: the HOLD epochs completed, nothing more (fit is held).
    loss = _metric(restored, "loss")
    assert loss is not None and loss["x"] == list(range(1, HOLD + 1)), restored
    assert loss["points"] == HOLD, restored
    assert _epoch(restored["progress"])[0] == HOLD, restored["progress"]
    # The kernel_info reply came during fit (not the 3 s timeout's flush).
    info = quickstart.reload_kernel_info
    assert info is not None and info["supportsSubshells"] is True, info


def test_reload_mid_run_gets_whole_history_once_fit_ends(quickstart):
    # A page reloaded mid-run gets the widget at the latest once the queued cells
    # after fit have run, with every epoch (test_x_axis_numbers_the_epochs reads
    # that reloaded page).
    assert quickstart.restored_after_release_s is not None
    assert quickstart.fit_end_to_restore_s is not None and quickstart.fit_end_to_restore_s < 60
    loss = _metric(quickstart.final, "loss")
    assert loss["x"] == list(range(1, quickstart.epochs_trained + 1)), loss


def test_x_axis_numbers_the_epochs(quickstart):
    final, trained = quickstart.final, quickstart.epochs_trained
    assert 1 <= trained <= quickstart.epochs_planned
    assert _epoch(final["progress"]) == (trained, quickstart.epochs_planned), final["progress"]
    metrics = [t for t in final["traces"] if t["role"] == "metric"]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= {t["name"] for t in metrics}, metrics
    for t in metrics:
        assert t["x"] == list(range(1, trained + 1)), t
        if "markers" in (t["mode"] or ""):
            assert t["points"] == trained, t
    assert any("markers" in (t["mode"] or "") for t in metrics), "no epoch markers drawn"
    # Every x axis is numbered in whole epochs and spans them all.
    ticks = [float(x.replace("\u2212", "-")) for x in final["ticks"] if x.strip()]
    assert ticks and all(v == int(v) and v >= 0 for v in ticks), final["ticks"]
    assert final["xranges"], final
    for axis, (lo, hi) in final["xranges"].items():
        assert lo <= 1 and hi >= trained, (axis, lo, hi, trained)


def test_readme_screenshot(quickstart):
    width, height = _png_size(quickstart.screenshot)
    assert width >= 600 and height >= 300, (width, height)


def test_page_has_no_uncaught_errors(quickstart):
    assert not quickstart.errors, quickstart.errors
