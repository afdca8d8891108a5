// static_png.js: the request is checked, the figure is the kernel's (waiting for
// points still in flight), and the answer is one PNG per request.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MSG_STATIC_PNG, MSG_STATIC_PNG_REQUEST, TRAITS } from "../src/protocol.js";
import { answerStaticPng, figureFor, imageOptions, parseRequest, pngBase64, viewedFigure } from "../src/static_png.js";
import { fakeModel } from "./fake_model.js";

const request = (extra = {}) => ({
  type: MSG_STATIC_PNG_REQUEST,
  id: 3,
  run: 1,
  lengths: [2, 1],
  layout: { height: 700, xaxis: { title: { text: "epoch" } } },
  overlays: [{ name: "best", x: [1], y: [0.4] }],
  width: 900,
  height: 700,
  scale: 2,
  ...extra,
});

test("parseRequest takes a well-formed request and nothing else", () => {
  const parsed = parseRequest(request());
  assert.deepEqual(parsed?.lengths, [2, 1]);
  assert.equal(parsed?.id, 3);
  for (const bad of [
    null,
    "static_png_request",
    [],
    { type: "extend", run: 1, points: [] },
    request({ id: "3" }),
    request({ id: -1 }),
    request({ lengths: [2, 1.5] }),
    request({ lengths: null }),
    request({ layout: [] }),
    request({ overlays: [1] }),
    request({ width: 0 }),
    request({ scale: Number.NaN }),
  ]) {
    assert.equal(parseRequest(bad), null, JSON.stringify(bad));
  }
});

test("figureFor is the kernel's figure: its points, overlays and layout at the asked size", () => {
  const req = /** @type {any} */ (parseRequest(request()));
  const traces = [
    { name: "loss", x: [1, 2, 3], y: [0.5, 0.4, 0.3], text: ["a", "b", "c"], line: { color: "red" } },
    { name: "val_loss", x: [1], y: [0.6] },
  ];
  const figure = /** @type {any} */ (figureFor(req, traces, 1));
  assert.deepEqual(
    figure.data.map((/** @type {any} */ t) => [t.name, t.x, t.y]),
    [
      ["loss", [1, 2], [0.5, 0.4]],
      ["val_loss", [1], [0.6]],
      ["best", [1], [0.4]],
    ],
  );
  assert.deepEqual(figure.data[0].text, ["a", "b"], "per-point arrays are cut at the asked length");
  assert.deepEqual(figure.layout, { height: 700, width: 900, autosize: false, xaxis: { title: { text: "epoch" } } });
  figure.data[0].line.color = "blue";
  figure.layout.xaxis.title.text = "x";
  assert.equal(traces[0].line.color, "red", "the model's traces are not shared");
  assert.equal(req.layout.xaxis.title.text, "epoch");
  assert.deepEqual(imageOptions(req), { format: "png", width: 900, height: 700, scale: 2 });
});

test("figureFor waits for the model: another run, another trace count, missing points", () => {
  const req = /** @type {any} */ (parseRequest(request()));
  const two = [
    { x: [1, 2], y: [1, 2] },
    { x: [1], y: [1] },
  ];
  assert.equal(figureFor(req, two, 0), null, "the new run's traces have not arrived");
  assert.equal(figureFor(req, two.slice(0, 1), 1), null, "a new metric's trace has not arrived");
  assert.equal(figureFor(req, [{ x: [1], y: [1] }, two[1]], 1), null, "a point is still in flight");
  assert.equal(figureFor(req, undefined, 1), null);
  assert.ok(figureFor(req, two, 1));
});

test("pngBase64 keeps the data of a PNG data URL only", () => {
  assert.equal(pngBase64("data:image/png;base64,iVBORw0K"), "iVBORw0K");
  for (const bad of ["data:image/png;base64,", "data:image/svg+xml,<svg/>", null, 42]) assert.equal(pngBase64(bad), null);
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test("answerStaticPng answers once per request, after the points arrived, and ignores the rest", async () => {
  const model = fakeModel({ [TRAITS.traces]: [{ x: [1], y: [0.5] }], [TRAITS.run]: 1 });
  const drawn = [];
  const plotly = {
    toImage(figure, opts) {
      drawn.push([figure, opts]);
      return Promise.resolve("data:image/png;base64,UE5H");
    },
  };
  const cleanup = answerStaticPng(model, plotly);
  model.emit("msg:custom", { type: "extend", run: 1, points: [] }); // not a request: nothing
  model.emit("msg:custom", { type: MSG_STATIC_PNG_REQUEST, id: "x" }); // malformed: ignored
  await settle();
  assert.deepEqual(model.sent, []);

  model.emit("msg:custom", request({ id: 7, lengths: [2] }));
  await settle();
  assert.deepEqual(model.sent, [], "waits: the second point is still in flight");
  model.get(TRAITS.traces)[0].x.push(2);
  model.get(TRAITS.traces)[0].y.push(0.4);
  model.emit("msg:custom", { type: "extend", run: 1, points: [] }); // the extend that brought it
  await settle();
  assert.deepEqual(model.sent, [{ type: MSG_STATIC_PNG, id: 7, png: "UE5H" }]);
  assert.equal(drawn.length, 1);
  assert.deepEqual(drawn[0][1], { format: "png", width: 900, height: 700, scale: 2 });
  assert.deepEqual(drawn[0][0].data[0].y, [0.5, 0.4]);

  model.emit(`change:${TRAITS.traces}`);
  await settle();
  assert.equal(model.sent.length, 1, "one answer per request");

  // A newer request replaces one still waiting; a failed image sends nothing.
  model.emit("msg:custom", request({ id: 8, run: 2, lengths: [1] }));
  model.emit("msg:custom", request({ id: 9, lengths: [2] }));
  await settle();
  assert.deepEqual(
    model.sent.map((m) => m.id),
    [7, 9],
  );
  model.set(TRAITS.run, 2);
  model.emit(`change:${TRAITS.run}`);
  await settle();
  assert.equal(model.sent.length, 2, "the replaced request is not answered");
  plotly.toImage = () => Promise.reject(new Error("no canvas"));
  const warn = console.warn;
  console.warn = () => {};
  try {
    model.set(TRAITS.traces, [{ x: [1], y: [0.1] }]);
    model.emit("msg:custom", request({ id: 10, run: 2, lengths: [1] }));
    await settle();
  } finally {
    console.warn = warn;
  }
  assert.equal(model.sent.length, 2);
  cleanup();
  assert.equal(model.count(), 0);
});

test("viewedFigure draws the static copy as the view settings do, light", () => {
  const figure = {
    data: [
      { name: "loss", x: [1, 2, 3], y: [1, 2, 3], customdata: [2, 4, 6], xaxis: "x", yaxis: "y", meta: { role: "metric" } },
      { name: "best", x: [2], y: [2], xaxis: "x", yaxis: "y", meta: { role: "best" } },
    ],
    layout: { width: 900, height: 700, autosize: false, paper_bgcolor: "white", yaxis: { title: { text: "loss" } }, xaxis: {} },
  };
  const out = viewedFigure(figure, 1, { smoothing: 0.5, log_y: ["loss"], x_axis: "time", theme: "dark" }, { batches: 10 });
  assert.deepEqual(out.data.map((t) => t.meta.role), ["raw", "metric", "best"]);
  assert.deepEqual(out.data[1].y, [1, 5 / 3, 17 / 7]);
  assert.deepEqual(out.data[1].x, [2, 4, 6]);
  assert.deepEqual(out.data[2].x, [4], "the best star at epoch 2's time");
  assert.equal(out.layout.yaxis.type, "log");
  assert.equal(out.layout.paper_bgcolor, "white", "exports are light");
  assert.deepEqual([out.layout.width, out.layout.height, out.layout.autosize], [900, 700, false]);
  assert.ok(!out.data.some((t) => t.meta?.role === "headroom"));
});
