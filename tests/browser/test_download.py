"""The widget's front-end download buttons (js/src/download.mjs) in JupyterLab, and
the static copy of the plot that JupyterLab saves with the notebook.

The plot is fed by hand (no training): the cells need only the kernel and the
widget, so the tests measure the front end, not TensorFlow.
"""

from __future__ import annotations

import base64
import struct
import xml.etree.ElementTree as ET

import pytest

from .jupyter import ARTIFACTS, REPORT_CELL, NotebookPage, read_notebook, wait_for_report, wait_until

pytestmark = pytest.mark.browser

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SETUP = (
    REPORT_CELL
    + """
from widget_callbacks import LivePlot
from widget_callbacks.core.records import CheckpointRecord, StoppingSnapshot
"""
)

PLOT = "plot = LivePlot(static_fallback={fallback!r})\nplot"

FEED = """
plot.begin_fit(8, 10)
for epoch in range(1, 9):
    plot.begin_epoch(epoch)
    plot.end_batch(5, {"loss": 1.2 / epoch})
    plot.end_epoch(epoch, {"loss": 1 / epoch, "val_loss": 1 / epoch + 0.05 * max(epoch - 4, 0) + 0.1})
plot.add_checkpoint(CheckpointRecord(epoch=4, path="best.keras", value=0.35, monitor="val_loss"))
plot.set_stopping(StoppingSnapshot(monitor="val_loss", mode="min", patience=4, wait=4, best=0.35,
                                   best_epoch=4, last_epoch=8, stopped_epoch=8,
                                   stop_reason="patience exhausted", restored_epoch=4))
plot.end_fit("stopped", "patience exhausted")
_report("fed", height=plot.state.layout()["height"], traces=len(plot.state.figure()["data"]))
"""

C_SETUP, C_PLOT, C_FEED = range(3)
DRAWN = ".js-plotly-plot .scatterlayer .trace"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, data[:16]
    return struct.unpack(">II", data[16:24])


def _run(jupyter_lab, lab, name: str, fallback: object) -> tuple[NotebookPage, dict]:
    jupyter_lab.write_notebook(name, [SETUP, PLOT.format(fallback=fallback), FEED])
    nb: NotebookPage = lab(name)
    nb.run_all()
    fed = wait_for_report(nb.folder, "fed", timeout=120, page=nb)
    nb.wait_cells_done()
    nb.wait_selector(C_PLOT, DRAWN, count=fed["traces"])
    return nb, fed


def test_png_button_downloads_the_plot_as_drawn(jupyter_lab, lab, page):
    nb, fed = _run(jupyter_lab, lab, "download.ipynb", False)
    out = ARTIFACTS / "download"
    out.mkdir(parents=True, exist_ok=True)
    size = page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
                                    return [gd._fullLayout.width, gd._fullLayout.height]; }""")
    assert size[1] == fed["height"]

    nb.wait_selector(C_PLOT, ".wc-download button", count=2)
    button = nb.cell_output(C_PLOT).locator(".wc-download button", has_text="PNG")
    with page.expect_download(timeout=30_000) as info:
        button.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "training.png"
    download.save_as(out / "training.png")
    assert _png_size((out / "training.png").read_bytes()) == tuple(size)

    button = nb.cell_output(C_PLOT).locator(".wc-download button", has_text="SVG")
    with page.expect_download(timeout=30_000) as info:
        button.click()
    assert info.value.suggested_filename == "training.svg"
    info.value.save_as(out / "training.svg")
    svg = ET.fromstring((out / "training.svg").read_text(encoding="utf-8"))
    texts = {"".join(e.itertext()) for e in svg.iter() if e.tag.endswith("text")}
    assert {"loss", "val_loss", "checkpoint", "epoch"} <= texts, texts


def _saved_static_copy(nb):
    nb.save()
    saved = read_notebook(nb.path)
    (output,) = [o for o in saved["cells"][C_PLOT]["outputs"] if WIDGET_VIEW in o.get("data", {})]
    return output if "image/png" in output["data"] else None


def test_lab_keeps_the_widget_and_saves_the_static_copy(jupyter_lab, lab):
    nb, fed = _run(jupyter_lab, lab, "static.ipynb", True)
    # The update that added the static mimetypes re-rendered the output: still the widget.
    nb.wait_selector(C_PLOT, ".wc-download button")
    assert nb.count_in_cell(C_PLOT, ".widget-callbacks-static") == 0
    # The page draws the PNG when the cell has ended: saved once it is in the output.
    output = wait_until(lambda: _saved_static_copy(nb), "image/png in the saved output", timeout=60, page=nb)
    assert output["output_type"] == "display_data"
    html = output["data"]["text/html"]
    html = "".join(html) if isinstance(html, list) else html  # nbformat splits text lines
    assert "patience exhausted" in html and "weights restored from epoch 4" in html
    width, height = _png_size(base64.b64decode(output["data"]["image/png"]))
    assert (width, height) == (1800, 2 * fed["height"])
    assert output["metadata"]["image/png"]["width"] == 900
    nb.screenshot("static-copy-saved", locator=nb.cell_output(C_PLOT))
