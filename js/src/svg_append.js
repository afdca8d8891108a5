// Drawing the newest points without a Plotly redraw.
//
// Any Plotly.react (or restyle, extendTraces) whose data changed redraws the
// whole figure: defaults, every axis with its labels, the legend, every trace.
// That costs tens of milliseconds whatever the number of new points. After an
// `extend`, when each new point falls inside the axis ranges Plotly drew and
// its trace is a plain line and/or markers, the points are instead appended to
// the SVG Plotly drew for that trace: segments at the end of its line path and
// a copy of its last marker per point, at the pixels Plotly's own axes give;
// the points are pushed onto the arrays Plotly was given (`gd.data`) too.
// What this leaves stale is Plotly's computed data: hover does not know the new
// points, and a redraw Plotly does by itself (zoom, legend click) drops them,
// until the view redraws in full (once the updates pause, see redraw.js).

/** @typedef {import("./protocol.js").Trace} Trace */

/**
 * @typedef {{
 *   n: number,
 *   connected: boolean,
 *   lines: boolean,
 *   markers: boolean,
 *   connectgaps: boolean,
 *   uid: string,
 *   xaxis: string,
 *   yaxis: string,
 *   d: string | null,
 *   marks: number,
 *   xs: unknown[] | null,
 *   ys: unknown[],
 * }} TailState  per model trace, as drawn: `n` points of the model's arrays
 *   are on screen; `connected`: the line ends at a point (not at a gap); `d`
 *   and `marks`: the line path and the marker count after the last append
 *   (null and -1 before any); `xs`/`ys`: the arrays handed to Plotly for it,
 *   which appended points are pushed to (so `gd.data` holds what is drawn)
 */

/**
 * @typedef {(x: unknown, y: unknown) => [number, number] | null} Project
 *   pixels of a point inside the subplot, or null when it falls outside
 */

/** @param {unknown} v */
const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * Whether the newest points of `shown` (a trace as handed to Plotly) can be
 * drawn by appending to its SVG: a scatter drawn as lines and/or markers
 * (said explicitly: Plotly's default depends on the length), straight
 * segments, no fill, no text, markers all alike.
 * @param {Trace | undefined} shown
 */
export function canAppend(shown) {
  if (!shown || typeof shown !== "object") return false;
  if (shown.type !== undefined && shown.type !== "scatter") return false;
  if (typeof shown.mode !== "string") return false;
  if (!shown.mode.split("+").every((m) => m === "lines" || m === "markers")) return false;
  if (shown.fill !== undefined && shown.fill !== "none") return false;
  if (shown.stackgroup || shown.error_x || shown.error_y) return false;
  const line = /** @type {Record<string, unknown> | undefined} */ (shown.line);
  if (line && line.shape !== undefined && line.shape !== "linear") return false;
  const marker = /** @type {Record<string, unknown> | undefined} */ (shown.marker);
  if (marker && Object.values(marker).some(Array.isArray)) return false;
  if (Array.isArray(shown.selectedpoints)) return false;
  return true;
}

/**
 * Path commands and marker positions for points [from, to) of x/y.
 * @param {ArrayLike<unknown> | null} x  null: the index
 * @param {ArrayLike<unknown>} y
 * @param {number} from
 * @param {number} to
 * @param {Project} project
 * @param {boolean} connected  whether the line drawn so far ends at a point
 * @param {boolean} connectgaps  Plotly's trace.connectgaps
 * @returns {{d: string, points: Array<[number, number]>, connected: boolean} | null}
 *   null: a point falls outside the drawn ranges
 */
export function tailPath(x, y, from, to, project, connected, connectgaps = false) {
  let d = "";
  /** @type {Array<[number, number]>} */
  const points = [];
  for (let i = from; i < to; i++) {
    const xv = x === null ? i : x[i];
    const yv = y[i];
    if (xv == null || !isNum(yv)) {
      if (!connectgaps) connected = false;
      continue;
    }
    const p = project(xv, yv);
    if (!p) return null;
    // Plotly writes 2 decimals; so do we.
    d += `${connected ? "L" : "M"}${Math.round(p[0] * 100) / 100},${Math.round(p[1] * 100) / 100}`;
    points.push(p);
    connected = true;
  }
  return { d, points, connected };
}

/**
 * The state of each model trace right after a full draw of `shown`.
 * @param {Trace[]} traces  the model's traces (the arrays keep growing)
 * @param {Trace[]} shown  what was handed to Plotly for them, same order
 * @returns {Array<TailState | null>}  null: redraw in full when it grows
 */
export function tailStates(traces, shown) {
  return traces.map((trace, i) => {
    const out = shown[i];
    if (!trace || !Array.isArray(trace.y) || !canAppend(out) || typeof out.uid !== "string") return null;
    if (!Array.isArray(out.y) || (Array.isArray(trace.x) && !Array.isArray(out.x))) return null;
    const x = Array.isArray(trace.x) ? trace.x : null;
    const n = x ? Math.min(x.length, trace.y.length) : trace.y.length;
    const mode = String(out.mode);
    const last = n - 1;
    return {
      n,
      connected: n > 0 && isNum(trace.y[last]) && (x === null || x[last] != null),
      lines: mode.includes("lines"),
      markers: mode.includes("markers"),
      connectgaps: out.connectgaps === true,
      uid: out.uid,
      xaxis: typeof out.xaxis === "string" ? out.xaxis : "x",
      yaxis: typeof out.yaxis === "string" ? out.yaxis : "y",
      d: null,
      marks: -1,
      xs: Array.isArray(out.x) ? out.x : null,
      ys: out.y,
    };
  });
}

/** "x2" -> "xaxis2" */
const axisName = (/** @type {string} */ id) => `${id[0]}axis${id.slice(1)}`;

/**
 * @typedef {{c2p: (v: unknown) => number, _length: number, autorange?: unknown}} PlotlyAxis
 *   the part of a Plotly full-layout axis used here
 */

/**
 * Pixel projection onto a subplot through Plotly's axes (`gd._fullLayout`):
 * exact for every axis type, and it follows a zoom. A point outside the range
 * of an autoranged axis gives null (Plotly would stretch the axis: a full
 * redraw is due); on an axis with a fixed range (zoomed in, or set by the
 * layout) it is drawn, and clipped like Plotly's own.
 * @param {any} fullLayout
 * @param {string} xaxis  "x", "x2"...
 * @param {string} yaxis
 * @returns {Project | null}
 */
export function subplotProjection(fullLayout, xaxis, yaxis) {
  /** @type {PlotlyAxis | undefined} */
  const xa = fullLayout?.[axisName(xaxis)];
  /** @type {PlotlyAxis | undefined} */
  const ya = fullLayout?.[axisName(yaxis)];
  if (!xa || !ya || typeof xa.c2p !== "function" || typeof ya.c2p !== "function") return null;
  const w = xa._length;
  const h = ya._length;
  if (!isNum(w) || !isNum(h)) return null;
  const fitX = xa.autorange !== false;
  const fitY = ya.autorange !== false;
  return (x, y) => {
    const px = xa.c2p(x);
    const py = ya.c2p(y);
    if (!isNum(px) || !isNum(py)) return null;
    if (fitX && (px < -0.5 || px > w + 0.5)) return null;
    if (fitY && (py < -0.5 || py > h + 0.5)) return null;
    return [px, py];
  };
}

/**
 * @param {any} gd
 * @param {TailState} st
 */
const traceGroup = (gd, st) => gd.querySelector(`.scatterlayer .trace${cssEscape(st.uid)}`);

/** @param {Element} group */
const lastLine = (group) => {
  const paths = group.querySelectorAll(".js-line");
  return paths.length ? paths[paths.length - 1] : null;
};

/** @param {Element} group */
const markerPaths = (group) => group.querySelectorAll(".points path.point");

/**
 * Whether the points appended so far are still on screen: Plotly redraws
 * traces from its own data when an axis range changes (zoom, a layout update),
 * and that data lacks them.
 * @param {any} gd
 * @param {Array<TailState | null>} states
 */
export function tailsIntact(gd, states) {
  for (const st of states) {
    if (!st || (st.d === null && st.marks < 0)) continue;
    const group = traceGroup(gd, st);
    if (!group) return false;
    if (st.d !== null && lastLine(group)?.getAttribute("d") !== st.d) return false;
    if (st.marks >= 0 && markerPaths(group).length !== st.marks) return false;
  }
  return true;
}

/** @param {string} s */
const cssEscape = (s) => (typeof CSS !== "undefined" && CSS.escape ? CSS.escape(s) : s.replace(/[^\w-]/g, "\\$&"));

/**
 * Append the points the model's traces gained since `states` to the SVG
 * Plotly drew in `gd`. All or nothing: the DOM is only written once every new
 * point is known to fit.
 * @param {any} gd  the plot div, drawn by Plotly
 * @param {Trace[]} traces  the model's traces
 * @param {Array<TailState | null>} states  from tailStates(), updated
 * @returns {number} points Plotly's data lacks since the last call (drawn
 *   here, or of hidden traces), or -1 when a full redraw is needed instead
 */
export function appendTails(gd, traces, states) {
  if (!gd?._fullLayout || traces.length !== states.length) return -1;
  /** @type {Array<() => void>} */
  const writes = [];
  let added = 0;
  for (let i = 0; i < traces.length; i++) {
    const trace = traces[i];
    const st = states[i];
    if (!trace || !Array.isArray(trace.y)) continue;
    const x = Array.isArray(trace.x) ? trace.x : null;
    const y = trace.y;
    const n = x ? Math.min(x.length, y.length) : y.length;
    if (st && n === st.n) continue;
    if (!st || n < st.n) return -1;
    const group = traceGroup(gd, st);
    if (!group) {
      // Not drawn (hidden from the legend): drawn when shown again, in full.
      if (gd._fullData?.[i] && gd._fullData[i].visible !== true) {
        added += n - st.n; // Plotly's data lacks them all the same
        continue;
      }
      return -1;
    }
    const project = subplotProjection(gd._fullLayout, st.xaxis, st.yaxis);
    if (!project) return -1;
    const tail = tailPath(x, y, st.n, n, project, st.connected, st.connectgaps);
    if (!tail) return -1;
    /** @type {Element | null} */
    let line = null;
    if (st.lines && tail.d) {
      line = lastLine(group);
      if (!line || (st.d !== null && line.getAttribute("d") !== st.d)) return -1;
    }
    /** @type {Element | null} */
    let model = null;
    let marks = st.marks;
    if (st.markers && tail.points.length) {
      const all = markerPaths(group);
      if (!all.length || (marks >= 0 && all.length !== marks)) return -1;
      model = all[all.length - 1];
      marks = all.length + tail.points.length;
    }
    const { d, points, connected } = tail;
    writes.push(() => {
      if (line) {
        st.d = (line.getAttribute("d") ?? "") + d;
        line.setAttribute("d", st.d);
      }
      if (model) {
        const parent = /** @type {Element} */ (model.parentNode);
        for (const [px, py] of points) {
          const copy = /** @type {Element} */ (model.cloneNode(true));
          copy.setAttribute("transform", `translate(${Math.round(px * 100) / 100},${Math.round(py * 100) / 100})`);
          parent.appendChild(copy);
        }
        st.marks = marks;
      }
      for (let k = st.n; k < n; k++) {
        const xv = x === null ? k : x[k];
        const yv = y[k];
        st.xs?.push(xv);
        st.ys.push(isNum(yv) && xv != null ? yv : null);
      }
      st.n = n;
      st.connected = connected;
    });
    added += points.length;
  }
  for (const write of writes) write();
  return added;
}
