"""The toolbar's views in JupyterLab, during a running fit: smoothing, log scale, x axis,
robust y range, theme, and the summary table under the plot.

A notebook built here (generated regression data, fixed seeds, a tiny MLP, a metric
with a long name) displays a ``TrainingDashboard(patience=20)``; a test-only callback
after the dashboard's reports every epoch end with the history so far and holds ``fit``
at the end of epoch ``HOLD`` until the test writes ``release.flag``. While it is held
(the cell busy in ``model.fit``), the test works the toolbar like a user (Playwright
fills the range input, clicks and presses keys on the buttons, picks options) and
checks what plotly drew (``gd`` is the ``.js-plotly-plot`` div):

- smoothing 0.8: the loss curve's drawn ``y`` is TensorBoard's debiased EMA of the
  kernel's history (computed here), its SVG path changes, and the raw curve is drawn
  too (``meta.role == "raw"``);
- log y on the loss panel (by keyboard): the y axis is ``type: "log"``, the path changes;
- x axis "step": the loss points at ``epoch * batches_per_epoch``, the patience band
  and the best star moved the same way; "time": at increasing seconds, the band and
  the star at the best epoch's time;
- robust y: the y range is fixed (``autorange: false``);
- JupyterLab's own theme command (``apputils:change-theme``) to "JupyterLab Dark":
  the plot's paper turns dark (protocol.json's ``dark_palette``) and back;
- the summary table lists each metric (a long name shortened, the full one in its
  title) and the pace.

After the release, the view set by the toolbar is the kernel's ``plot.view`` (it was
saved back). One screenshot per view goes to ``docs/views-*.png`` when
``WC_UPDATE_SCREENSHOT=1`` (``make screenshot``), else to ``artifacts/browser/``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .jupyter import ARTIFACTS, KERNEL_TIMEOUT, REPO_ROOT, REPORT_CELL, NotebookPage
from .steering import cell_errors, release, settle, wait_report

pytestmark = pytest.mark.browser

NAME = "views.ipynb"
HOLD = 8
EPOCHS = 40
BATCH = 16
SMOOTHING = 0.8
LONG_METRIC = "mean_absolute_error_of_the_regression_head"
SHOTS = (REPO_ROOT / "docs") if os.environ.get("WC_UPDATE_SCREENSHOT") == "1" else ARTIFACTS
DARK_BACKGROUND = json.loads((REPO_ROOT / "widget_callbacks" / "core" / "protocol.json").read_text())[
    "dark_palette"
]["background"]

SETUP = f'''\
# Test-only set-up (tests/browser/test_views.py).
import os, time
import numpy as np
import keras
from widget_callbacks import TrainingDashboard

rng = np.random.default_rng(0)
x = rng.normal(size=(480, 8)).astype("float32")
w = rng.normal(size=(8, 1)).astype("float32")
y = (np.sin(x @ w) + 0.5 * rng.normal(size=(480, 1))).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse",
              metrics=[keras.metrics.MeanAbsoluteError(name="{LONG_METRIC}")])
'''

DASHBOARD = """\
dashboard = TrainingDashboard(monitor="val_loss", patience=20)
dashboard
"""

GATE = f'''\
class Gate(keras.callbacks.Callback):
    """Test-only: reports each epoch end with the history; holds fit at epoch {HOLD}."""

    def __init__(self):
        super().__init__()
        self.history = {{}}

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {{}}).items():
            self.history.setdefault(k, []).append(float(v))
        snapshot = dashboard.controller.snapshot()
        data = dict(epoch=epoch + 1, history=self.history, best_epoch=snapshot.best_epoch,
                    batches=dashboard.plot.progress.get("batches"))
        _report("epoch", **data)
        if epoch + 1 == {HOLD}:
            _report("held", **data)
            deadline = time.time() + 600
            while not os.path.exists("release.flag") and time.time() < deadline:
                time.sleep(0.02)
'''

FIT = f"""\
history = model.fit(x, y, batch_size={BATCH}, epochs={EPOCHS}, validation_split=0.25, verbose=0,
                    callbacks=dashboard.callbacks + [Gate()])
"""

VIEW = """\
_report("view", view=dict(dashboard.plot.view), summary=dashboard.plot.summary_table)
"""

CELLS = [REPORT_CELL, SETUP, DASHBOARD, GATE, FIT, VIEW]
C_DASHBOARD, C_VIEW = 2, 5

# JS: the toolbar, the table and what plotly drew in the dashboard's output.
VIEW_STATE_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
const out = {plot: false, body_light: document.body.dataset.jpThemeLight || null,
             body_class: document.body.className,
             roots: Array.from(document.querySelectorAll('.wc-root')).map(r => [r.dataset.theme, r.isConnected, r.clientWidth])};
if (!c) return out;
const q = (s) => c.node.querySelector(s);
const root = q('.wc-root');
out.theme = root ? root.dataset.theme || null : null;
const slider = q('.wc-toolbar input[type=range]');
if (slider) {
  out.toolbar = {
    smoothing: slider.value,
    readout: q('.wc-smoothing-value').textContent,
    log: Array.from(c.node.querySelectorAll('.wc-log-toggle'))
      .map(b => ({family: b.dataset.family, pressed: b.getAttribute('aria-pressed'), label: b.getAttribute('aria-label')})),
    x: q('.wc-xaxis select').value,
    robust: q('.wc-robust').getAttribute('aria-pressed'),
    note: q('.wc-note').textContent,
  };
}
out.table = Array.from(c.node.querySelectorAll('.wc-summary-table tbody tr'))
  .map(tr => Array.from(tr.children).map(td => ({text: td.textContent, title: td.getAttribute('title')})));
const foot = q('.wc-summary-footer');
out.footer = foot ? foot.textContent : null;
const gd = q('.js-plotly-plot');
if (!gd || !gd._fullLayout || !gd.data) return out;
out.plot = true;
const fl = gd._fullLayout;
out.paper = fl.paper_bgcolor;
out.axes = {};
for (const key of Object.keys(fl)) {
  if (!/^[xy]axis\d*$/.test(key) || !fl[key]) continue;
  const a = fl[key];
  out.axes[key] = {type: a.type, title: a.title ? a.title.text : null, autorange: a.autorange,
                   range: a.range ? Array.from(a.range) : null,
                   ticks: (a._vals || []).map(v => v.x)};
}
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
out.shapes = (gd.layout.shapes || []).map(s => ({type: s.type, xref: s.xref, x0: s.x0, x1: s.x1}));
out.data = gd.data.map(t => ({name: t.name, role: t.meta ? t.meta.role : null, uid: t.uid,
  x: Array.from(t.x || []).map(num), y: Array.from(t.y || []).map(num)}));
out.paths = {};
for (const g of gd.querySelectorAll('.scatterlayer .trace')) {
  const d = g.__data__ && g.__data__[0] && g.__data__[0].trace;
  const line = g.querySelector('.js-line');
  if (d) out.paths[d.uid] = line ? line.getAttribute('d') : null;
}
return out;
"""


def view_state(nb: NotebookPage) -> dict[str, Any]:
    return nb.evaluate(VIEW_STATE_JS, index=C_DASHBOARD)


def wait_view(nb: NotebookPage, predicate, what: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll the dashboard's view until ``predicate`` holds (no sleeps to hope on)."""
    import time

    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = view_state(nb)
            if last.get("plot") and predicate(last):
                return last
        except Exception as exc:  # a redraw in between: look again
            last = repr(exc)
        if time.monotonic() > deadline:
            brief = last
            if isinstance(last, dict):
                brief = {
                    k: last.get(k)
                    for k in ("body_light", "roots", "theme", "paper", "toolbar", "axes", "shapes", "footer")
                }
            raise nb.fail(what, timeout, brief)
        time.sleep(0.1)


def trace(state: dict[str, Any], name: str, role: str = "metric") -> dict[str, Any] | None:
    return next((t for t in state["data"] if t["name"] == name and t["role"] == role), None)


def ema(values: list[float], w: float) -> list[float]:
    """TensorBoard's debiased EMA (classicSmoothing), computed here independently."""
    out, last, n = [], 0.0, 0
    for v in values:
        last = last * w + (1 - w) * v
        n += 1
        out.append(last / (1 - w**n))
    return out


def band(state: dict[str, Any]) -> dict[str, Any] | None:
    rects = [s for s in state["shapes"] if s["type"] == "rect" and s["xref"] == "x"]
    return rects[-1] if rects else None


@dataclass
class ViewsRun:
    held: dict[str, Any] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)
    shots: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _shot(nb: NotebookPage, run: ViewsRun, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"views-{name}.png"
    out = nb.cell_output(C_DASHBOARD)
    out.scroll_into_view_if_needed()
    out.screenshot(path=str(path))
    run.shots.append(path)


@pytest.fixture(scope="module")
def views(jupyter_lab, browser) -> ViewsRun:
    jupyter_lab.write_notebook(NAME, CELLS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    nb = NotebookPage(page, jupyter_lab, NAME, test_name="views")
    run = ViewsRun()
    try:
        nb.open()
        nb.wait_kernel_ready()
        nb.run_all()
        run.held = held = wait_report(nb, "held", cells=range(len(CELLS)), timeout=KERNEL_TIMEOUT)
        loss = held["history"]["loss"]
        out = nb.cell_output(C_DASHBOARD)

        def metric_drawn(s, n=HOLD):
            t = trace(s, "loss")
            return t is not None and len(t["x"]) == n

        run.states["default"] = wait_view(
            nb,
            lambda s: metric_drawn(s) and s.get("toolbar") and len(s["table"]) >= 4 and band(s) is not None,
            f"{HOLD} epochs drawn, the toolbar, the patience band and the summary table while fit is held",
        )
        _shot(nb, run, "default")

        # Smoothing: the slider, as a user drags it (fill sets the value, input + change).
        out.locator(".wc-toolbar input[type=range]").fill(str(SMOOTHING))
        expected = ema(loss, SMOOTHING)

        def smoothed(s):
            t = trace(s, "loss")
            return (
                t is not None
                and len(t["y"]) == HOLD
                and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(t["y"], expected, strict=True))
                and trace(s, "loss (raw)", "raw") is not None
            )

        run.states["smoothed"] = wait_view(nb, smoothed, f"the loss curve smoothed at {SMOOTHING}")
        _shot(nb, run, "smoothed")

        # Log y on the loss panel, from the keyboard: focus the toggle, press Enter.
        toggle = out.locator('.wc-log-toggle[data-family="loss"]')
        toggle.focus()
        page.keyboard.press("Enter")
        run.states["log"] = wait_view(
            nb, lambda s: s["axes"]["yaxis"]["type"] == "log", "the loss panel on a log y axis"
        )
        _shot(nb, run, "log")

        # x axis: step, then time.
        out.locator(".wc-xaxis select").select_option("step")
        bpe = held["batches"]

        def on_steps(s):
            t = trace(s, "loss")
            return (
                s["axes"]["xaxis"]["title"] == "step"
                and t is not None
                and t["x"][:HOLD] == [bpe * e for e in range(1, HOLD + 1)]
            )

        run.states["step"] = wait_view(nb, on_steps, f"the loss points at epoch x {bpe} steps")
        _shot(nb, run, "step")
        out.locator(".wc-xaxis select").select_option("time")

        def on_time(s):
            t = trace(s, "loss")
            xs = t and t["x"][:HOLD]
            return (
                s["axes"]["xaxis"]["title"] == "time (s)"
                and bool(xs)
                and None not in xs
                and all(b > a for a, b in zip(xs, xs[1:], strict=False))
                and xs[0] > 0
            )

        run.states["time"] = wait_view(nb, on_time, "the loss points at increasing seconds")
        _shot(nb, run, "time")

        # Robust y (a click).
        out.locator(".wc-robust").click()
        run.states["robust"] = wait_view(
            nb,
            lambda s: s["axes"]["yaxis"]["autorange"] is False,
            "a fixed, robust y range on the loss panel",
        )

        # JupyterLab's theme, switched by its own command mid-run.
        nb.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
        run.states["dark"] = wait_view(
            nb,
            lambda s: s["body_light"] == "false" and s["theme"] == "dark" and s["paper"] == DARK_BACKGROUND,
            "the plot drawn dark after JupyterLab's theme turned dark",
        )
        _shot(nb, run, "dark")
        nb.command("apputils:change-theme", {"theme": "JupyterLab Light"})
        run.states["light"] = wait_view(
            nb,
            lambda s: s["body_light"] == "true" and s["theme"] == "light" and s["paper"] != DARK_BACKGROUND,
            "the plot light again after JupyterLab's theme turned light",
        )

        release(nb, "release.flag")
        nb.wait_idle(timeout=KERNEL_TIMEOUT * 2)
        assert not cell_errors(nb, None), cell_errors(nb, None)
        # The view cell ran before the toolbar's changes reached the kernel (run-all
        # queued it): run it again now.
        nb.run_cell(C_VIEW)
        run.view = wait_report(
            nb, "view", cells=range(len(CELLS)), until=lambda r: r["view"].get("x_axis") == "time"
        )
        run.errors = [line for line in nb.console if line.startswith("pageerror")]
        return run
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "views-observations.json").write_text(json.dumps(run.__dict__, indent=1, default=str))
        release(nb, "release.flag")
        try:
            settle(nb)
        finally:
            context.close()
            jupyter_lab.shutdown_kernels()
            jupyter_lab.clean_root()


def test_toolbar_and_table_while_fit_runs(views: ViewsRun):
    s = views.states["default"]
    tb = s["toolbar"]
    assert tb["smoothing"] == "0" and tb["readout"] == "0.00" and tb["x"] == "epoch", tb
    assert [b["family"] for b in tb["log"]][:2] == ["loss", LONG_METRIC], tb["log"]
    # Only the learning-rate lane starts on a log axis (protocol.json view_defaults).
    pressed = {b["family"]: b["pressed"] for b in tb["log"]}
    assert pressed == {**{f: "false" for f in pressed}, "learning_rate": "true"}, tb["log"]
    assert tb["log"][0]["label"] == "log scale: loss"
    # Whole-number epoch ticks.
    ticks = s["axes"]["xaxis"]["ticks"]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    # The summary table: one row per metric, a long name shortened with the full one in its title.
    metrics = {row[0]["title"] or row[0]["text"]: row for row in s["table"]}
    assert {"loss", "val_loss", LONG_METRIC, f"val_{LONG_METRIC}"} <= set(metrics), list(metrics)
    long_row = metrics[LONG_METRIC]
    assert len(long_row[0]["text"]) <= 24 and "…" in long_row[0]["text"], long_row
    # The pace: the epoch's duration (and samples per second when the kernel knows them).
    assert (s["footer"] or "").startswith("epoch "), s["footer"]


def test_smoothing_redraws_the_smoothed_curve_over_the_raw_one(views: ViewsRun):
    before, after = views.states["default"], views.states["smoothed"]
    loss = views.held["history"]["loss"]
    drawn = trace(after, "loss")
    assert drawn is not None
    for got, want in zip(drawn["y"], ema(loss, SMOOTHING), strict=True):
        assert math.isclose(got, want, rel_tol=1e-9), (drawn["y"], loss)
    raw = trace(after, "loss (raw)", "raw")
    assert raw is not None and all(
        math.isclose(a, b, rel_tol=1e-9) for a, b in zip(raw["y"], loss, strict=True)
    )
    assert before["paths"][trace(before, "loss")["uid"]] != after["paths"][drawn["uid"]], (
        "the loss path changed"
    )
    assert after["toolbar"]["readout"] == f"{SMOOTHING:.2f}"


def test_log_scale_redraws_the_panel(views: ViewsRun):
    before, after = views.states["smoothed"], views.states["log"]
    assert after["axes"]["yaxis"]["type"] == "log"
    assert after["axes"]["yaxis2"]["type"] == "linear", "only the loss panel"
    uid = trace(after, "loss")["uid"]
    assert before["paths"][uid] != after["paths"][uid]
    assert after["toolbar"]["log"][0]["pressed"] == "true"


def test_x_axis_moves_points_and_marks(views: ViewsRun):
    held = views.held
    bpe, best = held["batches"], held["best_epoch"]
    epoch, step, time_ = views.states["log"], views.states["step"], views.states["time"]
    assert step["axes"]["xaxis"]["title"] == "step" and time_["axes"]["xaxis"]["title"] == "time (s)"
    b0, b1 = band(epoch), band(step)
    assert b0["x0"] == best and b1["x0"] == best * bpe, (b0, b1)
    (star,) = [t for t in step["data"] if t["role"] == "best"]
    assert star["x"] == [best * bpe], star
    ticks = step["axes"]["xaxis"]["ticks"]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    loss_t = trace(time_, "loss")
    at_best = loss_t["x"][best - 1]
    assert math.isclose(band(time_)["x0"], at_best, rel_tol=1e-9), (band(time_), at_best)
    (star_t,) = [t for t in time_["data"] if t["role"] == "best"]
    assert math.isclose(star_t["x"][0], at_best, rel_tol=1e-9)
    uid = loss_t["uid"]
    # Steps are epochs times a constant: the same picture on an axis scaled alike. Time
    # is not (epochs last more or less): its path differs.
    assert epoch["paths"][uid] != time_["paths"][uid], "the loss path redrawn on the time axis"


def test_robust_range_and_theme(views: ViewsRun):
    robust = views.states["robust"]
    lo, hi = robust["axes"]["yaxis"]["range"]
    assert lo < hi
    assert views.states["robust"]["toolbar"]["robust"] == "true"
    dark, light = views.states["dark"], views.states["light"]
    assert dark["paper"] == DARK_BACKGROUND and dark["theme"] == "dark"
    assert light["paper"] != DARK_BACKGROUND and light["theme"] == "light"


def test_the_view_is_saved_to_the_kernel(views: ViewsRun):
    assert views.view["view"] == {
        "smoothing": SMOOTHING,
        "log_y": ["learning_rate", "loss"],  # the default's lane, then the one toggled
        "x_axis": "time",
        "robust_y": True,
        "theme": "auto",
    }, views.view


def test_screenshots_and_page_errors(views: ViewsRun):
    names = [p.name for p in views.shots]
    assert names == [f"views-{v}.png" for v in ("default", "smoothed", "log", "step", "time", "dark")], names
    for p in views.shots:
        assert p.stat().st_size > 10_000, p
    assert not views.errors, views.errors
