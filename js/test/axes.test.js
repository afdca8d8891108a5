import assert from "node:assert/strict";
import { test } from "node:test";
import {
  TimeMap,
  X_TITLES,
  batchesPerEpoch,
  hoverFor,
  markX,
  moveLayoutMarks,
  moveTrace,
  resolveXAxis,
  shortHtml,
  shortName,
  toStep,
  wholeTicks,
  zoomAfterRelayout,
} from "../src/axes.js";

test("resolveXAxis draws epochs, with a note, when steps or times are unknown", () => {
  assert.deepEqual(resolveXAxis("epoch", { batchesPerEpoch: null, hasTime: false }), { axis: "epoch", note: "" });
  assert.deepEqual(resolveXAxis("step", { batchesPerEpoch: 180, hasTime: false }), { axis: "step", note: "" });
  assert.deepEqual(resolveXAxis("time", { batchesPerEpoch: null, hasTime: true }), { axis: "time", note: "" });
  const noSteps = resolveXAxis("step", { batchesPerEpoch: null, hasTime: true });
  assert.equal(noSteps.axis, "epoch");
  assert.match(noSteps.note, /^step unknown/);
  const noTime = resolveXAxis("time", { batchesPerEpoch: 10, hasTime: false });
  assert.equal(noTime.axis, "epoch");
  assert.match(noTime.note, /^time unknown/);
  assert.deepEqual(resolveXAxis("bogus", { batchesPerEpoch: 10, hasTime: true }), { axis: "epoch", note: "" });
  assert.deepEqual(X_TITLES, { epoch: "epoch", step: "step", time: "time (s)" });
});

test("batchesPerEpoch comes from the progress trait", () => {
  assert.equal(batchesPerEpoch({ batches: 180 }), 180);
  assert.equal(batchesPerEpoch({ batches: null }), null);
  assert.equal(batchesPerEpoch({ batches: 0 }), null);
  assert.equal(batchesPerEpoch(null), null);
});

test("toStep: epoch e ends at step e*batches; batch points at their global step", () => {
  assert.equal(toStep(3, 180), 540);
  assert.equal(toStep(2.5, 10), 25);
  // batch 1 of epoch 1 of 180: batch_x rounds 1/180 to 0.0056 -> step 1
  assert.equal(toStep(0.0056, 180, true), 1);
  assert.equal(toStep(2.0056, 180, true), 361);
  assert.equal(toStep(0.5, 180), 90, "a mark at half an epoch");
  assert.equal(toStep(null, 180), null);
});

test("TimeMap interpolates epoch -> seconds, from (0, 0) before and at the mean pace after", () => {
  const map = new TimeMap([1, 2, 3], [10, 20, 40]);
  assert.equal(map.at(2), 20);
  assert.equal(map.at(2.5), 30);
  assert.equal(map.at(0.5), 5);
  assert.equal(map.at(4), 55, "pace (40-10)/(3-1) = 15 s per epoch");
  assert.equal(map.at(null), null);
  assert.equal(new TimeMap([], []).at(1), null);
  // gaps and non-increasing x are skipped
  const gappy = new TimeMap([1, null, 2, 2, 3], [1, 5, 2, 9, null]);
  assert.deepEqual([gappy.xs, gappy.ts], [[1, 2], [1, 2]]);
});

test("marks move with the axis: shapes and annotations on x axes, not on paper", () => {
  const layout = {
    shapes: [
      { type: "rect", xref: "x2", yref: "y2 domain", x0: 4, x1: 8 },
      { type: "line", xref: "paper", x0: 0, x1: 1 },
    ],
    annotations: [{ xref: "x2", x: 6, text: "2 epochs left" }, { xref: "paper", x: 0.5 }],
  };
  const step = moveLayoutMarks(layout, { axis: "step", batchesPerEpoch: 10, time: null });
  assert.deepEqual([step.shapes[0].x0, step.shapes[0].x1], [40, 80]);
  assert.deepEqual([step.shapes[1].x0, step.shapes[1].x1], [0, 1]);
  assert.equal(step.annotations[0].x, 60);
  assert.equal(step.annotations[1].x, 0.5);
  assert.equal(layout.shapes[0].x0, 4, "the trait is not changed");
  const time = moveLayoutMarks(layout, { axis: "time", batchesPerEpoch: null, time: new TimeMap([4, 8], [40, 100]) });
  assert.deepEqual([time.shapes[0].x0, time.shapes[0].x1], [40, 100]);
  assert.equal(time.annotations[0].x, 70);
  assert.equal(moveLayoutMarks(layout, { axis: "epoch", batchesPerEpoch: 10, time: null }), layout);
});

test("overlay traces move too, and their hover names the unit", () => {
  const star = { x: [5], y: [0.1], hovertemplate: "best at epoch %{x}: %{y}" };
  const moved = moveTrace(star, { axis: "step", batchesPerEpoch: 4, time: null });
  assert.deepEqual(moved.x, [20]);
  assert.equal(moved.hovertemplate, "best at step %{x}: %{y}");
  assert.equal(hoverFor("%{fullData.name}<br>epoch %{x:.2f}: %{y:.4g}", "time"), "%{fullData.name}<br>%{x:.1f} s: %{y:.4g}");
  assert.equal(hoverFor("epoch %{x}", "epoch"), "epoch %{x}");
  assert.equal(markX(3, { axis: "time", batchesPerEpoch: null, time: null }), 3, "no map: left as is");
});

test("wholeTicks puts ticks on whole numbers: 1 at most for short runs, 1/2/5 x 10^k", () => {
  assert.deepEqual(wholeTicks(0.8, 2.2, 800), { tickmode: "linear", tick0: 0, dtick: 1 });
  assert.equal(wholeTicks(0, 1, 300).dtick, 1);
  assert.equal(wholeTicks(0, 10000, 800).dtick, 1000); // 10 ticks: 1000
  assert.equal(wholeTicks(0, 3000, 400).dtick, 1000); // 5 ticks: 600 -> 1000
  assert.equal(wholeTicks(0, 30, 400).dtick, 10); // 6 -> 10
  assert.equal(wholeTicks(0, 16, 400).dtick, 5); // 3.2 -> 5
  assert.equal(wholeTicks(0, 8, 400).dtick, 2); // 1.6 -> 2
});

test("shortName keeps at most 24 characters with an ellipsis in the middle", () => {
  assert.equal(shortName("val_loss"), "val_loss");
  const long = "val_sparse_categorical_crossentropy";
  const short = shortName(long);
  assert.equal(short, "val_sparse_c…rossentropy");
  assert.equal([...short].length, 24);
  assert.equal(shortName("abcdefghij", 5), "ab…ij");
});

test("shortHtml never cuts an entity in half", () => {
  assert.equal(shortHtml("a&amp;b"), "a&amp;b");
  const name = `${"&lt;".repeat(30)}x`; // 31 characters once unescaped
  const short = shortHtml(name);
  assert.ok(!/&(?!lt;|amp;|gt;)/.test(short), short);
  assert.ok(short.includes("…"));
});

test("zoomAfterRelayout follows zooms, pans and autoscale", () => {
  assert.deepEqual(zoomAfterRelayout({}, { "xaxis.range[0]": 2, "xaxis.range[1]": 5 }), { x: [2, 5] });
  assert.deepEqual(zoomAfterRelayout({ x: [2, 5] }, { "xaxis2.range": [7, 3] }), { x: [2, 5], x2: [3, 7] });
  assert.deepEqual(zoomAfterRelayout({ x: [2, 5], x2: [3, 7] }, { "xaxis.autorange": true }), { x2: [3, 7] });
  assert.deepEqual(zoomAfterRelayout({ x: [2, 5] }, { "xaxis.range[1]": 6 }), { x: [2, 6] });
  assert.equal(zoomAfterRelayout({ x: [2, 5] }, { "xaxis.range[0]": 2, "xaxis.range[1]": 5 }), null, "unchanged");
  assert.equal(zoomAfterRelayout({}, { autosize: true }), null);
  assert.equal(zoomAfterRelayout({}, { "yaxis.range[0]": 1, "yaxis.range[1]": 2 }), null, "y zooms keep the decimation");
  assert.equal(zoomAfterRelayout({}, { "xaxis.autorange": true }), null);
});
