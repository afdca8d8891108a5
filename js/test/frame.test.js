// Re-decimation of a zoomed range, and whole frames (ViewFrame) from traits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rangeIndices } from "../src/decimate.js";
import { ViewFrame, frameNote, xExtents } from "../src/frame.js";
import { displayData } from "../src/traces.js";
import { DARK_PALETTE, VIEW_DEFAULTS } from "../src/protocol.js";

test("rangeIndices: the points inside the range and one on each side", () => {
  const x = Array.from({ length: 100 }, (_, i) => i + 1);
  const y = x.map((v) => v * v);
  // x 10..20 are indices 9..19; one more on each side: 8..20
  assert.deepEqual(rangeIndices(x, y, 100, 10, 20, 100), Array.from({ length: 13 }, (_, k) => 8 + k));
  assert.deepEqual(rangeIndices(x, y, 100, 200, 300, 100), [99], "past the end: the last point");
  assert.deepEqual(rangeIndices(x, y, 100, -5, 0.5, 100), [0], "before the start: the first point");
  assert.deepEqual(rangeIndices([], [], 0, 0, 1, 10), []);
});

test("rangeIndices decimates a long range by min/max, keeping its extremes and ends", () => {
  const n = 10000;
  const x = Array.from({ length: n }, (_, i) => i);
  const y = x.map((v) => Math.sin(v / 7));
  y[5000] = 9; // a spike inside the range
  y[100] = -9; // one outside it
  const index = rangeIndices(x, y, n, 4000, 6000, 50);
  assert.ok(index.length <= 6 * 50 && index.length >= 50, `${index.length}: at most 50 buckets`);
  assert.equal(index[0], 3999);
  assert.equal(index[index.length - 1], 6001);
  assert.ok(index.includes(5000), "the spike is drawn");
  assert.ok(!index.includes(100));
  assert.ok(index.every((v, k) => k === 0 || v > index[k - 1]), "increasing");
});

test("displayData: a zoomed axis shows the detail of its range; others stay whole-series", () => {
  const n = 20000;
  const x = Array.from({ length: n }, (_, i) => 1 + i / 100);
  const y = x.map((v) => Math.cos(v * 50));
  const a = { x, y, xaxis: "x", meta: { decimate: true } };
  const b = { x, y, xaxis: "x2", meta: { decimate: true } };
  const [whole] = displayData([a], 500);
  const [zoomed, other] = displayData([a, b], 500, undefined, {}, { x: [50, 51] });
  assert.ok(zoomed.x.length >= 100 && zoomed.x.length <= 103, "every point of the range: 101 plus the 2 edges");
  assert.ok(zoomed.x[1] >= 50 && zoomed.x[zoomed.x.length - 2] <= 51);
  assert.equal(other.x.length, whole.x.length, "x2 is not zoomed");
  const [back] = displayData([a], 500, undefined, {}, {});
  assert.equal(back.x.length, whole.x.length, "autoscale: the whole series again");
});

const model = () => {
  const loss = {
    type: "scatter", name: "loss", mode: "lines+markers", x: [1, 2, 3, 4], y: [2, 1, 0.5, 0],
    xaxis: "x", yaxis: "y", line: { color: "#1f77b4" }, customdata: [1.5, 3, 4.5, 6],
    hovertemplate: "%{fullData.name}<br>epoch %{x}: %{y:.4g}", meta: { decimate: true, role: "metric" },
  };  // prettier-ignore
  return {
    traces: [loss],
    layout: {
      uirevision: "run-1",
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "loss" } },
      shapes: [{ type: "line", xref: "x", yref: "y domain", x0: 3, x1: 3 }],
    },
    overlays: [{ type: "scatter", mode: "markers", x: [3], y: [0.5], xaxis: "x", yaxis: "y", meta: { role: "best" } }],
    progress: { batches: 10 },
  };
};

test("ViewFrame.full: the derived traces first (for appending), overlays moved, the note", () => {
  const m = model();
  const frame = new ViewFrame();
  const view = { ...VIEW_DEFAULTS, smoothing: 0.5, log_y: ["loss"], x_axis: "time" };
  const out = frame.full({ ...m, view, dark: false, width: 800, live: true, zoom: {}, robust: false });
  assert.deepEqual(out.traces.map((t) => t.meta.role), ["raw", "metric"]);
  assert.equal(out.data[0].uid, `${out.traces[0].uid}`);
  assert.deepEqual(out.data[1].x, [1.5, 3, 4.5, 6]);
  const best = out.data.find((t) => t.meta?.role === "best");
  assert.deepEqual(best.x, [4.5], "the best star at epoch 3's time");
  assert.ok(out.data.some((t) => t.meta?.role === "headroom"));
  assert.equal(out.layout.yaxis.type, "log");
  assert.equal(out.layout.xaxis.title.text, "time (s)");
  assert.equal(out.layout.shapes[0].x0, 4.5);
  assert.equal(out.note, "1 value <= 0 not shown on log scale");
  assert.deepEqual(out.panels, [{ axis: "y", family: "loss" }]);
  // a new layout between full frames keeps the view's settings
  assert.equal(frame.layout(m.layout).yaxis.type, "log");
});

test("ViewFrame.full: an axis that cannot be drawn says so; robust y sets ranges", () => {
  const m = model();
  m.traces[0].customdata = undefined;
  m.progress = {};
  const frame = new ViewFrame();
  const timeless = frame.full({ ...m, view: { ...VIEW_DEFAULTS, x_axis: "time", robust_y: true }, dark: true, width: 800, live: false, zoom: {}, robust: true });
  assert.match(timeless.note, /^time unknown/);
  assert.equal(timeless.layout.xaxis.title.text, "epoch");
  assert.equal(timeless.layout.xaxis.dtick, 1);
  assert.equal(timeless.layout.yaxis.autorange, false, "robust: a fixed range");
  // run of 4 epochs: the first is left out: 1, 0.5, 0 -> [-0.05, 1.05]
  assert.deepEqual(timeless.layout.yaxis.range.map((v) => Math.round(v * 1000) / 1000), [-0.05, 1.05]);
  assert.equal(timeless.layout.paper_bgcolor, DARK_PALETTE.background);
  assert.equal(frameNote({ axisNote: "", panels: [{ axis: "y", family: "loss" }, { axis: "y2", family: "acc" }] }, new Map([["y2", 2]])), "acc: 2 values <= 0 not shown on log scale");
  assert.deepEqual(xExtents([{ x: [3, 1, null], xaxis: "x2" }, { x: [5] }]), { x2: [1, 3], x: [5, 5] });
});
