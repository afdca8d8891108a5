import assert from "node:assert/strict";
import { test } from "node:test";

import { LegendState } from "../src/legend_state.js";

const trace = (uid, extra = {}) => ({ uid, x: [1], y: [1], ...extra });

test("a legend click is kept over redraws with new trace objects", () => {
  const legend = new LegendState();
  const traces = [trace("r1-p0"), trace("r1-p1"), trace("r2-0")];
  let data = traces.map((t) => ({ ...t }));
  legend.apply(data, traces);
  legend.restyled([{ visible: ["legendonly", "legendonly"] }, [0, 1]], data);
  // the kernel resends (new objects, no `visible`); smoothing adds a raw copy
  const again = [trace("r1-p0-raw"), trace("r1-p0"), trace("r1-p1"), trace("r2-0")];
  data = again.map((t) => ({ ...t }));
  legend.apply(data, again);
  assert.deepEqual(data.map((t) => t.visible), ["legendonly", "legendonly", "legendonly", undefined]);
  // shown again by a click
  legend.restyled([{ visible: [true] }, [1]], data);
  data = again.map((t) => ({ ...t }));
  legend.apply(data, again);
  assert.deepEqual(data.map((t) => t.visible), [true, true, "legendonly", undefined]); // the raw copy follows
});

test("the kernel's own visible wins over an older click", () => {
  const legend = new LegendState();
  const traces = [trace("r1-p0")];
  let data = [{ ...traces[0] }];
  legend.apply(data, traces);
  legend.restyled([{ visible: "legendonly" }, [0]], data);
  const hidden = [trace("r1-p0", { visible: "legendonly" })]; // plot.hide_run(1)
  data = [{ ...hidden[0] }];
  legend.apply(data, hidden);
  const shown = [trace("r1-p0")]; // plot.show_run(1)
  data = [{ ...shown[0] }];
  legend.apply(data, shown);
  assert.equal(data[0].visible, undefined);
  legend.restyled([{ x: [[1, 2]] }, [0]], data); // not a visibility change
  legend.restyled(null, data);
  assert.equal(legend.clicked.size, 0);
});
