// The `view` trait (pure): read defensively, changed by copy.

import { THEMES, VIEW_DEFAULTS, X_AXES } from "./protocol.js";
import { clampSmoothing } from "./smoothing.js";

/** @typedef {import("./protocol.js").View} View */

/**
 * A well-formed view from whatever the trait holds: unknown or bad values
 * take the protocol's defaults, smoothing is clamped to 0..SMOOTHING_MAX and
 * rounded to the slider's 0.01 steps.
 * @param {unknown} value
 * @returns {View}
 */
export function normalizeView(value) {
  const v = value && typeof value === "object" ? /** @type {Record<string, unknown>} */ (value) : {};
  const smoothing = Math.round(clampSmoothing(v.smoothing) * 100) / 100;
  const logY = Array.isArray(v.log_y) ? [...new Set(v.log_y.filter((f) => typeof f === "string"))] : [...VIEW_DEFAULTS.log_y];
  return {
    smoothing,
    log_y: logY,
    x_axis: typeof v.x_axis === "string" && X_AXES.includes(v.x_axis) ? v.x_axis : VIEW_DEFAULTS.x_axis,
    robust_y: typeof v.robust_y === "boolean" ? v.robust_y : VIEW_DEFAULTS.robust_y,
    theme: typeof v.theme === "string" && THEMES.includes(v.theme) ? v.theme : VIEW_DEFAULTS.theme,
  };
}

/**
 * `view` with the log scale of metric family `family` turned on or off.
 * @param {View} view
 * @param {string} family
 * @param {boolean} on
 * @returns {View}
 */
export function withLog(view, family, on) {
  const rest = view.log_y.filter((f) => f !== family);
  return { ...view, log_y: on ? [...rest, family] : rest };
}

/**
 * Whether going from view `before` to `after` changes the smoothing weight
 * alone, smoothed before and after (the raw curves stay drawn, so the axes
 * keep their ranges) and with no robust range (it follows the smoothed
 * curves): the smoothed lines can be redrawn alone (svg_lines.js).
 * @param {View} before
 * @param {View} after
 */
export function smoothingOnly(before, after) {
  if (!(before.smoothing > 0) || !(after.smoothing > 0) || after.robust_y) return false;
  return JSON.stringify({ ...before, smoothing: after.smoothing }) === JSON.stringify(after);
}
