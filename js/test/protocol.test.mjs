import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as protocol from "../src/protocol.js";

const pythonSource = readFileSync(new URL("../../widget_callbacks/_protocol.py", import.meta.url), "utf8");

/** Constants of _protocol.py: NAME: Final = "value" and the tuples of names. */
function pythonConstants() {
  const strings = Object.fromEntries(
    [...pythonSource.matchAll(/^([A-Z_]+): Final = "([^"]*)"$/gm)].map((m) => [m[1], m[2]]),
  );
  const tuples = Object.fromEntries(
    [...pythonSource.matchAll(/^([A-Z_]+): Final = \(([^)]*)\)/gm)].map((m) => [
      m[1],
      m[2]
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => (s.startsWith('"') ? JSON.parse(s) : strings[s])),
    ]),
  );
  return { strings, tuples };
}

test("the protocol constants", () => {
  assert.equal(protocol.MSG_EXTEND, "extend");
  assert.deepEqual(protocol.STATUSES, ["waiting", "training", "finished", "stopped", "failed"]);
  assert.deepEqual(
    [protocol.STATUS_WAITING, protocol.STATUS_TRAINING, protocol.STATUS_FINISHED, protocol.STATUS_STOPPED, protocol.STATUS_FAILED],
    protocol.STATUSES,
  );
  assert.ok(protocol.PROGRESS_KEYS.includes("logs"));
});

test("protocol.js agrees with widget_callbacks/_protocol.py", () => {
  const { strings, tuples } = pythonConstants();
  assert.ok(Object.keys(strings).length >= 6, "parsed the Python constants");
  for (const [name, value] of Object.entries(strings)) assert.equal(protocol[name], value, name);
  for (const [name, value] of Object.entries(tuples)) assert.deepEqual(protocol[name], value, name);
  const jsNames = Object.keys(protocol).sort();
  assert.deepEqual(jsNames, [...Object.keys(strings), ...Object.keys(tuples)].sort());
});

test("protocol.js keeps one constant per line (parsed by the Python tests)", () => {
  const source = readFileSync(new URL("../src/protocol.js", import.meta.url), "utf8");
  for (const name of Object.keys(protocol)) {
    const line = source.split("\n").find((l) => l.startsWith(`export const ${name} = `));
    assert.ok(line, name);
    assert.match(line, /^export const [A-Z_]+ = ("[^"]*"|\[("[^"]*"(, )?)*\]);$/);
    assert.deepEqual(JSON.parse(line.replace(/^export const [A-Z_]+ = /, "").replace(/;$/, "")), protocol[name]);
  }
});
