// Light or dark: which one the page shows (JupyterLab, Notebook 7, VS Code),
// and the plot's colours for it. Dark colours are plotly_dark's, set in the
// layout (no template fetched or bundled).

import { DARK_PALETTE, THEMES } from "./protocol.js";

export const [THEME_AUTO, THEME_LIGHT, THEME_DARK] = THEMES;

/**
 * plotly_dark's colours, from the protocol's `dark_palette` (core/views.py
 * draws dark exports with the same).
 */
export const DARK = Object.freeze({
  paper: DARK_PALETTE.background,
  plot: DARK_PALETTE.background,
  font: DARK_PALETTE.text,
  grid: DARK_PALETTE.grid,
  line: DARK_PALETTE.grid,
  label: DARK_PALETTE.label_background,
});

/**
 * @typedef {{dataset?: Record<string, string | undefined>,
 *   classList?: {contains: (name: string) => boolean}}} ThemedBody
 */

/**
 * Whether the page is dark: JupyterLab and Notebook 7 set
 * `data-jp-theme-light="false"` on the body for a dark theme; VS Code's
 * notebooks put `vscode-dark` or `vscode-high-contrast` (not
 * `vscode-high-contrast-light`) in the body's classes.
 * @param {ThemedBody | null | undefined} body
 */
export function pageIsDark(body) {
  if (!body) return false;
  if (body.dataset?.jpThemeLight === "false") return true;
  if (body.dataset?.jpThemeLight === "true") return false;
  const has = (/** @type {string} */ c) => !!body.classList?.contains(c);
  return has("vscode-dark") || (has("vscode-high-contrast") && !has("vscode-high-contrast-light"));
}

/**
 * Whether the plot is drawn dark for `view.theme`: "dark" and "light" force
 * it; "auto" (or anything else) follows the page.
 * @param {unknown} theme
 * @param {ThemedBody | null | undefined} body
 */
export function isDark(theme, body) {
  if (theme === THEME_DARK) return true;
  if (theme === THEME_LIGHT) return false;
  return pageIsDark(body);
}

/**
 * The layout in dark colours (a new object; light: the layout itself, as
 * core/marks.py made it).
 * @param {Record<string, any>} layout
 * @param {boolean} dark
 * @returns {Record<string, any>}
 */
export function themeLayout(layout, dark) {
  if (!dark || !layout || typeof layout !== "object") return layout;
  /** @type {Record<string, any>} */
  const out = {
    ...layout,
    paper_bgcolor: DARK.paper,
    plot_bgcolor: DARK.plot,
    font: { ...(layout.font ?? {}), color: DARK.font },
  };
  for (const key of Object.keys(layout)) {
    if (!/^[xy]axis\d*$/.test(key) || !layout[key] || typeof layout[key] !== "object") continue;
    out[key] = { ...layout[key], gridcolor: DARK.grid, linecolor: DARK.line, zerolinecolor: DARK.grid };
  }
  if (Array.isArray(layout.annotations)) {
    out.annotations = layout.annotations.map((/** @type {any} */ a) =>
      a && typeof a === "object" && a.bgcolor ? { ...a, bgcolor: DARK.label } : a,
    );
  }
  return out;
}

/**
 * Call `onChange` when the page's theme may have changed (the body's
 * attributes: JupyterLab's data-jp-theme-light, VS Code's classes).
 * @param {Document} doc
 * @param {() => void} onChange
 * @returns {() => void} stops watching
 */
export function watchPageTheme(doc, onChange) {
  const body = doc?.body;
  const Observer = doc?.defaultView?.MutationObserver ?? globalThis.MutationObserver;
  if (!body || typeof Observer !== "function") return () => {};
  const observer = new Observer(() => onChange());
  observer.observe(body, { attributes: true, attributeFilter: ["data-jp-theme-light", "class"] });
  return () => observer.disconnect();
}
