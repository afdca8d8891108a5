// y scales (pure, no DOM): what a log axis can draw, and an outlier-robust range.

/** @param {unknown} v */
const isFiniteNumber = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * Copy values[from, to) into out (pushed) for a log axis: a value <= 0 has no
 * logarithm and becomes a gap.
 * @template {number | null} G
 * @param {ArrayLike<unknown>} values
 * @param {number} from
 * @param {number} to
 * @param {Array<number | G>} out
 * @param {G} gap  what a gap is: null, or NaN (keeps an array of numbers unboxed)
 * @returns {number} how many values <= 0 were hidden (gaps not counted)
 */
export function appendLogSafe(values, from, to, out, gap) {
  let hidden = 0;
  for (let i = from; i < to; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) out.push(gap);
    else if (v <= 0) {
      out.push(gap);
      hidden++;
    } else out.push(v);
  }
  return hidden;
}

/**
 * The values a log axis can draw (a new array; <= 0 and non-finite are gaps).
 * @param {ArrayLike<unknown>} values
 * @returns {{values: Array<number | null>, hidden: number}}
 */
export function logSafe(values) {
  /** @type {Array<number | null>} */
  const out = [];
  const hidden = appendLogSafe(values, 0, values.length, out, null);
  return { values: out, hidden };
}

/**
 * The note the toolbar shows for hidden values, or "" when there are none.
 * @param {number} hidden
 */
export function logNote(hidden) {
  if (!(hidden > 0)) return "";
  return `${hidden.toLocaleString("en-US")} value${hidden === 1 ? "" : "s"} <= 0 not shown on log scale`;
}

/**
 * The q-quantile (0..1) of sorted numbers, linearly interpolated.
 * @param {number[]} sorted  ascending, not empty
 * @param {number} q
 */
export function quantile(sorted, q) {
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Share of the run's epochs at its start that the robust range leaves out. */
export const ROBUST_SKIP = 0.1;
/** Quantiles of the batch values (noisy) the robust range spans. */
export const ROBUST_QUANTILES = Object.freeze([0.01, 0.99]);
/** Padding on each side, as a share of the span. */
export const ROBUST_PAD = 0.05;

/**
 * @typedef {{x: ArrayLike<unknown>, y: ArrayLike<unknown>, batch?: boolean}} RangeSeries
 *   one curve of a panel, as drawn (x on the chosen x axis)
 */

/**
 * The epoch up to which the robust range leaves points out: the first 10% of
 * the run's `lastEpoch` epochs (ROBUST_SKIP); in a run of 3 to 9 epochs the
 * first epoch; in a shorter one nothing (-Infinity).
 * @param {number} lastEpoch
 */
export function robustSkip(lastEpoch) {
  if (!(lastEpoch >= 3)) return -Infinity;
  return lastEpoch >= 10 ? ROBUST_SKIP * lastEpoch : 1;
}

/**
 * An outlier-robust y range for one panel (the first epochs' spike left out).
 *
 * The rule: points at x <= `skipBelow` (robustSkip(), converted to the x axis
 * drawn) are left out. The range spans the remaining values of the epoch
 * curves whole (few points: each counts) and the 1% to 99% quantiles of the
 * batch curves' (noisy: single batches are outliers), padded by ROBUST_PAD of
 * the span on each side. On a log axis this is done on log10 of the values
 * (<= 0 left out) and the range is in log10 units, as plotly's `range` of a
 * log axis is. The widget gives it the drawn (min/max-decimated) points: their
 * envelope is that of all points, their quantiles a little wider.
 *
 * @param {RangeSeries[]} series
 * @param {{log?: boolean, skipBelow?: number}} [opts]
 * @returns {[number, number] | null} null: no value left (let plotly autorange)
 */
export function robustRange(series, opts = {}) {
  const log = opts.log === true;
  const skip = typeof opts.skipBelow === "number" ? opts.skipBelow : -Infinity;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    /** @type {number[]} */
    const kept = [];
    const n = Math.min(s.x.length, s.y.length);
    for (let i = 0; i < n; i++) {
      const x = s.x[i];
      let y = s.y[i];
      if (!isFiniteNumber(x) || /** @type {number} */ (x) <= skip || !isFiniteNumber(y)) continue;
      if (log) {
        if (/** @type {number} */ (y) <= 0) continue;
        y = Math.log10(/** @type {number} */ (y));
      }
      kept.push(/** @type {number} */ (y));
    }
    if (!kept.length) continue;
    kept.sort((a, b) => a - b);
    const [qlo, qhi] = s.batch ? ROBUST_QUANTILES : [0, 1];
    lo = Math.min(lo, quantile(kept, qlo));
    hi = Math.max(hi, quantile(kept, qhi));
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const span = hi - lo;
  const pad = span > 0 ? ROBUST_PAD * span : Math.abs(lo) * ROBUST_PAD || 1;
  return [lo - pad, hi + pad];
}
