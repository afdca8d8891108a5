// The EMA against values computed by hand (TensorBoard's rule: last = last*w +
// (1-w)*v from 0, divided by 1 - w**n with n the finite values so far).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SMOOTHING_MAX,
  SmoothedSeries,
  clampSmoothing,
  ema,
  isSmoothable,
  metricFamily,
} from "../src/smoothing.js";

const close = (actual, expected, eps = 1e-12) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => {
    if (expected[i] === null || Number.isNaN(expected[i])) assert.ok(Number.isNaN(v), `index ${i}: a gap (NaN), not ${v}`);
    else assert.ok(Math.abs(v - expected[i]) < eps, `index ${i}: ${v} != ${expected[i]}`);
  });
};

test("ema debiases like TensorBoard: w=0.5 over 1, 2, 3 gives 1, 5/3, 17/7", () => {
  // last: 0.5, 1.25, 2.125; debias: 1-0.5, 1-0.25, 1-0.125
  close(ema([1, 2, 3], 0.5), [1, 5 / 3, 17 / 7]);
  // the first point is the value itself whatever the weight (not pulled toward 0)
  close(ema([4, 0], 0.9), [4, (0.9 * 0.4) / (1 - 0.81)]);
});

test("ema: gaps stay gaps, and neither reset nor poison the average", () => {
  close(ema([1, null, 2], 0.5), [1, null, 5 / 3]);
  close(ema([null, 1, 2], 0.5), [null, 1, 5 / 3]);
  close(ema([1, Number.NaN, Infinity, 2], 0.5), [1, null, null, 5 / 3]);
});

test("ema: weight 0 is the series; a constant series is returned exactly (TensorBoard #786)", () => {
  assert.deepEqual(ema([3, 1, 2], 0), [3, 1, 2]);
  assert.deepEqual(ema([0.1, 0.1, 0.1, 0.1], 0.9), [0.1, 0.1, 0.1, 0.1]);
  assert.deepEqual(ema([], 0.5), []);
});

test("SmoothedSeries continues the EMA as the source grows, in the same array", () => {
  const src = [1, 2];
  const s = new SmoothedSeries(0.5);
  const first = s.sync(src, 2);
  close(first, [1, 5 / 3]);
  src.push(3, null, 7);
  const next = s.sync(src, 5);
  assert.equal(next, first, "appended in place");
  close(next, ema(src, 0.5));
  // a replaced or shrunk source starts over
  const other = [5, 5, 1];
  close(s.sync(other, 3), ema(other, 0.5));
});

test("SmoothedSeries: a constant series passed through, then smoothed from the start once it changes", () => {
  const src = [2, 2, 2];
  const s = new SmoothedSeries(0.9);
  assert.deepEqual([...s.sync(src, 3)], [2, 2, 2]);
  src.push(1);
  const out = s.sync(src, 4);
  assert.deepEqual(out, ema(src, 0.9));
  for (let i = 0; i < 50; i++) src.push(Math.sin(i));
  assert.deepEqual(s.sync(src, src.length), ema(src, 0.9), "identical to a fresh computation");
});

test("only metric and batch curves are smoothed, never the learning rate or marks", () => {
  assert.ok(isSmoothable({ name: "loss", meta: { role: "metric" } }));
  assert.ok(isSmoothable({ name: "val_accuracy", meta: { role: "metric" } }));
  assert.ok(isSmoothable({ name: "loss (batch)", meta: { role: "batch" } }));
  for (const name of ["learning_rate", "lr", "val_lr", "val_learning_rate", "lr (batch)", "learning_rate (batch)"]) {
    assert.ok(!isSmoothable({ name, meta: { role: "metric" } }), name);
    assert.ok(!isSmoothable({ name, meta: { role: "batch" } }), name);
  }
  for (const role of ["best", "stop", "partial", "checkpoint", "non_finite", "headroom", "raw"]) {
    assert.ok(!isSmoothable({ name: "loss", meta: { role } }), role);
  }
  assert.ok(!isSmoothable({ name: "loss" }));
  assert.ok(!isSmoothable(null));
});

test("metricFamily is core/history.py's metric_family", () => {
  assert.equal(metricFamily("val_loss"), "loss");
  assert.equal(metricFamily("val_f1_score[2]"), "f1_score");
  assert.equal(metricFamily("m[0,1]"), "m");
  assert.equal(metricFamily("val_"), "val_");
  assert.equal(metricFamily("loss (batch)"), "loss");
});

test("clampSmoothing keeps 0..0.99", () => {
  assert.equal(SMOOTHING_MAX, 0.99);
  assert.equal(clampSmoothing(0.6), 0.6);
  assert.equal(clampSmoothing(1), 0.99);
  assert.equal(clampSmoothing(-1), 0);
  assert.equal(clampSmoothing(Number.NaN), 0);
  assert.equal(clampSmoothing("0.5"), 0);
});
