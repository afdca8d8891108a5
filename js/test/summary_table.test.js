import assert from "node:assert/strict";
import { test } from "node:test";
import { SUMMARY_HEADER, formatSeconds, formatSummary, formatValue } from "../src/summary_table.js";
import { normalizeView, withLog } from "../src/view.js";

test("formatValue: 4 significant digits, exponents for the very large and small", () => {
  assert.equal(formatValue(0.123456), "0.1235");
  assert.equal(formatValue(2.3), "2.3");
  assert.equal(formatValue(1234.5), "1235");
  assert.equal(formatValue(0.00012), "1.20e-4");
  assert.equal(formatValue(123456), "1.23e+5");
  assert.equal(formatValue(0), "0");
  assert.equal(formatValue(null), "–");
  assert.equal(formatValue(Number.NaN), "–");
});

test("formatSeconds", () => {
  assert.equal(formatSeconds(0.25), "250 ms");
  assert.equal(formatSeconds(12.345), "12.3 s");
  assert.equal(formatSeconds(125), "2 min 5 s");
  assert.equal(formatSeconds(null), "");
});

test("formatSummary: a row per metric, the best with its direction, the pace below", () => {
  const view = formatSummary({
    rows: [
      { metric: "loss", last: 0.31, best: 0.29, best_epoch: 7, direction: "min" },
      { metric: "val_sparse_categorical_accuracy", last: 0.9, best: 0.91234, best_epoch: 8, direction: "max" },
      { metric: "lr", last: 0.001, best: null, best_epoch: null, direction: "" },
      { nope: 1 },
    ],
    epoch_seconds: 1.5,
    samples_per_second: 12345.6,
  });
  assert.deepEqual(SUMMARY_HEADER, ["metric", "last", "best", "best epoch"]);
  assert.deepEqual(
    view.rows.map((r) => r.map((c) => c.text)),
    [
      ["loss", "0.31", "0.29 (min)", "7"],
      ["val_sparse_c…al_accuracy", "0.9", "0.9123 (max)", "8"],
      ["lr", "0.001", "–", "–"],
    ],
  );
  assert.equal(view.rows[1][0].title, "val_sparse_categorical_accuracy", "the full name on hover");
  assert.equal(view.rows[0][2].title, "best = lowest");
  assert.equal(view.footer, "epoch 1.5 s · 12,346 samples/s");
});

test("formatSummary: nothing or malformed shows nothing", () => {
  assert.deepEqual(formatSummary(null), { rows: [], footer: "" });
  assert.deepEqual(formatSummary({ rows: "x", epoch_seconds: null, samples_per_second: null }), { rows: [], footer: "" });
});

test("normalizeView: defaults for what is missing or wrong, smoothing clamped to the slider", () => {
  assert.deepEqual(normalizeView(undefined), { smoothing: 0, log_y: ["learning_rate"], x_axis: "epoch", robust_y: false, theme: "auto" });
  assert.deepEqual(
    normalizeView({ smoothing: 0.6, log_y: ["loss", 3, "loss"], x_axis: "step", robust_y: true, theme: "dark" }),
    { smoothing: 0.6, log_y: ["loss"], x_axis: "step", robust_y: true, theme: "dark" },
  );
  assert.equal(normalizeView({ smoothing: 1.5 }).smoothing, 0.99);
  assert.equal(normalizeView({ smoothing: 0.123 }).smoothing, 0.12);
  assert.equal(normalizeView({ x_axis: "wall" }).x_axis, "epoch");
  assert.equal(normalizeView({ theme: "solarized" }).theme, "auto");
  assert.deepEqual(withLog(normalizeView({ log_y: ["acc"] }), "loss", true).log_y, ["acc", "loss"]);
  assert.deepEqual(withLog(normalizeView({ log_y: ["acc", "loss"] }), "acc", false).log_y, ["loss"]);
});

test("formatSummary falls back to steps per second when the batch size is unknown", () => {
  const out = formatSummary({ rows: [], epoch_seconds: 2, steps_per_second: 90.4, samples_per_second: null });
  assert.equal(out.footer, "epoch 2 s · 90 steps/s");
});
