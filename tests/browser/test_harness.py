"""Proves the browser harness on scratch notebooks written by the tests: plain
ipywidgets (Button, IntSlider), an inline anywidget, output text, busy/idle,
interrupt, save and reload; and the same basics in Notebook 7."""

from __future__ import annotations

import pytest

from .jupyter import REPORT_CELL, NotebookPage, read_notebook, wait_for_report

pytestmark = pytest.mark.browser

SETUP = (
    REPORT_CELL
    + """
import ipywidgets as widgets
print("hello from the kernel", 6 * 7)
"""
)

BUTTON = """
clicks = 0
button = widgets.Button(description="Write file")
def on_click(_):
    global clicks
    clicks += 1
    _report("clicked", clicks=clicks)
button.on_click(on_click)
button
"""

SLIDER = """
slider = widgets.IntSlider(value=1, min=0, max=10, description="n")
slider.observe(lambda change: _report("slider", value=change["new"]), "value")
slider
"""

ANYWIDGET = '''
import anywidget, traitlets

class Hello(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const div = document.createElement("div");
      div.className = "hello-anywidget";
      const draw = () => { div.textContent = "hello " + model.get("name"); };
      draw();
      model.on("change:name", draw);
      el.appendChild(div);
      return () => model.off("change:name", draw);
    }
    export default { render };
    """
    name = traitlets.Unicode("world").tag(sync=True)

hello = Hello()
hello
'''

# Busy until the test writes release.flag (no fixed sleep): the test clicks meanwhile.
BUSY = """
import os, time
_report("busy_started")
while not os.path.exists("release.flag"):
    time.sleep(0.02)
_report("busy_ended")
print("busy cell done")
"""

# Runs its endless loop only once the test wrote loop.flag, so run-all passes it.
LOOP = """
if os.path.exists("loop.flag"):
    _report("loop_started")
    while True:
        time.sleep(0.02)
else:
    print("loop skipped")
"""

CELLS = [SETUP, BUTTON, SLIDER, ANYWIDGET, BUSY, LOOP]
C_SETUP, C_BUTTON, C_SLIDER, C_ANY, C_BUSY, C_LOOP = range(len(CELLS))


def test_lab_widgets_outputs_interrupt_reload(jupyter_lab, lab):
    jupyter_lab.write_notebook("harness.ipynb", CELLS)
    nb: NotebookPage = lab("harness.ipynb")
    folder = nb.folder
    assert nb.execution_status() == "idle"

    nb.run_all()
    wait_for_report(folder, "busy_started", page=nb)
    assert nb.wait_busy() == "busy"

    # Outputs and widgets of the cells before the busy one are there.
    assert "hello from the kernel 42" in nb.output_text(C_SETUP)
    nb.wait_selector(C_BUTTON, "button.widget-button")
    nb.wait_selector(C_SLIDER, ".widget-slider .noUi-handle")
    hello = nb.wait_selector(C_ANY, ".hello-anywidget")
    assert hello.inner_text() == "hello world"

    # A click during a plain busy cell is handled after that cell ends.
    nb.click_button(C_BUTTON, "Write file")
    (folder / "release.flag").write_text("")
    nb.wait_cells_done()
    clicked = wait_for_report(folder, "clicked", page=nb)
    ended = wait_for_report(folder, "busy_ended", page=nb)
    assert clicked["clicks"] == 1
    assert clicked["time"] >= ended["time"], (clicked, ended)
    assert "busy cell done" in nb.output_text(C_BUSY)
    assert "loop skipped" in nb.output_text(C_LOOP)

    # Idle kernel: a click is handled at once.
    nb.click_button(C_BUTTON, "Write file")
    wait_for_report(folder, "clicked", until=lambda r: r["clicks"] == 2, page=nb)

    # The slider really sends its value to the kernel, both ways of moving it.
    nb.set_slider(C_SLIDER, 7, method="readout")
    wait_for_report(folder, "slider", until=lambda r: r["value"] == 7, page=nb)
    nb.set_slider(C_SLIDER, 4, method="keyboard")
    wait_for_report(folder, "slider", until=lambda r: r["value"] == 4, page=nb)

    # Interrupt a running cell.
    (folder / "loop.flag").write_text("")
    nb.run_cell(C_LOOP)
    wait_for_report(folder, "loop_started", page=nb)
    nb.wait_busy()
    nb.interrupt()
    nb.wait_idle()
    nb.wait_output_text(C_LOOP, r"KeyboardInterrupt")

    # Save, check the file, reload: the widgets come back from the (idle) kernel.
    nb.save()
    saved = read_notebook(nb.path)
    mimes = [set(o.get("data", {})) for o in saved["cells"][C_ANY]["outputs"]]
    assert any("application/vnd.jupyter.widget-view+json" in m for m in mimes), mimes
    kernel_before = nb.kernel_id()
    nb.reload()
    assert nb.wait_kernel_ready() == kernel_before
    assert nb.wait_selector(C_ANY, ".hello-anywidget").inner_text() == "hello world"
    nb.wait_selector(C_SLIDER, ".widget-slider")
    assert nb.cell_output(C_SLIDER).locator(".widget-readout").inner_text().strip() == "4"
    nb.click_button(C_BUTTON, "Write file")
    wait_for_report(folder, "clicked", until=lambda r: r["clicks"] == 3, page=nb)

    shot = nb.screenshot("anywidget-output", locator=nb.cell_output(C_ANY))
    assert shot is not None and shot.stat().st_size > 0


def test_notebook7_basics(jupyter_notebook, notebook7):
    jupyter_notebook.write_notebook("nb7.ipynb", [SETUP, BUTTON, ANYWIDGET])
    nb = notebook7("nb7.ipynb")
    nb.run_all()
    nb.wait_cells_done()
    assert "hello from the kernel 42" in nb.output_text(0)
    assert nb.wait_selector(2, ".hello-anywidget").inner_text() == "hello world"
    nb.click_button(1, "Write file")
    assert wait_for_report(nb.folder, "clicked", page=nb)["clicks"] == 1
