// The toolbar above the plot: smoothing slider, a log-scale toggle per panel,
// the x axis, the robust y range, the theme. Plain focusable controls
// (<input type=range>, <button aria-pressed>, <select>), labelled; text goes
// in with textContent only (metric names come from user code). It shows a
// `view` and reports changes; widget.js writes them to the model.

import { MAX_NAME, X_TITLES, shortName } from "./axes.js";
import { THEMES, X_AXES } from "./protocol.js";
import { SMOOTHING_MAX } from "./smoothing.js";
import { withLog } from "./view.js";

/** @typedef {import("./protocol.js").View} View */
/** @typedef {import("./view_layout.js").Panel} Panel */

/**
 * @param {Document} doc
 * @param {(view: View, final: boolean) => void} onChange  a control changed
 *   the view; `final`: the change is done (a slider released), save it
 */
export function createToolbar(doc, onChange) {
  const root = doc.createElement("div");
  root.className = "wc-toolbar";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "plot view");

  /** @type {View | null} */
  let view = null;
  /** @type {string} families of the log buttons, joined */
  let families = "";
  /** @type {HTMLElement[]} */
  let logButtons = [];
  /** @type {Array<[EventTarget, string, (e: any) => void]>} */
  const handlers = [];
  /**
   * @param {EventTarget} target
   * @param {string} type
   * @param {(e: any) => void} fn
   */
  const listen = (target, type, fn) => {
    target.addEventListener(type, fn);
    handlers.push([target, type, fn]);
  };
  /** @param {string} tag @param {string} cls @param {string} [text] */
  const make = (tag, cls, text) => {
    const node = doc.createElement(tag);
    node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // smoothing
  const smoothLabel = make("label", "wc-tool wc-smoothing", "smoothing ");
  const slider = /** @type {HTMLInputElement} */ (doc.createElement("input"));
  slider.type = "range";
  slider.min = "0";
  slider.max = String(SMOOTHING_MAX);
  slider.step = "0.01";
  slider.value = "0";
  slider.setAttribute("aria-label", "smoothing");
  slider.title = "Exponential moving average (TensorBoard's, debiased); the raw curve stays faint behind";
  const smoothValue = make("output", "wc-smoothing-value", "0.00");
  smoothLabel.append(slider, smoothValue);
  /** @param {boolean} final */
  const onSlide = (final) => {
    if (!view) return;
    const smoothing = Math.round(Number(slider.value) * 100) / 100;
    smoothValue.textContent = smoothing.toFixed(2);
    view = { ...view, smoothing };
    onChange(view, final);
  };
  listen(slider, "input", () => onSlide(false));
  listen(slider, "change", () => onSlide(true));

  // log y, one toggle per panel
  const logGroup = make("span", "wc-tool wc-log");
  const logLabel = make("span", "wc-tool-label", "log y");
  logGroup.setAttribute("role", "group");
  logGroup.setAttribute("aria-label", "log scale per panel");
  listen(logGroup, "click", (e) => {
    const button = /** @type {HTMLElement | null} */ (e?.target?.closest ? e.target.closest("button") : e?.target);
    const family = button?.dataset?.family;
    if (!view || typeof family !== "string") return;
    view = withLog(view, family, !view.log_y.includes(family));
    onChange(view, true);
  });

  // x axis
  const xLabel = make("label", "wc-tool wc-xaxis", "x ");
  const xSelect = /** @type {HTMLSelectElement} */ (doc.createElement("select"));
  xSelect.setAttribute("aria-label", "x axis");
  for (const axis of X_AXES) {
    const option = /** @type {HTMLOptionElement} */ (doc.createElement("option"));
    option.value = axis;
    option.textContent = /** @type {Record<string, string>} */ (X_TITLES)[axis] ?? axis;
    xSelect.appendChild(option);
  }
  xLabel.appendChild(xSelect);
  listen(xSelect, "change", () => {
    if (!view) return;
    view = { ...view, x_axis: xSelect.value };
    onChange(view, true);
  });

  // robust y
  const robust = make("button", "wc-tool wc-robust", "robust y");
  robust.setAttribute("type", "button");
  robust.setAttribute("aria-pressed", "false");
  robust.title = "Scale y without the first epochs' spike (10% of the run) and batch outliers";
  listen(robust, "click", () => {
    if (!view) return;
    view = { ...view, robust_y: !view.robust_y };
    onChange(view, true);
  });

  // theme
  const themeLabel = make("label", "wc-tool wc-theme", "theme ");
  const themeSelect = /** @type {HTMLSelectElement} */ (doc.createElement("select"));
  themeSelect.setAttribute("aria-label", "theme");
  for (const theme of THEMES) {
    const option = /** @type {HTMLOptionElement} */ (doc.createElement("option"));
    option.value = theme;
    option.textContent = theme;
    themeSelect.appendChild(option);
  }
  themeLabel.appendChild(themeSelect);
  listen(themeSelect, "change", () => {
    if (!view) return;
    view = { ...view, theme: themeSelect.value };
    onChange(view, true);
  });

  const note = make("span", "wc-note", "");
  note.setAttribute("role", "status");

  root.append(smoothLabel, logGroup, xLabel, robust, themeLabel, note);

  /** @param {Panel[]} panels */
  function setPanels(panels) {
    const key = panels.map((p) => p.family).join("\u0000");
    if (key === families) return;
    families = key;
    const buttons = panels.map((p) => {
      const b = make("button", "wc-log-toggle", shortName(p.family, MAX_NAME));
      b.setAttribute("type", "button");
      b.setAttribute("aria-label", `log scale: ${p.family}`);
      b.setAttribute("aria-pressed", "false");
      b.dataset.family = p.family;
      b.title = `${p.family}: log scale`;
      return b;
    });
    logButtons = buttons;
    logGroup.replaceChildren(logLabel, ...buttons);
    logGroup.hidden = buttons.length === 0;
  }

  return {
    root,
    /**
     * Show `next` (the model's view) and the panels it applies to.
     * @param {View} next
     * @param {Panel[]} panels
     */
    update(next, panels) {
      view = next;
      setPanels(panels);
      if (doc.activeElement !== slider || Number(slider.value) !== next.smoothing) slider.value = String(next.smoothing);
      smoothValue.textContent = next.smoothing.toFixed(2);
      for (const b of logButtons) {
        const family = b.dataset.family ?? "";
        b.setAttribute("aria-pressed", String(next.log_y.includes(family)));
      }
      xSelect.value = next.x_axis;
      robust.setAttribute("aria-pressed", String(next.robust_y));
      themeSelect.value = next.theme;
    },
    /** @param {string} text  notes (hidden values, an axis that cannot be drawn) */
    setNote(text) {
      if (note.textContent !== text) note.textContent = text;
      note.hidden = !text;
    },
    destroy() {
      for (const [target, type, fn] of handlers) target.removeEventListener(type, fn);
      handlers.length = 0;
    },
  };
}
