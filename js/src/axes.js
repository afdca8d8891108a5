// The x axis a view draws (pure, no DOM): epoch, step or time, and what moves
// with it (the marks: shapes, annotations, overlay traces); whole-number
// ticks; short names.
//
// The traces' x is the epoch, 1-based, batch points at fractional epochs
// (core/figure.py's batch_x: the last batch of epoch 3 is at 3.0).
// - "step": the global batch; epoch e ends at step e * batchesPerEpoch, so a
//   point at epoch x is at step x * batchesPerEpoch (rounded to a whole step
//   for data points: their x was rounded to 4 decimals).
// - "time": seconds since the run started. Every metric and batch point
//   carries it in its trace's `customdata`; marks (whose traces have none) are
//   placed by interpolating the epoch -> seconds of the epoch curves (TimeMap).

import { MAX_NAME_CHARS, X_AXES } from "./protocol.js";

export const [X_EPOCH, X_STEP, X_TIME] = X_AXES;

/** Axis titles of each x axis. */
export const X_TITLES = Object.freeze({ [X_EPOCH]: "epoch", [X_STEP]: "step", [X_TIME]: "time (s)" });

/** @param {unknown} v */
const isFiniteNumber = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * @typedef {{axis: string, note: string}} ResolvedAxis  the x axis drawn, and
 *   why it is not the one asked for ("" when it is)
 */

/**
 * The x axis drawn for the one asked: "step" needs the number of batches per
 * epoch, "time" the points' timestamps; without them the epoch is drawn and
 * the note says why.
 * @param {unknown} wanted  `view.x_axis`
 * @param {{batchesPerEpoch: number | null, hasTime: boolean}} known
 * @returns {ResolvedAxis}
 */
export function resolveXAxis(wanted, known) {
  if (wanted === X_STEP) {
    if (known.batchesPerEpoch) return { axis: X_STEP, note: "" };
    return { axis: X_EPOCH, note: "step unknown (no batches per epoch yet): showing epochs" };
  }
  if (wanted === X_TIME) {
    if (known.hasTime) return { axis: X_TIME, note: "" };
    return { axis: X_EPOCH, note: "time unknown (no timestamps recorded): showing epochs" };
  }
  return { axis: X_EPOCH, note: "" };
}

/**
 * Batches per epoch from the `progress` trait, or null.
 * @param {{batches?: unknown} | null | undefined} progress
 */
export function batchesPerEpoch(progress) {
  const b = progress?.batches;
  return typeof b === "number" && Number.isInteger(b) && b > 0 ? b : null;
}

/**
 * The step of a point at epoch `x`.
 * @param {unknown} x
 * @param {number} bpe  batches per epoch
 * @param {boolean} [whole]  round to a whole step (data points)
 * @returns {number | null}
 */
export function toStep(x, bpe, whole = false) {
  if (!isFiniteNumber(x)) return null;
  const s = /** @type {number} */ (x) * bpe;
  return whole ? Math.round(s) : Math.round(s * 1e6) / 1e6;
}

/**
 * Epoch -> seconds since the run started, from (epoch, seconds) anchors:
 * linear between anchors; before the first one, on the line from (0, 0) (the
 * run starts at epoch 0, second 0); after the last one, at the mean pace of
 * the anchors (a patience band reaching a future epoch).
 */
export class TimeMap {
  /**
   * @param {ArrayLike<unknown>} xs  epochs, increasing
   * @param {ArrayLike<unknown>} ts  seconds, one per epoch
   */
  constructor(xs, ts) {
    /** @type {number[]} */
    this.xs = [];
    /** @type {number[]} */
    this.ts = [];
    const n = Math.min(xs.length, ts.length);
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      const t = ts[i];
      if (!isFiniteNumber(x) || !isFiniteNumber(t)) continue;
      if (this.xs.length && /** @type {number} */ (x) <= this.xs[this.xs.length - 1]) continue;
      this.xs.push(/** @type {number} */ (x));
      this.ts.push(/** @type {number} */ (t));
    }
  }

  get size() {
    return this.xs.length;
  }

  /**
   * @param {unknown} x  an epoch
   * @returns {number | null}
   */
  at(x) {
    const { xs, ts } = this;
    const n = xs.length;
    if (!isFiniteNumber(x) || n === 0) return null;
    const v = /** @type {number} */ (x);
    if (v <= xs[0]) return xs[0] > 0 ? (ts[0] * v) / xs[0] : ts[0];
    if (v >= xs[n - 1]) {
      const pace = n > 1 ? (ts[n - 1] - ts[0]) / (xs[n - 1] - xs[0]) : xs[0] > 0 ? ts[0] / xs[0] : 0;
      return ts[n - 1] + pace * (v - xs[n - 1]);
    }
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] <= v) lo = mid;
      else hi = mid;
    }
    return ts[lo] + ((ts[hi] - ts[lo]) * (v - xs[lo])) / (xs[hi] - xs[lo]);
  }
}

/**
 * @typedef {{axis: string, batchesPerEpoch: number | null, time: TimeMap | null}} XContext
 */

/**
 * Where a mark at epoch `x` is drawn on the context's axis.
 * @param {unknown} x
 * @param {XContext} ctx
 * @returns {unknown} x itself on the epoch axis, or when it cannot be converted
 */
export function markX(x, ctx) {
  if (!isFiniteNumber(x)) return x;
  if (ctx.axis === X_STEP && ctx.batchesPerEpoch) return toStep(x, ctx.batchesPerEpoch);
  if (ctx.axis === X_TIME && ctx.time && ctx.time.size) return ctx.time.at(x);
  return x;
}

/** @param {unknown} ref */
const isXRef = (ref) => typeof ref === "string" && /^x\d*$/.test(ref);

/**
 * The layout with its marks moved to the context's x axis: shapes and
 * annotations referenced to an x axis (xref "x", "x2", ...; "paper" ones stay).
 * A new layout; the given one is not changed.
 * @param {Record<string, any>} layout
 * @param {XContext} ctx
 * @returns {Record<string, any>}
 */
export function moveLayoutMarks(layout, ctx) {
  if (ctx.axis === X_EPOCH || !layout || typeof layout !== "object") return layout;
  const out = { ...layout };
  if (Array.isArray(layout.shapes)) {
    out.shapes = layout.shapes.map((/** @type {any} */ s) =>
      s && isXRef(s.xref) ? { ...s, x0: markX(s.x0, ctx), x1: markX(s.x1, ctx) } : s,
    );
  }
  if (Array.isArray(layout.annotations)) {
    out.annotations = layout.annotations.map((/** @type {any} */ a) =>
      a && isXRef(a.xref) ? { ...a, x: markX(a.x, ctx) } : a,
    );
  }
  return out;
}

/**
 * An overlay or mark trace (best, stop, partial epoch, checkpoints, NaN
 * markers) moved to the context's x axis: a new trace, x converted.
 * @param {Record<string, any>} trace
 * @param {XContext} ctx
 */
export function moveTrace(trace, ctx) {
  if (ctx.axis === X_EPOCH || !trace || !Array.isArray(trace.x)) return trace;
  return { ...trace, x: trace.x.map((/** @type {unknown} */ x) => markX(x, ctx)), hovertemplate: hoverFor(trace.hovertemplate, ctx.axis) };
}

/**
 * A hover template that names the x value in the axis's unit: "epoch %{x}"
 * becomes "step %{x}" or "%{x:.1f} s".
 * @param {unknown} template
 * @param {string} axis
 */
export function hoverFor(template, axis) {
  if (typeof template !== "string" || axis === X_EPOCH) return template;
  const to = axis === X_STEP ? "step %{x}" : "%{x:.1f} s";
  return template.replace(/epoch %\{x(?::[^}]*)?\}/g, to);
}

/** Ticks to aim for, one per this many px of axis. */
export const TICK_SPACING_PX = 80;

/**
 * Tick settings that put ticks on whole numbers (epochs, steps): a step of 1,
 * 2 or 5 times a power of ten, at least 1, giving about one tick per
 * TICK_SPACING_PX over the span [lo, hi].
 * @param {number} lo
 * @param {number} hi
 * @param {number} px  width of the axis
 * @returns {{tickmode: "linear", tick0: number, dtick: number}}
 */
export function wholeTicks(lo, hi, px) {
  const span = Number.isFinite(hi - lo) && hi > lo ? hi - lo : 1;
  const target = Math.max(2, Math.floor((px > 0 ? px : 400) / TICK_SPACING_PX));
  const raw = span / target;
  let dtick = 1;
  if (raw > 1) {
    const p = 10 ** Math.floor(Math.log10(raw));
    const f = raw / p;
    dtick = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }
  return { tickmode: "linear", tick0: 0, dtick };
}

/** Longest name shown in legends and axis titles before it is shortened. */
export const MAX_NAME = MAX_NAME_CHARS;

/**
 * `name` cut to at most `max` characters with an ellipsis in the middle
 * (the start and the end of a metric name tell most: "val_sparse_…_accuracy"):
 * the first ceil((max - 1) / 2) and the last floor((max - 1) / 2) characters,
 * as core/history.py's short_name (the kernel shortens trace names and axis
 * titles the same way; this keeps anything longer that reaches the view short).
 * @param {string} name
 * @param {number} [max]
 */
export function shortName(name, max = MAX_NAME) {
  const chars = [...String(name)];
  if (chars.length <= max) return String(name);
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${chars.slice(0, head).join("")}…${chars.slice(chars.length - (keep - head)).join("")}`;
}

/** @param {string} s */
const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
/** @param {string} s */
const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * shortName of plotly text that is HTML-escaped (trace names, titles: an
 * entity is never cut in half).
 * @param {string} html
 * @param {number} [max]
 */
export function shortHtml(html, max = MAX_NAME) {
  const plain = unescape(String(html));
  const short = shortName(plain, max);
  return short === plain ? String(html) : escape(short);
}

/**
 * The x ranges the user zoomed into, after a `plotly_relayout` event: a zoom
 * or pan gives "xaxis2.range[0]"/"xaxis2.range[1]" (or "xaxis2.range"), an
 * autoscale or a double click "xaxis2.autorange": true (the whole series
 * again). A new object when something changed, else null.
 * @param {Readonly<Record<string, [number, number]>>} zoom  x axis id -> range
 * @param {Record<string, unknown>} event
 * @returns {Record<string, [number, number]> | null}
 */
export function zoomAfterRelayout(zoom, event) {
  /** @type {Record<string, [number, number]>} */
  const next = { ...zoom };
  let changed = false;
  /** @type {Record<string, Array<unknown>>} */
  const parts = {};
  for (const [key, value] of Object.entries(event ?? {})) {
    const m = /^xaxis(\d*)\.(range\[([01])\]|range|autorange)$/.exec(key);
    if (!m) continue;
    const id = `x${m[1]}`;
    if (m[2] === "autorange") {
      if (value === true && id in next) {
        delete next[id];
        changed = true;
      }
    } else if (m[2] === "range") {
      if (Array.isArray(value)) parts[id] = [value[0], value[1]];
    } else {
      parts[id] ??= [next[id]?.[0], next[id]?.[1]];
      parts[id][Number(m[3])] = value;
    }
  }
  for (const [id, [lo, hi]] of Object.entries(parts)) {
    if (!isFiniteNumber(lo) || !isFiniteNumber(hi)) continue;
    const range = /** @type {[number, number]} */ ([Math.min(Number(lo), Number(hi)), Math.max(Number(lo), Number(hi))]);
    if (next[id]?.[0] === range[0] && next[id]?.[1] === range[1]) continue;
    next[id] = range;
    changed = true;
  }
  return changed ? next : null;
}
