// Exponential moving average with TensorBoard's debiasing (pure, no DOM).
//
// The rule is TensorBoard's scalar dashboard's, `classicSmoothing` in
// tensorflow/tensorboard, tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts:
//
//   last = last * w + (1 - w) * v      (last starts at 0)
//   numAccum += 1                      (counts finite values only)
//   smoothed = last / (1 - w ** numAccum)
//
// A value that is not finite (here: null, a gap) stays a gap (NaN in the
// output) and neither resets nor enters the average; a series whose values are all
// equal is returned unchanged (TensorBoard's #786: no rounding drift). The EMA
// is a running state, so a series that grows is continued, not recomputed
// (EmaState), and gives exactly what a fresh computation gives.

/** Largest smoothing weight the slider offers (1 would freeze the curve). */
export const SMOOTHING_MAX = 0.99;

/** Metric families never smoothed: the learning rate (its schedule is exact). */
export const UNSMOOTHED_FAMILIES = Object.freeze(["learning_rate", "lr"]);

/** Trace roles (`meta.role`) that are smoothed; marks and overlays never are. */
export const SMOOTHED_ROLES = Object.freeze(["metric", "batch"]);

/**
 * A weight in [0, SMOOTHING_MAX] (anything else: 0, or the bound).
 * @param {unknown} w
 */
export function clampSmoothing(w) {
  if (typeof w !== "number" || !Number.isFinite(w) || w <= 0) return 0;
  return Math.min(w, SMOOTHING_MAX);
}

/**
 * The panel a metric is drawn on: "val_loss" -> "loss", "f1[2]" -> "f1" (as
 * widget_callbacks/core/history.py's metric_family; " (batch)" suffix dropped).
 * @param {string} name  a trace name (may be HTML-escaped: only ASCII is looked at)
 */
export function metricFamily(name) {
  let n = String(name).replace(/ \(batch\)$/, "");
  const m = /^(.*)\[[\d,]+\]$/.exec(n);
  if (m && m[1]) n = m[1];
  if (n.startsWith("val_") && n.length > 4) n = n.slice(4);
  return n;
}

/**
 * Whether `trace` is smoothed: a metric or batch curve that is not the learning rate.
 * @param {{name?: unknown, meta?: Record<string, unknown>} | null | undefined} trace
 */
export function isSmoothable(trace) {
  const role = trace?.meta?.role;
  if (typeof role !== "string" || !SMOOTHED_ROLES.includes(role)) return false;
  return !UNSMOOTHED_FAMILIES.includes(metricFamily(metricName(trace)));
}

/**
 * The metric a curve draws: `meta.metric` (whole; the trace's name may be
 * shortened), else its name.
 * @param {{name?: unknown, meta?: Record<string, unknown>} | null | undefined} trace
 */
export function metricName(trace) {
  const metric = trace?.meta?.metric;
  return typeof metric === "string" ? metric : String(trace?.name ?? "");
}

/**
 * The running state of one smoothed series; `extend` continues it.
 */
export class EmaState {
  /** @param {number} weight  in [0, 1) (see clampSmoothing) */
  constructor(weight) {
    this.weight = weight;
    this.last = 0;
    this.count = 0; // finite values folded in
    this.power = 1; // weight ** count, kept by multiplying (Math.pow per point is the slow part)
    this.seen = 0; // values looked at
    /** @type {unknown} the first value */
    this.first = undefined;
    this.constant = true; // every value so far equals the first
  }

  /**
   * Smooth values[from, to) into out (pushed), continuing the state (the
   * EMA, also while the series is constant: see `constant`). Gaps are pushed
   * as NaN: an array of numbers only is stored unboxed, a tenth of the
   * memory and time of one holding nulls; the decimation, svg_append.js and
   * plotly all take NaN for a gap.
   * @param {ArrayLike<unknown>} values
   * @param {number} from
   * @param {number} to
   * @param {number[]} out
   */
  extend(values, from, to, out) {
    const w = this.weight;
    const v1 = 1 - w;
    let { last, count, power, seen, constant } = this;
    const first = seen === 0 && from < to ? values[from] : this.first;
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (constant && seen > 0 && v !== first) constant = false;
      seen++;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        out.push(Number.NaN);
        continue;
      }
      last = last * w + v1 * v;
      count++;
      power *= w;
      // w ** count underflows to 0 quickly: then 1 - power is 1
      out.push(w === 0 ? v : last / (1 - power));
    }
    Object.assign(this, { last, count, power, seen, constant, first });
  }
}

/**
 * @param {ArrayLike<unknown>} values
 * @param {number} from
 * @param {number} to
 * @param {number[]} out  written at [from, to)
 */
function passThrough(values, from, to, out) {
  for (let i = from; i < to; i++) {
    const v = values[i];
    out[i] = typeof v === "number" && Number.isFinite(v) ? v : Number.NaN;
  }
}

/**
 * The smoothed series (new array, same length; gaps stay gaps, as NaN).
 * @param {ArrayLike<unknown>} values
 * @param {number} weight  in [0, 1)
 * @returns {number[]}
 */
export function ema(values, weight) {
  /** @type {number[]} */
  const out = [];
  const state = new EmaState(weight);
  state.extend(values, 0, values.length, out);
  if (state.constant) passThrough(values, 0, values.length, out);
  return out;
}

/**
 * A growing smoothed copy of one series: `sync` appends what the source
 * gained since the last call (the same values ema() gives), recomputing only
 * when it must: the source shrank or was replaced, or a constant series
 * (passed through unchanged) stopped being constant.
 */
export class SmoothedSeries {
  /** @param {number} weight */
  constructor(weight) {
    this.weight = weight;
    /** @type {ArrayLike<unknown> | null} */
    this.source = null;
    this.n = 0;
    /** @type {number[]} the smoothed values (NaN: a gap); a new array on recomputation */
    this.values = [];
    this.state = new EmaState(weight);
  }

  /**
   * @param {ArrayLike<unknown>} source
   * @param {number} n  points of source to cover
   * @returns {number[]} `values`
   */
  sync(source, n) {
    if (source !== this.source || n < this.n) this.reset(source);
    if (n === this.n) return this.values;
    const from = this.n;
    const wasConstant = this.state.constant;
    this.state.extend(source, from, n, this.values);
    if (this.state.constant) passThrough(source, from, n, this.values);
    else if (wasConstant && from > 0) {
      // the prefix was passed through unchanged: smooth it (once)
      this.reset(source);
      this.state.extend(source, 0, n, this.values);
    }
    this.n = n;
    return this.values;
  }

  /** @param {ArrayLike<unknown> | null} source */
  reset(source) {
    this.source = source;
    this.n = 0;
    this.values = [];
    this.state = new EmaState(this.weight);
  }
}
