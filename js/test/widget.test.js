// render() end to end with a fake DOM and a fake Plotly: the widget.js entry is
// bundled by esbuild (plotly.js replaced by a stub, the protocol JSON inlined,
// as in the real bundle) and imported from memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as esbuild from "esbuild";
import { DEFAULT_HEIGHT, PLOT_CONFIG, TRAITS } from "../src/protocol.js";
import { fakeModel } from "./fake_model.js";

/** @type {{calls: Array<[string, ...any[]]>}} */
const fakePlotly = {
  calls: [],
  react(div, data, layout, config) {
    this.calls.push(["react", div, data, layout, config]);
    return Promise.resolve(div);
  },
  purge(div) {
    this.calls.push(["purge", div]);
  },
  Plots: { resize: () => Promise.resolve() },
  downloadImage: () => Promise.resolve(),
};
globalThis.__fakePlotly = fakePlotly;

async function loadWidget() {
  const result = await esbuild.build({
    entryPoints: [new URL("../src/widget.js", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "silent",
    plugins: [
      {
        name: "fake-plotly",
        setup(build) {
          build.onResolve({ filter: /^plotly\.js-basic-dist-min$/ }, () => ({ path: "plotly", namespace: "fake" }));
          build.onLoad({ filter: /.*/, namespace: "fake" }, () => ({ contents: "export default globalThis.__fakePlotly;" }));
        },
      },
    ],
  });
  const code = result.outputFiles[0].text;
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)).default;
}

class FakeElement {
  constructor(doc, tag) {
    this.ownerDocument = doc;
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parent = null;
    this.className = "";
    this.style = {};
    this.dataset = {};
    this.attributes = {};
    this.listeners = new Map();
    this.hidden = false;
    this.textContent = "";
    this.clientWidth = 600;
  }
  get isConnected() {
    return true;
  }
  append(...nodes) {
    for (const n of nodes) this.appendChild(n);
  }
  appendChild(child) {
    child.parent = this;
    this.children.push(child);
    return child;
  }
  replaceChildren(...nodes) {
    this.children = [];
    this.append(...nodes);
  }
  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return this.attributes[name] ?? null;
  }
  addEventListener(type, fn) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  removeEventListener(type, fn) {
    this.listeners.set(
      type,
      (this.listeners.get(type) ?? []).filter((f) => f !== fn),
    );
  }
  *walk() {
    yield this;
    for (const c of this.children) yield* c.walk();
  }
}

function fakeWindow() {
  let nextId = 1;
  const frames = new Map();
  return {
    frames,
    performance: { now: () => 0 },
    requestAnimationFrame(cb) {
      frames.set(nextId, cb);
      return nextId++;
    },
    cancelAnimationFrame(id) {
      frames.delete(id);
    },
    runFrames() {
      const pending = [...frames.values()];
      frames.clear();
      for (const cb of pending) cb();
    },
  };
}

test("render draws with the protocol's config, redraws on messages and cleans up after itself", async () => {
  const widget = await loadWidget();
  const win = fakeWindow();
  const doc = { defaultView: win, createElement: (tag) => new FakeElement(doc, tag) };
  const el = new FakeElement(doc, "div");
  const model = fakeModel({
    [TRAITS.traces]: [{ type: "scatter", mode: "lines", name: "loss", x: [1, 2], y: [0.5, 0.4] }],
    [TRAITS.plot_layout]: { xaxis: {}, yaxis: {} },
    [TRAITS.overlays]: [],
    [TRAITS.progress]: { status: "training", epoch: 2, epochs: 10 },
    [TRAITS.run]: 1,
  });
  // Track the timers render sets (the catch-up) to see them cleared.
  const live = new Set();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  globalThis.setTimeout = (fn, ms) => {
    const id = realSet(() => {
      live.delete(id);
      fn();
    }, ms);
    live.add(id);
    return id;
  };
  globalThis.clearTimeout = (id) => {
    live.delete(id);
    realClear(id);
  };
  try {
    fakePlotly.calls = [];
    const cleanup = widget.render({ model, el });
    assert.equal(typeof cleanup, "function");

    const root = el.children[0];
    assert.equal(root.className, "wc-root");
    assert.equal(root.dataset.status, "training");
    const nodes = [...root.walk()];
    assert.ok(!nodes.some((n) => n.tagName === "STYLE"), "no injected <style>: the CSS is anywidget's _css");
    for (const cls of ["wc-top", "wc-progress-text", "wc-bar", "wc-bar-fill", "wc-download", "wc-plot-wrap", "wc-plot", "wc-empty"]) {
      assert.ok(
        nodes.some((n) => n.className.split(" ").includes(cls)),
        cls,
      );
    }
    assert.ok(model.count() >= 6, "listens to the traits and to messages");

    win.runFrames();
    const reacts = () => fakePlotly.calls.filter((c) => c[0] === "react");
    assert.equal(reacts().length, 1, "one full draw");
    const [, div, data, layout, config] = reacts()[0];
    assert.equal(div.className, "wc-plot");
    assert.deepEqual(config, { ...PLOT_CONFIG });
    assert.ok(config.modeBarButtonsToRemove.includes("toImage"));
    assert.equal(layout.height, DEFAULT_HEIGHT);
    assert.deepEqual(data[0].y, [0.5, 0.4]);
    assert.ok(data.some((t) => t.meta?.role === "headroom"), "headroom while training");
    await Promise.resolve();

    // An extend message: appending needs Plotly's SVG, which the stub has not: a full draw.
    model.emit("msg:custom", { type: "extend", run: 1, points: [{ trace: 0, offset: 2, x: [3], y: [0.3] }] });
    win.runFrames();
    assert.equal(reacts().length, 2);
    assert.deepEqual(reacts()[1][2][0].y, [0.5, 0.4, 0.3]);

    // Another run's message is ignored; a layout change is one frame, however many.
    model.emit("msg:custom", { type: "extend", run: 0, points: [{ trace: 0, offset: 3, x: [4], y: [0.2] }] });
    win.runFrames();
    assert.equal(reacts().length, 2);
    model.emit(`change:${TRAITS.plot_layout}`);
    model.emit(`change:${TRAITS.traces}`);
    assert.equal(win.frames.size, 1);
    win.runFrames();
    assert.equal(reacts().length, 3);

    // The run finishes: the status shows, the plot fits its data (no headroom).
    model.set(TRAITS.progress, { status: "finished", epoch: 10, epochs: 10 });
    model.emit(`change:${TRAITS.progress}`);
    assert.equal(root.dataset.status, "finished");
    win.runFrames();
    assert.equal(reacts().length, 4);
    assert.ok(!reacts()[3][2].some((t) => t.meta?.role === "headroom"));

    model.emit(`change:${TRAITS.run}`);
    assert.equal(win.frames.size, 1, "a frame is pending at cleanup");
    cleanup();
    assert.equal(model.count(), 0, "every listener is off");
    assert.equal(win.frames.size, 0, "the pending frame is cancelled");
    assert.equal(live.size, 0, "no timer left");
    assert.ok(fakePlotly.calls.some((c) => c[0] === "purge"), "the plot is purged");
    assert.equal(el.children.length, 0, "the view's DOM is removed");
    const buttons = nodes.filter((n) => n.tagName === "BUTTON");
    assert.equal(buttons.length, 3, "PNG, SVG and the toolbar's robust y (no log toggle: no titled panel)");
    for (const n of nodes) {
      for (const [type, fns] of n.listeners) assert.equal(fns.length, 0, `${n.tagName}.${n.className} ${type} listener is off`);
    }
  } finally {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
});

test("initialize keeps the model's traces and progress current without a view", async () => {
  const widget = await loadWidget();
  const traces = [{ x: [1], y: [0.5] }];
  const model = fakeModel({ [TRAITS.traces]: traces, [TRAITS.run]: 3, [TRAITS.progress]: null });
  const cleanup = widget.initialize({ model });
  const progress = { status: "training", epoch: 1, epochs: 2, batch: 5, batches: 10 };
  model.emit("msg:custom", { type: "extend", run: 3, points: [{ trace: 0, offset: 1, x: [2], y: [0.4] }], progress });
  assert.deepEqual(traces[0].y, [0.5, 0.4]);
  assert.deepEqual(model.get(TRAITS.progress), progress);
  cleanup();
  assert.equal(model.count(), 0);
});

test("the toolbar reads and writes the view trait; the summary table follows its trait", async () => {
  const widget = await loadWidget();
  const win = fakeWindow();
  const doc = { defaultView: win, createElement: (tag) => new FakeElement(doc, tag) };
  const el = new FakeElement(doc, "div");
  let saved = 0;
  const model = fakeModel({
    [TRAITS.traces]: [
      { type: "scatter", mode: "lines", name: "loss", x: [1, 2, 3], y: [1, 2, 3], meta: { role: "metric" } },
      { type: "scatter", mode: "lines", name: "accuracy", x: [1, 2, 3], y: [0, 0.5, 0.9], xaxis: "x2", yaxis: "y2", meta: { role: "metric" } },
    ],
    [TRAITS.plot_layout]: { xaxis: {}, yaxis: { title: { text: "loss" } }, xaxis2: {}, yaxis2: { title: { text: "accuracy" } } },
    [TRAITS.overlays]: [],
    [TRAITS.progress]: { status: "finished", epoch: 3, epochs: 3, batches: 10 },
    [TRAITS.run]: 1,
    [TRAITS.view]: { smoothing: 0.5, log_y: ["accuracy"], x_axis: "step", robust_y: false, theme: "dark" },
    [TRAITS.summary]: { rows: [{ metric: "loss", last: 3, best: 1, best_epoch: 1, direction: "min" }], epoch_seconds: 2, samples_per_second: 100 },
  });
  model.save_changes = () => saved++;
  fakePlotly.calls = [];
  const cleanup = widget.render({ model, el });
  const root = el.children[0];
  const find = (pred) => [...root.walk()].filter(pred);
  const [slider] = find((n) => n.tagName === "INPUT");
  assert.equal(slider.type, "range");
  assert.equal(slider.max, "0.99");
  assert.equal(slider.value, "0.5");
  assert.equal(slider.getAttribute("aria-label"), "smoothing");
  const toggles = find((n) => n.className === "wc-log-toggle");
  assert.deepEqual(toggles.map((b) => [b.textContent, b.getAttribute("aria-pressed")]), [["loss", "false"], ["accuracy", "true"]]);
  const [xSelect, themeSelect] = find((n) => n.tagName === "SELECT");
  assert.equal(xSelect.value, "step");
  assert.equal(themeSelect.value, "dark");
  const table = find((n) => n.tagName === "TABLE");
  assert.equal(table.length, 1, "the summary table");
  assert.ok(find((n) => n.textContent === "1 (min)").length === 1);
  assert.ok(find((n) => n.textContent === "epoch 2 s · 100 samples/s").length === 1);

  win.runFrames();
  const reacts = () => fakePlotly.calls.filter((c) => c[0] === "react");
  const [, , data, layout] = reacts().at(-1);
  assert.deepEqual(data.map((t) => t.meta?.role), ["raw", "metric", "raw", "metric"]);
  assert.deepEqual(data[1].x, [10, 20, 30], "steps");
  assert.deepEqual(data[1].y, [1, 5 / 3, 17 / 7], "smoothed");
  assert.equal(layout.yaxis2.type, "log");
  assert.equal(layout.xaxis.title.text, "step");
  assert.equal(layout.paper_bgcolor, "#111111", "protocol.json's dark_palette");
  assert.equal(root.dataset.theme, "dark");
  const note = find((n) => n.className === "wc-note")[0];
  assert.equal(note.textContent, "accuracy: 1 value <= 0 not shown on log scale");

  // a slider drag sets the view (and redraws); its release saves it
  slider.value = "0.9";
  for (const fn of slider.listeners.get("input")) fn({ target: slider });
  assert.equal(model.get(TRAITS.view).smoothing, 0.9);
  assert.equal(saved, 0);
  for (const fn of slider.listeners.get("change")) fn({ target: slider });
  assert.equal(saved, 1);
  win.runFrames();
  assert.ok(Math.abs(reacts().at(-1)[2][1].y[1] - (0.9 * 0.1 + 0.1 * 2) / (1 - 0.81)) < 1e-12);

  // a log toggle, the x axis, the robust range
  const group = find((n) => n.className === "wc-tool wc-log")[0];
  for (const fn of group.listeners.get("click")) fn({ target: toggles[0] });
  assert.deepEqual(model.get(TRAITS.view).log_y, ["accuracy", "loss"]);
  assert.equal(toggles[0].getAttribute("aria-pressed"), "true");
  xSelect.value = "time";
  for (const fn of xSelect.listeners.get("change")) fn({ target: xSelect });
  assert.equal(model.get(TRAITS.view).x_axis, "time");
  const robust = find((n) => n.className === "wc-tool wc-robust")[0];
  for (const fn of robust.listeners.get("click")) fn({ target: robust });
  assert.equal(model.get(TRAITS.view).robust_y, true);
  assert.equal(robust.getAttribute("aria-pressed"), "true");
  assert.equal(saved, 4);
  win.runFrames();
  assert.match(note.textContent, /^time unknown/, "no customdata: epochs, said");

  // Python sets the view and the summary
  model.set(TRAITS.view, { smoothing: 0, log_y: [], x_axis: "epoch", robust_y: false, theme: "light" });
  model.emit(`change:${TRAITS.view}`);
  assert.equal(slider.value, "0");
  win.runFrames();
  assert.deepEqual(reacts().at(-1)[2].map((t) => t.meta?.role), ["metric", "metric"]);
  assert.equal(root.dataset.theme, "light");
  model.set(TRAITS.summary, { rows: [], epoch_seconds: null, samples_per_second: null });
  model.emit(`change:${TRAITS.summary}`);
  assert.equal(find((n) => n.tagName === "TABLE").length, 0);

  const nodes = [...root.walk()];
  cleanup();
  assert.equal(model.count(), 0);
  for (const n of nodes) for (const [type, fns] of n.listeners) assert.equal(fns.length, 0, `${n.className} ${type}`);
});
