// Min/max decimation of long lines (pure, no DOM): buckets of consecutive
// points keep their min and max, and the line keeps its first and last point.
// Buckets hold a power-of-two number of points and are aligned on multiples of
// that size, so a growing trace only adds to its last bucket and, when the
// bucket size doubles, pairs of buckets merge exactly. The incremental result
// is therefore identical to a fresh computation.

/** @param {unknown} v */
const isValue = (v) => typeof v === "number" && Number.isFinite(v);

export class Decimator {
  constructor() {
    this.size = 1; // points per bucket, a power of two
    this.n = 0; // points folded in
    this.count = 0; // buckets in use
    this.first = -1; // index of the first and the last point that is not a gap
    this.last = -1;
    // per bucket: index of its min, of its max, of its first and last gap (-1: none)
    this.minI = new Int32Array(64);
    this.maxI = new Int32Array(64);
    this.firstGap = new Int32Array(64);
    this.lastGap = new Int32Array(64);
    /** @type {unknown} the arrays the buckets were computed from */
    this.xRef = null;
    /** @type {unknown} */
    this.yRef = null;
  }

  /** @param {number} size */
  reset(size) {
    this.size = size;
    this.n = 0;
    this.count = 0;
    this.first = -1;
    this.last = -1;
  }

  /** @param {number} count */
  grow(count) {
    if (count <= this.minI.length) return;
    let cap = this.minI.length;
    while (cap < count) cap *= 2;
    for (const name of /** @type {const} */ (["minI", "maxI", "firstGap", "lastGap"])) {
      const next = new Int32Array(cap);
      next.set(this[name].subarray(0, this.count));
      this[name] = next;
    }
  }

  /**
   * Fold points [this.n, n) into the buckets.
   * @param {ArrayLike<unknown> | null} x
   * @param {ArrayLike<unknown>} y
   * @param {number} n
   */
  fold(x, y, n) {
    const size = this.size;
    this.grow(Math.ceil(n / size));
    const { minI, maxI, firstGap, lastGap } = this;
    let first = this.first;
    let last = this.last;
    for (let k = Math.floor(this.n / size); k * size < n; k++) {
      let lo = k * size;
      let mn = -1;
      let mx = -1;
      let fg = -1;
      let lg = -1;
      let mnv = Infinity;
      let mxv = -Infinity;
      if (k < this.count) {
        mn = minI[k];
        mx = maxI[k];
        fg = firstGap[k];
        lg = lastGap[k];
        if (mn >= 0) mnv = /** @type {number} */ (y[mn]);
        if (mx >= 0) mxv = /** @type {number} */ (y[mx]);
        lo = this.n;
      }
      const hi = Math.min(n, lo - (lo % size) + size);
      for (let i = lo; i < hi; i++) {
        const v = y[i];
        if (typeof v !== "number" || !Number.isFinite(v) || (x !== null && x[i] == null)) {
          if (fg < 0) fg = i;
          lg = i;
          continue;
        }
        if (first < 0) first = i;
        last = i;
        if (v < mnv) {
          mnv = v;
          mn = i;
        }
        if (v > mxv) {
          mxv = v;
          mx = i;
        }
      }
      minI[k] = mn;
      maxI[k] = mx;
      firstGap[k] = fg;
      lastGap[k] = lg;
      if (k >= this.count) this.count = k + 1;
    }
    this.first = first;
    this.last = last;
    this.n = n;
  }

  /**
   * Double the bucket size by merging pairs of buckets.
   * @param {ArrayLike<unknown>} y
   */
  merge(y) {
    const { minI, maxI, firstGap, lastGap } = this;
    const count = Math.ceil(this.count / 2);
    for (let j = 0; j < count; j++) {
      const a = 2 * j;
      const b = a + 1;
      let mn = minI[a];
      let mx = maxI[a];
      let fg = firstGap[a];
      let lg = lastGap[a];
      if (b < this.count) {
        // Ties keep the earlier point, as a fresh left-to-right scan does.
        if (minI[b] >= 0 && (mn < 0 || /** @type {number} */ (y[minI[b]]) < /** @type {number} */ (y[mn]))) mn = minI[b];
        if (maxI[b] >= 0 && (mx < 0 || /** @type {number} */ (y[maxI[b]]) > /** @type {number} */ (y[mx]))) mx = maxI[b];
        if (fg < 0) fg = firstGap[b];
        if (lastGap[b] >= 0) lg = lastGap[b];
      }
      minI[j] = mn;
      maxI[j] = mx;
      firstGap[j] = fg;
      lastGap[j] = lg;
    }
    this.count = count;
    this.size *= 2;
  }

  /**
   * Bring the buckets up to date with the first n points.
   * @param {ArrayLike<unknown> | null} x
   * @param {ArrayLike<unknown>} y
   * @param {number} n
   * @param {number} maxBuckets
   */
  update(x, y, n, maxBuckets) {
    let size = 1;
    while (n > size * maxBuckets) size *= 2;
    if (x !== this.xRef || y !== this.yRef || n < this.n || size < this.size) {
      this.reset(size);
      this.xRef = x;
      this.yRef = y;
    }
    while (this.size < size) this.merge(y);
    if (n > this.n) this.fold(x, y, n);
    return this;
  }

  /** @returns {number[]} source indices to draw, increasing */
  indices() {
    const { minI, maxI, firstGap, lastGap, size } = this;
    /** @type {number[]} */
    const out = [];
    const six = [0, 0, 0, 0, 0, 0];
    const sorted = [0, 0, 0, 0, 0, 0];
    const firstK = this.first < 0 ? -1 : Math.floor(this.first / size);
    const lastK = this.last < 0 ? -1 : Math.floor(this.last / size);
    for (let k = 0; k < this.count; k++) {
      six[0] = minI[k];
      six[1] = maxI[k];
      six[2] = firstGap[k];
      six[3] = lastGap[k];
      // the line starts and ends where the data does (the drawn x extent, and
      // where points appended later connect)
      six[4] = k === firstK ? this.first : -1;
      six[5] = k === lastK ? this.last : -1;
      // at most six indices: insertion sort, dropping -1 and duplicates
      let m = 0;
      for (const i of six) {
        if (i < 0) continue;
        let j = m;
        while (j > 0 && sorted[j - 1] > i) j--;
        if (j > 0 && sorted[j - 1] === i) continue;
        for (let t = m; t > j; t--) sorted[t] = sorted[t - 1];
        sorted[j] = i;
        m++;
      }
      for (let a = 0; a < m; a++) out.push(sorted[a]);
    }
    return out;
  }
}

/**
 * @param {ArrayLike<unknown> | null} x
 * @param {ArrayLike<unknown>} y
 * @param {number[]} index
 */
export function gatherXY(x, y, index) {
  const gx = new Array(index.length);
  const gy = new Array(index.length);
  for (let j = 0; j < index.length; j++) {
    const i = index[j];
    const v = y[i];
    gx[j] = x === null ? i : x[i];
    gy[j] = isValue(v) && gx[j] != null ? v : null;
  }
  return { x: gx, y: gy };
}

/** Input of at most SHORT_FACTOR points per allowed bucket is drawn whole. */
export const SHORT_FACTOR = 2;

/**
 * Min/max decimation of a line: the points are cut into buckets of a
 * power-of-two number of consecutive points (at most `maxBuckets` buckets), and
 * each bucket keeps its minimum and its maximum (in their order), so the drawn
 * envelope is the same as with every point; the first and the last point of
 * the line are kept too. A bucket holding gaps (null) also
 * keeps its first and last gap, so a break in the line stays a break.
 * Buckets count points, not x units: x need only be increasing (unevenly spaced
 * x gives buckets of uneven width). Input of at most 2 * maxBuckets points is
 * returned unchanged.
 *
 * @param {ArrayLike<unknown> | null | undefined} x  increasing (null: the index)
 * @param {ArrayLike<unknown>} y
 * @param {number} maxBuckets
 * @returns {{x: unknown, y: unknown, index: number[] | null, bucketSize: number}}
 *   `index` holds the source index of each kept point (null when unchanged)
 */
export function decimate(x, y, maxBuckets) {
  const n = x ? Math.min(x.length, y.length) : y.length;
  const buckets = Math.max(1, Math.floor(maxBuckets));
  if (n <= SHORT_FACTOR * buckets) return { x, y, index: null, bucketSize: 1 };
  const dec = new Decimator().update(x ?? null, y, n, buckets);
  const index = dec.indices();
  return { ...gatherXY(x ?? null, y, index), index, bucketSize: dec.size };
}


/**
 * The points of x/y to draw for the x range [lo, hi] (a zoom): the points
 * inside it plus one on each side (the line runs on to the edges),
 * min/max-decimated like decimate() when there are more than
 * SHORT_FACTOR * maxBuckets of them, so a zoom shows the detail of that
 * range. x need only be increasing where it is not null (a gap).
 *
 * @param {ArrayLike<unknown>} x  increasing
 * @param {ArrayLike<unknown>} y
 * @param {number} n  points of x/y to consider
 * @param {number} lo
 * @param {number} hi
 * @param {number} maxBuckets
 * @returns {number[]} source indices to draw, increasing
 */
export function rangeIndices(x, y, n, lo, hi, maxBuckets) {
  let first = -1;
  let last = -1;
  let before = -1;
  let after = -1;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    if (v < lo) before = i;
    else if (v > hi) {
      after = i;
      break;
    } else {
      if (first < 0) first = i;
      last = i;
    }
  }
  const a = before >= 0 ? before : first >= 0 ? first : after;
  const b = after >= 0 ? after : last >= 0 ? last : before;
  if (a < 0 || b < 0) return [];
  const count = b - a + 1;
  const buckets = Math.max(1, Math.floor(maxBuckets));
  if (count <= SHORT_FACTOR * buckets) return Array.from({ length: count }, (_, k) => a + k);
  const xs = Array.prototype.slice.call(x, a, b + 1);
  const ys = Array.prototype.slice.call(y, a, b + 1);
  return new Decimator()
    .update(xs, ys, count, buckets)
    .indices()
    .map((i) => i + a);
}
