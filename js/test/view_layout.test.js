import assert from "node:assert/strict";
import { test } from "node:test";
import { TimeMap } from "../src/axes.js";
import { DARK, isDark, pageIsDark, themeLayout } from "../src/theme.js";
import { panelsOf, viewLayout } from "../src/view_layout.js";

/** A layout as core/marks.py makes it: two panels, a patience band on the first. */
const layout = () => ({
  uirevision: "run-1",
  paper_bgcolor: "white",
  font: { size: 12 },
  xaxis: { domain: [0, 0.45], title: { text: "epoch" }, gridcolor: "#e8e8e8" },
  yaxis: { title: { text: "loss" }, gridcolor: "#e8e8e8" },
  xaxis2: { domain: [0.55, 1], title: { text: "epoch" } },
  yaxis2: { title: { text: "sparse_categorical_accuracy_of_the_top_5" } },
  shapes: [{ type: "rect", xref: "x", yref: "y domain", x0: 4, x1: 8 }],
  annotations: [{ xref: "x", yref: "y domain", x: 6, text: "2 epochs left", bgcolor: "rgba(255,255,255,0.75)" }],
});
const settings = (over = {}) => ({
  x: { axis: "epoch", batchesPerEpoch: null, time: null },
  logAxes: new Set(),
  yRanges: new Map(),
  dark: false,
  xExtents: { x: [1, 2], x2: [1, 2] },
  axisPx: { x: 400, x2: 400 },
  zoom: {},
  ...over,
});

test("panelsOf: the y axes and their metric families, in order", () => {
  assert.deepEqual(panelsOf(layout()), [
    { axis: "y", family: "loss" },
    { axis: "y2", family: "sparse_categorical_accuracy_of_the_top_5" },
  ]);
  assert.deepEqual(panelsOf({ yaxis: { title: { text: "a&amp;b" } } }), [{ axis: "y", family: "a&b" }]);
  assert.deepEqual(panelsOf(null), []);
});

test("epoch axis: whole-number ticks for a 2-epoch run, short y titles", () => {
  const out = viewLayout(layout(), settings());
  assert.equal(out.xaxis.dtick, 1);
  assert.equal(out.xaxis.tickmode, "linear");
  assert.equal(out.xaxis.tick0, 0);
  assert.equal(out.xaxis.title.text, "epoch");
  assert.equal(out.yaxis2.title.text, "sparse_categ…f_the_top_5");
  assert.equal(out.shapes[0].x0, 4);
  assert.equal(out.paper_bgcolor, "white");
  assert.equal(layout().xaxis.dtick, undefined, "the trait is not changed");
});

test("step axis: title, ticks over the steps, marks in steps; a zoom sets the ticks", () => {
  const out = viewLayout(layout(), settings({
    x: { axis: "step", batchesPerEpoch: 100, time: null },
    xExtents: { x: [0, 1000], x2: [0, 1000] },
    zoom: { x2: [100, 110] },
  }));  // prettier-ignore
  assert.equal(out.xaxis.title.text, "step");
  assert.equal(out.xaxis.dtick, 200); // 1000 over 5 ticks
  assert.equal(out.xaxis2.dtick, 2); // the zoomed 10 steps
  assert.deepEqual([out.shapes[0].x0, out.shapes[0].x1], [400, 800]);
  assert.equal(out.annotations[0].x, 600);
  assert.notEqual(out.xaxis.uirevision, viewLayout(layout(), settings()).xaxis.uirevision, "a zoom in epochs is dropped");
});

test("time axis: no whole-number ticks, marks at their times", () => {
  const out = viewLayout(layout(), settings({ x: { axis: "time", batchesPerEpoch: null, time: new TimeMap([4, 8], [8, 16]) } }));
  assert.equal(out.xaxis.title.text, "time (s)");
  assert.equal(out.xaxis.dtick, undefined);
  assert.deepEqual([out.shapes[0].x0, out.shapes[0].x1], [8, 16]);
});

test("log and robust y: the axis type, the range fixed, its own uirevision", () => {
  const out = viewLayout(layout(), settings({ logAxes: new Set(["y"]), yRanges: new Map([["y2", [0.1, 0.9]]]) }));
  assert.equal(out.yaxis.type, "log");
  assert.equal(out.yaxis.autorange, undefined);
  assert.deepEqual(out.yaxis2.range, [0.1, 0.9]);
  assert.equal(out.yaxis2.autorange, false);
  assert.equal(out.yaxis2.type, undefined);
  assert.notEqual(out.yaxis.uirevision, out.yaxis2.uirevision);
});

test("dark: plotly_dark's colours in the layout, nothing fetched", () => {
  const out = viewLayout(layout(), settings({ dark: true }));
  assert.equal(out.paper_bgcolor, DARK.paper);
  assert.equal(out.plot_bgcolor, DARK.plot);
  assert.equal(out.font.color, DARK.font);
  assert.equal(out.font.size, 12);
  assert.equal(out.xaxis2.gridcolor, DARK.grid);
  assert.equal(out.yaxis.gridcolor, DARK.grid);
  assert.equal(out.annotations[0].bgcolor, DARK.label);
  assert.equal(out.template, undefined);
  assert.equal(themeLayout(layout(), false).paper_bgcolor, "white");
});

test("the page's theme: JupyterLab's data attribute, VS Code's classes; view.theme forces it", () => {
  const body = (dataset, classes = []) => ({ dataset, classList: { contains: (c) => classes.includes(c) } });
  assert.equal(pageIsDark(body({ jpThemeLight: "false" })), true);
  assert.equal(pageIsDark(body({ jpThemeLight: "true" }, ["vscode-dark"])), false);
  assert.equal(pageIsDark(body({}, ["vscode-dark"])), true);
  assert.equal(pageIsDark(body({}, ["vscode-high-contrast"])), true);
  assert.equal(pageIsDark(body({}, ["vscode-high-contrast", "vscode-high-contrast-light"])), false);
  assert.equal(pageIsDark(body({}, ["vscode-light"])), false);
  assert.equal(pageIsDark(null), false);
  assert.equal(isDark("dark", body({ jpThemeLight: "true" })), true);
  assert.equal(isDark("light", body({ jpThemeLight: "false" })), false);
  assert.equal(isDark("auto", body({ jpThemeLight: "false" })), true);
});

test("panelsOf: a shortened axis title names its panel by its curves' whole metric", () => {
  const long = "sparse_categorical_accuracy_of_the_top_5";
  const lay = { yaxis: { title: { text: "loss" } }, yaxis2: { title: { text: "sparse_categ…f_the_top_5" } } };
  const traces = [
    { name: "val_sparse_c…he_top_5", yaxis: "y2", meta: { role: "metric", metric: `val_${long}` } },
    { name: "checkpoint", yaxis: "y", meta: { role: "checkpoint" } },
  ];
  assert.deepEqual(panelsOf(lay, traces), [
    { axis: "y", family: "loss" },
    { axis: "y2", family: long },
  ]);
});
