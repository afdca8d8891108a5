"""3. Front-end rendering of the built bundle in headless Chromium, no kernel.

A page served from 127.0.0.1 imports ``widget_callbacks/static/widget.js`` and
drives it with a fake anywidget model: ``get``/``set``/``on``/``off``/``send``
and ``save_changes`` over one attribute object (``get`` returns the same object
every time, as Backbone does), and custom messages delivered the way
ipywidgets' ``WidgetModel`` does for anywidget: synchronously,
``trigger("msg:custom", content, buffers)`` to every listener in the order they
were added (``initialize``'s listener first, then the view's).

The state is made by the Python core (``PlotState``: the trace dicts, the layout
and the markers the widget would sync), with the arrays filled to N epochs x 6
metric curves plus about 1,000,000 batch points (3 batch curves; the batch
x values are fractional epochs). An early-stopping snapshot (best epoch near the
end, patience band) is set so the marks are drawn. The ``extend`` messages are
made by the same core, one epoch (6 points) each, exactly as ``LivePlot`` sends
them.

The view is smoothed (the ``view`` trait's ``smoothing`` = SMOOTHING, TensorBoard's
debiased EMA over the full-resolution series, the raw curves faint behind), and
every metric and batch point carries its time (``customdata``, seconds since the
run started, as ``PlotState`` records it; filled in here when the core does not).

Measured: the first draw; then ~100 updates, each dispatched at a random point
of the frame (a timer 0-16 ms after an animation frame, as a WebSocket message
would land), from the dispatch to Plotly's ``plotly_afterplot`` event
(``total``, what the user waits for), and from the start of the animation frame
that redraws to that event (``draw``). The JS heap (CDP
``Runtime.getHeapUsage`` after ``HeapProfiler.collectGarbage``) before and after
the updates. Then the smoothing slider is moved (an ``input`` event on the
toolbar's range input, as a drag gives) to SLIDER_VALUES one at a time, each
timed from the event to ``plotly_afterplot`` (the whole figure re-smoothed,
re-decimated and redrawn), and the heap read again.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import random
import shutil
import statistics
import tempfile
import threading
from pathlib import Path

from ._kernel import REPO_ROOT
from ._report import Row, Section

BUNDLE = REPO_ROOT / "widget_callbacks" / "static" / "widget.js"
WIDTH = 1000  # CSS px of the widget's container
SCREENSHOT = REPO_ROOT / "artifacts" / "bench-frontend.png"
METRICS = ("loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc")
SMOOTHING = 0.6
SLIDER_VALUES = (0.3, 0.45, 0.7, 0.85, 0.9, 0.5, 0.2, 0.65, 0.8, 0.6)
SECONDS_PER_EPOCH = 2.0  # the timestamps given to the points
TRAIN = ("loss", "accuracy", "auc")

INDEX = (
    """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>widget_callbacks front-end benchmark</title></head>
<body style="margin:0">
<div id="host" style="width:%dpx"></div>
<script type="module">
import widget from "./widget.js";
window.__widget = widget;
window.__ready = true;
</script>
<script>window.addEventListener("error", (e) => { window.__error = String(e.message); });</script>
</body></html>
"""
    % WIDTH
)

SETUP_JS = """
async () => {
  const t0 = performance.now();
  const [state, updates] = await Promise.all([
    fetch("state.json").then((r) => r.json()),
    fetch("updates.json").then((r) => r.json()),
  ]);
  const tParsed = performance.now();
  const attrs = { ...state };
  const listeners = new Map();
  const model = {
    get: (name) => attrs[name],
    set(name, value) { attrs[name] = value; model.trigger(`change:${name}`, model, value); },
    save_changes() {},
    send() {},
    on(event, cb) { if (!listeners.has(event)) listeners.set(event, []); listeners.get(event).push(cb); },
    off(event, cb) {
      const list = listeners.get(event);
      if (!list) return;
      const i = list.indexOf(cb);
      if (i >= 0) list.splice(i, 1);
    },
    // What ipywidgets' WidgetModel does with a comm message of method "custom".
    trigger(event, ...args) { for (const cb of [...(listeners.get(event) || [])]) cb(...args); },
    widget_manager: {},
  };
  window.__model = model;
  window.__updates = updates;
  const widget = window.__widget;
  const el = document.getElementById("host");
  const tRender = performance.now();
  if (typeof widget.initialize === "function") window.__cleanupInit = await widget.initialize({ model });
  window.__cleanup = await widget.render({ model, el });
  // The view redraws in an animation frame callback; ours, added later, runs after it.
  const gd = await new Promise((resolve) => {
    const check = () => {
      const div = el.querySelector(".wc-plot");
      if (div && div._fullLayout && Array.isArray(div.data) && div.data.length) resolve(div);
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
  const tFirst = performance.now();
  const st = { count: 0, last: 0, waiter: null };
  window.__after = st;
  gd.on("plotly_afterplot", () => {
    st.count += 1;
    st.last = performance.now();
    if (st.waiter) { const w = st.waiter; st.waiter = null; w(); }
  });
  // Let the first resize-triggered redraw (ResizeObserver) pass.
  let seen = -1;
  while (seen !== st.count) {
    seen = st.count;
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    fetchParseMs: tParsed - t0,
    firstDrawMs: tFirst - tRender,
    redrawsWhileSettling: st.count,
  };
}
"""

UPDATES_JS = """
async ({ start, count, seed }) => {
  const model = window.__model;
  const updates = window.__updates;
  const st = window.__after;
  let rng = seed;
  const rand = () => { rng = (rng * 1103515245 + 12345) % 2147483648; return rng / 2147483648; };
  const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = [];
  for (let i = start; i < start + count; i++) {
    await nextFrame();
    await sleep(rand() * 16);
    let tFrame = null;
    const done = new Promise((res) => { st.waiter = res; });
    // Added before the message: runs first in the frame whose callback redraws.
    requestAnimationFrame(() => { tFrame = performance.now(); });
    const t0 = performance.now();
    model.trigger("msg:custom", updates[i], []);
    const tHandled = performance.now();
    const result = await Promise.race([done.then(() => "drawn"), sleep(10000).then(() => "timeout")]);
    if (result === "timeout") { out.push({ timeout: true }); continue; }
    out.push({ total: st.last - t0, draw: st.last - tFrame, handler: tHandled - t0 });
  }
  return out;
}
"""

SLIDER_JS = """
async (values) => {
  const CATCH_UP_MS = 500; // js/src/redraw.js
  const st = window.__after;
  const slider = document.querySelector(".wc-toolbar input[type=range]");
  if (!slider) return { error: "no smoothing slider" };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = [];
  for (const v of values) {
    await new Promise((r) => requestAnimationFrame(() => r()));
    const done = new Promise((res) => { st.waiter = res; });
    const t0 = performance.now();
    slider.value = String(v);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    const result = await Promise.race([done.then(() => "drawn"), sleep(10000).then(() => "timeout")]);
    out.push(result === "timeout" ? { timeout: true } : { total: st.last - t0 });
    slider.dispatchEvent(new Event("change", { bubbles: true }));
    await sleep(50);
  }
  // Once the slider rests, the view redraws in full (hover and Plotly's own
  // redraws know the smoothed values again): how long that frame takes.
  // Timed from the last move plus the rest the view waits for (CATCH_UP_MS).
  await sleep(CATCH_UP_MS + 300); // the loop's own full redraw first
  const rest = new Promise((res) => { st.waiter = res; });
  const tLast = performance.now();
  slider.value = String(values[0]); // a move from where the loop left it
  slider.dispatchEvent(new Event("input", { bubbles: true }));
  slider.dispatchEvent(new Event("change", { bubbles: true }));
  let result = await Promise.race([rest.then(() => "drawn"), sleep(10000).then(() => "timeout")]);
  const first = st.last;
  // that was the move itself (its lines); the full redraw comes after the rest
  const settled = new Promise((res) => { st.waiter = res; });
  result = await Promise.race([settled.then(() => "drawn"), sleep(10000).then(() => "timeout")]);
  const settle = result === "timeout" ? null : st.last - tLast - CATCH_UP_MS;
  return { samples: out, settle, move: first - tLast, view: window.__model.get("view") };
}
"""

DRAWN_JS = """
() => {
  const gd = document.querySelector(".wc-plot");
  const traces = window.__model.get("traces");
  return {
    stored: traces.map((t) => ({ name: t.name, n: t.y.length })),
    drawn: gd.data.map((t) => ({ name: t.name, role: t.meta ? t.meta.role : null,
                                 n: Array.isArray(t.x) ? t.x.length : 0 })),
    width: gd.clientWidth,
  };
}
"""


def _logs(epoch: int, rng: random.Random) -> dict[str, float]:
    base = 1.0 / (1.0 + 0.002 * epoch)
    out = {}
    for prefix in ("", "val_"):
        noise = 1.0 + 0.05 * rng.random()
        out[prefix + "loss"] = 2.3 * base * noise
        out[prefix + "accuracy"] = 1.0 - 0.9 * base * noise
        out[prefix + "auc"] = 1.0 - 0.5 * base * noise
    return out


def _layout_trait() -> str:
    """The name of LivePlot's synced layout trait (``plot_layout``; ``layout`` before)."""
    from widget_callbacks.widgets.live_plot import LivePlot

    names = LivePlot.class_trait_names(sync=True)
    return "plot_layout" if "plot_layout" in names else "layout"


def _with_time(trace: dict, n: int | None = None) -> None:
    """Gives a metric or batch trace the seconds of its points (``customdata``) when
    the core recorded none: SECONDS_PER_EPOCH per epoch of x."""
    xs = trace["x"]
    cd = trace.get("customdata")
    if not isinstance(cd, list) or len(cd) != len(xs):
        trace["customdata"] = [round(x * SECONDS_PER_EPOCH, 3) for x in xs]


def build_files(folder: Path, epochs: int, batch_points: int, updates: int) -> dict[str, int]:
    """state.json (the synced traits) and updates.json (``extend`` messages)."""
    from widget_callbacks.core.figure import PlotState
    from widget_callbacks.core.protocol import PROTOCOL
    from widget_callbacks.core.records import StoppingSnapshot

    rng = random.Random(0)
    state = PlotState(batch_curves=True)
    state.batches_per_epoch = 180
    state.add_batch(1, 1, {name: 1.0 for name in TRAIN})  # the batch traces, as in a run
    state.add_epoch(1, _logs(1, rng))  # the epoch traces
    per_curve = -(-batch_points // len(TRAIN))
    step = epochs / per_curve
    for trace in state.traces:
        role = trace["meta"]["role"]
        if role == "batch":
            name = trace["name"].removesuffix(" (batch)")
            xs = [round((i + 1) * step, 4) for i in range(per_curve)]
            ys = [_logs(int(x) + 1, rng)[name] * (1 + 0.2 * (rng.random() - 0.5)) for x in xs]
        else:
            name = trace["name"]
            xs = list(range(1, epochs + 1))
            ys = [_logs(e, rng)[name] for e in xs]
        trace["x"][:] = xs
        trace["y"][:] = ys
        trace.pop("customdata", None)
        _with_time(trace)
    for e in range(2, epochs + 1):
        state.history.add_epoch(e, {})
    best = epochs - 5
    state.set_stopping(StoppingSnapshot(
        monitor="val_loss", mode="min", patience=20, wait=5, best=0.1, best_epoch=best,
        last_epoch=epochs))  # fmt: skip
    traits = {
        "traces": state.traces,
        _layout_trait(): state.layout(),
        "overlays": state.overlays(),
        "progress": {
            "status": "training",
            "epoch": epochs,
            "epochs": epochs + updates + 100,
            "batch": 180,
            "batches": 180,
            "elapsed": 1234.5,
            "eta": 100.0,
            "logs": {},
            "message": "",
        },  # fmt: skip
        "run": state.run,
        "view": {**PROTOCOL["view_defaults"], "smoothing": SMOOTHING},
    }
    # Serialize before the updates: they append to the same lists.
    (folder / "state.json").write_text(json.dumps(traits))
    messages = []
    for e in range(epochs + 1, epochs + updates + 1):
        update = state.add_epoch(e, _logs(e, rng))
        assert not update.structure_changed
        for point in update.points:
            if "customdata" not in point:
                point["customdata"] = [round(x * SECONDS_PER_EPOCH, 3) for x in point["x"]]
        messages.append({"type": "extend", "run": state.run, "points": update.points})
    (folder / "updates.json").write_text(json.dumps(messages))
    stored = sum(len(t["y"]) for t in state.traces) - updates * len(METRICS)
    return {
        "points": stored,
        "per_batch_curve": per_curve,
        "state_bytes": (folder / "state.json").stat().st_size,
    }


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path):
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


WARMUP = 10


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts) if base or i < extra]


def _heap_mb(cdp) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    return cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6


def run(epochs: int, batch_points: int, updates: int, log=print) -> tuple[list[Row], Section]:
    from playwright.sync_api import sync_playwright

    from tests.browser.jupyter import CHROMIUM, CHROMIUM_ARGS

    bench = f"frontend ({epochs:,} epochs x 6 + {batch_points / 1e6:g}M batch pts)"
    if not BUNDLE.is_file():
        reason = f"{BUNDLE.relative_to(REPO_ROOT)} missing (npm --prefix js run build)"
        return [
            Row(bench, "message -> redraw done", [], "ms", target="median < 16 ms", skipped=reason)
        ], Section("Front end", [reason])
    with tempfile.TemporaryDirectory(prefix="wc-bench-frontend-") as tmp:
        folder = Path(tmp)
        shutil.copyfile(BUNDLE, folder / "widget.js")
        (folder / "index.html").write_text(INDEX)
        log("  frontend: building the state with the Python core ...")
        info = build_files(folder, epochs, batch_points, updates)
        with serve(folder) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(url + "index.html")
                page.wait_for_function("() => window.__ready === true || window.__error", timeout=60_000)
                cdp = page.context.new_cdp_session(page)
                heap_empty = _heap_mb(cdp)
                log("  frontend: first draw ...")
                setup = page.evaluate(SETUP_JS)
                heap_drawn = _heap_mb(cdp)
                # A few updates first (one-time allocations: hover layers, caches),
                # then the heap is read after each quarter of the rest.
                warmup = min(WARMUP, updates // 2)
                chunks = [warmup] + _split(updates - warmup, 4)
                samples: list[dict] = []
                heaps: list[tuple[int, float]] = []
                for size in chunks:
                    log(f"  frontend: updates {len(samples) + 1}-{len(samples) + size} ...")
                    samples += page.evaluate(
                        UPDATES_JS, {"start": len(samples), "count": size, "seed": 12345 + len(samples)}
                    )
                    heaps.append((len(samples), _heap_mb(cdp)))
                log(f"  frontend: smoothing slider, {len(SLIDER_VALUES)} moves ...")
                slider = page.evaluate(SLIDER_JS, list(SLIDER_VALUES))
                heap_slider = _heap_mb(cdp)
                drawn = page.evaluate(DRAWN_JS)
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.locator("#host").screenshot(path=str(SCREENSHOT))
            finally:
                browser.close()

    heap_before, heap_after = heaps[0][1], heaps[-1][1]
    timeouts = sum(1 for s in samples if s.get("timeout"))
    ok = [s for s in samples if not s.get("timeout")]
    totals = [s["total"] for s in ok]
    draws = [s["draw"] for s in ok]
    handlers = [s["handler"] for s in ok]
    moves = [m["total"] for m in slider.get("samples", []) if not m.get("timeout")]
    stuck = len(slider.get("samples", [])) - len(moves)
    rows = [
        Row(bench, "first draw (render -> drawn)", [setup["firstDrawMs"]], "ms"),
        Row(bench, "message -> redraw done", totals, "ms", target="median < 16 ms",
            met=bool(totals) and statistics.median(totals) < 16 and not timeouts,
            note=f"{timeouts} updates never redrawn" if timeouts else ""),
        Row(bench, "frame start -> redraw done", draws, "ms"),
        Row(bench, f"JS heap after first draw + {heaps[0][0]} updates", [heap_before], "MB"),
        Row(bench, f"JS heap after {len(samples)} updates", [heap_after], "MB",
            ratio=heap_after / heap_before, target=f"<= 1.1x after {heaps[0][0]} updates",
            met=heap_after <= 1.1 * heap_before),
        Row(bench, "smoothing slider move -> redraw done", moves, "ms", target="< 100 ms",
            met=bool(moves) and max(moves) < 100 and not stuck,
            note=slider.get("error", "") or (f"{stuck} moves never redrawn" if stuck else "")),
        Row(bench, "slider at rest -> full redraw done (after the 500 ms rest)",
            [slider["settle"]] if slider.get("settle") is not None else [], "ms",
            skipped="" if slider.get("settle") is not None else "no full redraw after the rest"),
        Row(bench, f"JS heap after {len(moves)} slider moves", [heap_slider], "MB",
            ratio=heap_slider / heap_before, target=f"<= 1.1x after {heaps[0][0]} updates",
            met=heap_slider <= 1.1 * heap_before),
    ]  # fmt: skip
    stored = sum(t["n"] for t in drawn["stored"])
    shown = sum(t["n"] for t in drawn["drawn"])
    details = Section("Front end: what is drawn")
    details.lines += [
        f"View: smoothing {SMOOTHING} (every metric and batch curve smoothed on its full series, "
        f"the raw curve drawn faint behind it); after the slider moves the view is {slider.get('view')}.",
        f"State: {epochs:,} epochs x 6 metric curves + 3 batch curves of {info['per_batch_curve']:,} points "
        f"({info['points']:,} points; state.json {info['state_bytes'] / 1e6:.1f} MB, fetched and parsed in "
        f"{setup['fetchParseMs']:.0f} ms). Plot width {drawn['width']} px.",
        f"The view min/max-decimates every long line to at most 2 buckets per pixel (power-of-two bucket "
        f"sizes, each bucket keeps its minimum and maximum, and its first and last gap), so after the "
        f"updates Plotly was given {shown:,} points for {stored:,} stored:",
        "",
        "| trace | stored | drawn (smoothed) | drawn (raw, faint) |",
        "|---|---|---|---|",
    ]
    mains = [d for d in drawn["drawn"] if d["role"] in ("metric", "batch")]
    raws = [d for d in drawn["drawn"] if d["role"] == "raw"]
    for s, d in zip(drawn["stored"], mains, strict=False):
        raw = next((r["n"] for r in raws if r["name"] == f"{d['name']} (raw)"), None)
        details.lines.append(
            f"| {s['name']} | {s['n']:,} | {d['n']:,} | {'-' if raw is None else f'{raw:,}'} |"
        )
    for d in drawn["drawn"]:
        if d["role"] not in ("metric", "batch", "raw"):
            details.lines.append(f"| {d['name']} ({d['role']}) | - | {d['n']:,} | - |")
    details.lines += [
        "",
        f"Screenshot of the view after the updates: {SCREENSHOT.relative_to(REPO_ROOT)}.",
        "",
        f"Updates: {len(samples)} extend messages of one epoch (6 points); message handling "
        f"(both listeners, synchronous) median {statistics.median(handlers):.2f} ms, max {max(handlers):.2f} ms; "
        f"{timeouts} timed out. JS heap (used, after GC): {heap_empty:.1f} MB with the bundle loaded, "
        f"{heap_drawn:.1f} MB after the first draw, then "
        + ", ".join(f"{mb:.1f} MB after {n} updates" for n, mb in heaps)
        + ".",
    ]
    if errors:
        details.lines.append("Browser errors: " + "; ".join(errors[:5]))
    return rows, details
