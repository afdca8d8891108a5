import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BUCKETS_PER_PX,
  HEADROOM,
  MIN_MARKER_SPACING_PX,
  applyExtend,
  axisWidths,
  createDisplayCache,
  decimate,
  displayData,
  extendProgress,
  headroomTraces,
  pointCount,
} from "../src/traces.js";

const trace = (n = 0) => ({
  type: "scatter",
  name: "loss",
  x: Array.from({ length: n }, (_, i) => i + 1),
  y: Array.from({ length: n }, (_, i) => 1 / (i + 1)),
  meta: { decimate: true },
});
const extend = (run, points) => ({ type: "extend", run, points });

test("applyExtend appends at the offset and reports the changed traces", () => {
  const traces = [trace(2), trace(0)];
  const changed = applyExtend(traces, extend(1, [{ trace: 0, offset: 2, x: [3], y: [0.3] }]), 1);
  assert.deepEqual([...changed], [0]);
  assert.deepEqual(traces[0].x, [1, 2, 3]);
  assert.deepEqual(traces[0].y, [1, 0.5, 0.3]);
  assert.deepEqual(traces[1].x, []);
});

test("applyExtend skips points already present (duplicate message, newer snapshot, second view)", () => {
  const traces = [trace(2)];
  const msg = extend(0, [{ trace: 0, offset: 2, x: [3, 4], y: [0.3, 0.25] }]);
  assert.equal(applyExtend(traces, msg, 0).size, 1);
  // the same message again (another view of the same model): nothing changes
  assert.equal(applyExtend(traces, msg, 0).size, 0);
  assert.deepEqual(traces[0].x, [1, 2, 3, 4]);
  // an old message after a state snapshot that already holds part of it
  const snapshot = [trace(3)];
  applyExtend(snapshot, extend(0, [{ trace: 0, offset: 2, x: [3, 4], y: [1 / 3, 0.25] }]), 0);
  assert.deepEqual(snapshot[0].x, [1, 2, 3, 4]);
  assert.deepEqual(snapshot[0].y, [1, 0.5, 1 / 3, 0.25]);
});

test("applyExtend ignores messages of another run and other message types", () => {
  const traces = [trace(1)];
  assert.equal(applyExtend(traces, extend(2, [{ trace: 0, offset: 1, x: [2], y: [3] }]), 3).size, 0);
  assert.equal(applyExtend(traces, { type: "other", run: 3, points: [{ trace: 0, offset: 1, x: [2] }] }, 3).size, 0);
  assert.equal(applyExtend(traces, null, 3).size, 0);
  assert.equal(applyExtend(traces, extend(3, "nope"), 3).size, 0);
  assert.deepEqual(traces[0].x, [1]);
});

test("applyExtend creates new keys (text, customdata) aligned with the offset", () => {
  const traces = [trace(2)];
  applyExtend(
    traces,
    extend(0, [{ trace: 0, offset: 2, x: [3], y: [0.3], text: ["best"], customdata: [[3, "ckpt.keras"]] }]),
    0,
  );
  assert.deepEqual(traces[0].text, [null, null, "best"]);
  assert.deepEqual(traces[0].customdata, [null, null, [3, "ckpt.keras"]]);
  applyExtend(traces, extend(0, [{ trace: 0, offset: 3, x: [4], y: [0.2], text: ["x"] }]), 0);
  assert.deepEqual(traces[0].text, [null, null, "best", "x"]);
});

test("applyExtend pads a lost message's points as a gap and keeps indices aligned", () => {
  const traces = [trace(2)];
  applyExtend(traces, extend(0, [{ trace: 0, offset: 4, x: [5], y: [0.2] }]), 0);
  assert.deepEqual(traces[0].x, [1, 2, null, null, 5]);
  assert.deepEqual(traces[0].y, [1, 0.5, null, null, 0.2]);
});

test("applyExtend ignores unknown traces, scalars of the same name and prototype keys", () => {
  const traces = [{ ...trace(1), text: "a label" }];
  const msg = JSON.parse(
    '{"type":"extend","run":0,"points":[{"trace":5,"offset":0,"x":[1]},{"trace":0,"offset":1,"x":[2],"y":[2],"text":["t"],"__proto__":[1]}]}',
  );
  assert.deepEqual([...applyExtend(traces, msg, 0)], [0]);
  assert.equal(traces[0].text, "a label");
  assert.deepEqual(traces[0].x, [1, 2]);
  assert.equal(Object.getPrototypeOf(traces[0]), Object.prototype);
  assert.equal(Array.prototype.length, 0);
});

test("decimate returns short input unchanged", () => {
  const x = [1, 2, 3];
  const y = [3, 1, 2];
  const out = decimate(x, y, 10);
  assert.equal(out.x, x);
  assert.equal(out.y, y);
  assert.equal(out.index, null);
});

/** Deterministic pseudo-random numbers. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("decimate keeps the min and the max of every bucket, in order", () => {
  const n = 10_007;
  const r = rng(1);
  const x = Array.from({ length: n }, (_, i) => i);
  const y = Array.from({ length: n }, () => r() * 10 - 5);
  const out = decimate(x, y, 100);
  assert.ok(out.index && out.index.length <= 2 * 100 * 2);
  const size = out.bucketSize;
  assert.ok(Math.ceil(n / size) <= 100, "at most maxBuckets buckets");
  const kept = new Set(out.index);
  for (let start = 0; start < n; start += size) {
    const bucket = y.slice(start, start + size);
    const lo = Math.min(...bucket);
    const hi = Math.max(...bucket);
    assert.ok(kept.has(start + bucket.indexOf(lo)), `min of bucket at ${start}`);
    assert.ok(kept.has(start + bucket.indexOf(hi)), `max of bucket at ${start}`);
  }
  for (let j = 1; j < out.index.length; j++) assert.ok(out.index[j] > out.index[j - 1]);
  out.index.forEach((i, j) => {
    assert.equal(out.x[j], x[i]);
    assert.equal(out.y[j], y[i]);
  });
});

test("decimate keeps gaps as gaps", () => {
  const n = 5000;
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const y = Array.from({ length: n }, (_, i) => (i >= 2000 && i < 2003 ? null : Math.sin(i / 50)));
  const out = decimate(x, y, 50);
  assert.ok(out.y.length < n);
  const gapAt = out.y.findIndex((v) => v === null);
  assert.ok(gapAt > 0, "a null is kept");
  assert.ok(out.x[gapAt] >= 2001 && out.x[gapAt] <= 2003, "at the gap's place");
  assert.ok(out.y[gapAt - 1] !== null && out.y[out.y.length - 1] !== null);
  assert.equal(out.y.filter((v) => v === null).length <= 2, true);
  // a null x is a gap too
  const x2 = x.slice();
  x2[4000] = null;
  const out2 = decimate(x2, y.map((v) => v ?? 0), 50);
  assert.ok(out2.y.some((v) => v === null));
});

test("decimate 1,000,000 points in well under a second", () => {
  const n = 1_000_000;
  const x = new Array(n);
  const y = new Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = i / 100;
    y[i] = Math.exp(-i / 3e5) + 0.1 * Math.sin(i);
  }
  decimate(x, y, 2000); // warm up
  const t0 = performance.now();
  const out = decimate(x, y, 2000);
  const ms = performance.now() - t0;
  console.log(`# decimate 1,000,000 points -> ${out.x.length}: ${ms.toFixed(1)} ms`);
  assert.ok(out.x.length <= 4 * 2000);
  assert.ok(ms < 500, `${ms} ms`);
});

test("displayData leaves short traces whole, copies the arrays, honours meta.decimate=false", () => {
  const t = trace(10);
  const [out] = displayData([t], 800, createDisplayCache());
  assert.deepEqual(out.x, t.x);
  assert.notEqual(out.x, t.x, "a new array, so Plotly.react sees in-place appends");
  assert.equal(out.name, "loss");
  const long = { ...trace(10_000), meta: { decimate: false } };
  const [whole] = displayData([long], 100, createDisplayCache());
  assert.equal(whole.x.length, 10_000);
  const [cut] = displayData([trace(10_000)], 100, createDisplayCache());
  assert.ok(cut.x.length < 1000);
});

test("displayData returns the same object while a trace does not grow", () => {
  const cache = createDisplayCache();
  const traces = [trace(5000), trace(3)];
  const a = displayData(traces, 500, cache);
  const b = displayData(traces, 500, cache);
  assert.equal(a[0], b[0]);
  assert.equal(a[1], b[1]);
  applyExtend(traces, extend(0, [{ trace: 1, offset: 3, x: [4], y: [0.25] }]), 0);
  const c = displayData(traces, 500, cache);
  assert.equal(c[0], a[0]);
  assert.notEqual(c[1], a[1]);
  assert.deepEqual(c[1].y, [1, 0.5, 1 / 3, 0.25]);
});

test("displayData gathers per-point arrays (text, customdata, marker.color) with the kept points", () => {
  const t = trace(5000);
  t.text = t.x.map((v) => `epoch ${v}`);
  t.marker = { size: 4, color: t.x.map((v) => (v % 2 ? "red" : "blue")) };
  const [out] = displayData([t], 100, createDisplayCache());
  out.x.forEach((xv, j) => {
    assert.equal(out.text[j], `epoch ${xv}`);
    assert.equal(out.marker.color[j], xv % 2 ? "red" : "blue");
  });
  assert.equal(out.marker.size, 4);
});

/** A figure of 6 traces of 10,000 epochs and one of 1,000,000 batch points. */
function bigFigure() {
  const r = rng(7);
  const traces = [];
  for (let k = 0; k < 6; k++) {
    const t = trace(0);
    for (let i = 0; i < 10_000; i++) {
      t.x.push(i + 1);
      t.y.push(i % 997 === 5 ? null : 1 / (i + 1) + 0.05 * r());
    }
    traces.push(t);
  }
  const batches = trace(0);
  for (let i = 0; i < 1_000_000; i++) {
    batches.x.push(i / 100);
    batches.y.push(Math.exp(-i / 3e5) + 0.1 * r());
  }
  traces.push(batches);
  return { traces, r };
}

test("displayData after a few more points: fast, and equal to a fresh computation", () => {
  const { traces, r } = bigFigure();
  const cache = createDisplayCache();
  const width = 900;
  let t0 = performance.now();
  displayData(traces, width, cache);
  const first = performance.now() - t0;
  const times = [];
  for (let step = 0; step < 60; step++) {
    const points = traces.map((t, k) => {
      const count = k === 6 ? 20 : 1;
      const x0 = t.x.length;
      return {
        trace: k,
        offset: x0,
        x: Array.from({ length: count }, (_, i) => (k === 6 ? (x0 + i) / 100 : x0 + i + 1)),
        y: Array.from({ length: count }, () => r()),
      };
    });
    applyExtend(traces, extend(0, points), 0);
    t0 = performance.now();
    displayData(traces, width, cache);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(
    `# displayData 6 x 10,000 + 1,000,000 points: first ${first.toFixed(1)} ms, incremental median ${median.toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms`,
  );
  assert.ok(median < 16, `median ${median} ms`);
  const incremental = displayData(traces, width, cache);
  const fresh = displayData(traces, width, createDisplayCache());
  assert.deepEqual(incremental, fresh);
  // and after the width changes both ways
  assert.deepEqual(displayData(traces, 300, cache), displayData(traces, 300, createDisplayCache()));
  assert.deepEqual(displayData(traces, 1200, cache), displayData(traces, 1200, createDisplayCache()));
});

test("incremental decimation equals a fresh one at every length, across bucket-size doublings", () => {
  const r = rng(3);
  const t = trace(0);
  const cache = createDisplayCache();
  for (let n = 0; n < 3000; ) {
    const add = 1 + Math.floor(r() * 40);
    for (let i = 0; i < add; i++, n++) {
      t.x.push(n);
      t.y.push(r() < 0.01 ? null : Math.round(r() * 20)); // many ties
    }
    assert.deepEqual(displayData([t], 50, cache), displayData([t], 50, createDisplayCache()), `n=${n}`);
  }
});

test("displayData drops the markers of a line once they are denser than one per few pixels", () => {
  const width = 800;
  const few = { ...trace(width / MIN_MARKER_SPACING_PX), mode: "lines+markers" };
  const many = { ...trace(width / MIN_MARKER_SPACING_PX + 1), mode: "lines+markers" };
  const dots = { ...trace(5000), mode: "markers" };
  const kept = { ...trace(5000), mode: "lines+markers", meta: { decimate: false } };
  const out = displayData([few, many, dots, kept], width, createDisplayCache());
  assert.deepEqual(
    out.map((t) => t.mode),
    ["lines+markers", "lines", "markers", "lines+markers"],
  );
  assert.equal(many.mode, "lines+markers", "the model's trace is not touched");
});

test("pointCount", () => {
  assert.equal(pointCount([]), 0);
  assert.equal(pointCount([trace(0), trace(0)]), 0);
  assert.equal(pointCount([trace(2), trace(3)]), 5);
  assert.equal(pointCount(undefined), 0);
});

test("decimate keeps the first and the last point of the line", () => {
  const n = 10_000;
  const x = Array.from({ length: n }, (_, i) => i);
  // the ends are neither a minimum nor a maximum of their buckets
  const y = Array.from({ length: n }, (_, i) => Math.sin(i / 3));
  y[0] = 0;
  y[n - 1] = 0;
  const out = decimate(x, y, 50);
  assert.equal(out.index?.[0], 0);
  assert.equal(out.index?.[out.index.length - 1], n - 1);
  // leading and trailing gaps stay: the line starts at the first value, ends with the gap
  const gappy = y.map((v, i) => (i < 3 || i >= n - 2 ? null : v));
  const g = decimate(x, gappy, 50);
  assert.ok(g.index?.includes(3), "first value");
  assert.ok(g.index?.includes(n - 3), "last value");
  assert.equal(g.y[g.y.length - 1], null, "still ends with its gap");
});

test("axisWidths: each x axis's share of the plot area", () => {
  const layout = {
    margin: { l: 65, r: 20 },
    xaxis: { domain: [0, 0.45] },
    xaxis2: { domain: [0.55, 1] },
    xaxis3: {},
    yaxis: { domain: [0, 1] },
  };
  const w = axisWidths(layout, 1000);
  assert.deepEqual(Object.keys(w).sort(), ["x", "x2", "x3"]);
  assert.ok(Math.abs(w.x - 915 * 0.45) < 1e-9);
  assert.ok(Math.abs(w.x2 - 915 * 0.45) < 1e-9);
  assert.equal(w.x3, 915);
  assert.equal(axisWidths({ xaxis: {} }, 1000).x, 840, "Plotly's default margins");
  assert.deepEqual(axisWidths(null, 1000), {});
});

test("displayData sizes the decimation by the trace's subplot and gives every trace a uid", () => {
  const cache = createDisplayCache();
  const wide = trace(100_000);
  const narrow = { ...trace(100_000), xaxis: "x2" };
  const own = { ...trace(3), uid: "mine" };
  const [a, b, c] = displayData([wide, narrow, own], 1000, cache, { x: 800, x2: 200 });
  assert.ok(a.x.length > 2 * b.x.length, `${a.x.length} vs ${b.x.length}`);
  assert.ok(a.x.length <= 2 * BUCKETS_PER_PX * 800 + 2);
  assert.ok(b.x.length <= 2 * BUCKETS_PER_PX * 200 + 2);
  assert.deepEqual([a.uid, b.uid, c.uid], ["wc0", "wc1", "mine"]);
  assert.equal(wide.uid, undefined, "the model's trace is not touched");
});

test("headroomTraces stretch each x axis past its data, and move only when reached", () => {
  const ends = new Map();
  const shown = [
    { x: [0, 50, 100], y: [1, 2, 3], xaxis: "x", yaxis: "y" },
    { x: [10, 20], y: [1, 2], xaxis: "x2", yaxis: "y2" },
    { x: [5], y: [0] }, // default axes, same x axis as the first
  ];
  const extra = headroomTraces(shown, ends);
  assert.deepEqual(
    extra.map((t) => [t.xaxis, t.yaxis, t.x, t.y, t.showlegend, t.hoverinfo]),
    [
      ["x", "y", [100 + HEADROOM * 100], [null], false, "skip"],
      ["x2", "y2", [20 + HEADROOM * 10], [null], false, "skip"],
    ],
  );
  // a little more data: the end stays, until the data reaches it
  shown[0].x.push(102);
  assert.equal(headroomTraces(shown, ends)[0].x[0], 100 + HEADROOM * 100);
  shown[0].x.push(106);
  assert.equal(headroomTraces(shown, ends)[0].x[0], 106 + HEADROOM * 106);
  // a new run (much shorter) pulls it back; an axis without data drops out
  const fresh = headroomTraces([{ x: [0, 10], y: [1, 1] }], ends);
  assert.deepEqual(
    fresh.map((t) => t.x[0]),
    [10 + HEADROOM * 10],
  );
  assert.deepEqual([...ends.keys()], ["x"]);
});

test("extendProgress: the progress of an extend message of this run, else null", () => {
  const progress = { status: "training", epoch: 2, batch: 40 };
  const msg = { type: "extend", run: 3, points: [], progress };
  assert.equal(extendProgress(msg, 3), progress);
  assert.equal(extendProgress(msg, 4), null, "another run");
  assert.equal(extendProgress({ ...msg, type: "other" }, 3), null);
  assert.equal(extendProgress({ type: "extend", run: 3, points: [] }, 3), null, "epoch updates carry none");
  assert.equal(extendProgress({ ...msg, progress: [1, 2] }, 3), null);
  assert.equal(extendProgress({ ...msg, progress: "training" }, 3), null);
  assert.equal(extendProgress(null, 3), null);
});
