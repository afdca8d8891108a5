// protocol.js against widget_callbacks/core/protocol.json, the one definition
// of the protocol (read here with fs, independently of the module's import).
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import * as protocol from "../src/protocol.js";

const json = JSON.parse(readFileSync(new URL("../../widget_callbacks/core/protocol.json", import.meta.url), "utf8"));

test("protocol.js exports exactly the protocol's constants", () => {
  assert.deepEqual(Object.keys(protocol).sort(), [
    "DARK_PALETTE",
    "DEFAULT_HEIGHT",
    "MAX_NAME_CHARS",
    "MSG_EXTEND",
    "MSG_STATIC_PNG",
    "MSG_STATIC_PNG_REQUEST",
    "PLOT_CONFIG",
    "PROGRESS_KEYS",
    "STATUSES",
    "STATUS_FAILED",
    "STATUS_FINISHED",
    "STATUS_STOPPED",
    "STATUS_TRAINING",
    "STATUS_WAITING",
    "THEMES",
    "TRAITS",
    "VIEW_DEFAULTS",
    "X_AXES",
  ]);
});

test("trait names, message type, statuses and progress keys come from the JSON", () => {
  assert.deepEqual(protocol.TRAITS, json.traits);
  for (const name of ["traces", "plot_layout", "overlays", "progress", "run"]) {
    assert.equal(typeof protocol.TRAITS[name], "string", name);
  }
  assert.ok(Object.isFrozen(protocol.TRAITS));
  assert.equal(protocol.MSG_EXTEND, json.messages.extend);
  assert.equal(protocol.MSG_STATIC_PNG_REQUEST, json.messages.static_png_request);
  assert.equal(protocol.MSG_STATIC_PNG, json.messages.static_png);
  assert.deepEqual(protocol.STATUSES, json.statuses);
  assert.deepEqual(
    [protocol.STATUS_WAITING, protocol.STATUS_TRAINING, protocol.STATUS_FINISHED, protocol.STATUS_STOPPED, protocol.STATUS_FAILED],
    json.statuses,
  );
  assert.equal(protocol.STATUSES.length, 5, "one STATUS_* per status");
  assert.deepEqual(protocol.PROGRESS_KEYS, json.progress_keys);
  assert.ok(protocol.PROGRESS_KEYS.includes("logs"));
});

test("the view's defaults, x axes and themes come from the JSON", () => {
  assert.deepEqual(protocol.VIEW_DEFAULTS, json.view_defaults);
  assert.deepEqual(protocol.X_AXES, json.x_axes);
  assert.deepEqual(protocol.THEMES, json.themes);
  assert.deepEqual(protocol.VIEW_DEFAULTS, { smoothing: 0, log_y: ["learning_rate"], x_axis: "epoch", robust_y: false, theme: "auto" });
  assert.ok(protocol.X_AXES.includes(protocol.VIEW_DEFAULTS.x_axis));
  assert.ok(protocol.THEMES.includes(protocol.VIEW_DEFAULTS.theme));
  assert.equal(protocol.TRAITS.view, "view");
  assert.equal(protocol.TRAITS.summary, "summary_table");
  assert.equal(protocol.MAX_NAME_CHARS, json.sizes.max_name_chars);
  assert.deepEqual(protocol.DARK_PALETTE, json.dark_palette);
});

test("PLOT_CONFIG is the JSON's plot_config less the buttons the live view replaces", () => {
  const { modeBarButtonsToRemove, ...rest } = protocol.PLOT_CONFIG;
  const { modeBarButtonsToRemove: exported, ...jsonRest } = json.plot_config;
  assert.deepEqual(rest, jsonRest);
  assert.deepEqual(modeBarButtonsToRemove, [...exported, ...json.live_mode_bar_removed]);
  assert.ok(modeBarButtonsToRemove.includes("toImage"), "the PNG/SVG buttons replace the camera");
  assert.ok(Object.isFrozen(protocol.PLOT_CONFIG));
});

test("DEFAULT_HEIGHT is sizes.default_height", () => {
  assert.equal(protocol.DEFAULT_HEIGHT, json.sizes.default_height);
  assert.ok(protocol.DEFAULT_HEIGHT > 0);
});

test("no module of src/ spells a trait name or a status itself", () => {
  const src = new URL("../src/", import.meta.url);
  const files = readdirSync(src).filter((f) => f.endsWith(".js") && f !== "protocol.js");
  assert.ok(files.includes("widget.js"));
  const quoted = (values) => values.map((v) => `"${v}"`);
  for (const file of files) {
    const code = readFileSync(new URL(file, src), "utf8")
      .split("\n")
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line)) // not comments
      .join("\n");
    assert.doesNotMatch(code, /model\.(get|set)\(\s*["'`]/, `${file}: model.get/set with a literal name`);
    assert.doesNotMatch(code, /["'`]change:(?!\$\{)/, `${file}: a literal change: event`);
    for (const literal of quoted(Object.values(json.traits))) {
      assert.ok(!code.includes(literal), `${file} writes the trait name ${literal}`);
    }
    for (const literal of quoted(json.statuses)) {
      const compared = new RegExp(`[!=]==\\s*${literal}|${literal}\\s*[!=]==`);
      assert.doesNotMatch(code, compared, `${file} compares with the status ${literal}`);
    }
  }
});
