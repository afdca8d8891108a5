// What the next animation frame redraws, and when (pure: no DOM, no Plotly,
// no timers; every time is an argument, in milliseconds of one clock).
//
// New points are drawn by appending to Plotly's SVG (svg_append.js) when they
// can be; Plotly's hover does not know them and the SVG grows undecimated. A
// full redraw catches up once the updates pause for CATCH_UP_MS, or, while
// they keep coming, once the oldest appended point is MAX_STALE_MS old or
// MAX_APPENDED points were appended.

import { TRAITS } from "./protocol.js";

export const CATCH_UP_MS = 500;
export const MAX_STALE_MS = 5000;
export const MAX_APPENDED = 20000;

/** Levels of redraw; each includes the ones before. */
export const NONE = 0;
/** Points appended to the traces (an `extend` message). */
export const TAIL = 1;
/** The layout trait (shapes, annotations), not the data. */
export const LAYOUT = 2;
export const FULL = 3;

/** @typedef {typeof NONE | typeof TAIL | typeof LAYOUT | typeof FULL} Level */

/**
 * What a change of each synced trait redraws: a new `traces` list (a new run,
 * a new metric), `overlays`, `run` or `view` redraw in full, a new `plot_layout` only
 * the layout; `progress` redraws nothing by itself (see setLive()).
 * @type {Readonly<Record<string, Level>>}
 */
export const TRAIT_LEVELS = Object.freeze({
  [TRAITS.traces]: FULL,
  [TRAITS.plot_layout]: LAYOUT,
  [TRAITS.overlays]: FULL,
  [TRAITS.run]: FULL,
  [TRAITS.progress]: NONE,
  // the view settings change what every trace draws; the summary is a table
  [TRAITS.view]: FULL,
  [TRAITS.summary]: NONE,
});

export class RedrawPlan {
  /** @param {boolean} [live]  whether the run is live (see setLive()) */
  constructor(live = false) {
    /** @type {Level} what the next frame redraws; a new view draws in full */
    this.pending = FULL;
    /** @type {number | null} when the first point since the last full draw was appended */
    this.appendedAt = null;
    /** @type {number | null} when a full redraw catches up, unless updates come first */
    this.catchUpAt = null;
    this.live = live;
  }

  /**
   * Ask for a redraw of at least `level` (pending requests merge to the highest).
   * @param {Level} level
   * @returns {boolean} whether a frame is due
   */
  request(level) {
    if (this.pending < level) this.pending = level;
    return this.pending !== NONE;
  }

  /**
   * A synced trait changed.
   * @param {string} trait  a name of TRAITS
   * @returns {boolean} whether a frame is due
   */
  changed(trait) {
    return this.request(TRAIT_LEVELS[trait] ?? FULL);
  }

  /**
   * Points of the current run arrived (an `extend` message).
   * @returns {boolean} whether a frame is due
   */
  extended() {
    return this.request(TAIL);
  }

  /**
   * Headroom on the x axes is drawn while a run is live only (the finished
   * plot fits its data): a change of liveness redraws in full.
   * @param {boolean} live
   * @returns {boolean} whether it changed (a full redraw is then pending)
   */
  setLive(live) {
    if (live === this.live) return false;
    this.live = live;
    this.request(FULL);
    return true;
  }

  /**
   * What the frame at `now` draws. TAIL and LAYOUT mean: append the new
   * points (and apply the layout); if that fails, draw in full.
   * @param {number} now
   * @param {number} appended  points drawn by appending since the last full draw
   * @returns {Level}
   */
  next(now, appended) {
    const level = this.pending;
    if (level === NONE || level === FULL) return level;
    if (appended >= MAX_APPENDED) return FULL;
    if (this.appendedAt !== null && now - this.appendedAt >= MAX_STALE_MS) return FULL;
    return level;
  }

  /**
   * The frame appended the new points at `now`.
   * @param {number} now
   * @param {number} appended  points drawn by appending since the last full draw
   * @returns {number | null} ms until catchUp() is due (arm a timer), or null
   *   when no catch-up is pending (clear it)
   */
  didAppend(now, appended) {
    this.pending = NONE;
    if (appended > 0) {
      this.appendedAt ??= now;
      this.catchUpAt = now + CATCH_UP_MS;
      return CATCH_UP_MS;
    }
    this.catchUpAt = null;
    return null;
  }

  /** The frame drew in full: nothing is pending, nothing appended. */
  didDraw() {
    this.pending = NONE;
    this.appendedAt = null;
    this.catchUpAt = null;
  }

  /**
   * The catch-up timer fired at `now`: once the updates paused for
   * CATCH_UP_MS, a full redraw is due.
   * @param {number} now
   * @returns {boolean} whether a frame is due; false: too early (wait until
   *   `catchUpAt`), or nothing to catch up
   */
  catchUp(now) {
    if (this.catchUpAt === null || now < this.catchUpAt) return false;
    this.catchUpAt = null;
    return this.request(FULL);
  }
}
