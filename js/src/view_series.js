// What the view settings make of the model's traces, at full resolution and
// before decimation (pure, no DOM): x on the chosen axis, the smoothed curve
// with the raw one kept faint behind it, log-safe y, short names. Derived y
// arrays hold numbers only (NaN for a gap: stored unboxed).
//
// The derived arrays grow with the model's (the EMA and the x conversion
// continue from where they were), so an `extend` costs the new points only,
// the decimation of traces.js stays incremental (same arrays, longer) and
// svg_append.js can append the new points of the derived traces. They are
// recomputed when a setting changes or the model's arrays are replaced.

import { X_EPOCH, X_STEP, X_TIME, TimeMap, hoverFor, markX, shortHtml, toStep } from "./axes.js";
import { appendLogSafe } from "./scales.js";
import { SmoothedSeries, isSmoothable } from "./smoothing.js";

/** @typedef {import("./protocol.js").Trace} Trace */
/** @typedef {import("./axes.js").XContext} XContext */

/** Opacity of the raw curve behind a smoothed one (times the trace's own). */
export const RAW_OPACITY = 0.25;

/**
 * @typedef {{
 *   smoothing: number,
 *   logAxes: ReadonlySet<string>,
 *   x: XContext,
 * }} SeriesSettings  `smoothing` clamped (smoothing.js), `logAxes` y axis ids
 *   ("y", "y2") drawn on a log scale, `x` the x axis drawn
 */

/** @param {unknown} v */
const isFiniteNumber = (v) => typeof v === "number" && Number.isFinite(v);

/** @param {Trace} t */
const roleOf = (t) => (typeof t?.meta?.role === "string" ? t.meta.role : "");
/** @param {Trace} t */
const isData = (t) => roleOf(t) === "metric" || roleOf(t) === "batch";
/** @param {Trace} t */
const lengthOf = (t) => (Array.isArray(t.x) ? Math.min(t.x.length, t.y?.length ?? 0) : t.y?.length ?? 0);

/**
 * Whether the metric traces carry timestamps (`customdata`, seconds since the
 * run started): the "time" axis can be drawn.
 * @param {Trace[]} traces
 */
export function hasTime(traces) {
  if (!Array.isArray(traces)) return false;
  return traces.some((t) => roleOf(t) === "metric" && Array.isArray(t.customdata) && t.customdata.some(isFiniteNumber));
}

/** The run of a trace (`meta.run`: a number; an aggregate's is a list), or -1. */
const runOf = (/** @type {Trace} */ t) => (typeof t?.meta?.run === "number" ? t.meta.run : -1);

/**
 * Epoch -> seconds from the metric trace with the most timestamps, of the
 * current run (the last trace's `meta.run`: the marks placed with this map
 * are its own; each earlier run's curve has its own timestamps).
 * @param {Trace[]} traces
 * @returns {TimeMap | null}
 */
export function timeMapOf(traces) {
  /** @type {Trace | null} */
  let best = null;
  const list = traces ?? [];
  const current = list.length ? runOf(list[list.length - 1]) : -1;
  for (const t of list) {
    if (roleOf(t) !== "metric" || !Array.isArray(t.customdata) || !Array.isArray(t.x)) continue;
    if (runOf(t) !== current) continue;
    if (!best || t.customdata.length > /** @type {unknown[]} */ (best.customdata).length) best = t;
  }
  return best ? new TimeMap(/** @type {unknown[]} */ (best.x), /** @type {unknown[]} */ (best.customdata)) : null;
}

/**
 * @typedef {{
 *   key: string, x: unknown, y: unknown, cd: unknown, n: number,
 *   xs: unknown[] | null, ys: number[] | null, raw: number[] | null,
 *   smoother: SmoothedSeries | null, hidden: number,
 *   main: Trace, faint: Trace | null,
 * }} Entry  the derived arrays of one data trace
 */

export class ViewSeries {
  constructor() {
    /** @type {WeakMap<object, Entry>} */
    this.entries = new WeakMap();
  }

  /**
   * The traces to draw for `traces`, in order: for each model trace its raw
   * curve (faint, when it is smoothed) then the trace itself as the settings
   * make it (the model's trace itself when they change nothing). `source[i]`
   * is the index of the model trace behind `traces[i]`; `hidden` counts, per
   * y axis drawn on a log scale, the metric and batch values <= 0 left out.
   * @param {Trace[]} traces
   * @param {SeriesSettings} settings
   * @returns {{traces: Trace[], source: number[], hidden: Map<string, number>}}
   */
  derive(traces, settings) {
    /** @type {Trace[]} */
    const out = [];
    /** @type {number[]} */
    const source = [];
    /** @type {Map<string, number>} */
    const hidden = new Map();
    if (!Array.isArray(traces)) return { traces: out, source, hidden };
    traces.forEach((t, i) => {
      if (!t || typeof t !== "object" || !Array.isArray(t.y)) {
        out.push(t);
        source.push(i);
        return;
      }
      const yaxis = typeof t.yaxis === "string" ? t.yaxis : "y";
      const log = settings.logAxes.has(yaxis);
      if (isData(t)) {
        const entry = this.sync(t, i, settings, log);
        if (log) hidden.set(yaxis, (hidden.get(yaxis) ?? 0) + entry.hidden);
        if (entry.faint) {
          out.push(entry.faint);
          source.push(i);
        }
        out.push(entry.main);
      } else {
        out.push(markTrace(t, settings.x, log));
      }
      source.push(i);
    });
    return { traces: out, source, hidden };
  }

  /**
   * Bring the derived arrays of data trace `t` up to date.
   * @param {Trace} t
   * @param {number} index
   * @param {SeriesSettings} settings
   * @param {boolean} log
   * @returns {Entry}
   */
  sync(t, index, settings, log) {
    const smooth = settings.smoothing > 0 && isSmoothable(t);
    const axis = settings.x.axis;
    const bpe = settings.x.batchesPerEpoch ?? 0;
    // Not the weight: a slider move re-smooths the y values only (smoothInto()).
    const key = `${smooth}|${log}|${axis}|${axis === X_STEP ? bpe : ""}|${index}`;
    const n = lengthOf(t);
    let entry = this.entries.get(t);
    if (!entry || entry.key !== key || entry.x !== t.x || entry.y !== t.y || entry.cd !== t.customdata || n < entry.n) {
      entry = newEntry(t, key, smooth ? settings.smoothing : 0, log, axis, index);
      this.entries.set(t, entry);
    } else if (entry.smoother && entry.smoother.weight !== settings.smoothing) {
      entry.smoother = new SmoothedSeries(settings.smoothing);
      smoothInto(entry, /** @type {unknown[]} */ (t.y), 0, entry.n, log);
    }
    if (n > entry.n) fill(entry, t, n, axis, bpe, log);
    return entry;
  }
}

/**
 * @param {Trace} t
 * @param {string} key
 * @param {number} smoothing  0: none
 * @param {boolean} log
 * @param {string} axis
 * @param {number} index
 * @returns {Entry}
 */
function newEntry(t, key, smoothing, log, axis, index) {
  const xs = axis === X_EPOCH ? null : [];
  const ys = log ? [] : null;
  const raw = smoothing > 0 && log ? [] : null;
  const full = typeof t.name === "string" ? t.name : "";
  const name = shortHtml(full);
  let hover = hoverFor(t.hovertemplate, axis);
  if (name !== full && typeof hover === "string") hover = hover.replace(/%\{fullData\.name\}/g, full);
  const same = xs === null && ys === null && smoothing === 0 && name === full;
  /** @type {Trace} */
  const main = same ? t : { ...t, name, hovertemplate: hover };
  if (xs) main.x = xs;
  if (ys) main.y = ys;
  /** @type {Trace | null} */
  let faint = null;
  if (smoothing > 0) {
    // not "wc" and an index: traces.js names the others so, by their position
    const uid = typeof t.uid === "string" ? t.uid : `wc-s${index}`;
    main.uid = uid;
    const line = t.line && typeof t.line === "object" ? t.line : {};
    faint = {
      type: "scatter",
      mode: "lines",
      name: `${name} (raw)`,
      x: xs ?? t.x,
      y: raw ?? (log ? ys ?? undefined : t.y),
      xaxis: t.xaxis,
      yaxis: t.yaxis,
      line: { ...line, width: 1 },
      opacity: RAW_OPACITY * (typeof t.opacity === "number" ? t.opacity : 1),
      showlegend: false,
      legendgroup: t.legendgroup,
      hoverinfo: "skip",
      uid: `${uid}-raw`,
      meta: { ...(t.meta ?? {}), role: "raw" },
    };
  }
  return {
    key,
    x: t.x,
    y: t.y,
    cd: t.customdata,
    n: 0,
    xs,
    ys,
    raw,
    smoother: smoothing > 0 ? new SmoothedSeries(smoothing) : null,
    hidden: 0,
    main,
    faint,
  };
}

/**
 * Append points [entry.n, n) of `t` to the entry's arrays.
 * @param {Entry} entry
 * @param {Trace} t
 * @param {number} n
 * @param {string} axis
 * @param {number} bpe
 * @param {boolean} log
 */
function fill(entry, t, n, axis, bpe, log) {
  const from = entry.n;
  const y = /** @type {unknown[]} */ (t.y);
  if (entry.smoother) {
    smoothInto(entry, y, from, n, log);
    if (log) entry.hidden += appendLogSafe(y, from, n, /** @type {number[]} */ (entry.raw), Number.NaN);
  } else if (log) {
    entry.hidden += appendLogSafe(y, from, n, /** @type {number[]} */ (entry.ys), Number.NaN);
  }
  if (entry.xs) {
    const xs = entry.xs;
    const x = /** @type {unknown[]} */ (t.x);
    if (axis === X_STEP) {
      for (let i = from; i < n; i++) xs.push(toStep(x[i], bpe, true));
    } else if (axis === X_TIME) {
      const cd = Array.isArray(t.customdata) ? t.customdata : [];
      for (let i = from; i < n; i++) {
        const s = cd[i];
        xs.push(isFiniteNumber(s) && x[i] != null ? s : null);
      }
    }
  }
  entry.n = n;
}

/**
 * The smoothed y of points [from, n) into the entry's main trace (log-safe on
 * a log axis). When the smoother starts over (a new weight, a constant series
 * that changed), the main trace gets a new array from the start.
 * @param {Entry} entry
 * @param {unknown[]} y
 * @param {number} from
 * @param {number} n
 * @param {boolean} log
 */
function smoothInto(entry, y, from, n, log) {
  const smoother = /** @type {SmoothedSeries} */ (entry.smoother);
  const before = smoother.values;
  const smoothed = smoother.sync(y, n);
  if (!log) {
    entry.main.y = smoothed;
    return;
  }
  let start = from;
  if (smoothed !== before || !entry.ys) {
    entry.ys = [];
    entry.main.y = entry.ys;
    start = 0;
  }
  appendLogSafe(smoothed, start, n, entry.ys, Number.NaN);
}

/**
 * A mark trace of the model (checkpoints, NaN markers) or an overlay (best,
 * stop, partial epoch) on the settings' x axis and log scale: small, so made
 * anew each time. Marks never smooth.
 * @param {Trace} t
 * @param {XContext} x
 * @param {boolean} log
 * @returns {Trace}
 */
export function markTrace(t, x, log) {
  if (!t || typeof t !== "object" || (x.axis === X_EPOCH && !log)) return t;
  const out = { ...t, hovertemplate: hoverFor(t.hovertemplate, x.axis) };
  if (x.axis !== X_EPOCH && Array.isArray(t.x)) out.x = t.x.map((v) => /** @type {number | null} */ (markX(v, x)));
  if (log && Array.isArray(t.y)) {
    /** @type {Array<number | null>} */
    const ys = [];
    appendLogSafe(t.y, 0, t.y.length, ys, null);
    out.y = ys;
  }
  return out;
}
