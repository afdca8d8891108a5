/**
 * The message protocol between the Python widget and this front end.
 *
 * Every name and value is defined once, in widget_callbacks/core/protocol.json,
 * which core/protocol.py reads on the Python side and this module imports (the
 * bundle inlines it); nothing here repeats a value of that file.
 *
 * Synced traits of the Python class `LivePlot` (read with `model.get(TRAITS.name)`):
 *
 * - `traces`   (LivePlot.traces, list of plotly trace dicts with `x`/`y`
 *              arrays): every point of the current run. Python appends to
 *              these lists in place (which does not sync) and sends an
 *              `extend` message instead; the list is reassigned (resent whole)
 *              only when its structure changes (a new run, a new metric).
 *              The front end appends the same messages to its copy in place.
 * - `plot_layout` (LivePlot.plot_layout, plotly layout dict): panels, axes, the
 *              early-stopping marks, `uirevision`, `height`. Complete: the
 *              front end adds no marks of its own.
 * - `overlays` (LivePlot.overlays, list of small plotly trace dicts): the
 *              best-epoch and stop markers, drawn on top of `traces`.
 * - `progress` (LivePlot.progress, dict with the keys PROGRESS_KEYS):
 *              `status` (one of STATUSES), `epoch`/`epochs` (1-based),
 *              `batch`/`batches`, `elapsed`/`eta` (seconds, `eta` may be null),
 *              `logs` ({name: number | string}, latest batch metrics),
 *              `message` (free text shown after the status).
 * - `run`      (LivePlot.run, int): counts runs; `extend` messages whose
 *              `run` differs are ignored.
 * - `view`     (LivePlot.view, dict, see View): smoothing, log-y panels, x
 *              axis, robust y range, theme. The toolbar (./toolbar.js) sets
 *              it (and saves it back); Python may set it too.
 * - `summary`  (LivePlot.summary, dict, see Summary): per metric last and
 *              best values, epoch duration, samples per second; shown in a
 *              table under the plot (./summary_table.js).
 *
 * Messages from the kernel (anywidget `msg:custom`):
 *
 * - `{type: MSG_EXTEND, run, points: [{trace, offset, x: [...], y: [...], ...}]}`:
 *   append the arrays to `traces[trace]`. `offset` is the trace's length
 *   before the append: points a view already has (from a newer state, or
 *   from another view of the same model) are skipped. Keys other than
 *   `trace` and `offset` are arrays to extend (`x`, `y`, `text`, `customdata`).
 *   The `metric` and `batch` traces carry `customdata`: the seconds since the
 *   run started, one per point (the "time" x axis; missing: time unknown).
 *   A throttled batch update adds `progress` (a whole `progress` dict): the
 *   Python trait was updated in place (no sync), so the front end sets its
 *   `progress` from the message (locally, never saved back).
 *
 * - `{type: MSG_STATIC_PNG_REQUEST, id, run, lengths, layout, overlays, width,
 *   height, scale}`: once per ended fit, after the cell: answer with a PNG of the
 *   figure the kernel has (see ./static_png.js); the answer goes to the kernel
 *   as `{type: MSG_STATIC_PNG, id, png}`.
 *
 * Numbers in traces are finite or null (a gap).
 *
 * @typedef {{decimate?: boolean} & Record<string, unknown>} TraceMeta
 * @typedef {{
 *   type?: string, mode?: string, name?: string,
 *   x?: Array<number | null>, y?: Array<number | string | null>,
 *   text?: unknown[], customdata?: unknown[], hovertext?: unknown[], ids?: unknown[],
 *   marker?: Record<string, unknown>, meta?: TraceMeta,
 *   [key: string]: unknown
 * }} Trace  one item of the `traces` trait
 * @typedef {{trace: number, offset: number, [key: string]: unknown}} ExtendPoints
 * @typedef {{type: string, run: number, points: ExtendPoints[], progress?: Progress}} ExtendMessage
 * @typedef {{
 *   status?: string, epoch?: number | null, epochs?: number | null,
 *   batch?: number | null, batches?: number | null,
 *   elapsed?: number | null, eta?: number | null,
 *   logs?: Record<string, number | string | null> | null,
 *   message?: string | null
 * }} Progress  the `progress` trait
 */

import PROTOCOL from "../../widget_callbacks/core/protocol.json" with { type: "json" };

/**
 * Names of the synced traits: `model.get(TRAITS.traces)`, `change:${TRAITS.run}`.
 * @type {Readonly<typeof PROTOCOL.traits>}
 */
export const TRAITS = Object.freeze({ ...PROTOCOL.traits });

/** `type` of the `extend` message. */
export const MSG_EXTEND = PROTOCOL.messages.extend;

/** `type` of the kernel's request for a PNG of the final figure (./static_png.js). */
export const MSG_STATIC_PNG_REQUEST = PROTOCOL.messages.static_png_request;

/** `type` of the front end's answer to it: `{type, id, png}` (base64). */
export const MSG_STATIC_PNG = PROTOCOL.messages.static_png;

/** Values of `progress.status`, in the order of the run. */
export const STATUSES = Object.freeze([...PROTOCOL.statuses]);
export const [STATUS_WAITING, STATUS_TRAINING, STATUS_FINISHED, STATUS_STOPPED, STATUS_FAILED] = STATUSES;

/** Keys of the `progress` trait. */
export const PROGRESS_KEYS = Object.freeze([...PROTOCOL.progress_keys]);

/**
 * Plotly config of the live view: the protocol's (that of exported HTML) less
 * the modebar buttons the live view replaces (its own PNG/SVG buttons).
 */
export const PLOT_CONFIG = Object.freeze({
  ...PROTOCOL.plot_config,
  modeBarButtonsToRemove: [...PROTOCOL.plot_config.modeBarButtonsToRemove, ...PROTOCOL.live_mode_bar_removed],
});

/**
 * @typedef {{
 *   smoothing: number, log_y: string[], x_axis: string, robust_y: boolean, theme: string
 * }} View  the `view` trait (LivePlot.view): what the toolbar shows and sets
 * @typedef {{metric: string, last: number | null, best: number | null,
 *   best_epoch: number | null, direction: string}} SummaryRow
 * @typedef {{rows: SummaryRow[], epoch_seconds: number | null,
 *   steps_per_second?: number | null, samples_per_second: number | null}} Summary  the `summary_table` trait (LivePlot.summary_table)
 */

/** @type {Readonly<View>} the view of a plot nobody has set one for */
export const VIEW_DEFAULTS = Object.freeze({ ...PROTOCOL.view_defaults, log_y: [...PROTOCOL.view_defaults.log_y] });

/** Values of `view.x_axis`: "epoch", "step", "time". */
export const X_AXES = Object.freeze([...PROTOCOL.x_axes]);

/** Values of `view.theme`: "auto" (follow the page), "light", "dark". */
export const THEMES = Object.freeze([...PROTOCOL.themes]);

/** Longest metric name shown whole in legends, axis titles and the summary (characters). */
export const MAX_NAME_CHARS = PROTOCOL.sizes.max_name_chars;

/** Colours of the dark theme: background, text, grid, label_background (theme.js). */
export const DARK_PALETTE = Object.freeze({ ...PROTOCOL.dark_palette });

/** Height of the plot when the layout trait gives none (pixels). */
export const DEFAULT_HEIGHT = PROTOCOL.sizes.default_height;
