// draw.js — a small drawing pad: white strokes on black (MNIST's polarity), with pointer events.

import { redrawNextFrame } from './frames.js';

const STROKE_WIDTH = 22; // canvas pixels on a 280-pixel pad: about MNIST's stroke for a 20-px digit

/**
 * Turns `canvas` into a drawing pad; calls `onChange({rgba, width, height})` while the drawing
 * changes: at once for the first change after a quiet frame (a stroke's posterior should not wait
 * for the next frame), then at most once per animation frame.
 * @param {HTMLCanvasElement} canvas
 * @param {(image: {rgba: Uint8Array, width: number, height: number}) => void} onChange
 * @returns {{clear: () => void}}
 */
export function createDrawPad(canvas, onChange) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let last = null;
  let changed = false;
  /** Whether onChange already ran since the last animation frame (later changes wait for the next). */
  let sentThisFrame = false;

  function clear() {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    changed = false;
  }
  function toCanvas(e) {
    const box = canvas.getBoundingClientRect();
    return { x: ((e.clientX - box.left) / box.width) * canvas.width, y: ((e.clientY - box.top) / box.height) * canvas.height };
  }
  /** `p` is inked: the stroke goes on from it, and the change is sent (at once or next frame). */
  function inked(p) {
    last = p;
    changed = true;
    if (!sentThisFrame) send();
  }
  function send() {
    changed = false;
    sentThisFrame = true;
    redrawNextFrame(frame);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    onChange({ rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: canvas.width, height: canvas.height });
  }
  canvas.addEventListener('pointerdown', (e) => {
    try { canvas.setPointerCapture(e.pointerId); } catch (_) { /* the pointer is already gone: draw the dot all the same */ }
    const p = toCanvas(e);
    paintDot(ctx, p);
    inked(p);
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = toCanvas(e);
    paintSegment(ctx, last, p);
    inked(p);
  });
  const end = () => { last = null; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  /** A frame after a send: the changes since (if any) go now, and the next change may go at once. */
  function frame() {
    sentThisFrame = false;
    if (changed) send();
  }
  clear();
  return { clear };
}

/** A white segment from `a` to `b` of the stroke's width, with round caps and joins. */
function paintSegment(ctx, a, b) {
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = STROKE_WIDTH;
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.stroke();
}

/**
 * A filled white disc of the stroke's width at `p`: the first touch of a stroke. (A zero-length
 * line with round caps is what a dot used to be; Chromium 156 paints it as nothing, so a tap made
 * no ink.)
 */
function paintDot(ctx, p) {
  ctx.fillStyle = '#fff';
  ctx.beginPath();
  ctx.arc(p.x, p.y, STROKE_WIDTH / 2, 0, 2 * Math.PI);
  ctx.fill();
}
