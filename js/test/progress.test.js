// The progress line's DOM, with a tiny fake document: text goes in through
// textContent only (setting innerHTML throws here).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress } from "../src/progress.js";

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.attributes = {};
    this.style = {};
    this.className = "";
    this.title = "";
    this._text = "";
  }
  set innerHTML(_) {
    throw new Error("innerHTML must not be used");
  }
  insertAdjacentHTML() {
    throw new Error("insertAdjacentHTML must not be used");
  }
  get textContent() {
    return this._text + this.children.map((c) => c.textContent).join("");
  }
  set textContent(v) {
    this.children = [];
    this._text = String(v);
  }
  appendChild(child) {
    this.children.push(child);
    return child;
  }
  replaceChildren(...nodes) {
    this._text = "";
    this.children = nodes;
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
}
const fakeDocument = { createElement: (tag) => new FakeElement(tag) };

test("the progress line shows a hostile metric name as text", () => {
  const view = createProgress(/** @type {any} */ (fakeDocument));
  const name = "<img src=x onerror=alert(1)>";
  view.update({ status: "training", epoch: 3, epochs: 20, batch: 12, batches: 180, elapsed: 12, eta: 40, logs: { [name]: 0.5 } });
  assert.equal(
    view.text.textContent,
    "Epoch 3/20 · batch 12/180 · 0:12 elapsed · ETA 0:40 · <img src=x onerror=alert(1)> 0.5000 · training",
  );
  const metric = view.text.children.find((c) => c.className.includes("wc-part-metric"));
  assert.equal(metric.children.length, 0);
  assert.equal(metric.textContent, `${name} 0.5000`);
  const fill = view.bar.children[0];
  assert.equal(fill.style.width, `${Math.round(((2 + 12 / 180) / 20) * 1000) / 10}%`);
  assert.equal(view.bar.attributes.role, "progressbar");
});

test("the progress line empties for a missing progress", () => {
  const view = createProgress(/** @type {any} */ (fakeDocument));
  view.update({ status: "training", epoch: 1, epochs: 2 });
  view.update(null);
  assert.equal(view.text.textContent, "");
  assert.equal(view.bar.children[0].style.width, "0%");
});
