"""The static copy's PNG is drawn by the page that shows the plot (js/src/static_png.js),
not by a browser the kernel starts: a real Keras fit in JupyterLab, then the saved
notebook has ``image/png`` of the final figure, and the kernel had no child process
(kaleido's Chromium) at any epoch of the fit nor after it.
"""

from __future__ import annotations

import base64
import struct

import pytest

from .jupyter import ARTIFACTS, REPORT_CELL, NotebookPage, read_notebook, wait_for_report, wait_until

pytestmark = pytest.mark.browser

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SETUP = (
    REPORT_CELL
    + """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, psutil, keras
from widget_callbacks import LivePlot
from widget_callbacks.core.records import StoppingSnapshot
_me = psutil.Process()
_children = lambda: sorted({p.name() for p in _me.children(recursive=True)})
_during = []
_watch = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: _during.append(_children()))
"""
)

PLOT = "plot = LivePlot()\nplot"

FIT = """
rng = np.random.default_rng(0)
x = rng.normal(size=(2000, 8)).astype("float32"); y = (x[:, :1] > 0).astype("float32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(x, y, epochs=6, validation_split=0.25, verbose=0, callbacks=[plot.callback, _watch])
# Published after the plot's on_train_end, as EarlyStopping's restored weights are:
plot.set_stopping(StoppingSnapshot(monitor="val_loss", mode="min", patience=2, wait=2, best=0.2,
                                   best_epoch=4, last_epoch=6, stopped_epoch=6,
                                   stop_reason="patience exhausted", restored_epoch=4))
_report("fitted", during=_during, height=plot.state.layout()["height"])
"""

AFTER = """
from widget_callbacks.widgets.static_copy import _snapshot
_report("after", children=_children(),
        png_is_final=plot._static._has_png(_snapshot(plot)[0]),  # the PNG of the final figure
        restored="weights restored from epoch 4" in _json.dumps(plot.state.layout()))
"""

C_SETUP, C_PLOT, C_FIT, C_AFTER = range(4)


def _saved_png(nb: NotebookPage) -> tuple[dict, bytes] | None:
    nb.save()
    saved = read_notebook(nb.path)
    (output,) = [o for o in saved["cells"][C_PLOT]["outputs"] if WIDGET_VIEW in o.get("data", {})]
    png = output["data"].get("image/png")
    return (output, base64.b64decode("".join(png) if isinstance(png, list) else png)) if png else None


def test_the_page_draws_the_png_and_the_kernel_starts_no_browser(jupyter_lab, lab):
    jupyter_lab.write_notebook("static_live.ipynb", [SETUP, PLOT, FIT, AFTER])
    nb: NotebookPage = lab("static_live.ipynb")
    nb.run_all()
    fitted = wait_for_report(nb.folder, "fitted", timeout=240, page=nb, abort_on_error=True)
    assert len(fitted["during"]) == 6
    assert fitted["during"] == [[]] * 6, f"the kernel had child processes during the fit: {fitted['during']}"

    # The answer is handled once the cell has ended; the output then has the PNG.
    output, png = wait_until(lambda: _saved_png(nb), "image/png in the saved output", timeout=60, page=nb)
    assert png.startswith(PNG_MAGIC)
    assert struct.unpack(">II", png[16:24]) == (1800, 2 * fitted["height"])
    assert output["metadata"]["image/png"] == {"width": 900, "height": fitted["height"]}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "static-copy-live.png").write_bytes(png)

    # The last cell ran right after the fit's, before the answer was handled: run it
    # again now that the kernel is idle and the view's PNG is in.
    nb.wait_cells_done()
    nb.run_cell(C_AFTER)
    after = wait_for_report(
        nb.folder,
        "after",
        timeout=60,
        page=nb,
        until=lambda r: r["time"] > fitted["time"] + 0.01 and r["png_is_final"],
    )
    assert after["children"] == [], f"kaleido/Chromium was started: {after['children']}"
    assert after["png_is_final"] and after["restored"]
    nb.screenshot("static-copy-live", locator=nb.cell_output(C_PLOT))
