// Redrawing the lines of traces whose y changed, without a Plotly redraw: a
// smoothing slider being dragged changes the smoothed curves only, and a full
// Plotly.react of a large figure takes most of the 100 ms a move may take.
//
// The new line of each changed trace is written into the SVG path Plotly drew
// for it, through Plotly's own axes (svg_append.js's projection and path
// writer). It holds when nothing else changed: the same traces, in the same
// order, drawn as plain lines (no markers: they would move too), each point
// inside the drawn ranges (smoothed values stay inside the range of the raw
// curve drawn behind them, which autoranged the axis). Hover and Plotly's own
// redraws still know the old values, so a full redraw follows once the slider
// rests (redraw.js's catch-up).

import { canAppend, subplotProjection, tailPath } from "./svg_append.js";

/** @typedef {import("./protocol.js").Trace} Trace */

/** Arrays up to this long are compared by value (marks, headroom), longer ones by identity. */
const SHORT = 16;

/**
 * @param {unknown} a
 * @param {unknown} b
 */
const same = (a, b) =>
  a === b ||
  (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.length <= SHORT && a.every((v, i) => Object.is(v, b[i])));

/** @param {string} s */
const cssEscape = (s) => (typeof CSS !== "undefined" && CSS.escape ? CSS.escape(s) : s.replace(/[^\w-]/g, "\\$&"));

/**
 * Write the lines of the traces of `next` whose points differ from `drawn`
 * (what Plotly was given, same order) into `gd`'s SVG; the others (the same
 * objects, or copies with the same points: overlays, headroom) are left. All or nothing: the DOM is
 * only written once every changed line is known to fit.
 * @param {any} gd  the plot div, drawn by Plotly
 * @param {Trace[]} drawn  the data of the last full draw (Plotly's gd.data); the
 *   changed traces get the new x/y (so gd.data holds what is drawn)
 * @param {Trace[]} next  what a full draw would hand to Plotly now
 * @returns {number} lines redrawn, or -1: a full redraw is needed instead
 */
export function redrawLines(gd, drawn, next) {
  if (!gd?._fullLayout || drawn.length !== next.length) return -1;
  /** @type {Array<() => void>} */
  const writes = [];
  for (let i = 0; i < next.length; i++) {
    const now = next[i];
    const was = drawn[i];
    if (now === was || (now && was && same(now.x, was.x) && same(now.y, was.y))) continue;
    if (!now || !was || now.uid !== was.uid || now.mode !== "lines" || !canAppend(now)) return -1;
    if (now.xaxis !== was.xaxis || now.yaxis !== was.yaxis || !Array.isArray(now.y)) return -1;
    const group = gd.querySelector(`.scatterlayer .trace${cssEscape(String(now.uid))}`);
    if (!group) {
      if (gd._fullData?.[i] && gd._fullData[i].visible !== true) continue; // hidden from the legend
      return -1;
    }
    const lines = group.querySelectorAll(".js-line");
    if (lines.length !== 1) return -1; // a gap splits Plotly's line into paths: redraw
    const axes = [now.xaxis, now.yaxis].map((a, k) => (typeof a === "string" ? a : k ? "y" : "x"));
    const project = subplotProjection(gd._fullLayout, axes[0], axes[1]);
    if (!project) return -1;
    const x = Array.isArray(now.x) ? now.x : null;
    const n = x ? Math.min(x.length, now.y.length) : now.y.length;
    const path = tailPath(x, now.y, 0, n, project, false, now.connectgaps === true);
    if (!path) return -1;
    const line = lines[0];
    writes.push(() => {
      line.setAttribute("d", path.d);
      was.x = now.x;
      was.y = now.y;
    });
  }
  for (const write of writes) write();
  return writes.length;
}
