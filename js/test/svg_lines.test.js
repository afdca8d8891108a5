import assert from "node:assert/strict";
import { test } from "node:test";
import { redrawLines } from "../src/svg_lines.js";
import { smoothingOnly } from "../src/view.js";
import { VIEW_DEFAULTS } from "../src/protocol.js";

/** A linear Plotly-like axis over [r0, r1] drawn `length` px long. */
const axis = (r0, r1, length) => ({ c2p: (v) => ((v - r0) / (r1 - r0)) * length, _length: length, autorange: true });

/** A plot div as Plotly leaves it: one trace group per uid with `lines` line paths. */
function fakeGd(groups) {
  const paths = {};
  for (const [uid, count] of Object.entries(groups)) {
    paths[uid] = Array.from({ length: count }, () => {
      const attrs = { d: "M0,0" };
      return { getAttribute: (k) => attrs[k], setAttribute: (k, v) => (attrs[k] = v) };
    });
  }
  return {
    paths,
    _fullLayout: { xaxis: axis(0, 10, 100), yaxis: axis(0, 1, 100) },
    querySelector(sel) {
      const uid = sel.replace(".scatterlayer .trace", "").replace(/\\/g, "");
      return paths[uid] ? { querySelectorAll: () => paths[uid] } : null;
    },
  };
}
const line = (uid, y, extra = {}) => ({ uid, mode: "lines", x: y.map((_, i) => i + 1), y, xaxis: "x", yaxis: "y", ...extra });

test("redrawLines writes the changed lines only, and gd.data follows", () => {
  const gd = fakeGd({ a: 1, b: 1 });
  const a = line("a", [0.1, 0.2]);
  const b = line("b", [0.5, 0.5]);
  const drawn = [a, b];
  const next = [line("a", [0.3, 0.4]), b];
  assert.equal(redrawLines(gd, drawn, next), 1);
  assert.equal(gd.paths.a[0].getAttribute("d"), "M10,30L20,40");
  assert.equal(gd.paths.b[0].getAttribute("d"), "M0,0", "unchanged: not touched");
  assert.deepEqual(drawn[0].y, [0.3, 0.4]);
});

test("redrawLines refuses what it cannot draw alike: markers, new traces, outside the range, split lines", () => {
  const drawn = [line("a", [0.1, 0.2])];
  assert.equal(redrawLines(fakeGd({ a: 1 }), drawn, [line("a", [0.1, 0.3], { mode: "lines+markers" })]), -1);
  assert.equal(redrawLines(fakeGd({ a: 1 }), drawn, [...drawn, line("b", [1])]), -1);
  assert.equal(redrawLines(fakeGd({ a: 1 }), drawn, [line("a", [0.1, 2])]), -1, "y past the autoranged axis");
  assert.equal(redrawLines(fakeGd({ a: 2 }), drawn, [line("a", [0.1, 0.3])]), -1, "a gap split the line");
  assert.equal(redrawLines(fakeGd({}), drawn, [line("a", [0.1, 0.3])]), -1, "not drawn");
  assert.equal(redrawLines({}, drawn, [line("a", [0.1, 0.3])]), -1, "not a Plotly div");
  assert.deepEqual(drawn[0].y, [0.1, 0.2], "nothing written");
});

test("smoothingOnly: a move of the weight while smoothed, nothing else, no robust range", () => {
  const v = (over) => ({ ...VIEW_DEFAULTS, ...over });
  assert.equal(smoothingOnly(v({ smoothing: 0.5 }), v({ smoothing: 0.6 })), true);
  assert.equal(smoothingOnly(v({ smoothing: 0 }), v({ smoothing: 0.6 })), false, "the raw curves appear");
  assert.equal(smoothingOnly(v({ smoothing: 0.5 }), v({ smoothing: 0 })), false);
  assert.equal(smoothingOnly(v({ smoothing: 0.5 }), v({ smoothing: 0.6, x_axis: "step" })), false);
  assert.equal(smoothingOnly(v({ smoothing: 0.5, robust_y: true }), v({ smoothing: 0.6, robust_y: true })), false);
});

test("redrawLines leaves copies with the same points (overlays, headroom) alone", () => {
  const gd = fakeGd({ a: 1 });
  const star = { uid: "s", mode: "markers", x: [2], y: [0.2] };
  const drawn = [line("a", [0.1, 0.2]), star];
  assert.equal(redrawLines(gd, drawn, [line("a", [0.3, 0.4]), { ...star, x: [2], y: [0.2] }]), 1);
  assert.equal(redrawLines(gd, drawn, [line("a", [0.3, 0.4]), { ...star, x: [3], y: [0.2] }]), -1, "a mark moved");
});
