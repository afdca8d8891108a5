// The plot: a div drawn with plotly.js, redrawn at most once per animation frame.
// plotly.js comes from its "basic" partial dist (scatter, bar, pie; bundled,
// nothing fetched): every trace we draw is a scatter, and the "cartesian" dist
// alone (1,500,041 bytes in 4.1.1) is over the 1,500,000-byte bundle budget.

import Plotly from "plotly.js-basic-dist-min";
import { LegendState } from "./legend_state.js";
import { DEFAULT_HEIGHT, PLOT_CONFIG } from "./protocol.js";
import { appendTails, tailStates, tailsIntact } from "./svg_append.js";
import { redrawLines } from "./svg_lines.js";

export { Plotly };

/**
 * The layout handed to Plotly: a deep copy of the `layout` trait (Plotly writes
 * ranges into the layout it gets; the trait is shared by every view of the
 * model), with the width following the container.
 * @param {Record<string, unknown> | null | undefined} layout
 * @returns {Record<string, unknown>}
 */
export function prepareLayout(layout) {
  const copy = layout && typeof layout === "object" ? structuredClone(layout) : {};
  copy.autosize = true;
  delete copy.width;
  if (typeof copy.height !== "number" || !(copy.height > 0)) copy.height = DEFAULT_HEIGHT;
  return copy;
}

/**
 * @param {Document} doc
 */
export function createPlot(doc) {
  const root = doc.createElement("div");
  root.className = "wc-plot-wrap";
  const div = doc.createElement("div");
  div.className = "wc-plot";
  const empty = doc.createElement("div");
  empty.className = "wc-empty";
  empty.hidden = true;
  const emptyText = doc.createElement("span");
  empty.appendChild(emptyText);
  root.append(div, empty);
  let drawn = false;
  /** Whether the last Plotly.react has finished (its DOM can be appended to). */
  let settled = false;
  /** @type {ReturnType<typeof tailStates>} */
  let tails = [];
  /** @type {object[]} the data of the last full draw */
  let lastData = [];
  /** Points appended since the last full draw (Plotly's hover lacks them). */
  let appended = 0;
  /** @type {() => void} */
  let stale = () => {};
  /** @type {(event: Record<string, unknown>) => void} */
  let relayoutListener = () => {};
  let listening = false;
  /** What legend clicks hid or showed, kept over full redraws (./legend_state.js). */
  const legend = new LegendState();
  /** @param {unknown} event */
  const onPlotlyRestyle = (event) => {
    onPlotlyRedraw();
    legend.restyled(event, /** @type {any} */ (div).data);
  };
  // Plotly redraws by itself on zoom, legend clicks and resizes, at times from
  // the data it computed at the last full draw: appended points can vanish
  // from the SVG until the next one.
  const onPlotlyRedraw = () => {
    if (appended > 0) stale();
  };
  /** @param {unknown} event */
  const onPlotlyRelayout = (event) => {
    onPlotlyRedraw();
    if (event && typeof event === "object") relayoutListener(/** @type {Record<string, unknown>} */ (event));
  };

  return {
    root,
    div,
    /** Whether Plotly has drawn into the div at least once. */
    get drawn() {
      return drawn;
    },
    /**
     * Show `text` over the plot (textContent), or hide it with null.
     * @param {string | null} text
     */
    setEmpty(text) {
      empty.hidden = text === null;
      if (text !== null && emptyText.textContent !== text) emptyText.textContent = text;
    },
    /**
     * Call `fn` when Plotly redrew by itself while points drawn by append()
     * were on screen (they are gone: a full draw is due).
     * @param {() => void} fn
     */
    onStale(fn) {
      stale = fn;
    },
    /**
     * Call `fn` with each `plotly_relayout` event (a zoom, a pan, an autoscale).
     * @param {(event: Record<string, unknown>) => void} fn
     */
    onRelayout(fn) {
      relayoutListener = fn;
    },
    /** Points drawn by append() since the last full draw (Plotly's hover lacks them). */
    get appended() {
      return appended;
    },
    /**
     * A full draw with Plotly.react.
     * @param {object[]} data  what Plotly draws: first the shown `traces`, same order
     * @param {Record<string, unknown> | null | undefined} layout  the `layout` trait
     * @param {import("./protocol.js").Trace[]} traces  the model's traces, whose
     *   later points append() can draw
     */
    draw(data, layout, traces) {
      const fullLayout = prepareLayout(layout);
      div.style.minHeight = `${fullLayout.height}px`;
      drawn = true;
      settled = false;
      appended = 0;
      legend.apply(/** @type {import("./protocol.js").Trace[]} */ (data), traces);
      const mine = tailStates(traces, /** @type {import("./protocol.js").Trace[]} */ (data));
      tails = mine;
      lastData = data;
      const done = Promise.resolve(Plotly.react(div, data, fullLayout, { ...PLOT_CONFIG }));
      return done.then(
        () => {
          // A later draw may have started meanwhile: it owns `settled`.
          if (tails === mine) settled = true;
          const gd = /** @type {any} */ (div);
          if (!listening && typeof gd.on === "function") {
            listening = true;
            gd.on("plotly_relayout", onPlotlyRelayout);
            gd.on("plotly_restyle", onPlotlyRestyle);
          }
        },
        (err) => console.error("widget_callbacks: plot failed", err),
      );
    },
    /**
     * Apply a new `layout` trait without redrawing the data: Plotly.react with
     * the data of the last full draw (the same objects, so Plotly sees no data
     * change and redraws only what the layout changed, e.g. shapes and
     * annotations). Appended points survive unless Plotly redraws the traces
     * (an axis range changed).
     * @param {Record<string, unknown> | null | undefined} layout
     * @returns {Promise<boolean>} false: the appended points were lost, or the
     *   react failed; a full draw is due
     */
    relayout(layout) {
      if (!drawn || !settled) return Promise.resolve(false);
      const fullLayout = prepareLayout(layout);
      div.style.minHeight = `${fullLayout.height}px`;
      settled = false;
      const mine = tails;
      return Promise.resolve(Plotly.react(div, lastData, fullLayout, { ...PLOT_CONFIG })).then(
        () => {
          if (tails !== mine) return true; // a full draw came meanwhile
          settled = true;
          return tailsIntact(div, tails);
        },
        (err) => {
          console.error("widget_callbacks: plot failed", err);
          return false;
        },
      );
    },
    /**
     * Draw the points the model's traces gained since the last full draw
     * without Plotly (see svg_append.js), then emit `plotly_afterplot` as a Plotly
     * redraw does.
     * @param {import("./protocol.js").Trace[]} traces
     * @returns {boolean} false: a full draw is needed instead
     */
    append(traces) {
      if (!drawn || !settled) return false;
      const added = appendTails(div, traces, tails);
      if (added < 0) return false;
      appended += added;
      if (added > 0) /** @type {any} */ (div).emit?.("plotly_afterplot");
      return true;
    },
    /**
     * Redraw the lines whose data changed since the last full draw without
     * Plotly (see svg_lines.js: a smoothing slider being dragged), then emit
     * `plotly_afterplot`. Plotly's hover and its own redraws still know the
     * old data: counted as appended (stale) until the next full draw.
     * @param {object[]} data  what a full draw would hand to Plotly now
     * @returns {boolean} false: a full draw is needed instead
     */
    redrawLines(data) {
      if (!drawn || !settled) return false;
      const done = redrawLines(div, /** @type {any[]} */ (lastData), /** @type {any[]} */ (data));
      if (done < 0) return false;
      appended += 1;
      /** @type {any} */ (div).emit?.("plotly_afterplot");
      return true;
    },
    resize() {
      if (!drawn) return;
      Promise.resolve(Plotly.Plots.resize(div)).catch(() => {});
    },
    purge() {
      Plotly.purge(div);
      drawn = false;
      settled = false;
      listening = false; // purge drops Plotly's listeners
      tails = [];
      lastData = [];
    },
  };
}

/**
 * Coalesce calls to `fn` into at most one per animation frame.
 * @param {Window | null} win
 * @param {() => void} fn
 */
export function frameScheduler(win, fn) {
  const raf = win?.requestAnimationFrame?.bind(win) ?? ((/** @type {() => void} */ cb) => setTimeout(cb, 16));
  const caf = win?.cancelAnimationFrame?.bind(win) ?? clearTimeout;
  /** @type {any} */
  let handle = null;
  return {
    schedule() {
      if (handle !== null) return;
      handle = raf(() => {
        handle = null;
        fn();
      });
    },
    cancel() {
      if (handle !== null) caf(handle);
      handle = null;
    },
  };
}
