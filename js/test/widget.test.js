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
    assert.equal(buttons.length, 2);
    for (const b of buttons) assert.equal(b.listeners.get("click").length, 0, "button listeners are off");
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
