// Pure data helpers (no DOM): applying `extend` messages to the model's traces
// and choosing what is drawn (min/max decimation of long traces).

import { Decimator, SHORT_FACTOR, decimate, gatherXY } from "./decimate.mjs";
import { MSG_EXTEND } from "./protocol.js";

export { decimate };

/** @typedef {import("./protocol.js").Trace} Trace */
/** @typedef {import("./protocol.js").ExtendMessage} ExtendMessage */

/** Keys of an `extend` point entry that are not arrays to append. */
const NOT_ARRAYS = new Set(["trace", "offset"]);
/** Never written as trace keys, whatever a message says. */
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

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
 * Markers closer than this (in px, over the whole plot width) show nothing but
 * cost a DOM node each: such a trace is drawn with its line alone.
 */
export const MIN_MARKER_SPACING_PX = 4;

/**
 * The mode a trace is drawn with: "lines+markers" loses its markers once they
 * are denser than one per MIN_MARKER_SPACING_PX (markers-only traces keep them).
 * @param {string | undefined} mode
 * @param {number} n  points
 * @param {number} maxBuckets  2 per pixel
 * @returns {string | undefined}
 */
function displayMode(mode, n, maxBuckets) {
  if (typeof mode !== "string" || !mode.includes("markers") || !mode.includes("lines")) return mode;
  if (n * MIN_MARKER_SPACING_PX <= maxBuckets / 2) return mode;
  return mode
    .split("+")
    .filter((m) => m !== "markers")
    .join("+");
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
 * @typedef {{n: number, maxBuckets: number, x: unknown, y: unknown,
 *   out: Trace, dec: Decimator | null}} CacheEntry
 */

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
 * What is drawn for `traces` at a plot width of `widthPx`: long traces
 * (unless `trace.meta.decimate === false`) are min/max-decimated to about two
 * buckets per pixel. Results are memoized per trace object and length, and the
 * decimation is incremental (only the tail is re-bucketed), so redrawing after
 * an `extend` costs little however long the history. Markers of a line closer
 * than MIN_MARKER_SPACING_PX are left out (they would only be a smear of DOM
 * nodes, the slowest part of a redraw), also unless `meta.decimate === false`. A trace whose length is
 * unchanged gives back the same object; a changed one gets new arrays (so
 * Plotly.react sees the change after in-place appends).
 *
 * @param {Trace[]} traces
 * @param {number} widthPx  plot width in CSS pixels (not positive: 1000)
 * @param {WeakMap<object, CacheEntry>} [cache]  from createDisplayCache()
 * @returns {Trace[]}
 */
export function displayData(traces, widthPx, cache = defaultCache) {
  const width = Number.isFinite(widthPx) && widthPx > 0 ? widthPx : 1000;
  const maxBuckets = Math.max(1, Math.round(2 * width));
  if (!Array.isArray(traces)) return [];
  return traces.map((trace) => displayTrace(trace, maxBuckets, cache));
}

/**
 * @param {Trace} trace
 * @param {number} maxBuckets
 * @param {WeakMap<object, CacheEntry>} cache
 * @returns {Trace}
 */
function displayTrace(trace, maxBuckets, cache) {
  if (!trace || typeof trace !== "object" || !Array.isArray(trace.y)) return trace;
  const x = Array.isArray(trace.x) ? trace.x : null;
  const y = trace.y;
  const n = x ? Math.min(x.length, y.length) : y.length;
  const wanted = trace.meta?.decimate !== false && n > SHORT_FACTOR * maxBuckets;
  let entry = cache.get(trace);
  if (entry && entry.n === n && entry.x === x && entry.y === y && entry.maxBuckets === maxBuckets) {
    return entry.out;
  }
  /** @type {number[] | null} */
  let index = null;
  /** @type {Decimator | null} */
  let dec = entry?.dec ?? null;
  if (wanted) {
    dec = (dec ?? new Decimator()).update(x, y, n, maxBuckets);
    index = dec.indices();
  }
  /** @type {Trace} */
  const out = { ...trace };
  const mode = trace.meta?.decimate === false ? trace.mode : displayMode(trace.mode, n, maxBuckets);
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
  cache.set(trace, { n, maxBuckets, x, y, out, dec });
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
