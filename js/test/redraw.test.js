// The redraw plan: what each frame draws and when a full redraw catches up,
// with made-up timestamps (no DOM, no Plotly, no timers).
import assert from "node:assert/strict";
import { test } from "node:test";
import { TRAITS } from "../src/protocol.js";
import {
  CATCH_UP_MS,
  FULL,
  LAYOUT,
  MAX_APPENDED,
  MAX_STALE_MS,
  NONE,
  RedrawPlan,
  TAIL,
  TRAIT_LEVELS,
} from "../src/redraw.js";

/** A plan past its first full draw, as a view is once drawn. */
const drawn = (live = false) => {
  const plan = new RedrawPlan(live);
  plan.didDraw();
  return plan;
};

test("levels are ordered, and the timing constants are sane", () => {
  assert.ok(NONE < TAIL && TAIL < LAYOUT && LAYOUT < FULL);
  assert.ok(CATCH_UP_MS > 0 && CATCH_UP_MS < MAX_STALE_MS);
  assert.ok(MAX_APPENDED > 0);
});

test("a new view draws in full first, then nothing until asked", () => {
  const plan = new RedrawPlan();
  assert.equal(plan.next(0, 0), FULL);
  plan.didDraw();
  assert.equal(plan.pending, NONE);
  assert.equal(plan.next(1, 0), NONE);
});

test("pending levels merge to the highest", () => {
  const plan = drawn();
  assert.equal(plan.request(TAIL), true);
  assert.equal(plan.next(0, 0), TAIL);
  plan.request(LAYOUT);
  plan.request(TAIL);
  assert.equal(plan.next(0, 0), LAYOUT);
  plan.request(FULL);
  plan.request(LAYOUT);
  assert.equal(plan.next(0, 0), FULL);
  plan.request(NONE);
  assert.equal(plan.pending, FULL, "NONE lowers nothing");
});

test("an extend message draws the tail; a trait change its own level", () => {
  const plan = drawn();
  assert.equal(plan.extended(), true);
  assert.equal(plan.next(0, 0), TAIL);
  plan.didAppend(0, 0);
  assert.equal(plan.changed(TRAITS.plot_layout), true);
  assert.equal(plan.next(0, 0), LAYOUT);
  plan.didAppend(0, 0);
  assert.equal(plan.changed(TRAITS.progress), false, "progress alone redraws nothing");
  assert.equal(plan.next(0, 0), NONE);
  assert.equal(plan.changed("some_future_trait"), true);
  assert.equal(plan.next(0, 0), FULL, "an unknown trait redraws in full");
});

test("a new run or a structure change (traces, overlays) forces FULL over pending tails", () => {
  for (const trait of [TRAITS.run, TRAITS.traces, TRAITS.overlays]) {
    const plan = drawn();
    plan.extended();
    plan.changed(TRAITS.plot_layout);
    plan.changed(trait);
    assert.equal(plan.next(0, 10), FULL, trait);
    plan.extended();
    assert.equal(plan.next(0, 10), FULL, `${trait}: a later extend keeps FULL`);
  }
  assert.deepEqual(
    Object.keys(TRAIT_LEVELS).sort(),
    Object.values(TRAITS).sort(),
    "every synced trait has a level",
  );
});

test("appending arms a catch-up that each new append postpones", () => {
  const plan = drawn();
  plan.extended();
  assert.equal(plan.next(1000, 0), TAIL);
  assert.equal(plan.didAppend(1000, 3), CATCH_UP_MS);
  assert.equal(plan.pending, NONE);
  assert.equal(plan.appendedAt, 1000);
  assert.equal(plan.catchUpAt, 1000 + CATCH_UP_MS);

  plan.extended();
  assert.equal(plan.next(1200, 3), TAIL);
  assert.equal(plan.didAppend(1200, 5), CATCH_UP_MS);
  assert.equal(plan.appendedAt, 1000, "the oldest appended point's time stays");
  assert.equal(plan.catchUpAt, 1200 + CATCH_UP_MS, "postponed: updates have not paused");

  assert.equal(plan.catchUp(1000 + CATCH_UP_MS), false, "the first timer would fire too early");
  assert.equal(plan.pending, NONE);
  assert.equal(plan.catchUp(1200 + CATCH_UP_MS), true, "a pause of CATCH_UP_MS");
  assert.equal(plan.next(1200 + CATCH_UP_MS, 5), FULL);
  assert.equal(plan.catchUpAt, null);
  assert.equal(plan.catchUp(5000), false, "caught up once only");
  plan.didDraw();
  assert.equal(plan.appendedAt, null);
  assert.equal(plan.next(5000, 0), NONE);
});

test("an append of nothing new arms no catch-up (and cancels one with nothing appended)", () => {
  const plan = drawn();
  plan.extended();
  assert.equal(plan.didAppend(0, 0), null);
  assert.equal(plan.catchUpAt, null);
  assert.equal(plan.appendedAt, null);
  assert.equal(plan.catchUp(10_000), false);
});

test("a full draw cancels the pending catch-up", () => {
  const plan = drawn();
  plan.extended();
  plan.didAppend(0, 4);
  plan.changed(TRAITS.traces);
  assert.equal(plan.next(10, 4), FULL);
  plan.didDraw();
  assert.equal(plan.catchUpAt, null);
  assert.equal(plan.catchUp(CATCH_UP_MS), false);
  assert.equal(plan.next(CATCH_UP_MS, 0), NONE);
});

test("while updates keep coming, a full redraw is forced once the oldest appended point is MAX_STALE_MS old", () => {
  const plan = drawn();
  let t = 100;
  let appended = 0;
  // An update every 100 ms: the catch-up never comes.
  while (t < 100 + MAX_STALE_MS) {
    plan.extended();
    assert.equal(plan.next(t, appended), TAIL, `at ${t}`);
    appended += 1;
    plan.didAppend(t, appended);
    assert.equal(plan.catchUp(t + 1), false);
    t += 100;
  }
  assert.equal(t, 100 + MAX_STALE_MS);
  plan.extended();
  assert.equal(plan.next(t - 1, appended), TAIL, "just under MAX_STALE_MS");
  assert.equal(plan.next(t, appended), FULL, "MAX_STALE_MS after the first append");
  plan.changed(TRAITS.plot_layout);
  assert.equal(plan.next(t, appended), FULL, "a layout change is drawn in full too");
  plan.didDraw();
  plan.extended();
  assert.equal(plan.next(t + 1, 0), TAIL, "staleness counts from the next append");
});

test("a full redraw is forced once MAX_APPENDED points were appended", () => {
  const plan = drawn();
  plan.extended();
  assert.equal(plan.next(0, MAX_APPENDED - 1), TAIL);
  plan.didAppend(0, MAX_APPENDED - 1);
  plan.extended();
  assert.equal(plan.next(1, MAX_APPENDED), FULL);
  plan.request(LAYOUT);
  assert.equal(plan.next(1, MAX_APPENDED + 5), FULL);
});

test("liveness: a change redraws in full, the same value nothing", () => {
  const plan = drawn(false);
  assert.equal(plan.live, false);
  assert.equal(plan.setLive(false), false);
  assert.equal(plan.next(0, 0), NONE);
  assert.equal(plan.setLive(true), true);
  assert.equal(plan.live, true);
  assert.equal(plan.next(0, 0), FULL);
  plan.didDraw();
  assert.equal(plan.setLive(true), false);
  assert.equal(plan.next(0, 0), NONE);
  assert.equal(plan.setLive(false), true, "the finished plot fits its data");
  assert.equal(plan.next(0, 0), FULL);
});

test("a frame that finds nothing to draw changes nothing", () => {
  const plan = drawn();
  plan.extended();
  plan.didAppend(0, 2);
  const before = { ...plan };
  assert.equal(plan.next(100, 2), NONE);
  assert.deepEqual({ ...plan }, before);
});
