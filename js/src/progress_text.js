// Pure formatting of the progress line (no DOM). Every part is plain text:
// the DOM side puts it in with textContent, never innerHTML.

import { STATUS_FINISHED, STATUS_STOPPED } from "./protocol.js";

/** @typedef {import("./protocol.js").Progress} Progress */
/** @typedef {{text: string, kind: string}} Part */

/** @param {unknown} v @returns {v is number} */
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

/** @param {number} v */
const pad2 = (v) => String(v).padStart(2, "0");

/**
 * A duration in words: "45s", "3m 05s", "1h 02m". Empty for a missing value.
 * @param {unknown} seconds
 */
export function formatDuration(seconds) {
  if (!isNumber(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad2(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad2(Math.floor((s % 3600) / 60))}m`;
}

/**
 * A duration as a clock: "0:12", "3:05", "1:02:03". Empty for a missing value.
 * @param {unknown} seconds
 */
export function formatClock(seconds) {
  if (!isNumber(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s % 60)}` : `${m}:${pad2(s % 60)}`;
}

/**
 * A metric value as Keras's progress bar prints it: 4 decimals above 1e-3
 * ("0.3012"), else scientific with the trailing zeros dropped ("1.2e-05").
 * Strings (Python sends "nan", "inf" for non-finite values) are kept as text.
 * @param {unknown} value
 */
export function formatNumber(value) {
  if (typeof value === "string") return value;
  if (typeof value !== "number") return value == null ? "" : String(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  if (value === 0) return "0.0000";
  if (Math.abs(value) > 1e-3) return value.toFixed(4);
  const [mantissa, exponent] = value.toExponential(4).split("e");
  const m = mantissa.replace(/\.?0+$/, "");
  const e = Number(exponent);
  return `${m}e${e < 0 ? "-" : "+"}${pad2(Math.abs(e))}`;
}

/**
 * @param {unknown} a
 * @param {unknown} b
 */
const countOf = (a, b) => (isNumber(b) ? `${a}/${b}` : `${a}`);

/**
 * The progress line as parts, in order, to be joined with " · ":
 * "Epoch 3/20 · batch 12/180 · 0:12 elapsed · ETA 0:40 · loss 0.3012 · training".
 * Kinds: epoch, batch, elapsed, eta, metric, status, message.
 * @param {Progress | null | undefined} progress
 * @returns {Part[]}
 */
export function formatProgress(progress) {
  /** @type {Part[]} */
  const parts = [];
  if (!progress || typeof progress !== "object") return parts;
  const p = progress;
  if (isNumber(p.epoch)) parts.push({ text: `Epoch ${countOf(p.epoch, p.epochs)}`, kind: "epoch" });
  if (isNumber(p.batch)) parts.push({ text: `batch ${countOf(p.batch, p.batches)}`, kind: "batch" });
  if (isNumber(p.elapsed)) parts.push({ text: `${formatClock(p.elapsed)} elapsed`, kind: "elapsed" });
  if (isNumber(p.eta)) parts.push({ text: `ETA ${formatClock(p.eta)}`, kind: "eta" });
  if (p.logs && typeof p.logs === "object") {
    for (const [name, value] of Object.entries(p.logs)) {
      parts.push({ text: `${name} ${formatNumber(value)}`, kind: "metric" });
    }
  }
  if (typeof p.status === "string" && p.status) parts.push({ text: p.status, kind: "status" });
  if (p.message != null && p.message !== "") parts.push({ text: String(p.message), kind: "message" });
  return parts;
}

/**
 * The whole progress line as one string.
 * @param {Progress | null | undefined} progress
 */
export function progressText(progress) {
  return formatProgress(progress)
    .map((part) => part.text)
    .join(" · ");
}

/**
 * Fraction of the run done, 0..1: whole epochs plus the batch fraction of the
 * current (1-based) epoch. A finished or stopped run without batch counts is
 * taken as done with its last epoch.
 * @param {Progress | null | undefined} progress
 */
export function progressFraction(progress) {
  if (!progress || !isNumber(progress.epoch) || !isNumber(progress.epochs) || progress.epochs <= 0) return 0;
  const { epoch, epochs, batch, batches, status } = progress;
  let done;
  if (isNumber(batch) && isNumber(batches) && batches > 0) {
    done = epoch - 1 + Math.min(1, Math.max(0, batch / batches));
  } else if (status === STATUS_FINISHED || status === STATUS_STOPPED) {
    done = epoch;
  } else {
    done = epoch - 1;
  }
  return Math.min(1, Math.max(0, done / epochs));
}
