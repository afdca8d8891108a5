// The plot: a div drawn with plotly.js, redrawn at most once per animation frame.
// plotly.js comes from its "basic" partial dist (scatter, bar, pie; bundled,
// nothing fetched): every trace we draw is a scatter, and the "cartesian" dist
// alone (1,500,041 bytes in 4.1.1) is over the 1,500,000-byte bundle budget.

import Plotly from "plotly.js-basic-dist-min";

export { Plotly };

/** Plotly config: the PNG/SVG buttons replace the modebar's camera. */
export const PLOT_CONFIG = Object.freeze({
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"],
});

/** Height used when the layout trait has none. */
export const DEFAULT_HEIGHT = 420;

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
     * @param {object[]} data
     * @param {Record<string, unknown> | null | undefined} layout  the `layout` trait
     */
    draw(data, layout) {
      const fullLayout = prepareLayout(layout);
      div.style.minHeight = `${fullLayout.height}px`;
      drawn = true;
      return Promise.resolve(Plotly.react(div, data, fullLayout, { ...PLOT_CONFIG })).catch((err) =>
        console.error("widget_callbacks: plot failed", err),
      );
    },
    resize() {
      if (!drawn) return;
      Promise.resolve(Plotly.Plots.resize(div)).catch(() => {});
    },
    purge() {
      Plotly.purge(div);
      drawn = false;
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
