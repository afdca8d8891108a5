// The static copy's PNG, made by the browser that already shows the plot (no
// second browser in the kernel's machine while a model trains). When a fit's cell
// has ended, the kernel sends MSG_STATIC_PNG_REQUEST with what it has: the run,
// each trace's number of points, the layout and the overlays. The front end waits
// until its model's traces hold those points (a trait update can still be in
// flight: custom messages overtake ipywidgets' asynchronous state updates),
// renders that figure as the view settings draw it (viewedFigure: smoothed, log
// y, the x axis; light, as exports are) with Plotly.toImage (what the PNG button
// of download.js uses, through Plotly.downloadImage) and answers with
// MSG_STATIC_PNG, base64.
// Python side: widget_callbacks/widgets/static_copy.py.

import { ViewFrame } from "./frame.js";
import { MSG_STATIC_PNG, MSG_STATIC_PNG_REQUEST, TRAITS } from "./protocol.js";
import { normalizeView } from "./view.js";

/** Keys of a trace that hold one value per point (those `extend` appends to). */
export const PER_POINT_KEYS = Object.freeze(["x", "y", "text", "customdata"]);

/** A request whose points never arrive is dropped after this (ms); the kernel falls back. */
export const GIVE_UP_MS = 30_000;

/**
 * @typedef {{
 *   id: number, run: number, lengths: number[],
 *   layout: Record<string, unknown>, overlays: object[],
 *   width: number, height: number, scale: number
 * }} StaticPngRequest
 * @typedef {{toImage: (figure: object, opts: object) => Promise<string> | string}} ImagePlotly
 */

/** @param {unknown} v */
const isCount = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
/** @param {unknown} v */
const isSize = (v) => typeof v === "number" && Number.isFinite(v) && v > 0;
/** @param {unknown} v */
const isObject = (v) => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * The request in `msg`, or null when `msg` is not a well-formed one.
 * @param {unknown} msg
 * @returns {StaticPngRequest | null}
 */
export function parseRequest(msg) {
  if (!isObject(msg)) return null;
  const m = /** @type {Record<string, any>} */ (msg);
  if (m.type !== MSG_STATIC_PNG_REQUEST) return null;
  if (!isCount(m.id) || !isCount(m.run)) return null;
  if (!Array.isArray(m.lengths) || !m.lengths.every(isCount)) return null;
  if (!isObject(m.layout) || !Array.isArray(m.overlays) || !m.overlays.every(isObject)) return null;
  if (!isSize(m.width) || !isSize(m.height) || !isSize(m.scale)) return null;
  return {
    id: m.id,
    run: m.run,
    lengths: [...m.lengths],
    layout: m.layout,
    overlays: m.overlays,
    width: m.width,
    height: m.height,
    scale: m.scale,
  };
}

/**
 * The figure the kernel asked for, from the model's `traces` and `run`; null while
 * the model does not have it yet (another run, fewer traces or fewer points).
 * Points the model has beyond the request's are left out. New objects throughout
 * (Plotly writes into what it draws).
 * @param {StaticPngRequest} request
 * @param {unknown} traces  the `traces` trait
 * @param {unknown} run  the `run` trait
 * @returns {{data: object[], layout: Record<string, unknown>} | null}
 */
export function figureFor(request, traces, run) {
  if (run !== request.run || !Array.isArray(traces) || traces.length !== request.lengths.length) return null;
  const data = [];
  for (let i = 0; i < traces.length; i++) {
    const trace = traces[i];
    const n = request.lengths[i];
    if (!isObject(trace) || !Array.isArray(trace.x) || trace.x.length < n) return null;
    const copy = { ...trace };
    for (const key of PER_POINT_KEYS) {
      if (Array.isArray(copy[key])) copy[key] = copy[key].slice(0, n);
    }
    data.push(structuredClone(copy));
  }
  for (const overlay of request.overlays) data.push(structuredClone(overlay));
  const layout = structuredClone(request.layout);
  layout.width = request.width;
  layout.height = request.height;
  layout.autosize = false;
  return { data, layout };
}

/**
 * The figure as the view settings draw it (as export does: smoothed, log y,
 * the x axis, the robust range), light whatever the page (exports default to
 * light), fitted to its data (no live headroom, no zoom).
 * @param {{data: object[], layout: Record<string, unknown>}} figure  from figureFor
 * @param {number} count  how many of its data are traces (the rest: overlays)
 * @param {unknown} view  the `view` trait
 * @param {unknown} progress  the `progress` trait (batches per epoch)
 * @returns {{data: object[], layout: Record<string, unknown>}}
 */
export function viewedFigure(figure, count, view, progress) {
  const v = normalizeView(view);
  const width = typeof figure.layout.width === "number" ? figure.layout.width : 900;
  const out = new ViewFrame().full({
    traces: /** @type {any[]} */ (figure.data.slice(0, count)),
    overlays: /** @type {any[]} */ (figure.data.slice(count)),
    layout: figure.layout,
    progress: /** @type {any} */ (progress),
    view: v,
    dark: false,
    width,
    live: false,
    zoom: {},
    robust: v.robust_y,
  });
  return { data: out.data, layout: { ...out.layout, width, height: figure.layout.height, autosize: false } };
}

/**
 * Plotly.toImage options of the request.
 * @param {StaticPngRequest} request
 */
export function imageOptions(request) {
  return { format: "png", width: request.width, height: request.height, scale: request.scale };
}

/**
 * The base64 of a PNG data URL (what Plotly.toImage returns), or null.
 * @param {unknown} url
 * @returns {string | null}
 */
export function pngBase64(url) {
  const prefix = "data:image/png;base64,";
  if (typeof url !== "string" || !url.startsWith(prefix) || url.length === prefix.length) return null;
  return url.slice(prefix.length);
}

/**
 * Answer the kernel's PNG requests for this model (once per model and page:
 * called from the widget's `initialize`, after the `extend` listener). Only the
 * latest request is pending; one image is made per request.
 * @param {import("./widget.js").Model & {send: (content: object) => void}} model
 * @param {ImagePlotly} plotly
 * @returns {() => void} cleanup
 */
export function answerStaticPng(model, plotly) {
  /** @type {{request: StaticPngRequest, timer: any} | null} */
  let pending = null;
  const drop = () => {
    if (pending) clearTimeout(pending.timer);
    pending = null;
  };
  const attempt = () => {
    if (!pending) return;
    const raw = figureFor(pending.request, model.get(TRAITS.traces), model.get(TRAITS.run));
    if (!raw) return; // not there yet: a trait update or an extend message brings it
    const { request } = pending;
    const figure = viewedFigure(raw, request.lengths.length, model.get(TRAITS.view), model.get(TRAITS.progress));
    drop();
    Promise.resolve()
      .then(() => plotly.toImage(figure, imageOptions(request)))
      .then((url) => {
        const png = pngBase64(url);
        if (png === null) throw new Error("Plotly.toImage returned no PNG");
        model.send({ type: MSG_STATIC_PNG, id: request.id, png });
      })
      .catch((err) => console.warn("widget_callbacks: no PNG for the static copy", err));
  };
  /** @param {unknown} msg */
  const onMsg = (msg) => {
    const request = parseRequest(msg);
    if (request) {
      drop();
      pending = { request, timer: setTimeout(drop, GIVE_UP_MS) };
    }
    attempt();
  };
  /** @type {Array<[string, (...args: any[]) => void]>} */
  const listeners = [
    ["msg:custom", onMsg],
    [`change:${TRAITS.traces}`, attempt],
    [`change:${TRAITS.run}`, attempt],
  ];
  for (const [event, fn] of listeners) model.on(event, fn);
  return () => {
    drop();
    for (const [event, fn] of listeners) model.off(event, fn);
  };
}
