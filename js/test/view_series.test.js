import assert from "node:assert/strict";
import { test } from "node:test";
import { TimeMap } from "../src/axes.js";
import { ema } from "../src/smoothing.js";
import { RAW_OPACITY, ViewSeries, hasTime, markTrace, timeMapOf } from "../src/view_series.js";

const epochTrace = (name, ys, extra = {}) => ({
  type: "scatter",
  name,
  mode: "lines+markers",
  x: ys.map((_, i) => i + 1),
  y: [...ys],
  xaxis: "x",
  yaxis: "y",
  line: { color: "#1f77b4", width: 2 },
  hovertemplate: "%{fullData.name}<br>epoch %{x}: %{y:.4g}<extra></extra>",
  meta: { decimate: true, role: "metric" },
  ...extra,
});
const settings = (over = {}) => ({
  smoothing: 0,
  logAxes: new Set(),
  x: { axis: "epoch", batchesPerEpoch: null, time: null },
  ...over,
});

test("the default view draws the model's traces themselves", () => {
  const traces = [epochTrace("loss", [3, 2, 1]), { name: "checkpoint", x: [2], y: [2], meta: { role: "checkpoint" } }];
  const out = new ViewSeries().derive(traces, settings());
  assert.equal(out.traces.length, 2);
  assert.equal(out.traces[0], traces[0]);
  assert.equal(out.traces[1], traces[1]);
  assert.deepEqual(out.source, [0, 1]);
});

test("smoothing: the smoothed curve in the trace's style, the raw one faint behind it", () => {
  const loss = epochTrace("loss", [1, 2, 3]);
  const lr = epochTrace("learning_rate", [0.1, 0.05, 0.01], { yaxis: "y2" });
  const ckpt = { name: "checkpoint", x: [2], y: [2], meta: { role: "checkpoint" } };
  const out = new ViewSeries().derive([loss, lr, ckpt], settings({ smoothing: 0.5 }));
  assert.deepEqual(out.source, [0, 0, 1, 2]);
  const [raw, main, rate, mark] = out.traces;
  assert.deepEqual(main.y, [1, 5 / 3, 17 / 7]);
  assert.equal(main.line, loss.line);
  assert.deepEqual(raw.y, [1, 2, 3]);
  assert.equal(raw.meta.role, "raw");
  assert.equal(raw.showlegend, false);
  assert.equal(raw.hoverinfo, "skip");
  assert.equal(raw.opacity, RAW_OPACITY);
  assert.notEqual(raw.uid, main.uid);
  assert.equal(rate, lr, "the learning rate is never smoothed");
  assert.equal(mark, ckpt, "marks are never smoothed");
  assert.deepEqual(loss.y, [1, 2, 3], "the model's trace is not changed");
});

test("appended points continue the derived arrays in place", () => {
  const loss = epochTrace("loss", [1, 2]);
  const series = new ViewSeries();
  const s = settings({ smoothing: 0.6, x: { axis: "step", batchesPerEpoch: 10, time: null } });
  const first = series.derive([loss], s).traces;
  const [raw, main] = first;
  const y = main.y;
  loss.x.push(3, 4);
  loss.y.push(null, 5);
  const [raw2, main2] = series.derive([loss], s).traces;
  assert.equal(main2, main, "same objects: the decimation continues");
  assert.equal(raw2, raw);
  assert.equal(main2.y, y, "same array, longer");
  assert.deepEqual(main2.y, ema(loss.y, 0.6));
  assert.deepEqual(main2.x, [10, 20, 30, 40]);
  assert.equal(raw2.x, main2.x);
});

test("a slider move re-smooths the y values; the raw curve and x stay", () => {
  const loss = epochTrace("loss", [4, 2, 3, 1]);
  const series = new ViewSeries();
  const [raw, main] = series.derive([loss], settings({ smoothing: 0.5 })).traces;
  const [raw2, main2] = series.derive([loss], settings({ smoothing: 0.9 })).traces;
  assert.equal(raw2, raw);
  assert.equal(main2, main);
  assert.deepEqual(main2.y, ema(loss.y, 0.9));
  const [off] = series.derive([loss], settings()).traces;
  assert.equal(off, loss, "smoothing 0: the trace itself");
});

test("log y: values <= 0 are gaps, counted per y axis", () => {
  const loss = epochTrace("loss", [2, 0, -1, 0.5]);
  const batch = { ...epochTrace("loss (batch)", [1, -3]), meta: { role: "batch" } };
  const acc = epochTrace("accuracy", [0, 0.5], { yaxis: "y2" });
  const out = new ViewSeries().derive([loss, batch, acc], settings({ logAxes: new Set(["y"]) }));
  const [l, b, a] = out.traces;
  assert.deepEqual(l.y, [2, Number.NaN, Number.NaN, 0.5]);
  assert.deepEqual(b.y, [1, Number.NaN]);
  assert.equal(a, acc, "a linear panel is untouched");
  assert.deepEqual([...out.hidden], [["y", 3]]);
  // smoothed and log: the smoothed values log-safe, the raw ones counted
  const sm = new ViewSeries().derive([loss], settings({ smoothing: 0.5, logAxes: new Set(["y"]) }));
  assert.deepEqual(sm.hidden.get("y"), 2);
  assert.deepEqual(sm.traces[0].y, [2, Number.NaN, Number.NaN, 0.5]);
  const smoothed = ema(loss.y, 0.5).map((v) => (v > 0 ? v : Number.NaN));
  assert.deepEqual(sm.traces[1].y, smoothed);
});

test("time axis: data points at their customdata, marks at the epoch curves' times", () => {
  const loss = epochTrace("loss", [3, 2, 1], { customdata: [10, 20, 40] });
  const ckpt = { name: "checkpoint", x: [2.5], y: [2], meta: { role: "checkpoint" }, hovertemplate: "%{text}" };
  assert.ok(hasTime([loss]));
  assert.ok(!hasTime([epochTrace("loss", [1])]));
  const map = timeMapOf([loss]);
  assert.ok(map instanceof TimeMap);
  const out = new ViewSeries().derive([loss, ckpt], settings({ x: { axis: "time", batchesPerEpoch: null, time: map } }));
  assert.deepEqual(out.traces[0].x, [10, 20, 40]);
  assert.equal(out.traces[0].hovertemplate, "%{fullData.name}<br>%{x:.1f} s: %{y:.4g}<extra></extra>");
  assert.deepEqual(out.traces[1].x, [30]);
  // a point without a time is a gap
  const partial = epochTrace("loss", [3, 2, 1], { customdata: [10, null] });
  assert.deepEqual(new ViewSeries().derive([partial], settings({ x: { axis: "time", batchesPerEpoch: null, time: map } })).traces[0].x, [10, null, null]);
});

test("time axis with runs side by side: the marks follow the current run's times", () => {
  const meta = (run) => ({ decimate: true, role: "metric", metric: "loss", run });
  const old = epochTrace("run 1", [3, 2, 1, 0.5], { customdata: [1, 2, 3, 4], meta: meta(1) });
  const now = epochTrace("loss", [3, 2], { customdata: [10, 20], meta: meta(2) });
  const map = timeMapOf([old, now]);
  const ckpt = { name: "checkpoint", x: [2], y: [2], meta: { role: "checkpoint", run: 2 } };
  const out = new ViewSeries().derive([old, now, ckpt], settings({ x: { axis: "time", batchesPerEpoch: null, time: map } }));
  assert.deepEqual(out.traces[0].x, [1, 2, 3, 4], "the old run at its own seconds");
  assert.deepEqual(out.traces[2].x, [20], "the mark at the current run's time of epoch 2");
});

test("a long metric name is shortened in the legend, the full name kept for the hover", () => {
  const long = "val_sparse_categorical_crossentropy";
  const out = new ViewSeries().derive([epochTrace(long, [1, 2])], settings());
  const [t] = out.traces;
  assert.equal(t.name, "val_sparse_c…rossentropy");
  assert.ok(t.hovertemplate.startsWith(`${long}<br>epoch`), t.hovertemplate);
});

test("markTrace: overlays move to the axis and go log-safe, never smoothed", () => {
  const partial = { x: [3], y: [0], hovertemplate: "epoch %{x}", meta: { role: "partial" } };
  const moved = markTrace(partial, { axis: "step", batchesPerEpoch: 100, time: null }, true);
  assert.deepEqual(moved.x, [300]);
  assert.deepEqual(moved.y, [null]);
  assert.equal(moved.hovertemplate, "step %{x}");
  assert.equal(markTrace(partial, { axis: "epoch", batchesPerEpoch: null, time: null }, false), partial);
});
