"""Runs side by side in JupyterLab: two fits from epoch 1 on one `LivePlot` draw two
runs, the first faint; a click on run 1's legend entry hides it (its SVG paths are
gone, its legend entry dimmed), and it stays hidden while a third fit appends points
and the plot redraws in full, and after that fit ends (the kernel then resends the
traces: the best-run mark may move).

The checks read what plotly drew (``gd`` is the ``.js-plotly-plot`` div): the
``.scatterlayer .trace`` groups by ``uid`` (``r<run>-...``), ``gd._fullData``'s
``visible``, the legend entries' text and opacity.
"""

from __future__ import annotations

from typing import Any

import pytest

from .jupyter import KERNEL_TIMEOUT, REPORT_CELL, NotebookPage, wait_for_report, wait_until

pytestmark = pytest.mark.browser

NAME = "runs.ipynb"

SETUP = (
    REPORT_CELL
    + """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras
from widget_callbacks import LivePlot
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32"); y = x.sum(axis=1, keepdims=True)

def make_model(rate):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(rate), "mse")
    return model
"""
)
PLOT = "plot = LivePlot(static_fallback=False)\nplot"
TWO_RUNS = """
make_model(1e-3).fit(x, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[plot.callback])
plot.new_run("lr=1e-2")
second = make_model(1e-2)
second.fit(x, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[plot.callback])
_report("two", runs=plot.runs)
"""
MORE = """
second.fit(x, y, epochs=12, initial_epoch=4, validation_split=0.25, verbose=0, callbacks=[plot.callback])
_report("more", runs=plot.runs, epochs=plot.history["epoch"])
"""
C_SETUP, C_PLOT, C_TWO, C_MORE = range(4)

STATE_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
const gd = c && c.node.querySelector('.js-plotly-plot');
if (!gd || !gd._fullData) return {plot: false};
const groups = {};
for (const g of gd.querySelectorAll('.scatterlayer .trace')) {
  const t = g.__data__ && g.__data__[0] && g.__data__[0].trace;
  if (t) groups[t.uid] = g.querySelectorAll('path.js-line').length;
}
return {
  plot: true,
  status: (c.node.querySelector('.wc-root') || {dataset: {}}).dataset.status || null,
  traces: gd._fullData.map(t => ({uid: t.uid, run: t.meta ? t.meta.run : null, role: t.meta ? t.meta.role : null,
                                   visible: t.visible, n: (t.x || []).length, name: t.name})),
  groups,
  legend: Array.from(gd.querySelectorAll('.legend .traces')).map(e => ({
    text: (e.querySelector('.legendtext') || {}).textContent || '',
    opacity: Number(getComputedStyle(e).opacity)})),
};
"""


def state(nb: NotebookPage) -> dict[str, Any]:
    return nb.evaluate(STATE_JS, index=C_PLOT)


def of_run(s: dict[str, Any], run: int) -> list[dict[str, Any]]:
    return [t for t in s["traces"] if t["run"] == run]


def drawn_paths(s: dict[str, Any], run: int) -> int:
    """SVG line paths of run ``run``'s traces (a hidden trace has no group)."""
    return sum(s["groups"].get(t["uid"], 0) for t in of_run(s, run))


def wait_state(nb: NotebookPage, predicate, what: str, timeout: float = 60.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        try:
            s = state(nb)
        except Exception:  # a redraw in between: look again
            return None
        return s if s.get("plot") and predicate(s) else None

    return wait_until(probe, what, timeout=timeout, page=nb)


def hidden(s: dict[str, Any], run: int) -> bool:
    return bool(of_run(s, run)) and all(t["visible"] == "legendonly" for t in of_run(s, run))


def test_two_runs_drawn_and_one_hidden_by_its_legend_entry(jupyter_lab, lab):
    jupyter_lab.write_notebook(NAME, [SETUP, PLOT, TWO_RUNS, MORE])
    nb: NotebookPage = lab(NAME)
    for cell in (C_SETUP, C_PLOT, C_TWO):
        nb.run_cell(cell)
    two = wait_for_report(nb.folder, "two", timeout=KERNEL_TIMEOUT * 2, page=nb, abort_on_error=True)
    assert [r["label"] for r in two["runs"]] == ["run 1", "lr=1e-2"]

    # Both runs drawn: run 1 faint (its epoch curves), run 2 with its batch curve.
    both = wait_state(
        nb,
        lambda s: s["status"] == "finished" and drawn_paths(s, 1) >= 2 and drawn_paths(s, 2) >= 2,
        "two runs drawn",
    )
    assert {t["role"] for t in of_run(both, 1)} == {"metric"}
    assert "batch" in {t["role"] for t in of_run(both, 2)}
    texts = [e["text"] for e in both["legend"]]
    assert texts[0].startswith("run 1"), texts  # one entry for the earlier run
    assert "loss" in texts and "val_loss" in texts  # the current run's, per metric
    nb.screenshot("runs-two", locator=nb.cell_output(C_PLOT))

    # A click on run 1's legend entry hides the whole run: no SVG path left, entry dimmed.
    entry = nb.cell_output(C_PLOT).locator(".legend .traces").filter(has_text="run 1")
    entry.locator(".legendtoggle").click()
    gone = wait_state(
        nb, lambda s: hidden(s, 1) and drawn_paths(s, 1) == 0, "run 1 hidden by its legend entry"
    )
    assert drawn_paths(gone, 2) >= 2 and not any(t["visible"] == "legendonly" for t in of_run(gone, 2))
    dimmed = [e for e in gone["legend"] if e["text"].startswith("run 1")]
    assert dimmed and dimmed[0]["opacity"] < 1, gone["legend"]
    nb.screenshot("runs-hidden", locator=nb.cell_output(C_PLOT))

    # A third fit continues run 2: points appended, full redraws, the traces resent at
    # its end. Run 1 stays hidden throughout.
    nb.run_cell(C_MORE)
    seen: list[bool] = []

    details: list[Any] = []

    def grown(s: dict[str, Any]) -> bool:
        seen.append(hidden(s, 1) and drawn_paths(s, 1) == 0)
        if not seen[-1] and len(details) < 2:
            details.append((of_run(s, 1), drawn_paths(s, 1), s["legend"], s["status"]))
        loss = [t for t in of_run(s, 2) if t["role"] == "metric" and t["name"] == "loss"]
        return bool(loss) and loss[0]["n"] == 12 and s["status"] == "finished"

    end = wait_state(nb, grown, "run 2 continued to epoch 12 and finished", timeout=KERNEL_TIMEOUT * 2)
    more = wait_for_report(nb.folder, "more", timeout=KERNEL_TIMEOUT, page=nb, abort_on_error=True)
    assert more["epochs"] == list(range(1, 13))
    assert all(seen), f"run 1 reappeared during the redraws: {seen} {details}"
    assert hidden(end, 1) and drawn_paths(end, 1) == 0 and drawn_paths(end, 2) >= 2
    nb.screenshot("runs-after", locator=nb.cell_output(C_PLOT))
