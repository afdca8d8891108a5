// The summary under the plot: per metric the last and the best value (min or
// max by its direction) and the epoch of the best; the epoch duration and the
// samples per second. Python computes it (the `summary` trait, see
// protocol.js); formatSummary is pure, createSummaryTable draws it
// (textContent only: metric names come from user code).

import { MAX_NAME, shortName } from "./axes.js";

/** @typedef {import("./protocol.js").Summary} Summary */

export const SUMMARY_HEADER = Object.freeze(["metric", "last", "best", "best epoch"]);

/** @param {unknown} v */
const isFiniteNumber = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * A metric value in 4 significant digits (exponent form when very large or
 * small); "–" for none.
 * @param {unknown} v
 */
export function formatValue(v) {
  if (!isFiniteNumber(v)) return "–";
  const n = /** @type {number} */ (v);
  if (n !== 0 && (Math.abs(n) >= 1e5 || Math.abs(n) < 1e-3)) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

/**
 * @param {unknown} seconds
 * @returns {string}
 */
export function formatSeconds(seconds) {
  if (!isFiniteNumber(seconds)) return "";
  const s = /** @type {number} */ (seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${Number(s.toPrecision(3))} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

/**
 * @typedef {{text: string, title: string}} Cell
 * @typedef {{rows: Cell[][], footer: string}} SummaryView
 */

/**
 * What the table shows for a `summary` trait (anything malformed: nothing).
 * @param {unknown} summary
 * @returns {SummaryView}
 */
export function formatSummary(summary) {
  /** @type {SummaryView} */
  const out = { rows: [], footer: "" };
  if (!summary || typeof summary !== "object") return out;
  const s = /** @type {Record<string, any>} */ (summary);
  for (const row of Array.isArray(s.rows) ? s.rows : []) {
    if (!row || typeof row !== "object" || typeof row.metric !== "string") continue;
    const direction = row.direction === "max" ? "max" : row.direction === "min" ? "min" : "";
    out.rows.push([
      { text: shortName(row.metric, MAX_NAME), title: row.metric },
      { text: formatValue(row.last), title: "" },
      {
        text: formatValue(row.best) + (direction && isFiniteNumber(row.best) ? ` (${direction})` : ""),
        title: direction ? `best = ${direction === "min" ? "lowest" : "highest"}` : "",
      },
      { text: Number.isInteger(row.best_epoch) ? String(row.best_epoch) : "–", title: "" },
    ]);
  }
  const parts = [];
  const epoch = formatSeconds(s.epoch_seconds);
  if (epoch) parts.push(`epoch ${epoch}`);
  if (isFiniteNumber(s.samples_per_second)) {
    parts.push(`${Math.round(s.samples_per_second).toLocaleString("en-US")} samples/s`);
  } else if (isFiniteNumber(s.steps_per_second)) {
    // Keras tells callbacks the steps, not the batch size: the rate in steps.
    parts.push(`${Math.round(s.steps_per_second).toLocaleString("en-US")} steps/s`);
  }
  out.footer = parts.join(" · ");
  return out;
}

/**
 * @param {Document} doc
 * @returns {{root: HTMLElement, update: (summary: unknown) => void}}
 */
export function createSummaryTable(doc) {
  const root = doc.createElement("div");
  root.className = "wc-summary";
  root.hidden = true;

  /** @param {unknown} summary */
  function update(summary) {
    const view = formatSummary(summary);
    root.hidden = view.rows.length === 0 && !view.footer;
    const nodes = [];
    if (view.rows.length) {
      const table = doc.createElement("table");
      table.className = "wc-summary-table";
      const head = doc.createElement("thead");
      const tr = doc.createElement("tr");
      for (const text of SUMMARY_HEADER) {
        const th = doc.createElement("th");
        th.setAttribute("scope", "col");
        th.textContent = text;
        tr.appendChild(th);
      }
      head.appendChild(tr);
      const body = doc.createElement("tbody");
      for (const row of view.rows) {
        const line = doc.createElement("tr");
        row.forEach((cell, i) => {
          const td = doc.createElement(i === 0 ? "th" : "td");
          if (i === 0) td.setAttribute("scope", "row");
          td.textContent = cell.text;
          if (cell.title) td.setAttribute("title", cell.title);
          line.appendChild(td);
        });
        body.appendChild(line);
      }
      table.append(head, body);
      nodes.push(table);
    }
    if (view.footer) {
      const foot = doc.createElement("div");
      foot.className = "wc-summary-footer";
      foot.textContent = view.footer;
      nodes.push(foot);
    }
    root.replaceChildren(...nodes);
  }

  return { root, update };
}
