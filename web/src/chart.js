// chart.js — the training chart: −ELBO, reconstruction, KL with its mean and variance parts, and
// the weighted KL β_μ·KL_μ + β_σ·KL_σ (nats per image) against the step, with readable axes, a
// legend, and a mark wherever β, σₓ or the learning rate changed; a learned σₓ on an axis of its
// own on the right, with the exercise sheet's σₓ ≈ 0.71 marked.

import { redrawNextFrame } from './frames.js';
import { onLanguage, t } from './i18n.js';

const MAX_POINTS = 1500;  // older points are thinned to every other one beyond this
const SERIES = [
  { key: 'loss', label: () => '−ELBO', color: '#1b1f24' },
  { key: 'recon', label: () => t('chart.recon'), color: '#1f6fd2' },
  { key: 'kl', label: () => 'KL', color: '#d2461e' },
  { key: 'klMean', label: () => 'KL_μ', color: '#e8a33d', dash: [4, 3] },
  { key: 'klVar', label: () => 'KL_σ', color: '#8c564b', dash: [1, 2] },
  { key: 'betaKl', label: () => 'β·KL', color: '#b07aa1' },
];
/** Vazirmatn is there once Persian was chosen (its text needs it); system fonts otherwise. */
const FONT = '11px system-ui, Vazirmatn, sans-serif';
const PAD = { left: 48, right: 10, top: 26, bottom: 28 };
/** The right margin when a learned σₓ has its axis there. */
const SIGMA_PAD_RIGHT = 40;
const SIGMA_COLOR = '#2a9d8f';
/** The exercise sheet's loss ‖x − x′‖² + KL is a Gaussian decoder with 2σₓ² = 1. */
const SHEET_SIGMA_X = Math.SQRT1_2;

/**
 * @typedef {{step: number, loss: number, recon: number, kl: number, klMean: number, klVar: number, betaKl: number, sigmaX?: number}} ChartPoint
 * @typedef {{step: number, recon: number, kl: number, klMean: number, klVar: number, betaMean: number, betaVar: number, sigmaX?: number}} Progress
 */

/** @param {HTMLCanvasElement} canvas */
export function createLossChart(canvas) {
  /** @type {ChartPoint[]} */
  let points = [];
  /** @type {{step: number, text: import('./i18n.js').MessageParam}[]} */
  let marks = [];
  const redraw = () => drawChart(canvas, points, marks);
  onLanguage(() => redrawNextFrame(redraw));
  redrawNextFrame(redraw);
  return {
    /**
     * Adds a report of the training module (nats per image).
     * @param {Progress} p
     */
    add(p) {
      const betaKl = p.betaMean * p.klMean + p.betaVar * p.klVar;
      points.push({ step: p.step, loss: p.recon + p.kl, recon: p.recon, kl: p.kl, klMean: p.klMean, klVar: p.klVar, betaKl, sigmaX: p.sigmaX });
      if (p.sigmaX !== undefined) canvas.dataset.sigmaX = String(p.sigmaX);
      else delete canvas.dataset.sigmaX;
      if (points.length > MAX_POINTS) points = points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
      redrawNextFrame(redraw);
    },
    /** Marks a change at `step` (a message, e.g. "β = 4"). */
    mark(step, text) {
      marks.push({ step, text });
      canvas.dataset.marks = String(marks.length);
      redrawNextFrame(redraw);
    },
    clear() {
      points = [];
      marks = [];
      canvas.dataset.marks = '0';
      delete canvas.dataset.sigmaX;
      redrawNextFrame(redraw);
    },
  };
}

/** Round numbers for an axis from `lo` to `hi`: about five ticks. */
function ticks(lo, hi) {
  const raw = (hi - lo) / 5 || 1;
  let unit = 1; // the power of ten at or below `raw`
  while (unit * 10 <= raw) unit *= 10;
  while (unit > raw) unit /= 10;
  const step = [1, 2, 5, 10].map((k) => k * unit).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {ChartPoint[]} points
 * @param {{step: number, text: import('./i18n.js').MessageParam}[]} marks
 */
function drawChart(canvas, points, marks) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  const learned = points.some((p) => Number.isFinite(p.sigmaX));
  drawLegend(ctx, learned);
  if (points.length < 2) return;
  const right = learned ? SIGMA_PAD_RIGHT : PAD.right;
  const steps = [points[0].step, points[points.length - 1].step];
  const values = points.flatMap((p) => SERIES.map((s) => p[s.key])).filter(Number.isFinite);
  const [lo, hi] = [Math.min(0, ...values), Math.max(...values)];
  const x = (step) => PAD.left + ((step - steps[0]) / Math.max(1, steps[1] - steps[0])) * (w - PAD.left - right);
  const y = (v) => h - PAD.bottom - ((v - lo) / Math.max(1e-9, hi - lo)) * (h - PAD.top - PAD.bottom);
  drawAxes(ctx, w, h, ticks(lo, hi), y, ticks(steps[0], steps[1]), x);
  for (const mark of marks.filter((m) => m.step >= steps[0])) {
    ctx.strokeStyle = '#9aa0a6';
    ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(x(mark.step), PAD.top); ctx.lineTo(x(mark.step), h - PAD.bottom); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#5b6470';
    const text = typeof mark.text === 'object' ? t(mark.text.key, mark.text.params) : String(mark.text);
    ctx.fillText(text, x(mark.step) + 3, PAD.top + 10);
  }
  for (const s of SERIES) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(x(p.step), y(p[s.key])) : ctx.moveTo(x(p.step), y(p[s.key]))));
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (learned) drawSigmaX(ctx, points, x, w - right);
}

/**
 * A learned σₓ against its own axis on the right (0 to a little above the sheet's 0.71), with the
 * sheet's σₓ as a dashed line: where the data puts σₓ against where the sheet's loss fixes it.
 * @param {CanvasRenderingContext2D} ctx
 * @param {ChartPoint[]} points
 * @param {(step: number) => number} x
 * @param {number} axisX
 */
function drawSigmaX(ctx, points, x, axisX) {
  const h = ctx.canvas.height;
  const top = Math.max(0.8, ...points.map((p) => p.sigmaX ?? 0)) * 1.05;
  const y = (v) => h - PAD.bottom - (v / top) * (h - PAD.top - PAD.bottom);
  ctx.strokeStyle = SIGMA_COLOR;
  ctx.fillStyle = SIGMA_COLOR;
  ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(axisX, PAD.top); ctx.lineTo(axisX, h - PAD.bottom); ctx.stroke();
  for (const v of ticks(0, top)) ctx.fillText(String(Math.round(v * 100) / 100), axisX + 4, y(v) + 4);
  ctx.setLineDash([6, 4]);
  ctx.beginPath(); ctx.moveTo(PAD.left, y(SHEET_SIGMA_X)); ctx.lineTo(axisX, y(SHEET_SIGMA_X)); ctx.stroke();
  ctx.setLineDash([]);
  const sheet = t('chart.sheet-sigma');
  ctx.fillText(sheet, axisX - ctx.measureText(sheet).width - 4, y(SHEET_SIGMA_X) - 4);
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.filter((p) => Number.isFinite(p.sigmaX)).forEach((p, i) => (i ? ctx.lineTo(x(p.step), y(p.sigmaX)) : ctx.moveTo(x(p.step), y(p.sigmaX))));
  ctx.stroke();
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {boolean} learned whether a learned σₓ is drawn (its entry joins the legend)
 */
function drawLegend(ctx, learned) {
  let left = PAD.left;
  const series = learned ? [...SERIES, { key: 'sigmaX', label: () => t('chart.sigma-x'), color: SIGMA_COLOR }] : SERIES;
  for (const s of series) {
    ctx.fillStyle = s.color;
    ctx.fillRect(left, 8, s.dash ? 6 : 14, 3);
    if (s.dash) ctx.fillRect(left + 9, 8, 5, 3);
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(s.label(), left + 18, 14);
    left += 26 + ctx.measureText(s.label()).width;
  }
  ctx.fillStyle = '#5b6470';
  const unit = t('chart.unit');
  ctx.fillText(unit, ctx.canvas.width - PAD.right - ctx.measureText(unit).width, 14);
}

function drawAxes(ctx, w, h, yTicks, y, xTicks, x) {
  ctx.strokeStyle = '#c8c8c0';
  ctx.fillStyle = '#5b6470';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(PAD.left, PAD.top); ctx.lineTo(PAD.left, h - PAD.bottom); ctx.lineTo(w - PAD.right, h - PAD.bottom);
  ctx.stroke();
  for (const v of yTicks) ctx.fillText(String(Math.round(v * 10) / 10), 4, y(v) + 4);
  for (const s of xTicks) ctx.fillText(String(Math.round(s)), x(s) - 8, h - PAD.bottom + 14);
  const step = t('chart.step');
  ctx.fillText(step, w - PAD.right - ctx.measureText(step).width, h - 4);
}
