// "PNG" and "SVG" buttons: download the plot as drawn, from the browser alone
// (no kernel round trip, so they work while a cell is busy).

/** @typedef {{downloadImage: (gd: HTMLElement, opts: {format: string, filename: string}) => Promise<unknown>}} ImagePlotly */

export const DOWNLOAD_FILENAME = "training";

/**
 * @param {Document} doc
 * @param {HTMLElement} plotDiv
 * @param {ImagePlotly} plotly
 * @returns {{root: HTMLElement, destroy: () => void}}
 */
export function createDownload(doc, plotDiv, plotly) {
  const root = doc.createElement("div");
  root.className = "wc-download";
  /** @type {Array<[HTMLButtonElement, () => void]>} */
  const handlers = [];
  for (const format of ["png", "svg"]) {
    const button = doc.createElement("button");
    button.type = "button";
    button.textContent = format.toUpperCase();
    button.title = `Download the plot as ${format.toUpperCase()} (${DOWNLOAD_FILENAME}.${format})`;
    const onClick = () => {
      Promise.resolve()
        .then(() => plotly.downloadImage(plotDiv, { format, filename: DOWNLOAD_FILENAME }))
        .catch((err) => console.warn("widget_callbacks: download failed", err));
    };
    button.addEventListener("click", onClick);
    handlers.push([button, onClick]);
    root.appendChild(button);
  }
  return {
    root,
    destroy() {
      for (const [button, onClick] of handlers) button.removeEventListener("click", onClick);
    },
  };
}
