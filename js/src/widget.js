// anywidget entry of widget_callbacks.LivePlot: a progress line, PNG/SVG
// buttons and the plotly plot of the training metrics. Traits and messages:
// see ./protocol.js (widget_callbacks/core/protocol.json); what each frame
// redraws: ./redraw.js. The styles are widget.css, which the Python widget
// hands to anywidget as `_css`. (Over 300 lines: render is the one place that
// wires the toolbar, the plot, the table and the redraw plan together; the
// decisions are in the pure modules it calls.)

import { zoomAfterRelayout } from "./axes.js";
import { createDownload } from "./download.js";
import { ViewFrame } from "./frame.js";
import { Plotly, createPlot, frameScheduler } from "./plot.js";
import { createProgress } from "./progress.js";
import { MSG_EXTEND, STATUS_FAILED, STATUS_FINISHED, STATUS_STOPPED, STATUS_TRAINING, TRAITS } from "./protocol.js";
import { CATCH_UP_MS, FULL, LAYOUT, MAX_APPENDED, MAX_STALE_MS, NONE, RedrawPlan } from "./redraw.js";
import { answerStaticPng } from "./static_png.js";
import { createSummaryTable } from "./summary_table.js";
import { isDark, watchPageTheme } from "./theme.js";
import { createToolbar } from "./toolbar.js";
import { applyExtend, extendProgress, pointCount } from "./traces.js";
import { normalizeView, smoothingOnly } from "./view.js";
import { panelsOf } from "./view_layout.js";

export { CATCH_UP_MS, MAX_APPENDED, MAX_STALE_MS };

/**
 * @typedef {{
 *   get: (name: string) => any,
 *   set: (name: string, value: any) => void,
 *   on: (event: string, callback: (...args: any[]) => void) => void,
 *   off: (event: string, callback: (...args: any[]) => void) => void,
 *   save_changes?: () => void,
 * }} Model  the part of anywidget's model interface used here
 */

/** A redraw put off because the plot had no width is tried again after this (ms). */
export const RELOOK_MS = 200;

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
    const summary = createSummaryTable(doc);
    const toolbar = createToolbar(doc, (view, final) => {
      model.set(TRAITS.view, view);
      if (final) model.save_changes?.();
      onView(); // a model that does not echo its own set() (a test's) still redraws
    });
    top.append(progress.text, download.root);
    root.append(top, progress.bar, toolbar.root, plot.root, summary.root);
    el.appendChild(root);

    const frames = new ViewFrame();
    /** @type {Record<string, [number, number]>} x axis id -> the range zoomed into */
    let zoom = {};
    let viewKey = "";
    /** The next frame follows a smoothing move alone (see plot.redrawLines). */
    let resmoothOnly = false;
    const view = () => normalizeView(model.get(TRAITS.view));
    const dark = () => isDark(view().theme, doc.body);
    /** The traits a frame is made of. */
    const frameInput = () => ({
      traces: model.get(TRAITS.traces) ?? [],
      layout: model.get(TRAITS.plot_layout),
      progress: model.get(TRAITS.progress),
      view: view(),
      dark: dark(),
    });
    const clock = () => win?.performance?.now() ?? Date.now();
    const isLive = () => model.get(TRAITS.progress)?.status === STATUS_TRAINING;
    const plan = new RedrawPlan(isLive());
    /** @type {any} */
    let catchUp = null;
    /** @type {any} a redraw put off while the plot had no width */
    let relook = null;

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
      // A width of 0 for a moment only (JupyterLab swapping its theme's styles)
      // may never reach the ResizeObserver: look again a little later too.
      if (!plot.div.isConnected || (width === 0 && typeof ResizeObserver !== "undefined")) {
        if (plot.div.isConnected && plan.pending !== NONE && relook === null) {
          relook = setTimeout(() => {
            relook = null;
            frame.schedule();
          }, RELOOK_MS);
        }
        return undefined;
      }
      const level = plan.next(clock(), plot.appended);
      if (level === NONE) return undefined;
      const input = frameInput();
      // The derived traces grow with the model's: their new points are appended.
      const { settings, derived } = frames.derive(input);
      const axis = settings.series.x.axis;
      if (level !== FULL) {
        if (axis === frames.axis && plot.append(derived.traces)) {
          if (level === LAYOUT) {
            // Synchronous in effect: the check runs before the frame is painted.
            plot.relayout(frames.layout(input.layout)).then((intact) => {
              if (!intact) drawNow();
            });
          }
          plan.didAppend(clock(), plot.appended);
          armCatchUp();
          return undefined;
        }
      }
      if (axis !== frames.axis) zoom = {}; // a zoom in another unit
      const full = {
        ...input,
        overlays: model.get(TRAITS.overlays) ?? [],
        width,
        live: plan.live,
        zoom,
        robust: input.view.robust_y,
      };
      if (resmoothOnly) {
        // Only the smoothing moved: redraw the changed lines; in full once it rests.
        resmoothOnly = false;
        if (plot.redrawLines(frames.data(full).data)) {
          plan.didAppend(clock(), plot.appended);
          armCatchUp();
          return undefined;
        }
      }
      plan.didDraw();
      armCatchUp();
      const out = frames.full(full);
      root.dataset.theme = input.dark ? "dark" : "light";
      toolbar.update(input.view, out.panels);
      toolbar.setNote(out.note);
      plot.setEmpty(emptyText());
      return plot.draw(out.data, out.layout, out.traces);
    };
    const frame = frameScheduler(win, redraw);
    const drawNow = () => {
      frame.cancel();
      plan.request(FULL);
      return redraw();
    };
    const scheduleFull = () => schedule(plan.request(FULL));
    plot.onStale(scheduleFull);
    plot.onRelayout((event) => {
      const next = zoomAfterRelayout(zoom, event);
      if (!next) return;
      zoom = next;
      scheduleFull(); // re-decimate the zoomed range (or the whole series again)
    });
    /** The view trait changed (here or in Python): show it, redraw. */
    function onView() {
      const v = view();
      const key = JSON.stringify(v);
      toolbar.update(v, panelsOf(model.get(TRAITS.plot_layout), model.get(TRAITS.traces)));
      if (key === viewKey) return;
      resmoothOnly = !!viewKey && smoothingOnly(JSON.parse(viewKey), v);
      viewKey = key;
      scheduleFull();
    }
    const onSummary = () => summary.update(model.get(TRAITS.summary));
    let pageDark = dark();
    const stopWatching = watchPageTheme(doc, () => {
      const now = dark();
      if (now === pageDark) return;
      pageDark = now;
      scheduleFull();
    });

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
      [`change:${TRAITS.view}`, onView],
      [`change:${TRAITS.summary}`, onSummary],
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
    onSummary();
    viewKey = JSON.stringify(view());
    toolbar.update(view(), panelsOf(model.get(TRAITS.plot_layout), model.get(TRAITS.traces)));
    frame.schedule();

    return () => {
      for (const [event, fn] of listeners) model.off(event, fn);
      stopWatching();
      toolbar.destroy();
      frame.cancel();
      clearTimeout(catchUp);
      catchUp = null;
      clearTimeout(relook);
      relook = null;
      observer?.disconnect();
      download.destroy();
      plot.purge();
      root.remove();
    };
  },
};
