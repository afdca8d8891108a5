"""The ``LR ×`` control moved during a plain ``model.fit`` in JupyterLab (issue 13).

A notebook built here (generated regression data, fixed seeds, a tiny MLP, a constant
``Adam(1e-2)``) displays a ``TrainingDashboard`` and runs a plain
``model.fit(..., verbose=0, callbacks=dashboard.callbacks + [recorder])``. The
test-only ``RateRecorder`` comes after the dashboard's callbacks, so it sees the rate
the controller set for the batch (it applies a new multiplier at batch and epoch
begin): at every batch begin and end it records ``time.monotonic()``, ``time.time()``
and ``float(optimizer.learning_rate)``, and after each batch end it sleeps ``PACE_S``
(paced batches: each lasts a few tens of milliseconds however loaded the machine
is). It reports (``_report``) every change of the rate, with the longest batch (batch
begin to batch begin, hooks and pace included, after the first epoch: tracing), and
every epoch end. A kernel-side observer of the slider reports when the kernel
received the new value (and on which thread).

While the cell is busy in ``fit``, the test, as a user:

1. drags the ``LR ×`` slider's handle with the mouse to the left end of its track
   (x0.1, the slider's minimum); the page's ``pointerup`` time (``Date.now()``, a
   capture listener) is the moment the value changed in the page: the slider
   (``continuous_update=False``) sets its model on release;
2. checks the optimizer's rate became ``base * 0.1`` within the longest batch +
   ``SLACK_S`` of that moment (page, test and kernel share this machine's clock:
   ``Date.now()`` and ``time.time()``);
3. checks the plot's ``learning_rate`` lane (plotly's ``gd.data`` in the page) shows
   the lower rate at the next epoch end, and that the change is drawn as a mark (the
   overlay with ``meta.role == "learning_rate_change"``, a rendered point where the
   change was applied; the mouse over it shows plotly's hover label
   ``learning rate 1e-2 → 1e-3 (multiplier x1 → x0.1)``);
4. clicks ``x1`` (undo): the rate returns to the base rate, the slider to 1.

Then Stop ends the fit. Measured latencies are printed and appended to
``artifacts/browser/lr-latencies.jsonl``.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import pytest

from .jupyter import ARTIFACTS, KERNEL_TIMEOUT, REPORT_CELL, NotebookPage
from .steering import (
    RECORD_CLICK,
    cell_errors,
    settle,
    stop_button,
    wait_report,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "learning_rate_live.ipynb"
BASE = 1e-2
MULTIPLIER = 0.1
#: Each batch end sleeps this long in the recorder: slow enough batches.
PACE_S = 0.04
#: On top of the longest batch, between the slider's release and the new rate.
SLACK_S = 0.5
#: The slider is moved once this many epochs have ended (past tracing).
MOVE_AFTER_EPOCH = 2
EPOCHS = 200
LATENCY_LOG = ARTIFACTS / "lr-latencies.jsonl"
UNDO_LABEL = re.compile(r"^\W*x1\W*$")

SETUP = f'''\
# Test-only set-up (tests/browser/test_learning_rate_live.py).
import time
import numpy as np
import keras
from widget_callbacks import TrainingDashboard

rng = np.random.default_rng(0)
x = rng.normal(size=(480, 8)).astype("float32")
w = rng.normal(size=(8, 1)).astype("float32")
y = (np.sin(x @ w) + 0.5 * rng.normal(size=(480, 1))).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam({BASE!r}), loss="mse")

def rate_now(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))

class RateRecorder(keras.callbacks.Callback):
    """Test-only: after the dashboard's callbacks, records at every batch end the time
    and the rate the next batch uses; reports each change and each epoch end."""

    def __init__(self, pace):
        super().__init__()
        self.pace = pace
        self.rows, self.changes, self.epoch, self.epochs_done = [], [], 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def _record(self, batch, at):
        row = dict(epoch=self.epoch, batch=batch, at=at, mono=time.monotonic(), wall=time.time(),
                   rate=rate_now(self.model))
        last = self.rows[-1] if self.rows else None
        self.rows.append(row)
        if last is None or row["rate"] != last["rate"]:
            self.changes.append(row)
            self._publish()

    def on_train_batch_begin(self, batch, logs=None):
        self._record(batch + 1, "begin")  # the rate this batch uses (the controller applies
                                          # a new multiplier at batch and epoch begin)

    def on_train_batch_end(self, batch, logs=None):
        self._record(batch + 1, "end")  # the rate the next batch uses
        time.sleep(self.pace)  # paced batches (after the record: it is training time)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done = epoch + 1
        self._publish()

    def _publish(self):
        begins = [r for r in self.rows if r["at"] == "begin"]
        # A batch, as the controller sees it: from one batch begin (where it applies a
        # new multiplier) to the next, within an epoch after the first (tracing).
        gaps = [(b["wall"] - a["wall"], b["epoch"]) for a, b in zip(begins, begins[1:])
                if a["epoch"] == b["epoch"]]
        _report("rates", changes=self.changes, epochs=self.epochs_done, batches=len(self.rows),
                last=self.rows[-1] if self.rows else None,
                longest=max((g for g, e in gaps if e > 1), default=None))  # epoch 1 traces

slider_seen = []
def watch_slider(dashboard):
    """Test-only: reports each value of the LR slider the kernel handles."""
    controller = dashboard.controller
    def seen(change):
        slider_seen.append(dict(value=change["new"], multiplier=controller.learning_rate_multiplier,
                                time=time.time(), thread=__import__("threading").current_thread().name,
                                running=controller.running))
        _report("slider", seen=slider_seen)
    dashboard.controls.lr_slider.observe(seen, names="value")
'''

DASHBOARD = f"""\
dashboard = TrainingDashboard(monitor="val_loss", patience={EPOCHS})
watch_slider(dashboard)
recorder = RateRecorder({PACE_S!r})
dashboard
"""

FIT = f"""\
history = model.fit(x, y, batch_size=8, epochs={EPOCHS}, validation_split=0.25, verbose=0,
                    callbacks=dashboard.callbacks + [recorder])
_report("done", epochs=len(history.history["loss"]), reason=dashboard.controller.snapshot().stop_reason)
"""

CELLS = [REPORT_CELL, SETUP, DASHBOARD, FIT]
C_DASHBOARD = 2

#: JS: the ``LR ×`` slider's readout and state; the learning-rate lane and its marks.
LR_STATE_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
const out = {plot: false};
if (!c) return out;
const slider = Array.from(c.node.querySelectorAll('.widget-slider'))
  .find(s => (s.querySelector('.widget-label') || {}).textContent === arg.label);
if (slider) {
  const target = slider.querySelector('.noUi-target');
  out.slider = {readout: (slider.querySelector('.widget-readout') || {}).textContent,
                disabled: !!(target && target.hasAttribute('disabled'))
                          || slider.classList.contains('mod-disabled')};
}
const gd = c.node.querySelector('.js-plotly-plot');
if (!gd || !gd.data) return out;
out.plot = true;
out.traces = gd.data.map(t => ({name: t.name, role: t.meta ? t.meta.role : null,
  x: t.x ? Array.from(t.x) : [], y: t.y ? Array.from(t.y) : [],
  text: t.text ? (Array.isArray(t.text) ? Array.from(t.text) : [t.text]) : [],
  hovertemplate: t.hovertemplate || null, yaxis: t.yaxis || null}));
out.rendered = [];
for (const g of gd.querySelectorAll('.scatterlayer .trace')) {
  const d = g.__data__ && g.__data__[0] && g.__data__[0].trace;
  out.rendered.push({name: d ? d.name : null, role: d && d.meta ? d.meta.role : null,
                     points: g.querySelectorAll('.points path.point').length});
}
return out;
"""

PAGE_EVENT_JS = """(kind) => {
  window.__wcEvent = null;
  document.addEventListener(kind, () => { window.__wcEvent = Date.now(); },
                            { capture: true, once: true });
}"""


def lr_state(nb: NotebookPage) -> dict[str, Any]:
    return nb.evaluate(LR_STATE_JS, index=C_DASHBOARD, label="LR \u00d7")


def wait_lr_state(nb: NotebookPage, predicate, what: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = lr_state(nb)
            if predicate(last):
                return last
        except Exception as exc:  # a redraw in between: look again
            last = repr(exc)
        if time.monotonic() > deadline:
            brief = last
            if isinstance(last, dict):
                brief = {
                    "slider": last.get("slider"),
                    "traces": [
                        (t["name"], t["role"], t["x"][-3:], t["y"][-3:], t["text"][-2:])
                        for t in last.get("traces", [])
                        if t["role"] not in ("metric",) or t["name"] == "learning_rate"
                    ],
                }
            raise nb.fail(what, timeout, brief)
        time.sleep(0.1)


def readout(state: dict[str, Any]) -> float | None:
    """The ``LR ×`` slider's readout as a number (its format is ``.2g``: "1.0", "0.10")."""
    try:
        return float(state["slider"]["readout"])
    except (KeyError, TypeError, ValueError):
        return None


def lane(state: dict[str, Any]) -> dict[str, Any] | None:
    """The epoch trace of the learning rate."""
    return next(
        (t for t in state.get("traces", []) if t["name"] == "learning_rate" and t["role"] == "metric"),
        None,
    )


def marks(state: dict[str, Any]) -> dict[str, Any] | None:
    return next((t for t in state.get("traces", []) if t["role"] == "learning_rate_change"), None)


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-4)


def lr_slider(nb: NotebookPage) -> Any:
    out = nb.cell_output(C_DASHBOARD)
    return out.locator(".widget-slider").filter(has=nb.page.locator(".widget-label", has_text="LR")).first


MARK_POINT_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
const gd = c && c.node.querySelector('.js-plotly-plot');
if (!gd) return null;
for (const g of gd.querySelectorAll('.scatterlayer .trace')) {
  const d = g.__data__ && g.__data__[0] && g.__data__[0].trace;
  if (!d || !d.meta || d.meta.role !== arg.role) continue;
  const points = g.querySelectorAll('.points path.point');
  const pt = points[arg.nth];
  if (!pt) return null;
  const r = pt.getBoundingClientRect();
  return {x: r.x + r.width / 2, y: r.y + r.height / 2};
}
return null;
"""

HOVER_TEXT_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
return c ? Array.from(c.node.querySelectorAll('.hoverlayer .hovertext')).map(h => h.textContent) : [];
"""


def hover_mark(nb: NotebookPage, nth: int, wanted: str, timeout: float = 20.0) -> list[str]:
    """Hover the mouse over the ``nth`` learning-rate change mark until plotly's hover
    label shows ``wanted``; return the hover texts seen then (the plot keeps redrawing
    during fit: the pointer is moved off and back on until the label is there)."""
    nb.cell_output(C_DASHBOARD).locator(".js-plotly-plot").scroll_into_view_if_needed()
    deadline = time.monotonic() + timeout
    texts: list[str] = []
    while time.monotonic() < deadline:
        point = nb.evaluate(MARK_POINT_JS, index=C_DASHBOARD, role="learning_rate_change", nth=nth)
        if point:
            nb.page.mouse.move(point["x"] - 12, point["y"] - 12)
            nb.page.mouse.move(point["x"], point["y"], steps=3)
            for _ in range(10):
                texts = nb.evaluate(HOVER_TEXT_JS, index=C_DASHBOARD)
                if any(wanted in t for t in texts):
                    return texts
                time.sleep(0.05)
        time.sleep(0.2)
    raise nb.fail(f"the hover label of learning-rate mark {nth} to say {wanted!r}", timeout, texts)


def drag_to_min(nb: NotebookPage) -> float:
    """Drag the ``LR ×`` handle with the mouse past the left end of its track; return
    the page's ``pointerup`` time (``Date.now()`` / 1000)."""
    slider = lr_slider(nb)
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    track = slider.locator(".noUi-target")
    hb, tb = handle.bounding_box(), track.bounding_box()
    assert hb and tb, (hb, tb)
    y = hb["y"] + hb["height"] / 2
    mouse = nb.page.mouse
    mouse.move(hb["x"] + hb["width"] / 2, y)
    mouse.down()
    mouse.move(tb["x"] + tb["width"] / 2, y, steps=4)
    mouse.move(tb["x"] - 30, y, steps=6)
    nb.page.evaluate(PAGE_EVENT_JS, "pointerup")
    mouse.up()
    released = nb.page.evaluate("() => window.__wcEvent")
    assert released is not None, "the page saw no pointerup"
    return released / 1000.0


def test_lr_multiplier_moved_during_plain_fit(jupyter_lab, lab):
    jupyter_lab.write_notebook(NAME, CELLS)
    nb = lab(NAME)
    cells = range(len(CELLS))
    result: dict[str, Any] = {}
    try:
        nb.run_all()
        wait_report(
            nb, "rates", cells=cells, until=lambda r: r["epochs"] >= MOVE_AFTER_EPOCH, timeout=KERNEL_TIMEOUT
        )
        assert nb.execution_status() == "busy"
        ready = wait_lr_state(
            nb,
            lambda s: (
                s.get("slider")
                and not s["slider"]["disabled"]
                and readout(s) == 1.0
                and lane(s) is not None
                and len(lane(s)["x"]) >= MOVE_AFTER_EPOCH
            ),
            "the LR slider enabled at x1 and the learning-rate lane drawn during fit",
        )
        assert all(close(v, BASE) for v in lane(ready)["y"]), lane(ready)
        assert marks(ready) is None or not marks(ready)["x"], marks(ready)

        # 1. the user drags the LR handle to the left end: x0.1.
        moved = drag_to_min(nb)
        wait_lr_state(
            nb, lambda s: readout(s) == pytest.approx(MULTIPLIER), "the LR slider's readout to show 0.1", 10
        )

        # 2. the optimizer's rate is base * 0.1 within a batch + SLACK_S.
        low = BASE * MULTIPLIER
        rates = wait_report(
            nb,
            "rates",
            cells=cells,
            until=lambda r: any(close(c["rate"], low) for c in r["changes"]),
            timeout=30,
        )
        applied = next(c for c in rates["changes"] if close(c["rate"], low))
        assert [c["rate"] for c in rates["changes"][: rates["changes"].index(applied)]] == [
            pytest.approx(BASE)
        ], f"the rate changed before the slider reached x0.1: {rates['changes']}"
        latency = applied["wall"] - moved
        longest = rates["longest"]
        seen = wait_report(
            nb, "slider", until=lambda r: any(s["value"] == pytest.approx(MULTIPLIER) for s in r["seen"])
        )
        received = next(s for s in seen["seen"] if s["value"] == pytest.approx(MULTIPLIER))
        result.update(
            latency_s=latency,
            received_s=received["time"] - moved,
            longest_batch_s=longest,
            applied_at=(applied["epoch"], applied["batch"]),
            handler_thread=received["thread"],
        )
        print(
            f"LR x{MULTIPLIER:g}: slider released -> kernel received {received['time'] - moved:.3f} s "
            f"({received['thread']}), -> optimizer rate {low:g} {latency:.3f} s "
            f"(epoch {applied['epoch']}, batch {applied['batch']} {applied['at']}; longest batch {longest:.3f} s)"
        )
        assert received["running"] and received["multiplier"] == pytest.approx(MULTIPLIER), received
        assert received["thread"] != "MainThread", "the slider's message waited for the busy main shell"
        assert 0 <= latency < longest + SLACK_S, result

        # 3. the lane shows the lower rate at the next epoch end; the change is a mark.
        epoch = applied["epoch"]
        drawn = wait_lr_state(
            nb,
            lambda s: (
                lane(s) is not None
                and epoch in lane(s)["x"]
                and marks(s) is not None
                and len(marks(s)["x"]) >= 1
            ),
            f"the learning-rate lane at epoch {epoch} and the change mark",
        )
        t = lane(drawn)
        by_epoch = dict(zip(t["x"], t["y"]))
        assert close(by_epoch[epoch], low), (epoch, by_epoch)
        assert all(close(by_epoch[e], BASE) for e in range(1, epoch)), by_epoch
        m = marks(drawn)
        (i,) = [k for k, text in enumerate(m["text"]) if "multiplier x1 → x0.1" in text]
        # Drawn where it was applied: after a batch of epoch k in (k - 1, k], between
        # epochs k - 1 and k at k - 1.
        assert epoch - 1 <= m["x"][i] <= epoch, (m["x"], epoch, applied)
        assert close(m["y"][i], low), m
        assert m["hovertemplate"] and "%{text}" in m["hovertemplate"], m["hovertemplate"]
        assert any(r["role"] == "learning_rate_change" and r["points"] >= 1 for r in drawn["rendered"]), (
            drawn["rendered"]
        )

        hovered = hover_mark(nb, i, "multiplier x1 → x0.1")
        result["hover"] = hovered
        nb.page.mouse.move(5, 5)  # off the plot

        # 4. undo: x1 brings the base rate back, the slider shows 1.
        undo = nb.cell_output(C_DASHBOARD).locator("button", has_text=UNDO_LABEL).first
        undo.scroll_into_view_if_needed()
        assert undo.is_enabled()
        nb.page.evaluate(RECORD_CLICK)
        undo.click()
        clicked = nb.page.evaluate("() => window.__wcClick") / 1000.0
        rates = wait_report(
            nb,
            "rates",
            cells=cells,
            until=lambda r: (
                close(r["changes"][-1]["rate"], BASE) and r["changes"][-1]["wall"] > applied["wall"]
            ),
            timeout=30,
        )
        back = rates["changes"][-1]
        result["undo_latency_s"] = back["wall"] - clicked
        print(f"x1 (undo): click -> optimizer rate {BASE:g} {back['wall'] - clicked:.3f} s")
        assert 0 <= back["wall"] - clicked < rates["longest"] + SLACK_S, result
        wait_lr_state(nb, lambda s: readout(s) == 1.0, "the LR slider's readout back to 1", 10)
        undone = wait_lr_state(
            nb,
            lambda s: marks(s) is not None and any("(undo)" in text for text in marks(s)["text"]),
            "the undo drawn as a mark",
        )
        assert any("multiplier x0.1 → x1 (undo)" in text for text in marks(undone)["text"]), marks(undone)

        # The end: Stop, and nothing failed.
        stop_button(nb, C_DASHBOARD).click()
        done = wait_report(nb, "done", cells=cells, timeout=60)
        assert done["reason"] == "stopped by hand", done
        nb.wait_idle()
        assert not cell_errors(nb, None), cell_errors(nb, None)
    finally:
        if result:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with open(LATENCY_LOG, "a") as f:
                f.write(json.dumps({"time": time.time(), **result}) + "\n")
        settle(nb)
