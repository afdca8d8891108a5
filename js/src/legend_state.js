// What the legend hid, kept across full redraws (pure, no DOM).
//
// A click on a legend entry makes Plotly restyle `visible` of the traces of its
// group (a run: core/runs.py). Plotly remembers such an edit over a redraw with
// new trace objects only until the data it is given carries the edited value
// itself, which our cached display traces do (Plotly writes into them); when the
// kernel then resends the traces (a run starts or ends), the click would be
// forgotten. This keeps each click by trace `uid`, with the `visible` the kernel
// gave that trace then, and puts it back at each full draw while the kernel's
// value is unchanged (a `hide_run`/`show_run` from Python wins).

/** @typedef {import("./protocol.js").Trace} Trace */

/** @param {unknown} uid */
const isUid = (uid) => typeof uid === "string" && uid.length > 0;

export class LegendState {
  constructor() {
    /** @type {Map<string, {value: unknown, base: unknown}>} uid -> the click's value over the kernel's */
    this.clicked = new Map();
    /** @type {Map<string, unknown>} uid -> `visible` the kernel gave, at the last full draw */
    this.given = new Map();
  }

  /**
   * Before a full draw: note the kernel's `visible` of each trace (`traces[i]`,
   * never written by Plotly, is behind `data[i]`) and set the clicked ones on
   * `data` (the objects handed to Plotly). A smoothed curve's raw copy
   * (`<uid>-raw`) follows its curve.
   * @param {Trace[]} data
   * @param {Trace[]} traces
   */
  apply(data, traces) {
    this.given = new Map();
    data.forEach((t, i) => {
      if (t && isUid(t.uid)) this.given.set(/** @type {string} */ (t.uid), i < traces.length ? traces[i]?.visible : t.visible);
    });
    for (const t of data) {
      if (!t || !isUid(t.uid)) continue;
      const uid = /** @type {string} */ (t.uid);
      const key = this.clicked.has(uid) ? uid : uid.replace(/-raw$/, "");
      const click = this.clicked.get(key);
      if (!click) continue;
      if (click.base !== this.given.get(key)) {
        this.clicked.delete(key); // the kernel changed it since: its value wins
        continue;
      }
      t.visible = click.value;
    }
  }

  /**
   * A `plotly_restyle` event (`[update, indices]`): keep the `visible` it set.
   * @param {unknown} event
   * @param {Trace[]} data  the plot's data (`gd.data`)
   */
  restyled(event, data) {
    if (!Array.isArray(event)) return;
    const [update, indices] = event;
    if (!update || typeof update !== "object" || !("visible" in update) || !Array.isArray(data)) return;
    const values = /** @type {Record<string, unknown>} */ (update).visible;
    const list = Array.isArray(indices) ? indices : data.map((_, i) => i);
    list.forEach((index, k) => {
      const uid = data[index]?.uid;
      if (!isUid(uid)) return;
      const value = Array.isArray(values) ? values[k % values.length] : values;
      this.clicked.set(/** @type {string} */ (uid), { value, base: this.given.get(/** @type {string} */ (uid)) });
    });
  }
}
