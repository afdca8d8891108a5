import assert from "node:assert/strict";
import { test } from "node:test";
import { logNote, logSafe, quantile, robustRange, robustSkip } from "../src/scales.js";

const near = (actual, expected, eps = 1e-9) => {
  assert.ok(actual, "a range");
  assert.ok(Math.abs(actual[0] - expected[0]) < eps && Math.abs(actual[1] - expected[1]) < eps, `${actual} != ${expected}`);
};

test("logSafe: values <= 0 become gaps and are counted; gaps stay gaps", () => {
  assert.deepEqual(logSafe([1, 0, -2, null, 3, Number.NaN]), { values: [1, null, null, null, 3, null], hidden: 2 });
  assert.deepEqual(logSafe([]), { values: [], hidden: 0 });
});

test("logNote says how many values are not shown", () => {
  assert.equal(logNote(3), "3 values <= 0 not shown on log scale");
  assert.equal(logNote(1), "1 value <= 0 not shown on log scale");
  assert.equal(logNote(1234), "1,234 values <= 0 not shown on log scale");
  assert.equal(logNote(0), "");
});

test("quantile interpolates between sorted values", () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.equal(quantile([7], 0.99), 7);
});

test("robustSkip: the first 10% of the epochs, the first epoch of a short run, nothing under 3", () => {
  assert.equal(robustSkip(2), -Infinity);
  assert.equal(robustSkip(3), 1);
  assert.equal(robustSkip(9), 1);
  assert.equal(robustSkip(10), 1);
  assert.equal(robustSkip(50), 5);
});

test("robustRange leaves the first epochs' spike out and pads by 5%", () => {
  const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const y = [50, 9, 8, 7, 6, 5, 4, 3, 2, 1];
  // x > 1: 9 ... 1, span 8, pad 0.4
  near(robustRange([{ x, y }], { skipBelow: robustSkip(10) }), [0.6, 9.4]);
  // nothing skipped: the spike sets the top
  near(robustRange([{ x, y }]), [1 - 2.45, 50 + 2.45]);
});

test("robustRange on a log axis works in log10 and leaves values <= 0 out", () => {
  const x = [1, 2, 3, 4];
  const y = [1000, 100, 0, 1];
  // kept (x > 1): 100, 1 (0 left out) -> log10: 2, 0; pad 0.1
  near(robustRange([{ x, y }], { log: true, skipBelow: 1 }), [-0.1, 2.1]);
});

test("robustRange spans the 1%-99% quantiles of batch curves and the whole epoch curves", () => {
  const bx = Array.from({ length: 101 }, (_, i) => 2 + i / 100);
  const by = Array.from({ length: 101 }, (_, i) => i); // 0..100: quantiles 1 and 99
  by[50] = 1e6; // one outlier batch
  const range = robustRange([{ x: bx, y: by, batch: true }], { skipBelow: 1 });
  // sorted: 0..49, 51..100, 1e6: q(0.01) = 1, q(0.99) = 100 (index 99 of 100)
  near(range, [1 - 4.95, 100 + 4.95]);
  // an epoch curve counts whole: its 150 widens the top
  near(robustRange([{ x: bx, y: by, batch: true }, { x: [2, 3], y: [150, 20] }], { skipBelow: 1 }), [1 - 7.45, 150 + 7.45]);
});

test("robustRange: nothing left gives null; a flat curve gets a margin", () => {
  assert.equal(robustRange([{ x: [1], y: [5] }], { skipBelow: 1 }), null);
  assert.equal(robustRange([]), null);
  near(robustRange([{ x: [2, 3], y: [4, 4] }]), [3.8, 4.2]);
});
