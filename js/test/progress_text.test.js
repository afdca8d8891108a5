import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatClock,
  formatDuration,
  formatNumber,
  formatProgress,
  progressFraction,
  progressText,
} from "../src/progress_text.js";

test("formatDuration", () => {
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(44.6), "45s");
  assert.equal(formatDuration(185), "3m 05s");
  assert.equal(formatDuration(59.7), "1m 00s");
  assert.equal(formatDuration(3720), "1h 02m");
  assert.equal(formatDuration(26 * 3600 + 59), "26h 00m");
  assert.equal(formatDuration(-3), "0s");
  assert.equal(formatDuration(null), "");
  assert.equal(formatDuration(Number.NaN), "");
});

test("formatClock", () => {
  assert.equal(formatClock(12), "0:12");
  assert.equal(formatClock(40), "0:40");
  assert.equal(formatClock(185), "3:05");
  assert.equal(formatClock(3723), "1:02:03");
  assert.equal(formatClock(undefined), "");
});

test("formatNumber like Keras's progress bar", () => {
  assert.equal(formatNumber(0.30121), "0.3012");
  assert.equal(formatNumber(1.2e-5), "1.2e-05");
  assert.equal(formatNumber(1.23456e-4), "1.2346e-04");
  assert.equal(formatNumber(-2.5e-7), "-2.5e-07");
  assert.equal(formatNumber(0.001), "1e-03");
  assert.equal(formatNumber(1), "1.0000");
  assert.equal(formatNumber(12345.678), "12345.6780");
  assert.equal(formatNumber(0), "0.0000");
  assert.equal(formatNumber("nan"), "nan");
  assert.equal(formatNumber(Number.POSITIVE_INFINITY), "inf");
});

const progress = {
  status: "training",
  epoch: 3,
  epochs: 20,
  batch: 12,
  batches: 180,
  elapsed: 12,
  eta: 40,
  logs: { loss: 0.30121 },
  message: null,
};

test("formatProgress gives the parts of the progress line", () => {
  assert.equal(progressText(progress), "Epoch 3/20 · batch 12/180 · 0:12 elapsed · ETA 0:40 · loss 0.3012 · training");
  assert.deepEqual(
    formatProgress(progress).map((p) => p.kind),
    ["epoch", "batch", "elapsed", "eta", "metric", "status"],
  );
});

test("formatProgress leaves out what is missing and appends the message", () => {
  assert.deepEqual(formatProgress(null), []);
  assert.equal(progressText({ status: "waiting" }), "waiting");
  assert.equal(
    progressText({ status: "stopped", epoch: 7, epochs: null, eta: null, logs: {}, message: "no improvement in 3 epochs" }),
    "Epoch 7 · stopped · no improvement in 3 epochs",
  );
  assert.equal(progressText({ status: "failed", message: "ValueError: bad" }), "failed · ValueError: bad");
});

test("formatProgress keeps a hostile metric name as plain text", () => {
  const name = "<img src=x onerror=alert(1)>";
  const parts = formatProgress({ ...progress, logs: { [name]: 1e-5, acc: "nan" } });
  const metric = parts.filter((p) => p.kind === "metric");
  assert.deepEqual(metric, [
    { text: "<img src=x onerror=alert(1)> 1e-05", kind: "metric" },
    { text: "acc nan", kind: "metric" },
  ]);
  for (const part of parts) assert.equal(typeof part.text, "string");
});

test("progressFraction: epochs plus the batch fraction", () => {
  assert.equal(progressFraction(progress), (2 + 12 / 180) / 20);
  assert.equal(progressFraction({ epoch: 20, epochs: 20, batch: 180, batches: 180 }), 1);
  assert.equal(progressFraction({ status: "stopped", epoch: 5, epochs: 20 }), 0.25);
  assert.equal(progressFraction({ status: "training", epoch: 5, epochs: 20 }), 0.2);
  assert.equal(progressFraction({ status: "waiting" }), 0);
  assert.equal(progressFraction({ epoch: 1, epochs: 0 }), 0);
  assert.equal(progressFraction({ epoch: 3, epochs: 2, batch: 9, batches: 3 }), 1);
});
