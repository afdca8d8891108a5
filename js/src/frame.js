// What one redraw hands to Plotly, from the synced traits and the view
// settings (pure, no DOM): the derived full-resolution traces
// (view_series.js), decimated to the plot's width or to the zoomed range
// (traces.js), the overlays on the same x axis and scales, headroom while
// live, and the layout as the view draws it (view_layout.js), with the notes
// the toolbar shows.

import { X_EPOCH, X_TIME, batchesPerEpoch, markX, resolveXAxis } from "./axes.js";
import { logNote, robustRange, robustSkip } from "./scales.js";
import { axisWidths, createDisplayCache, displayData, headroomTraces } from "./traces.js";
import { ViewSeries, hasTime, markTrace, timeMapOf } from "./view_series.js";
import { panelsOf, viewLayout } from "./view_layout.js";
import { clampSmoothing } from "./smoothing.js";

/** @typedef {import("./protocol.js").Trace} Trace */
/** @typedef {import("./protocol.js").View} View */
/** @typedef {import("./view_layout.js").Panel} Panel */
/** @typedef {import("./view_layout.js").LayoutSettings} LayoutSettings */
/** @typedef {import("./view_series.js").SeriesSettings} SeriesSettings */

/**
 * @typedef {{
 *   traces: Trace[], layout: Record<string, any> | null | undefined,
 *   progress: {batches?: unknown} | null | undefined, view: View, dark: boolean,
 * }} FrameInput  the traits (and the page's theme) a frame is made of
 */

/**
 * @typedef {{series: SeriesSettings, panels: Panel[], axisNote: string}} Settings
 * @typedef {FrameInput & {overlays: Trace[], width: number, live: boolean,
 *   zoom: Record<string, [number, number]>, robust: boolean}} FullInput
 */

/** @param {unknown} v */
const isFiniteNumber = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * The settings of the traces: the x axis drawn (and why not the one asked
 * for), the y axes on a log scale, the smoothing.
 * @param {FrameInput} input
 * @returns {Settings}
 */
export function frameSettings(input) {
  const panels = panelsOf(input.layout, input.traces);
  const bpe = batchesPerEpoch(input.progress);
  const { axis, note } = resolveXAxis(input.view.x_axis, { batchesPerEpoch: bpe, hasTime: hasTime(input.traces) });
  const logAxes = new Set(panels.filter((p) => input.view.log_y.includes(p.family)).map((p) => p.axis));
  return {
    series: {
      smoothing: clampSmoothing(input.view.smoothing),
      logAxes,
      x: { axis, batchesPerEpoch: bpe, time: axis === X_TIME ? timeMapOf(input.traces) : null },
    },
    panels,
    axisNote: note,
  };
}

/** Last epoch of the metric curves (x of their last point), or 0. */
const lastEpoch = (/** @type {Trace[]} */ traces) => {
  let last = 0;
  for (const t of traces) {
    if (t?.meta?.role !== "metric" || !Array.isArray(t.x)) continue;
    for (let i = t.x.length - 1; i >= 0; i--) {
      const x = t.x[i];
      if (isFiniteNumber(x)) {
        last = Math.max(last, /** @type {number} */ (x));
        break;
      }
    }
  }
  return last;
};

/**
 * x extent of what is drawn, per x axis id.
 * @param {Trace[]} shown
 * @returns {Record<string, [number, number]>}
 */
export function xExtents(shown) {
  /** @type {Record<string, [number, number]>} */
  const out = {};
  for (const t of shown) {
    if (!t || !Array.isArray(t.x)) continue;
    const axis = typeof t.xaxis === "string" ? t.xaxis : "x";
    for (const v of t.x) {
      if (!isFiniteNumber(v)) continue;
      const e = out[axis];
      if (!e) out[axis] = [/** @type {number} */ (v), /** @type {number} */ (v)];
      else {
        if (/** @type {number} */ (v) < e[0]) e[0] = /** @type {number} */ (v);
        if (/** @type {number} */ (v) > e[1]) e[1] = /** @type {number} */ (v);
      }
    }
  }
  return out;
}

/**
 * Robust y ranges (scales.js) of the panels, from the drawn metric and batch
 * curves (smoothed when smoothing is on), per y axis id.
 * @param {Trace[]} shown
 * @param {Settings} settings
 * @param {number} epochs  the run's last epoch
 * @returns {Map<string, [number, number]>}
 */
export function robustRanges(shown, settings, epochs) {
  const skip = markX(robustSkip(epochs), settings.series.x);
  const skipBelow = isFiniteNumber(skip) ? /** @type {number} */ (skip) : -Infinity;
  /** @type {Map<string, Array<{x: unknown[], y: unknown[], batch: boolean}>>} */
  const byAxis = new Map();
  for (const t of shown) {
    const role = t?.meta?.role;
    if ((role !== "metric" && role !== "batch") || !Array.isArray(t.x) || !Array.isArray(t.y)) continue;
    const axis = typeof t.yaxis === "string" ? t.yaxis : "y";
    if (!byAxis.has(axis)) byAxis.set(axis, []);
    byAxis.get(axis)?.push({ x: t.x, y: /** @type {unknown[]} */ (t.y), batch: role === "batch" });
  }
  /** @type {Map<string, [number, number]>} */
  const out = new Map();
  for (const [axis, series] of byAxis) {
    const range = robustRange(series, { log: settings.series.logAxes.has(axis), skipBelow });
    if (range) out.set(axis, range);
  }
  return out;
}

/**
 * The toolbar's note: the axis that could not be drawn, values hidden on log panels.
 * @param {Settings} settings
 * @param {Map<string, number>} hidden  per y axis id
 */
export function frameNote(settings, hidden) {
  const notes = settings.axisNote ? [settings.axisNote] : [];
  for (const p of settings.panels) {
    const text = logNote(hidden.get(p.axis) ?? 0);
    if (text) notes.push(settings.panels.length > 1 ? `${p.family}: ${text}` : text);
  }
  return notes.join("; ");
}

export class ViewFrame {
  constructor() {
    this.series = new ViewSeries();
    // Each view its own: Plotly writes into the trace objects it is given.
    this.cache = createDisplayCache();
    /** @type {Map<string, number>} x axis -> where its headroom ends (traces.js) */
    this.ends = new Map();
    /** @type {LayoutSettings | null} those of the last full frame */
    this.layoutSettings = null;
    /** @type {string} the x axis of the last frame (a zoom belongs to it) */
    this.axis = X_EPOCH;
  }

  /**
   * The derived traces alone (for appending the newest points).
   * @param {FrameInput} input
   */
  derive(input) {
    const settings = frameSettings(input);
    return { settings, derived: this.series.derive(input.traces ?? [], settings.series) };
  }

  /**
   * What a full frame hands to Plotly as data (see full()), and what it was made of.
   * @param {FullInput} input
   */
  data(input) {
    const { settings, derived } = this.derive(input);
    const { series } = settings;
    this.axis = series.x.axis;
    const axisPx = axisWidths(input.layout, input.width);
    const overlays = (input.overlays ?? []).map((o) =>
      markTrace({ ...o }, series.x, series.logAxes.has(typeof o?.yaxis === "string" ? o.yaxis : "y")),
    );
    const shown = [...displayData(derived.traces, input.width, this.cache, axisPx, input.zoom), ...overlays];
    if (!input.live) this.ends.clear();
    const data = input.live ? [...shown, ...headroomTraces(shown, this.ends)] : shown;
    return { settings, derived, axisPx, shown, data };
  }

  /**
   * A full frame.
   * @param {FullInput} input
   * @returns {{data: Trace[], layout: Record<string, any>, traces: Trace[], note: string, panels: Panel[]}}
   *   `traces`: the derived traces, which data begins with (for svg_append.js)
   */
  full(input) {
    const { settings, derived, axisPx, shown, data } = this.data(input);
    this.layoutSettings = {
      x: settings.series.x,
      logAxes: settings.series.logAxes,
      yRanges: input.robust ? robustRanges(shown, settings, lastEpoch(input.traces ?? [])) : new Map(),
      dark: input.dark,
      xExtents: xExtents(data),
      axisPx,
      zoom: input.zoom,
    };
    return {
      data,
      layout: viewLayout(input.layout, this.layoutSettings),
      traces: derived.traces,
      note: frameNote(settings, derived.hidden),
      panels: settings.panels,
    };
  }

  /**
   * A new `plot_layout` between full frames, drawn with the last one's settings.
   * @param {Record<string, any> | null | undefined} layout
   */
  layout(layout) {
    return this.layoutSettings ? viewLayout(layout, this.layoutSettings) : layout ?? {};
  }
}
