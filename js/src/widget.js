// anywidget entry of widget_callbacks.LivePlot: a progress line, PNG/SVG
// buttons and the plotly plot of the training metrics. Traits and messages:
// see ./protocol.js (mirrors widget_callbacks/_protocol.py).

import { CSS } from "./css.mjs";
import { createDownload } from "./download.mjs";
import { Plotly, createPlot, frameScheduler } from "./plot.mjs";
import { createProgress } from "./progress.mjs";
import { MSG_EXTEND, STATUS_FAILED, STATUS_FINISHED, STATUS_STOPPED } from "./protocol.js";
import { applyExtend, createDisplayCache, displayData, pointCount } from "./store.mjs";

/**
 * @typedef {{
 *   get: (name: string) => any,
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
      if (isExtend(msg)) extendModel(model, msg);
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
    let pending = true;

    const emptyText = () => {
      const status = model.get("progress")?.status;
      if (pointCount(model.get("traces")) > 0) return null;
      return status === STATUS_FINISHED || status === STATUS_STOPPED || status === STATUS_FAILED
        ? EMPTY_TEXT_DONE
        : EMPTY_TEXT;
    };

    const redraw = () => {
      const width = plot.div.clientWidth;
      // Not laid out yet (detached, hidden tab): the ResizeObserver calls back.
      if (!plot.div.isConnected || (width === 0 && typeof ResizeObserver !== "undefined")) {
        pending = true;
        return;
      }
      pending = false;
      const traces = model.get("traces") ?? [];
      const overlays = model.get("overlays") ?? [];
      const data = [...displayData(traces, width, cache), ...overlays.map((/** @type {object} */ t) => ({ ...t }))];
      plot.setEmpty(emptyText());
      plot.draw(data, model.get("plot_layout"));
    };
    const frame = frameScheduler(win, redraw);
    const schedule = () => {
      pending = true;
      frame.schedule();
    };

    const onProgress = () => {
      const p = model.get("progress");
      root.dataset.status = typeof p?.status === "string" ? p.status : "";
      progress.update(p);
      if (plot.drawn) plot.setEmpty(emptyText());
    };
    /** @param {unknown} msg */
    const onMsg = (msg) => {
      if (!isExtend(msg)) return;
      extendModel(model, msg); // usually a no-op: initialize() applied it already
      // Redraw even when nothing changed here: another listener may have appended.
      if (/** @type {{run?: unknown}} */ (msg).run === model.get("run")) schedule();
    };

    /** @type {Array<[string, (...args: any[]) => void]>} */
    const listeners = [
      ["change:traces", schedule],
      ["change:plot_layout", schedule],
      ["change:overlays", schedule],
      ["change:run", schedule],
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
        schedule(); // decimation depends on the width
      });
      observer.observe(plot.root);
    }

    onProgress();
    if (pending) frame.schedule();

    return () => {
      for (const [event, fn] of listeners) model.off(event, fn);
      frame.cancel();
      observer?.disconnect();
      download.destroy();
      plot.purge();
      root.remove();
    };
  },
};
