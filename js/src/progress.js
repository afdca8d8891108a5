// The progress line above the plot: the formatted text and a thin bar.
// Text goes in with textContent only (metric names come from user code).

import { formatProgress, progressFraction } from "./progress_text.js";

/** @typedef {import("./protocol.js").Progress} Progress */

/**
 * @param {Document} doc
 * @returns {{text: HTMLElement, bar: HTMLElement, update: (progress: Progress | null | undefined) => void}}
 */
export function createProgress(doc) {
  const text = doc.createElement("div");
  text.className = "wc-progress-text";
  const bar = doc.createElement("div");
  bar.className = "wc-bar";
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  const fill = doc.createElement("div");
  fill.className = "wc-bar-fill";
  bar.appendChild(fill);

  /** @param {Progress | null | undefined} progress */
  function update(progress) {
    const nodes = [];
    for (const part of formatProgress(progress)) {
      if (nodes.length) {
        const sep = doc.createElement("span");
        sep.className = "wc-sep";
        sep.textContent = " · ";
        nodes.push(sep);
      }
      const span = doc.createElement("span");
      span.className = `wc-part wc-part-${part.kind}`;
      span.textContent = part.text;
      nodes.push(span);
    }
    text.replaceChildren(...nodes);
    text.title = nodes.map((n) => n.textContent).join("");
    const percent = Math.round(progressFraction(progress) * 1000) / 10;
    fill.style.width = `${percent}%`;
    bar.setAttribute("aria-valuenow", String(percent));
  }

  return { text, bar, update };
}
