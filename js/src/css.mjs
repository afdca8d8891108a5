// Styles of the widget, injected as a <style> inside the widget's element (kept
// in the bundle; nothing is fetched). JupyterLab's --jp-* variables give the
// light and dark themes; the fallbacks serve other front ends.

export const CSS = `
.wc-root {
  font-family: var(--jp-ui-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, inherit);
  width: 100%;
  min-width: 0;
}
.wc-top {
  display: flex;
  align-items: center;
  gap: 8px;
  min-height: 22px;
}
.wc-progress-text {
  flex: 1 1 auto;
  min-width: 0;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
  font-variant-numeric: tabular-nums;
}
.wc-sep { color: var(--jp-ui-font-color3, rgba(127, 127, 127, 0.8)); }
.wc-part-metric { color: var(--jp-ui-font-color1, inherit); }
.wc-part-elapsed, .wc-part-eta, .wc-part-batch { color: var(--jp-ui-font-color2, inherit); }
.wc-part-status { font-weight: 600; }
.wc-part-message { color: var(--jp-ui-font-color2, inherit); }
.wc-root[data-status="failed"] .wc-part-status,
.wc-root[data-status="failed"] .wc-part-message { color: var(--jp-error-color1, #d32f2f); }
.wc-root[data-status="stopped"] .wc-part-status { color: var(--jp-warn-color1, #f57c00); }
.wc-root[data-status="finished"] .wc-part-status { color: var(--jp-success-color1, #388e3c); }
.wc-bar {
  height: 3px;
  margin: 3px 0 2px 0;
  border-radius: 2px;
  overflow: hidden;
  background: var(--jp-layout-color3, rgba(127, 127, 127, 0.25));
}
.wc-bar-fill {
  height: 100%;
  width: 0;
  background: var(--jp-brand-color1, #1976d2);
  transition: width 0.2s linear;
}
.wc-root[data-status="failed"] .wc-bar-fill { background: var(--jp-error-color1, #d32f2f); }
.wc-root[data-status="stopped"] .wc-bar-fill { background: var(--jp-warn-color1, #f57c00); }
.wc-root[data-status="finished"] .wc-bar-fill { background: var(--jp-success-color1, #388e3c); }
.wc-download { flex: 0 0 auto; display: flex; gap: 4px; }
.wc-download button {
  font: inherit;
  font-size: var(--jp-ui-font-size0, 11px);
  line-height: 1.4;
  padding: 1px 8px;
  cursor: pointer;
  color: var(--jp-ui-font-color1, inherit);
  background: var(--jp-layout-color1, transparent);
  border: 1px solid var(--jp-border-color1, rgba(127, 127, 127, 0.5));
  border-radius: 2px;
}
.wc-download button:hover { background: var(--jp-layout-color2, rgba(127, 127, 127, 0.15)); }
.wc-download button:focus-visible { outline: 1px solid var(--jp-brand-color1, #1976d2); }
.wc-plot-wrap { position: relative; width: 100%; }
.wc-plot { width: 100%; }
.wc-empty {
  position: absolute;
  inset: 0;
  display: flex;
  align-items: center;
  justify-content: center;
  pointer-events: none;
}
.wc-empty > span {
  padding: 2px 10px;
  border-radius: 10px;
  color: var(--jp-ui-font-color2, #666);
  background: var(--jp-layout-color1, rgba(255, 255, 255, 0.9));
  border: 1px solid var(--jp-border-color2, rgba(127, 127, 127, 0.3));
}
.wc-empty[hidden] { display: none; }
`;
