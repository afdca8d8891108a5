import assert from "node:assert/strict";
import { test } from "node:test";
import { appendTails, canAppend, subplotProjection, tailPath, tailStates, tailsIntact } from "../src/svg_append.js";

const identity = (x, y) => [x, y];

test("canAppend: plain lines and markers only", () => {
  assert.equal(canAppend({ type: "scatter", mode: "lines" }), true);
  assert.equal(canAppend({ mode: "lines+markers", marker: { color: "red", size: 5 } }), true);
  assert.equal(canAppend({ mode: "markers" }), true);
  assert.equal(canAppend({}), false, "Plotly's default mode depends on the length");
  assert.equal(canAppend({ mode: "lines+text" }), false);
  assert.equal(canAppend({ mode: "lines", fill: "tozeroy" }), false);
  assert.equal(canAppend({ mode: "lines", line: { shape: "spline" } }), false);
  assert.equal(canAppend({ mode: "markers", marker: { color: ["red", "blue"] } }), false);
  assert.equal(canAppend({ type: "bar" }), false);
  assert.equal(canAppend(undefined), false);
});

test("tailPath continues the line, restarts it after a gap, rounds like Plotly", () => {
  const x = [1, 2, 3, 4, 5, 6];
  const y = [0.5, 1.234, null, 3, 4.005, 5];
  const a = tailPath(x, y, 1, 6, identity, true);
  assert.deepEqual(a, {
    d: "L2,1.23M4,3L5,4.01L6,5",
    points: [
      [2, 1.234],
      [4, 3],
      [5, 4.005],
      [6, 5],
    ],
    connected: true,
  });
  assert.equal(tailPath(x, y, 3, 4, identity, false)?.d, "M4,3", "the line ended at a gap");
  assert.equal(tailPath(x, y, 1, 4, identity, true, true)?.d, "L2,1.23L4,3", "connectgaps");
  const gapAtEnd = tailPath(x, y, 1, 3, identity, true);
  assert.equal(gapAtEnd?.connected, false);
  assert.equal(tailPath(null, [7, 8], 0, 2, identity, false)?.d, "M0,7L1,8", "no x: the index");
  const xnull = tailPath([1, null, 3], [1, 2, 3], 0, 3, identity, true);
  assert.equal(xnull?.d, "L1,1M3,3", "a null x is a gap too");
});

test("tailPath gives null as soon as a point falls outside the drawn ranges", () => {
  const project = (x, y) => (y > 10 ? null : [x, y]);
  assert.equal(tailPath([1, 2], [5, 11], 0, 2, project, true), null);
  assert.notEqual(tailPath([1, 2], [5, 10], 0, 2, project, true), null);
});

/** A linear Plotly-like axis over [r0, r1] drawn `length` px long. */
const axis = (r0, r1, length, autorange = true) => ({
  c2p: (v) => ((v - r0) / (r1 - r0)) * length,
  _length: length,
  autorange,
});

test("subplotProjection maps through Plotly's axes and refuses points outside autoranged ones", () => {
  const fullLayout = { xaxis: axis(0, 100, 400), yaxis2: axis(0, 1, 200), xaxis2: axis(0, 10, 100, false) };
  const p = subplotProjection(fullLayout, "x", "y2");
  assert.ok(p);
  assert.deepEqual(p(50, 0.5), [200, 100]);
  assert.equal(p(101, 0.5), null);
  assert.equal(p(50, -0.1), null);
  const zoomed = subplotProjection(fullLayout, "x2", "y2");
  assert.deepEqual(zoomed?.(20, 0.5), [200, 100], "a fixed range clips, as Plotly does");
  assert.equal(subplotProjection(fullLayout, "x3", "y2"), null);
  assert.equal(subplotProjection(undefined, "x", "y"), null);
});

test("tailStates records what a full draw put on screen", () => {
  const traces = [
    { x: [1, 2, 3], y: [1, 2, 3] },
    { x: [1, 2, 3], y: [1, 2, null] },
    { x: [1, 2], y: [1, 2] },
    { x: [1, 2], y: [1, 2] },
  ];
  const shown = traces.map((t) => ({ x: t.x.slice(), y: t.y.slice() }));
  Object.assign(shown[0], { uid: "wc0", mode: "lines+markers", xaxis: "x2", yaxis: "y2" });
  Object.assign(shown[1], { uid: "wc1", mode: "lines" });
  Object.assign(shown[2], { uid: "wc2", mode: "lines", fill: "tozeroy" });
  Object.assign(shown[3], { mode: "lines" });
  const [a, b, c, d] = tailStates(traces, shown);
  assert.deepEqual(a, {
    n: 3,
    connected: true,
    lines: true,
    markers: true,
    connectgaps: false,
    uid: "wc0",
    xaxis: "x2",
    yaxis: "y2",
    d: null,
    marks: -1,
    xs: shown[0].x,
    ys: shown[0].y,
  });
  assert.equal(b?.connected, false, "ends at a gap");
  assert.equal(b?.markers, false);
  assert.equal(c, null, "a fill: drawn in full");
  assert.equal(d, null, "no uid: its SVG cannot be found");
});

/** Just enough of the DOM for appendTails: elements with classes and attributes. */
class El {
  constructor(cls, attrs = {}) {
    this.cls = cls;
    this.attrs = { ...attrs };
    this.children = [];
    this.parentNode = null;
  }
  append(...kids) {
    for (const k of kids) {
      k.parentNode = this;
      this.children.push(k);
    }
    return this;
  }
  appendChild(k) {
    return this.append(k);
  }
  getAttribute(name) {
    return this.attrs[name] ?? null;
  }
  setAttribute(name, value) {
    this.attrs[name] = String(value);
  }
  cloneNode() {
    return new El(this.cls, this.attrs);
  }
  *all() {
    for (const k of this.children) {
      yield k;
      yield* k.all();
    }
  }
  /** Descendants matching the classes of the last simple selector of `sel` (tags ignored). */
  querySelectorAll(sel) {
    const last = sel.trim().split(/\s+/).pop() ?? "";
    const classes = last.split(".").slice(1);
    return [...this.all()].filter((e) => classes.every((c) => e.cls.split(" ").includes(c)));
  }
  querySelector(sel) {
    return this.querySelectorAll(sel)[0] ?? null;
  }
}

/** A graph div as Plotly leaves it: one trace with a line and two markers. */
function fakeGd() {
  const line = new El("js-line", { d: "M0,0L10,10" });
  const points = new El("points").append(
    new El("point", { transform: "translate(0,0)" }),
    new El("point", { transform: "translate(10,10)" }),
  );
  const trace = new El("trace scatter tracewc0").append(new El("lines").append(line), points);
  const gd = new El("gd").append(new El("scatterlayer").append(trace));
  gd._fullLayout = { xaxis: axis(0, 100, 100), yaxis: axis(0, 100, 100) };
  gd._fullData = [{ visible: true }];
  return { gd, line, points };
}

test("appendTails appends segments and markers, and tailsIntact sees Plotly redraw them away", () => {
  const { gd, line, points } = fakeGd();
  const traces = [{ x: [0, 10], y: [0, 10] }];
  const shown = [{ uid: "wc0", mode: "lines+markers", x: [0, 10], y: [0, 10] }];
  const states = tailStates(traces, shown);
  assert.equal(appendTails(gd, traces, states), 0, "nothing new");
  traces[0].x.push(20, 30);
  traces[0].y.push(20, null);
  assert.equal(appendTails(gd, traces, states), 1);
  assert.equal(line.getAttribute("d"), "M0,0L10,10L20,20");
  assert.deepEqual(
    points.children.map((p) => p.getAttribute("transform")),
    ["translate(0,0)", "translate(10,10)", "translate(20,20)"],
  );
  traces[0].x.push(40);
  traces[0].y.push(40);
  assert.equal(appendTails(gd, traces, states), 1);
  assert.equal(line.getAttribute("d"), "M0,0L10,10L20,20M40,40", "restarts after the gap");
  assert.deepEqual(shown[0], { uid: "wc0", mode: "lines+markers", x: [0, 10, 20, 30, 40], y: [0, 10, 20, null, 40] });
  assert.equal(tailsIntact(gd, states), true);
  // Plotly redraws the trace from its own data (a zoom, a layout change):
  line.setAttribute("d", "M0,0L10,10");
  assert.equal(tailsIntact(gd, states), false);
  traces[0].x.push(50);
  traces[0].y.push(50);
  assert.equal(appendTails(gd, traces, states), -1, "so appending is refused");
});

test("appendTails is all or nothing, and refuses what it cannot draw", () => {
  const { gd, line } = fakeGd();
  const traces = [{ x: [0, 10], y: [0, 10] }];
  const states = tailStates(traces, [{ uid: "wc0", mode: "lines", x: [0, 10], y: [0, 10] }]);
  traces[0].x.push(20, 200); // the second point is outside the autoranged x axis
  traces[0].y.push(20, 20);
  assert.equal(appendTails(gd, traces, states), -1);
  assert.equal(line.getAttribute("d"), "M0,0L10,10", "nothing written");
  // a shorter trace (a new run) or an unknown one
  const shorter = [{ x: [0], y: [0] }];
  assert.equal(appendTails(gd, shorter, tailStates([{ x: [0, 1], y: [0, 1] }], [{ uid: "wc0", mode: "lines", x: [0, 1], y: [0, 1] }])), -1);
  assert.equal(appendTails(gd, traces, [null]), -1);
  assert.equal(appendTails({}, traces, states), -1, "not drawn by Plotly");
});

test("appendTails skips a trace hidden from the legend (no SVG) and counts its points", () => {
  const { gd } = fakeGd();
  gd._fullData = [{ visible: true }, { visible: "legendonly" }];
  const traces = [
    { x: [0, 10], y: [0, 10] },
    { x: [0, 10], y: [0, 10] },
  ];
  const states = tailStates(
    traces,
    traces.map((t, i) => ({ uid: `wc${i}`, mode: "lines", x: t.x.slice(), y: t.y.slice() })),
  );
  traces[1].x.push(20, 30);
  traces[1].y.push(20, 30);
  assert.equal(appendTails(gd, traces, states), 2);
  gd._fullData[1].visible = true; // shown, but its SVG is missing: redraw in full
  assert.equal(appendTails(gd, traces, states), -1);
});
