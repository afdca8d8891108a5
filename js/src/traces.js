// Pure data helpers (no DOM): applying `extend` messages to the model's traces
// and choosing what is drawn (min/max decimation of long traces, sized by the
// width of their subplot, or to a zoomed range; headroom on the x axes while a
// run is live). (Over 300 lines: displayData's memo and its per-point arrays are
// most of it; the three jobs share the trace shapes and are tested together.)

import { Decimator, SHORT_FACTOR, decimate, gatherXY, rangeIndices } from "./decimate.js";
import { MSG_EXTEND } from "./protocol.js";

export { decimate };

/** @typedef {import("./protocol.js").Trace} Trace */
/** @typedef {import("./protocol.js").ExtendMessage} ExtendMessage */

/** Keys of an `extend` point entry that are not arrays to append. */
const NOT_ARRAYS = new Set(["trace", "offset"]);
/** Never written as trace keys, whatever a message says. */
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The progress an `extend` message carries (throttled batch updates send the
 * batch points and the progress line in one message), or null: not an extend
 * message of this run, or no progress object in it.
 * @param {unknown} message
 * @param {unknown} run  the model's `run`
 * @returns {Record<string, unknown> | null}
 */
export function extendProgress(message, run) {
  const msg = /** @type {{type?: unknown, run?: unknown, progress?: unknown}} */ (message);
  if (!msg || typeof msg !== "object" || msg.type !== MSG_EXTEND || msg.run !== run) return null;
  const progress = msg.progress;
  if (!progress || typeof progress !== "object" || Array.isArray(progress)) return null;
  return /** @type {Record<string, unknown>} */ (progress);
}

/**
 * Append the arrays of an `extend` message to `traces` in place.
 *
 * For every key, the message's array covers indices [offset, offset + n) of
 * that trace array: the part the array already holds is skipped (another view
 * of the same model, or a state snapshot newer than the message, already put
 * it there), so replaying a message never duplicates points. An array that is
 * shorter than `offset` (a message was lost, or the key is new, such as `text`
 * appearing later) is padded with null so indices stay aligned with Python.
 *
 * @param {Trace[]} traces  the `traces` trait (model.get("traces")), mutated
 * @param {unknown} message  a `msg:custom` payload
 * @param {number} run  the `run` trait; messages of another run are ignored
 * @returns {Set<number>} indices of the traces that changed
 */
export function applyExtend(traces, message, run) {
  /** @type {Set<number>} */
  const changed = new Set();
  const msg = /** @type {ExtendMessage} */ (message);
  if (!msg || msg.type !== MSG_EXTEND || msg.run !== run) return changed;
  if (!Array.isArray(traces) || !Array.isArray(msg.points)) return changed;
  for (const entry of msg.points) {
    if (!entry || typeof entry !== "object") continue;
    const index = entry.trace;
    const trace = Number.isInteger(index) ? traces[index] : undefined;
    if (!trace || typeof trace !== "object") continue;
    const offset = Number.isInteger(entry.offset) && entry.offset >= 0 ? entry.offset : null;
    for (const key of Object.keys(entry)) {
      if (NOT_ARRAYS.has(key) || FORBIDDEN.has(key)) continue;
      const values = entry[key];
      if (!Array.isArray(values) || values.length === 0) continue;
      let target = Object.prototype.hasOwnProperty.call(trace, key) ? trace[key] : undefined;
      if (target === undefined || target === null) {
        target = [];
        trace[key] = target;
      } else if (!Array.isArray(target)) {
        continue; // a scalar of the same name (e.g. text: "..."): leave it
      }
      const arr = /** @type {unknown[]} */ (target);
      const start = offset === null ? arr.length : offset;
      while (arr.length < start) arr.push(null);
      const skip = arr.length - start;
      if (skip >= values.length) continue;
      for (let i = skip; i < values.length; i++) arr.push(values[i]);
      changed.add(index);
    }
  }
  return changed;
}

/**
 * Markers closer than this (in px, over the width of their subplot) show
 * nothing but cost a DOM node each: such a trace is drawn with its line alone.
 */
export const MIN_MARKER_SPACING_PX = 4;

/**
 * Decimation buckets per pixel of a subplot's width. Each bucket keeps its
 * minimum and maximum, so a long line is drawn with at most 2 points per pixel
 * column: its envelope (the min/max of every column) is the one all the points
 * draw, at a fraction of the SVG.
 */
export const BUCKETS_PER_PX = 2;

/**
 * The mode a trace is drawn with: "lines+markers" loses its markers once they
 * are denser than one per MIN_MARKER_SPACING_PX (markers-only traces keep them).
 * @param {string | undefined} mode
 * @param {number} n  points
 * @param {number} widthPx  of the trace's subplot
 * @returns {string | undefined}
 */
function displayMode(mode, n, widthPx) {
  if (typeof mode !== "string" || !mode.includes("markers") || !mode.includes("lines")) return mode;
  if (n * MIN_MARKER_SPACING_PX <= widthPx) return mode;
  return mode
    .split("+")
    .filter((m) => m !== "markers")
    .join("+");
}

/** Plotly's default margins (layout.margin), in px. */
const DEFAULT_MARGIN = { l: 80, r: 80 };

/**
 * The width in px of each x axis (by id: "x", "x2") of `layout` in a plot
 * `widthPx` wide: the plot area (width minus the left and right margins)
 * times the axis domain. Automatic margins (long tick labels) may take a few
 * px more; close enough to size the decimation.
 * @param {Record<string, any> | null | undefined} layout
 * @param {number} widthPx
 * @returns {Record<string, number>}
 */
export function axisWidths(layout, widthPx) {
  /** @type {Record<string, number>} */
  const out = {};
  if (!layout || typeof layout !== "object" || !(widthPx > 0)) return out;
  const margin = layout.margin && typeof layout.margin === "object" ? layout.margin : {};
  const l = Number.isFinite(margin.l) ? margin.l : DEFAULT_MARGIN.l;
  const r = Number.isFinite(margin.r) ? margin.r : DEFAULT_MARGIN.r;
  const area = Math.max(1, widthPx - l - r);
  for (const key of Object.keys(layout)) {
    const m = /^xaxis(\d*)$/.exec(key);
    if (!m) continue;
    const domain = layout[key]?.domain;
    const span =
      Array.isArray(domain) && Number.isFinite(domain[0]) && Number.isFinite(domain[1])
        ? Math.min(1, Math.max(0, domain[1] - domain[0]))
        : 1;
    out[`x${m[1]}`] = Math.max(1, area * span);
  }
  return out;
}

/** Per-point arrays gathered along with x and y. */
const POINT_KEYS = ["text", "hovertext", "customdata", "ids"];
const MARKER_POINT_KEYS = ["color", "size", "symbol", "opacity"];

/**
 * @param {unknown} arr
 * @param {number[] | null} index  null: the first n items
 * @param {number} n
 */
function pick(arr, index, n) {
  if (!Array.isArray(arr)) return arr;
  if (index === null) return arr.slice(0, n);
  return index.map((i) => arr[i]);
}

/**
 * @typedef {{n: number, widthPx: number, x: unknown, y: unknown,
 *   out: Trace, dec: Decimator | null, range: string}} CacheEntry
 */

/** @typedef {Record<string, [number, number]>} AxisRanges  x axis id -> zoomed range */

/**
 * A memo for displayData. Give each view its own: Plotly writes into the trace
 * objects it is given (legend clicks set `visible`), so views must not share them.
 * @returns {WeakMap<object, CacheEntry>}
 */
export function createDisplayCache() {
  return new WeakMap();
}

const defaultCache = createDisplayCache();

/**
 * What is drawn for `traces`: long traces (unless `trace.meta.decimate ===
 * false`) are min/max-decimated to BUCKETS_PER_PX buckets per pixel of their
 * subplot's width, the line keeping its first and last point. Results are
 * memoized per trace object and length, and the decimation is incremental
 * (only the tail is re-bucketed), so redrawing after an `extend` costs little
 * however long the history. Markers of a line closer than
 * MIN_MARKER_SPACING_PX are left out (they would only be a smear of DOM nodes,
 * the slowest part of a redraw), also unless `meta.decimate === false`. A trace
 * whose length is unchanged gives back the same object; a changed one gets new
 * arrays (so Plotly.react sees the change after in-place appends). Every trace
 * gets a `uid` (its own, or "wc" and its index), so Plotly keeps its SVG
 * across redraws and svg_append.js can find it.
 *
 * @param {Trace[]} traces
 * @param {number} widthPx  subplot width in CSS pixels where `axisPx` has none
 *   (not positive: 1000)
 * @param {WeakMap<object, CacheEntry>} [cache]  from createDisplayCache()
 * @param {Record<string, number>} [axisPx]  width of each x axis (axisWidths())
 * @param {AxisRanges} [ranges]  x axes zoomed into a range: their long traces
 *   are decimated over that range only (rangeIndices), so a zoom shows detail
 * @returns {Trace[]}
 */
export function displayData(traces, widthPx, cache = defaultCache, axisPx = {}, ranges = {}) {
  const width = Number.isFinite(widthPx) && widthPx > 0 ? widthPx : 1000;
  if (!Array.isArray(traces)) return [];
  return traces.map((trace, i) => {
    const axis = trace && typeof trace.xaxis === "string" ? trace.xaxis : "x";
    const px = axisPx[axis] > 0 ? axisPx[axis] : width;
    const range = Object.prototype.hasOwnProperty.call(ranges, axis) ? ranges[axis] : null;
    return displayTrace(trace, px, cache, `wc${i}`, range);
  });
}

/**
 * @param {Trace} trace
 * @param {number} widthPx  of its subplot
 * @param {WeakMap<object, CacheEntry>} cache
 * @param {string} uid  when the trace has none
 * @param {[number, number] | null} [range]  the zoomed x range of its axis
 * @returns {Trace}
 */
function displayTrace(trace, widthPx, cache, uid, range = null) {
  if (!trace || typeof trace !== "object" || !Array.isArray(trace.y)) return trace;
  const maxBuckets = Math.max(1, Math.round(BUCKETS_PER_PX * widthPx));
  const x = Array.isArray(trace.x) ? trace.x : null;
  const y = trace.y;
  const n = x ? Math.min(x.length, y.length) : y.length;
  const wanted = trace.meta?.decimate !== false && n > SHORT_FACTOR * maxBuckets;
  const rangeKey = wanted && range && x ? `${range[0]},${range[1]}` : "";
  let entry = cache.get(trace);
  if (entry && entry.n === n && entry.x === x && entry.y === y && entry.widthPx === widthPx && entry.range === rangeKey) {
    return entry.out;
  }
  /** @type {number[] | null} */
  let index = null;
  /** @type {Decimator | null} */
  let dec = entry?.dec ?? null;
  if (rangeKey && x && range) {
    index = rangeIndices(x, y, n, range[0], range[1], maxBuckets);
  } else if (wanted) {
    dec = (dec ?? new Decimator()).update(x, y, n, maxBuckets);
    index = dec.indices();
  }
  /** @type {Trace} */
  const out = { ...trace };
  if (typeof out.uid !== "string") out.uid = uid;
  const inView = rangeKey && index ? index.length : n;
  const mode = trace.meta?.decimate === false ? trace.mode : displayMode(trace.mode, inView, widthPx);
  if (mode !== trace.mode) out.mode = mode;
  if (index) {
    const xy = gatherXY(x, y, index);
    out.x = xy.x;
    out.y = xy.y;
  } else {
    if (x) out.x = x.slice(0, n);
    out.y = y.slice(0, n);
  }
  for (const key of POINT_KEYS) {
    if (Array.isArray(trace[key])) out[key] = pick(trace[key], index, n);
  }
  if (trace.marker && typeof trace.marker === "object") {
    const marker = { ...trace.marker };
    for (const key of MARKER_POINT_KEYS) {
      if (Array.isArray(marker[key])) marker[key] = pick(marker[key], index, n);
    }
    out.marker = marker;
  }
  cache.set(trace, { n, widthPx, x, y, out, dec, range: rangeKey });
  return out;
}

/**
 * Total number of points in `traces` (0: nothing recorded yet).
 * @param {Trace[]} traces
 */
export function pointCount(traces) {
  let total = 0;
  if (!Array.isArray(traces)) return 0;
  for (const t of traces) if (t && Array.isArray(t.y)) total += t.y.length;
  return total;
}

/**
 * Room left on the right of each x axis while a run is live, as a fraction of
 * the x span of its data: the next points land inside the drawn ranges, where
 * they can be drawn without a full Plotly redraw (svg_append.js), until they reach
 * the end and the axis is stretched again.
 */
export const HEADROOM = 0.05;

/**
 * Invisible traces that stretch x axes past their data (see HEADROOM): one per
 * x axis, a single point with y null at the end (Plotly's autorange counts its
 * x; it draws nothing, has no hover and no legend entry). `ends` keeps each
 * axis's end between calls; an end moves only once the data reaches it (or
 * falls far short of it: a new run).
 * @param {Trace[]} shown  what is drawn (displayData and the overlays)
 * @param {Map<string, number>} ends  per x axis id, updated
 * @returns {Trace[]}
 */
export function headroomTraces(shown, ends) {
  /** @type {Map<string, {lo: number, hi: number, yaxis: string}>} */
  const extents = new Map();
  for (const t of shown) {
    if (!t || !Array.isArray(t.x) || !Array.isArray(t.y)) continue;
    const axis = typeof t.xaxis === "string" ? t.xaxis : "x";
    let e = extents.get(axis);
    for (const v of t.x) {
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      if (!e) {
        e = { lo: v, hi: v, yaxis: typeof t.yaxis === "string" ? t.yaxis : "y" };
        extents.set(axis, e);
      }
      if (v < e.lo) e.lo = v;
      if (v > e.hi) e.hi = v;
    }
  }
  /** @type {Trace[]} */
  const out = [];
  for (const [axis, { lo, hi, yaxis }] of extents) {
    const span = hi - lo;
    if (!(span > 0)) continue;
    let end = ends.get(axis);
    if (end === undefined || end <= hi || end > hi + 3 * HEADROOM * span) end = hi + HEADROOM * span;
    ends.set(axis, end);
    out.push({
      type: "scatter",
      name: "headroom",
      mode: "lines",
      x: [end],
      y: [null],
      xaxis: axis,
      yaxis,
      hoverinfo: "skip",
      showlegend: false,
      uid: `wc-headroom-${axis}`,
      meta: { role: "headroom" },
    });
  }
  for (const axis of [...ends.keys()]) if (!extents.has(axis)) ends.delete(axis);
  return out;
}
