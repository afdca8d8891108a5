// anywidget entry of widget_callbacks.LivePlot: a progress line, PNG/SVG
// buttons and the plotly plot of the training metrics. Traits and messages:
// see ./protocol.js (mirrors widget_callbacks/_protocol.py).

import { CSS } from "./css.mjs";
import { createDownload } from "./download.mjs";
import { Plotly, createPlot, frameScheduler } from "./plot.mjs";
import { createProgress } from "./progress.mjs";
import { MSG_EXTEND, STATUS_FAILED, STATUS_FINISHED, STATUS_STOPPED, STATUS_TRAINING } from "./protocol.js";
import {
  applyExtend,
  axisWidths,
  createDisplayCache,
  displayData,
  extendProgress,
  headroomTraces,
  pointCount,
} from "./store.mjs";

/**
 * @typedef {{
 *   get: (name: string) => any,
 *   set: (name: string, value: any) => void,
 *   on: (event: string, callback: (...args: any[]) => void) => void,
 *   off: (event: string, callback: (...args: any[]) => void) => void,
 * }} Model  the part of anywidget's model interface used here
 */

/** Text over the empty axes before the first point. */
export const EMPTY_TEXT = "waiting for the first epoch";
const EMPTY_TEXT_DONE = "no epoch recorded";

/**
 * Apply an `extend` message to the model's traces (in place). Points already
 * present are skipped, so running this once per model and once per view is safe.
 * @param {Model} model
 * @param {unknown} msg
 */
function extendModel(model, msg) {
  return applyExtend(model.get("traces"), msg, model.get("run"));
}

/**
 * New points are drawn by appending to Plotly's SVG (tail.mjs) when they can
 * be; Plotly's hover does not know them and the SVG grows undecimated. A full
 * redraw catches up once the updates pause for CATCH_UP_MS, or, while they keep
 * coming, once the oldest appended point is MAX_STALE_MS old or MAX_APPENDED
 * points were appended.
 */
export const CATCH_UP_MS = 500;
export const MAX_STALE_MS = 5000;
export const MAX_APPENDED = 20000;

/** What the next animation frame redraws (each includes the ones before). */
const NONE = 0;
const TAIL = 1; // points appended to the traces
const LAYOUT = 2; // the layout trait (shapes, annotations), not the data
const FULL = 3;

/** @param {unknown} msg */
const isExtend = (msg) => !!msg && typeof msg === "object" && /** @type {{type?: unknown}} */ (msg).type === MSG_EXTEND;

export default {
  /**
   * Once per model, before any view: keep the model's traces current even
   * while no view is displayed, so a view created later starts complete.
   * @param {{model: Model}} ctx
   */
  initialize({ model }) {
    /** @param {unknown} msg */
    const onMsg = (msg) => {
      if (!isExtend(msg)) return;
      extendModel(model, msg);
      // Set here only (not saved back): Python updated its trait in place.
      const progress = extendProgress(msg, model.get("run"));
      if (progress) model.set("progress", progress);
    };
    model.on("msg:custom", onMsg);
    return () => model.off("msg:custom", onMsg);
  },

  /**
   * @param {{model: Model, el: HTMLElement}} ctx
   */
  render({ model, el }) {
    const doc = el.ownerDocument;
    const win = doc.defaultView;
    const root = doc.createElement("div");
    root.className = "wc-root";
    const style = doc.createElement("style");
    style.textContent = CSS;
    const top = doc.createElement("div");
    top.className = "wc-top";
    const progress = createProgress(doc);
    const plot = createPlot(doc);
    const download = createDownload(doc, plot.div, Plotly);
    top.append(progress.text, download.root);
    root.append(style, top, progress.bar, plot.root);
    el.appendChild(root);

    const cache = createDisplayCache();
    /** @type {Map<string, number>} x axis -> where its headroom ends (store.mjs) */
    const ends = new Map();
    let need = FULL;
    /** @type {number | null} when the first point since the last full draw was appended */
    let appendedAt = null;
    /** @type {any} */
    let catchUp = null;
    const clock = () => win?.performance?.now() ?? Date.now();

    const emptyText = () => {
      const status = model.get("progress")?.status;
      if (pointCount(model.get("traces")) > 0) return null;
      return status === STATUS_FINISHED || status === STATUS_STOPPED || status === STATUS_FAILED
        ? EMPTY_TEXT_DONE
        : EMPTY_TEXT;
    };
    const isLive = () => model.get("progress")?.status === STATUS_TRAINING;
    let live = isLive();

    /** @returns {Promise<void> | undefined} the full draw, if one was done */
    const redraw = () => {
      const width = plot.div.clientWidth;
      // Not laid out yet (detached, hidden tab): the ResizeObserver calls back.
      if (!plot.div.isConnected || (width === 0 && typeof ResizeObserver !== "undefined")) return undefined;
      const traces = model.get("traces") ?? [];
      if (
        (need === TAIL || need === LAYOUT) &&
        plot.appended < MAX_APPENDED &&
        (appendedAt === null || clock() - appendedAt < MAX_STALE_MS) &&
        plot.append(traces)
      ) {
        if (need === LAYOUT) {
          // Synchronous in effect: the check runs before the frame is painted.
          plot.relayout(model.get("plot_layout")).then((intact) => {
            if (!intact) drawNow();
          });
        }
        need = NONE;
        clearTimeout(catchUp);
        if (plot.appended > 0) {
          appendedAt ??= clock();
          catchUp = setTimeout(scheduleFull, CATCH_UP_MS);
        }
        return undefined;
      }
      need = NONE;
      clearTimeout(catchUp);
      appendedAt = null;
      const layout = model.get("plot_layout");
      const overlays = model.get("overlays") ?? [];
      const shown = [
        ...displayData(traces, width, cache, axisWidths(layout, width)),
        ...overlays.map((/** @type {object} */ t) => ({ ...t })),
      ];
      if (!live) ends.clear();
      const data = live ? [...shown, ...headroomTraces(shown, ends)] : shown;
      plot.setEmpty(emptyText());
      return plot.draw(data, layout, traces);
    };
    const frame = frameScheduler(win, redraw);
    const drawNow = () => {
      frame.cancel();
      need = FULL;
      return redraw();
    };
    /** @param {number} what  TAIL, LAYOUT or FULL */
    const schedule = (what) => {
      if (need < what) need = what;
      frame.schedule();
    };
    const scheduleFull = () => schedule(FULL);
    plot.onStale(scheduleFull);

    const onProgress = () => {
      const p = model.get("progress");
      root.dataset.status = typeof p?.status === "string" ? p.status : "";
      progress.update(p);
      if (plot.drawn) plot.setEmpty(emptyText());
      // Headroom on the x axes while live only: the finished plot fits its data.
      if (isLive() !== live) {
        live = !live;
        scheduleFull();
      }
    };
    /** @param {unknown} msg */
    const onMsg = (msg) => {
      if (!isExtend(msg)) return;
      extendModel(model, msg); // usually a no-op: initialize() applied it already
      // Redraw even when nothing changed here: another listener may have appended.
      if (/** @type {{run?: unknown}} */ (msg).run === model.get("run")) schedule(TAIL);
    };

    /** @type {Array<[string, (...args: any[]) => void]>} */
    const listeners = [
      ["change:traces", scheduleFull],
      ["change:plot_layout", () => schedule(LAYOUT)],
      ["change:overlays", scheduleFull],
      ["change:run", scheduleFull],
      ["change:progress", onProgress],
      ["msg:custom", onMsg],
    ];
    for (const [event, fn] of listeners) model.on(event, fn);

    /** @type {ResizeObserver | null} */
    let observer = null;
    let lastWidth = -1;
    if (typeof ResizeObserver !== "undefined") {
      observer = new ResizeObserver(() => {
        const width = plot.div.clientWidth;
        if (width === lastWidth) return;
        lastWidth = width;
        if (width === 0) return;
        plot.resize();
        scheduleFull(); // decimation depends on the width
      });
      observer.observe(plot.root);
    }

    onProgress();
    frame.schedule();

    return () => {
      for (const [event, fn] of listeners) model.off(event, fn);
      frame.cancel();
      clearTimeout(catchUp);
      observer?.disconnect();
      download.destroy();
      plot.purge();
      root.remove();
    };
  },
};
