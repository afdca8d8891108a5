// anywidget entry of widget_callbacks.LivePlot: a progress line, PNG/SVG
// buttons and the plotly plot of the training metrics. Traits and messages:
// see ./protocol.js (widget_callbacks/core/protocol.json); what each frame
// redraws: ./redraw.js. The styles are widget.css, which the Python widget
// hands to anywidget as `_css`.

import { createDownload } from "./download.js";
import { Plotly, createPlot, frameScheduler } from "./plot.js";
import { createProgress } from "./progress.js";
import { MSG_EXTEND, STATUS_FAILED, STATUS_FINISHED, STATUS_STOPPED, STATUS_TRAINING, TRAITS } from "./protocol.js";
import { CATCH_UP_MS, FULL, LAYOUT, MAX_APPENDED, MAX_STALE_MS, NONE, RedrawPlan } from "./redraw.js";
import { answerStaticPng } from "./static_png.js";
import {
  applyExtend,
  axisWidths,
  createDisplayCache,
  displayData,
  extendProgress,
  headroomTraces,
  pointCount,
} from "./traces.js";

export { CATCH_UP_MS, MAX_APPENDED, MAX_STALE_MS };

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
  return applyExtend(model.get(TRAITS.traces), msg, model.get(TRAITS.run));
}

/** @param {unknown} msg */
const isExtend = (msg) => !!msg && typeof msg === "object" && /** @type {{type?: unknown}} */ (msg).type === MSG_EXTEND;

export default {
  /**
   * Once per model, before any view: keep the model's traces current even
   * while no view is displayed, so a view created later starts complete; and
   * answer the kernel's requests for the static copy's PNG (./static_png.js).
   * @param {{model: Model}} ctx
   */
  initialize({ model }) {
    /** @param {unknown} msg */
    const onMsg = (msg) => {
      if (!isExtend(msg)) return;
      extendModel(model, msg);
      // Set here only (not saved back): Python updated its trait in place.
      const progress = extendProgress(msg, model.get(TRAITS.run));
      if (progress) model.set(TRAITS.progress, progress);
    };
    model.on("msg:custom", onMsg);
    // After onMsg: a PNG request waits for the points of the extends before it.
    const stopAnswering = answerStaticPng(/** @type {any} */ (model), Plotly);
    return () => {
      model.off("msg:custom", onMsg);
      stopAnswering();
    };
  },

  /**
   * @param {{model: Model, el: HTMLElement}} ctx
   */
  render({ model, el }) {
    const doc = el.ownerDocument;
    const win = doc.defaultView;
    const root = doc.createElement("div");
    root.className = "wc-root";
    const top = doc.createElement("div");
    top.className = "wc-top";
    const progress = createProgress(doc);
    const plot = createPlot(doc);
    const download = createDownload(doc, plot.div, Plotly);
    top.append(progress.text, download.root);
    root.append(top, progress.bar, plot.root);
    el.appendChild(root);

    const cache = createDisplayCache();
    /** @type {Map<string, number>} x axis -> where its headroom ends (traces.js) */
    const ends = new Map();
    const clock = () => win?.performance?.now() ?? Date.now();
    const isLive = () => model.get(TRAITS.progress)?.status === STATUS_TRAINING;
    const plan = new RedrawPlan(isLive());
    /** @type {any} */
    let catchUp = null;

    const emptyText = () => {
      const status = model.get(TRAITS.progress)?.status;
      if (pointCount(model.get(TRAITS.traces)) > 0) return null;
      return status === STATUS_FINISHED || status === STATUS_STOPPED || status === STATUS_FAILED
        ? EMPTY_TEXT_DONE
        : EMPTY_TEXT;
    };

    /** @param {boolean} due  from the plan: whether a frame is due */
    const schedule = (due) => {
      if (due) frame.schedule();
    };
    /** Arm (or clear) the timer of the plan's catch-up. */
    const armCatchUp = () => {
      clearTimeout(catchUp);
      catchUp = null;
      if (plan.catchUpAt === null) return;
      catchUp = setTimeout(
        () => {
          catchUp = null;
          if (plan.catchUp(clock())) frame.schedule();
          else armCatchUp(); // fired early (timer and clock disagree): wait on
        },
        Math.max(0, plan.catchUpAt - clock()),
      );
    };

    /** @returns {Promise<void> | undefined} the full draw, if one was done */
    const redraw = () => {
      const width = plot.div.clientWidth;
      // Not laid out yet (detached, hidden tab): the ResizeObserver calls back.
      if (!plot.div.isConnected || (width === 0 && typeof ResizeObserver !== "undefined")) return undefined;
      const level = plan.next(clock(), plot.appended);
      if (level === NONE) return undefined;
      const traces = model.get(TRAITS.traces) ?? [];
      if (level !== FULL && plot.append(traces)) {
        if (level === LAYOUT) {
          // Synchronous in effect: the check runs before the frame is painted.
          plot.relayout(model.get(TRAITS.plot_layout)).then((intact) => {
            if (!intact) drawNow();
          });
        }
        plan.didAppend(clock(), plot.appended);
        armCatchUp();
        return undefined;
      }
      plan.didDraw();
      armCatchUp();
      const layout = model.get(TRAITS.plot_layout);
      const overlays = model.get(TRAITS.overlays) ?? [];
      const shown = [
        ...displayData(traces, width, cache, axisWidths(layout, width)),
        ...overlays.map((/** @type {object} */ t) => ({ ...t })),
      ];
      if (!plan.live) ends.clear();
      const data = plan.live ? [...shown, ...headroomTraces(shown, ends)] : shown;
      plot.setEmpty(emptyText());
      return plot.draw(data, layout, traces);
    };
    const frame = frameScheduler(win, redraw);
    const drawNow = () => {
      frame.cancel();
      plan.request(FULL);
      return redraw();
    };
    const scheduleFull = () => schedule(plan.request(FULL));
    plot.onStale(scheduleFull);

    const onProgress = () => {
      const p = model.get(TRAITS.progress);
      root.dataset.status = typeof p?.status === "string" ? p.status : "";
      progress.update(p);
      if (plot.drawn) plot.setEmpty(emptyText());
      schedule(plan.setLive(isLive()));
    };
    /** @param {unknown} msg */
    const onMsg = (msg) => {
      if (!isExtend(msg)) return;
      extendModel(model, msg); // usually a no-op: initialize() applied it already
      // Redraw even when nothing changed here: another listener may have appended.
      if (/** @type {{run?: unknown}} */ (msg).run === model.get(TRAITS.run)) schedule(plan.extended());
    };

    /** @type {Array<[string, (...args: any[]) => void]>} */
    const listeners = [
      ...[TRAITS.traces, TRAITS.plot_layout, TRAITS.overlays, TRAITS.run].map(
        (name) => /** @type {[string, () => void]} */ ([`change:${name}`, () => schedule(plan.changed(name))]),
      ),
      [`change:${TRAITS.progress}`, onProgress],
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
      catchUp = null;
      observer?.disconnect();
      download.destroy();
      plot.purge();
      root.remove();
    };
  },
};
