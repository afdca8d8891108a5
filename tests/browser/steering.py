"""Steering a running ``fit`` from the browser: notebook cells, plot probes and the
stop-latency measurement, shared by ``test_steering_live.py`` and the benchmarks.

The notebooks are built here (no file is copied): :data:`SETUP` defines the data,
the model and the test-only instruments, and :func:`stop_cells` gives the three
cells of a "stop by hand" scenario: a ``TrainingDashboard`` displayed in one cell,
a plain ``model.fit(..., callbacks=dashboard.callbacks + [probe], verbose=0)`` (or
``await dashboard.fit_async(...)``) in the next, and a report cell.

Test-only instruments defined by :data:`SETUP` (they only *observe* the product):

- ``Probe(name, hold_epoch=None, hold_batch=None)``: a Keras callback that reports
  every epoch end (``NAME-epoch``), keeps ``model.get_weights()`` of every epoch end
  (so the test can compare what was restored with the weights of the epoch the
  controller calls best), records batch end times, and can *hold* ``fit`` at the
  end of an epoch or after a batch until the test writes a flag file (on ipykernel 6
  the hold runs the batch hook's polling of our controls' clicks, as batches would).
- ``watch(dashboard, name)``: reports when the kernel handled a Stop click
  (``NAME-click``) or a patience change (``NAME-patience``), with the thread, and
  when the controller's listeners (plot and panel first, then this one) got a stop
  while ``fit`` still runs (``NAME-published``).
- ``report_fit(name, ...)``: after ``fit`` returned, reports the return time
  (``time.time()`` taken right after ``fit`` in the fit cell), the history length,
  the controller's snapshot, whether the weights equal the best epoch's and the
  last epoch's, the median batch time and the controls' ``disabled`` states.

Kernel and test run on the same machine, so ``time.time()`` on both sides (and
the page's ``Date.now()``) share one clock.

For the benchmarks: :func:`measure_stop_latency` clicks a dashboard's Stop button
in a :class:`~tests.browser.jupyter.NotebookPage` and returns a
:class:`StopLatency` (click -> ``fit`` returned, measured from the test's clock
and from the page's click event).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .jupyter import ARTIFACTS, KERNEL_TIMEOUT, UI_TIMEOUT, HarnessTimeout, NotebookPage

#: The Stop button's label (the panel also has "Pause auto-stop": match exactly).
STOP_LABEL = re.compile(r"^\W*Stop\W*$")
PAUSE_LABEL = re.compile(r"Pause auto-stop")

#: Where every measured latency is appended (one JSON object per line).
LATENCY_LOG = ARTIFACTS / "stop-latencies.jsonl"

SETUP = '''\
# Test-only set-up (tests/browser/steering.py): data, model and instruments.
import os, statistics, time
import numpy as np
import keras
from widget_callbacks import TrainingDashboard

FEATURES = 32

def make_data(n=1600, seed=0):
    """Pure noise to fit: the model memorises the training split, so val_loss is
    best at epoch 1 and rises after it (restoring the best weights changes them)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, FEATURES)).astype("float32"),
            rng.normal(size=(n, 1)).astype("float32"))

def make_model(learning_rate=1e-2, seed=0):
    """A tiny MLP; learning_rate=0 gives a plateau (val_loss never improves after epoch 1)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((FEATURES,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(learning_rate) if learning_rate else keras.optimizers.SGD(0.0)
    model.compile(optimizer=optimizer, loss="mse")
    return model

x, y = make_data()                      # 1200 training samples: 150 batches of 8 an epoch
x_small, y_small = make_data(400, seed=1)

from widget_callbacks.kernel.polling import shell_polling as _polling

def _hold(report, flag, **data):
    # A hold stands for training time: on ipykernel 6, where our controls' clicks are
    # handled between batches (no batch runs while held), the hold lets the batch
    # hook's polling run as batches would; on ipykernel 7 that polling is off.
    _report(report, **data)
    deadline = time.time() + 600
    while not os.path.exists(flag):
        if time.time() > deadline:
            raise RuntimeError(f"the test never wrote {flag}")
        time.sleep(0.02)
        _polling().poll()

def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value

class Probe(keras.callbacks.Callback):
    """Reports epoch ends, keeps each epoch end's weights and the batch end times;
    holds fit at the end of epoch `hold_epoch` and after batch `hold_batch`
    ((epoch, batch), 1-based) until NAME-release-epoch.flag / -batch.flag exist."""

    def __init__(self, name, hold_epoch=None, hold_batch=None):
        super().__init__()
        self.name, self.hold_epoch, self.hold_batch = name, hold_epoch, hold_batch
        self.weights, self.batch_ends, self.epoch = {}, [], 0
        self.epoch_ended = self.train_ended = None

    def on_train_begin(self, logs=None):
        self.weights, self.batch_ends = {}, []
        self.epoch_ended = self.train_ended = None

    def on_train_end(self, logs=None):
        self.train_ended = time.time()  # after the callbacks before this one

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        self.batch_ends.append(time.perf_counter())
        if self.hold_batch == (self.epoch, batch + 1):
            _hold(f"{self.name}-held-batch", f"{self.name}-release-batch.flag",
                  epoch=self.epoch, batch=batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ended = time.time()
        self.weights[epoch + 1] = self.model.get_weights()
        _report(f"{self.name}-epoch", epoch=epoch + 1)
        if self.hold_epoch == epoch + 1:
            _hold(f"{self.name}-held-epoch", f"{self.name}-release-epoch.flag", epoch=epoch + 1)

def watch(dashboard, name):
    """Reports Stop clicks and patience changes as the kernel handles them, and
    the controller's first stop published while fit still runs."""
    controls, controller = dashboard.controls, dashboard.controller
    controls.stop_button.on_click(
        lambda _button: _report(f"{name}-click", running=controller.running))
    controls.patience_slider.observe(
        lambda change: _report(f"{name}-patience", value=change["new"], running=controller.running,
                               patience=controller.patience,
                               last_epoch=controller.snapshot().last_epoch),
        names="value")
    published = []
    def on_snapshot(snapshot):
        # Registered after the dashboard's own listeners (plot, panel): this runs
        # once the stop is decided and drawn.
        if snapshot.stop_reason is not None and controller.running and not published:
            published.append(True)
            _report(f"{name}-published", reason=snapshot.stop_reason,
                    epoch=snapshot.stopped_epoch, batch=snapshot.stopped_batch)
    controller.add_listener(on_snapshot)

def report_fit(name, dashboard, model, history, probe, returned):
    snapshot = dashboard.controller.snapshot()
    weights = model.get_weights()
    def same(other):
        return (other is not None and len(other) == len(weights)
                and all(np.array_equal(a, b) for a, b in zip(other, weights)))
    epochs = len(history.history["loss"])
    gaps = [b - a for a, b in zip(probe.batch_ends, probe.batch_ends[1:])]
    controls = dashboard.controls
    _report(name, returned=returned, epochs=epochs, snapshot=_plain(snapshot.to_dict()),
            restored_equals_best=same(probe.weights.get(snapshot.best_epoch)),
            restored_equals_last=same(probe.weights.get(epochs)),
            weight_epochs=sorted(probe.weights),
            batch_s=statistics.median(gaps) if gaps else None,
            steps=(probe.params or {}).get("steps"), running=dashboard.controller.running,
            disabled={"stop": controls.stop_button.disabled,
                      "patience": controls.patience_slider.disabled,
                      "pause": controls.pause_toggle.disabled},
            status=controls.status_line, last_epoch_ended=probe.epoch_ended,
            train_ended=probe.train_ended)
'''


def stop_cells(
    name: str,
    *,
    mode: str = "sync",
    epochs: int = 200,
    patience: int | None = None,
    learning_rate: str = "1e-2",
    data: str = "x, y",
    hold_epoch: int | None = None,
    hold_batch: tuple[int, int] | None = None,
) -> list[str]:
    """The three cells of a scenario ``name`` (a Python identifier): the dashboard
    displayed, the fit (``mode="sync"``: plain ``model.fit``; ``"async"``: ``await
    dashboard.fit_async``), then ``report_fit``. ``patience`` defaults to ``epochs``
    (nothing stops by itself)."""
    if mode not in ("sync", "async"):
        raise ValueError(f"mode must be 'sync' or 'async'. Received: mode={mode!r}")
    patience = epochs if patience is None else patience
    display = (
        f'{name} = TrainingDashboard(monitor="val_loss", patience={patience}, restore_best_weights=True)\n'
        f"{name}_model = make_model(learning_rate={learning_rate})\n"
        f"{name}_probe = Probe({name!r}, hold_epoch={hold_epoch!r}, hold_batch={hold_batch!r})\n"
        f"watch({name}, {name!r})\n"
        f"{name}"
    )
    args = f"{data}, batch_size=8, epochs={epochs}, validation_split=0.25, verbose=0"
    if mode == "sync":
        fit = (
            f"{name}_history = {name}_model.fit({args},\n"
            f"    callbacks={name}.callbacks + [{name}_probe])\n"
            f"{name}_returned = time.time()"
        )
    else:
        fit = (
            f"{name}_history = await {name}.fit_async({name}_model, {args},\n"
            f"    callbacks=[{name}_probe])\n"
            f"{name}_returned = time.time()"
        )
    report = f"report_fit({name!r}, {name}, {name}_model, {name}_history, {name}_probe, {name}_returned)"
    return [display, fit, report]


@dataclass(frozen=True)
class Scenario:
    """Where a scenario's cells are in the notebook."""

    name: str
    display: int  # the dashboard's cell (its output holds the controls and the plot)
    fit: int
    report: int

    @property
    def cells(self) -> list[int]:
        return [self.display, self.fit, self.report]


def layout(cells_before: int, names: Iterable[str]) -> list[Scenario]:
    """Scenarios of three cells each, placed after ``cells_before`` cells."""
    out, i = [], cells_before
    for name in names:
        out.append(Scenario(name, i, i + 1, i + 2))
        i += 3
    return out


# --------------------------------------------------------------------------- running


def run_cells(nb: NotebookPage, first: int, last: int) -> None:
    """Select cells ``first..last`` and run them (queued in order; not awaited)."""
    nb.evaluate(
        """const p = __panel(arg.path);
           window.jupyterapp.shell.activateById(p.id);
           const n = p.content;
           n.deselectAll();
           n.activeCellIndex = arg.first;
           n.extendContiguousSelectionTo(arg.last);""",
        first=first,
        last=last,
    )
    nb.command("notebook:run-cell", wait=False)


def cell_errors(nb: NotebookPage, cells: Iterable[int] | None) -> list[dict[str, Any]]:
    wanted = None if cells is None else set(cells)
    return [e for e in nb.errors() if wanted is None or e["index"] in wanted]


def wait_report(
    nb: NotebookPage,
    name: str,
    *,
    cells: Iterable[int] | None = None,
    until: Callable[[dict[str, Any]], bool] | None = None,
    timeout: float = UI_TIMEOUT,
) -> dict[str, Any]:
    """Like ``jupyter.wait_for_report``, but fails at once only on errors in
    ``cells`` (a shared notebook may hold other scenarios' errors)."""
    path = nb.folder / "_reports" / f"{name}.json"
    cells = None if cells is None else list(cells)
    deadline = time.monotonic() + timeout
    next_check, last = 0.0, None
    while True:
        try:
            last = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        else:
            if until is None or until(last):
                return last
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 1.0
            errors = cell_errors(nb, cells)
            if errors:
                shot = nb.screenshot(f"error-before-report-{name}")
                raise AssertionError(
                    f"a cell failed while waiting for kernel report {name!r}: "
                    + "; ".join(f"cell {e['index']}: {e['ename']}: {e['evalue']}" for e in errors)
                    + f"; screenshot: {shot}"
                )
        if now > deadline:
            raise nb.fail(
                f"kernel report {name!r}" + (" to satisfy the predicate" if until else ""), timeout, last
            )
        time.sleep(0.05)


def release(nb: NotebookPage, flag: str) -> None:
    """Write a flag file the kernel's ``Probe`` waits for."""
    (nb.folder / flag).write_text("")


def settle(nb: NotebookPage, timeout: float = 60.0) -> None:
    """Leave the kernel idle for the next scenario: release every hold, then
    interrupt (graceful first, then KeyboardInterrupt) while it stays busy."""
    for flag in nb.folder.glob("_reports/*-held-*.json"):
        name, kind = flag.stem.rsplit("-held-", 1)
        release(nb, f"{name}-release-{kind}.flag")
    for _ in range(3):
        try:
            nb.wait_idle(timeout=timeout if _ == 0 else 30)
            return
        except HarnessTimeout:
            nb.interrupt()
    nb.wait_idle(timeout=30)


# --------------------------------------------------------------------------- the page

#: JS: what the output of cell ``arg.index`` shows: the controls and the plot
#: (``gd.layout`` shapes/annotations, ``gd.data`` traces, rendered traces and shapes).
PLOT_STATE_JS = r"""
const p = __panel(arg.path);
const c = p && p.content.widgets[arg.index];
const out = {plot: false, status: null};
const ind = p && p.node.querySelector('.jp-Notebook-ExecutionIndicator[data-status]');
out.status = ind ? ind.getAttribute('data-status') : null;
if (!c) return out;
const prog = c.node.querySelector('.wc-progress, .wc-progress-text');
out.progress = prog ? prog.textContent : null;
out.buttons = Array.from(c.node.querySelectorAll('.jp-OutputArea button'))
  .map(b => ({text: b.textContent.trim(), title: b.title, disabled: b.disabled}));
const slider = c.node.querySelector('.widget-slider');
if (slider) {
  const readout = slider.querySelector('.widget-readout');
  const target = slider.querySelector('.noUi-target');
  out.slider = {value: readout ? readout.textContent.trim() : null,
                editable: readout ? readout.contentEditable : null,
                disabled: !!(target && target.hasAttribute('disabled'))
                          || slider.classList.contains('mod-disabled')};
}
const gd = c.node.querySelector('.js-plotly-plot');
if (!gd || !gd.layout) return out;
out.plot = true;
const lay = gd.layout;
out.shapes = (lay.shapes || []).map(s => ({type: s.type, xref: s.xref, yref: s.yref, x0: s.x0, x1: s.x1,
                                           layer: s.layer || 'above', fillcolor: s.fillcolor || null}));
out.annotations = (lay.annotations || []).map(a => String(a.text));
out.annotationDom = Array.from(gd.querySelectorAll('.annotation-text'))
  .map(t => { const lines = t.querySelectorAll('.line');
              return lines.length ? Array.from(lines).map(l => l.textContent).join('\n') : t.textContent; });
out.shapePaths = {};
for (const path of gd.querySelectorAll('.shapelayer path')) {
  let el = path, where = 'other';
  while (el && el !== gd) {
    const cls = el.getAttribute && el.getAttribute('class') || '';
    if (/\blayer-below\b/.test(cls)) { where = 'layer-below'; break; }
    if (/\blayer-above\b/.test(cls)) { where = 'layer-above'; break; }
    if (/\blayer-subplot\b/.test(cls)) { where = 'layer-subplot'; break; }
    el = el.parentNode;
  }
  out.shapePaths[where] = (out.shapePaths[where] || 0) + 1;
}
out.data = (gd.data || []).map(t => ({name: t.name, role: t.meta ? t.meta.role : null,
  x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null}));
out.rendered = [];
for (const g of gd.querySelectorAll('.scatterlayer .trace')) {
  const d = g.__data__ && g.__data__[0] && g.__data__[0].trace;
  out.rendered.push({name: d ? d.name : null, role: d && d.meta ? d.meta.role : null,
                     x: d && d.x ? Array.from(d.x) : null,
                     points: g.querySelectorAll('.points path.point').length});
}
return out;
"""


def plot_state(nb: NotebookPage, cell: int) -> dict[str, Any]:
    """What the dashboard in cell ``cell`` shows now (see :data:`PLOT_STATE_JS`)."""
    return nb.evaluate(PLOT_STATE_JS, index=cell)


def wait_plot(
    nb: NotebookPage,
    cell: int,
    predicate: Callable[[dict[str, Any]], Any],
    what: str,
    timeout: float = UI_TIMEOUT,
) -> dict[str, Any]:
    """Poll :func:`plot_state` until ``predicate`` holds; return that state."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = plot_state(nb, cell)
            if last.get("plot") and predicate(last):
                return last
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            brief = last
            if isinstance(last, dict):
                brief = {
                    k: last.get(k)
                    for k in ("status", "progress", "shapes", "annotations", "buttons", "slider")
                }
            raise nb.fail(what, timeout, brief)
        time.sleep(0.1)


def metric_points(state: dict[str, Any], name: str = "loss") -> int:
    """Rendered points of the epoch trace ``name``."""
    return max(
        (t["points"] for t in state.get("rendered", []) if t["role"] == "metric" and t["name"] == name),
        default=0,
    )


def band(state: dict[str, Any], best_epoch: int) -> dict[str, Any] | None:
    """The patience band: the rect shape starting at the best epoch."""
    return next((s for s in state.get("shapes", []) if s["type"] == "rect" and s["x0"] == best_epoch), None)


def stop_button(nb: NotebookPage, cell: int) -> Any:
    return nb.cell_output(cell).locator("button", has_text=STOP_LABEL).first


# --------------------------------------------------------------------------- latency

RECORD_CLICK = """() => {
  window.__wcClick = null;
  document.addEventListener("click", () => { window.__wcClick = Date.now(); },
                            { capture: true, once: true });
}"""


@dataclass
class StopLatency:
    """One click on Stop and when ``fit`` returned (``time.time()`` seconds; the
    page, the test and the kernel share the machine's clock).

    ``clicked_page`` is the click event's ``Date.now()`` in the page (a capture
    listener): the moment the user clicked. ``clicked`` is taken in the test right
    before Playwright's ``click()``, which first scrolls and waits for the button
    to be stable and enabled (0.2-1 s on two loaded cores), so it is an upper
    bound kept for reference. ``report`` is the kernel's report with ``returned``.
    """

    clicked: float
    clicked_page: float | None
    returned: float
    report: dict[str, Any] = field(repr=False)

    @property
    def click_time(self) -> float:
        """The click: the page's event time, else the test's."""
        return self.clicked_page if self.clicked_page is not None else self.clicked

    @property
    def latency(self) -> float:
        """Click -> ``fit`` returned (kernel clock), seconds."""
        return self.returned - self.click_time

    @property
    def call_latency(self) -> float:
        """Playwright's ``click()`` called -> ``fit`` returned, seconds (upper bound)."""
        return self.returned - self.clicked


def measure_stop_latency(
    nb: NotebookPage,
    *,
    button_cell: int,
    returned_report: str,
    ready_report: str | None = None,
    ready: Callable[[dict[str, Any]], bool] | None = None,
    returned: Callable[[dict[str, Any]], bool] | None = None,
    returned_key: str = "returned",
    cells: Iterable[int] | None = None,
    ready_timeout: float = KERNEL_TIMEOUT,
    stop_timeout: float = 60.0,
    label: str | None = None,
) -> StopLatency:
    """Click the Stop button in the output of ``button_cell`` and time ``fit``'s return.

    Args:
        nb: the open notebook, its fit running (or about to).
        button_cell: index of the cell whose output holds the Stop button.
        returned_report: name of the kernel report written after ``fit`` returned;
            it must hold ``returned_key`` (``time.time()`` right after ``fit``).
        ready_report: a report to wait for before clicking (e.g. an epoch end);
            ``None`` clicks at once.
        ready: predicate the ready report must satisfy.
        returned: predicate the returned report must satisfy; defaults to "written
            after the click".
        returned_key: the key holding the return time. Defaults to ``"returned"``.
        cells: cells whose errors abort the waits at once (all when ``None``).
        ready_timeout / stop_timeout: seconds for the ready report / for ``fit``
            to return after the click.
        label: when given, the result is printed and appended to
            ``artifacts/browser/stop-latencies.jsonl`` under this label.

    Returns:
        A :class:`StopLatency`.
    """
    cells = None if cells is None else list(cells)
    if ready_report is not None:
        wait_report(nb, ready_report, cells=cells, until=ready, timeout=ready_timeout)
    button = stop_button(nb, button_cell)
    button.scroll_into_view_if_needed()
    deadline = time.monotonic() + UI_TIMEOUT
    while not button.is_enabled():
        if time.monotonic() > deadline:
            raise nb.fail(f"the Stop button in cell {button_cell} to be enabled", UI_TIMEOUT)
        time.sleep(0.05)
    nb.page.evaluate(RECORD_CLICK)
    clicked = time.time()
    button.click()
    after = returned or (lambda r, t=clicked: r.get("time", 0) >= t)
    report = wait_report(nb, returned_report, cells=cells, until=after, timeout=stop_timeout)
    clicked_ms = nb.page.evaluate("() => window.__wcClick")
    result = StopLatency(
        clicked, None if clicked_ms is None else clicked_ms / 1000.0, report[returned_key], report
    )
    if label is not None:
        log_latency(label, result)
    return result


def log_latency(label: str, m: StopLatency, **extra: Any) -> None:
    """Print a measured latency and append it to :data:`LATENCY_LOG`."""
    batch = m.report.get("batch_s")
    per_batch = "n/a" if batch is None else f"{1000 * batch:.1f} ms"
    source = "page click event" if m.clicked_page is not None else "test clock (no page event)"
    print(
        f"stop latency [{label}]: click -> fit returned {m.latency:.3f} s ({source}; "
        f"from Playwright's click() call {m.call_latency:.3f} s; median batch {per_batch})"
    )
    entry = {
        "label": label,
        "latency_s": round(m.latency, 4),
        "call_latency_s": round(m.call_latency, 4),
        "page_event": m.clicked_page is not None,
        "batch_s": batch,
        "time": time.time(),
        **extra,
    }
    LATENCY_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(LATENCY_LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


def annotation_lines(state: dict[str, Any]) -> list[str]:
    """Every line of every annotation, from ``gd.layout`` (``<br>`` split)."""
    return [line for text in state.get("annotations", []) for line in re.split(r"<br\s*/?>", text)]
