// The `plot_layout` trait as the view settings draw it (pure, no DOM): marks
// on the chosen x axis, its title and whole-number ticks, log and robust y
// axes, short axis titles, the theme's colours.

import { X_TIME, X_TITLES, moveLayoutMarks, shortHtml, wholeTicks } from "./axes.js";
import { metricFamily, metricName } from "./smoothing.js";
import { themeLayout } from "./theme.js";

/** @typedef {import("./protocol.js").Trace} Trace */

/** @typedef {import("./axes.js").XContext} XContext */

/**
 * @typedef {{axis: string, family: string}} Panel  a y axis id ("y", "y2")
 *   and the metric family it shows (plain text)
 */

/** @param {string} s */
const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** "yaxis2" -> "y2" */
const axisId = (/** @type {string} */ key) => `${key[0]}${key.slice(5)}`;

/**
 * The panels of a layout made by core/marks.py: one y axis per metric family,
 * in order. The family is that of the axis's metric curves (their whole
 * `meta.metric`: the axis title may be shortened), else the axis title.
 * @param {Record<string, any> | null | undefined} layout
 * @param {Trace[]} [traces]
 * @returns {Panel[]}
 */
export function panelsOf(layout, traces = []) {
  if (!layout || typeof layout !== "object") return [];
  /** @type {Map<string, string>} */
  const families = new Map();
  for (const t of Array.isArray(traces) ? traces : []) {
    const role = t?.meta?.role;
    if (role !== "metric" && role !== "batch") continue;
    const axis = typeof t.yaxis === "string" ? t.yaxis : "y";
    if (!families.has(axis)) families.set(axis, metricFamily(metricName(t)));
  }
  /** @type {Array<Panel & {order: number}>} */
  const out = [];
  for (const key of Object.keys(layout)) {
    const m = /^yaxis(\d*)$/.exec(key);
    if (!m) continue;
    const title = layout[key]?.title;
    const text = typeof title === "string" ? title : typeof title?.text === "string" ? title.text : "";
    const family = families.get(axisId(key)) ?? unescape(text);
    if (!family) continue;
    out.push({ axis: axisId(key), family, order: m[1] ? Number(m[1]) : 1 });
  }
  return out.sort((a, b) => a.order - b.order).map(({ axis, family }) => ({ axis, family }));
}

/**
 * @typedef {{
 *   x: XContext,
 *   logAxes: ReadonlySet<string>,
 *   yRanges: ReadonlyMap<string, [number, number]>,
 *   dark: boolean,
 *   xExtents: Record<string, [number, number]>,
 *   axisPx: Record<string, number>,
 *   zoom: Record<string, [number, number]>,
 * }} LayoutSettings  `yRanges`: robust ranges per y axis id (in log10 units
 *   on a log axis); `xExtents`: the data's x extent per x axis id (headroom
 *   included); `zoom`: x axes the user zoomed (a zoom is kept, by plotly's
 *   per-axis `uirevision`, until the axis's kind or scale changes)
 */

/**
 * @param {Record<string, any> | null | undefined} layout  the `plot_layout` trait
 * @param {LayoutSettings} s
 * @returns {Record<string, any>} a new layout (the trait is not changed)
 */
export function viewLayout(layout, s) {
  if (!layout || typeof layout !== "object") return layout ?? {};
  const out = moveLayoutMarks({ ...layout }, s.x);
  const base = typeof layout.uirevision === "string" || typeof layout.uirevision === "number" ? String(layout.uirevision) : "";
  for (const key of Object.keys(layout)) {
    const m = /^([xy])axis\d*$/.exec(key);
    if (!m || !layout[key] || typeof layout[key] !== "object") continue;
    const id = axisId(key);
    /** @type {Record<string, any>} */
    const axis = { ...layout[key] };
    const title = axis.title && typeof axis.title === "object" ? { ...axis.title } : { text: axis.title };
    if (m[1] === "x") {
      title.text = X_TITLES[s.x.axis] ?? title.text;
      axis.uirevision = `${base}|${s.x.axis}`;
      if (s.x.axis !== X_TIME) {
        const span = s.zoom[id] ?? s.xExtents[id];
        if (span) Object.assign(axis, wholeTicks(span[0], span[1], s.axisPx[id] ?? 0));
      }
    } else {
      if (typeof title.text === "string") title.text = shortHtml(title.text);
      const log = s.logAxes.has(id);
      const range = s.yRanges.get(id);
      axis.uirevision = `${base}|${log ? "log" : "linear"}|${range ? "robust" : "auto"}`;
      if (log) axis.type = "log";
      if (range) {
        axis.range = [...range];
        axis.autorange = false;
      }
    }
    axis.title = title;
    out[key] = axis;
  }
  return themeLayout(out, s.dark);
}
