//! A specialised inference path for the decoder, for the page's hot loop (dragging, the manifold
//! grid, the continuity map).
//!
//! burn's generic path costs tens of microseconds per call in tensor set-up and runs one matrix
//! product per layer without register blocking; a 400-image grid then takes ≈ 50 ms in the
//! browser, three frames. This path reads the *same* weights out of a [`Vae`] once, keeps them
//! as padded f32 rows, reuses its buffers between calls, and multiplies in register tiles of
//! `ROWS × COLS` that LLVM turns into wasm SIMD128 (or SSE/NEON natively). It computes exactly the
//! decoder of [`Vae::decode`] — ReLU between layers, a sigmoid at the end — and is tested
//! against it to 1e-5.
//!
//! With the `relaxed-simd` feature, on wasm32, the two register tiles are written with relaxed
//! SIMD's fused multiply-add (`f32x4.relaxed_madd`, one instruction where SIMD128 needs a multiply
//! and an add: the tiles are bound by those). Such a module only validates where the browser
//! has relaxed SIMD, so the page ships both builds and picks one at load (`web/src/wasm.js`).

use std::cell::RefCell;

use crate::model::Vae;
use crate::numeric::sigmoid;

/// Rows (batch items) per register tile.
const ROWS: usize = 4;
/// Output columns per weight panel and register tile (two f32x4 vectors).
const COLS: usize = 8;
/// Panels per single-row tile: eight f32x4 accumulators in flight, so one row is not held up by
/// the latency of each add.
const PANELS_SINGLE: usize = 4;
/// Output widths are padded to this (a multiple of both tile widths).
const PAD: usize = COLS * PANELS_SINGLE;

/// One dense layer, `out = act(in · W + b)`, with the output width padded to a multiple of
/// [`PAD`] (padding columns have zero weights and bias).
///
/// The weights are stored panel by panel: columns `8p .. 8p + 8` of `W` are one contiguous
/// `[inputs, 8]` block, so a tile's inner loop reads one stream without strides or bounds checks.
#[derive(Debug, Clone)]
struct Dense {
    inputs: usize,
    /// Padded output width.
    outputs: usize,
    /// `outputs / COLS` panels of `[inputs, COLS]`, row-major within a panel.
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    /// A layer from `W` (`[real_in, real_out]`, row-major) and `b`, reading `inputs ≥ real_in`
    /// values per row (the rows past `real_in` get zero weights).
    fn new(w: &[f32], b: &[f32], real_in: usize, real_out: usize, inputs: usize) -> Self {
        let outputs = padded(real_out, PAD);
        let mut panels = vec![0.0; inputs * outputs];
        for (p, panel) in panels.chunks_exact_mut(inputs * COLS).enumerate() {
            for (k, row) in panel.chunks_exact_mut(COLS).take(real_in).enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    let col = p * COLS + j;
                    if col < real_out {
                        *v = w[k * real_out + col];
                    }
                }
            }
        }
        let mut bias = vec![0.0; outputs];
        bias[..real_out].copy_from_slice(b);
        Self { inputs, outputs, panels, bias }
    }

    /// Panel `p`: columns `8p .. 8p + 8` of `W`, `[inputs, COLS]`.
    fn panel(&self, p: usize) -> &[f32] {
        &self.panels[p * self.inputs * COLS..(p + 1) * self.inputs * COLS]
    }

    fn bias8(&self, p: usize) -> [f32; COLS] {
        self.bias[p * COLS..(p + 1) * COLS].try_into().expect("padded bias")
    }
}

/// Reusable buffers of a [`FastDecoder`]: two ping-pong activations and one packed row tile.
#[derive(Debug, Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    /// [`ROWS`] input rows interleaved, `[inputs, ROWS]`.
    packed: Vec<f32>,
}

/// The decoder of a [`Vae`], ready for fast batched inference.
#[derive(Debug)]
pub struct FastDecoder {
    layers: Vec<Dense>,
    latent_dim: usize,
    output_dim: usize,
    /// Grown once and reused.
    scratch: RefCell<Scratch>,
}

fn padded(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

impl FastDecoder {
    /// Copies the decoder's weights out of `model`.
    pub fn from_vae(model: &Vae) -> Self {
        let mut layers = Vec::with_capacity(model.decoder.len());
        let mut inputs = model.decoder.first().map_or(0, |l| l.weight.dims()[0]);
        let latent_dim = inputs;
        let mut output_dim = 0;
        for layer in &model.decoder {
            let [real_in, real_out] = layer.weight.dims();
            let w = crate::numeric::to_vec(layer.weight.val());
            let b = layer.bias.as_ref().map_or_else(|| vec![0.0; real_out], |bias| crate::numeric::to_vec(bias.val()));
            let dense = Dense::new(&w, &b, real_in, real_out, inputs);
            inputs = dense.outputs;
            output_dim = real_out;
            layers.push(dense);
        }
        Self { layers, latent_dim, output_dim, scratch: RefCell::new(Scratch::default()) }
    }

    /// Pixels per decoded image.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }

    /// Decodes latent points `zs = [x0, y0, x1, y1, …]` into `out` (`n × output_dim` intensities
    /// in [0, 1]). `out` is cleared and refilled; keep it between calls to avoid allocating.
    ///
    /// # Shapes
    /// - `zs`: `[n, latent]` flattened; a trailing partial point is ignored
    /// - `out`: `[n, 784]` flattened
    pub fn decode_into(&self, zs: &[f32], out: &mut Vec<f32>) {
        self.run(zs, out, true);
    }

    /// [`decode_into`](Self::decode_into) into a new vector.
    pub fn decode(&self, zs: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        self.decode_into(zs, &mut out);
        out
    }

    /// The decoder's logits ℓ (before the sigmoid) at latent points `zs`, as
    /// [`Vae::decode_logits`] gives them: what the Bernoulli likelihood needs.
    ///
    /// # Shapes
    /// - `zs`: `[n, latent]` flattened; returns `[n, 784]` flattened
    pub fn decode_logits(&self, zs: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        self.run(zs, &mut out, false);
        out
    }

    /// The layers on `zs` into `out`, the last one through a sigmoid if `sigmoid`.
    fn run(&self, zs: &[f32], out: &mut Vec<f32>, sigmoid_at_the_end: bool) {
        let n = zs.len() / self.latent_dim.max(1);
        out.clear();
        if n == 0 || self.layers.is_empty() {
            return;
        }
        let mut scratch = self.scratch.borrow_mut();
        let Scratch { a, b, packed } = &mut *scratch;
        a.clear();
        a.extend_from_slice(&zs[..n * self.latent_dim]); // [n, latent]
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            b.clear();
            b.resize(n * layer.outputs, 0.0);
            dense(a, n, layer, b, packed); // [n, outputs]
            if i < last {
                b.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { 0.0 }); // ReLU (f32::max is a libm call in wasm)
            } else if sigmoid_at_the_end {
                b.iter_mut().for_each(|v| *v = sigmoid(*v));
            }
            std::mem::swap(a, b);
        }
        let width = self.layers[last].outputs;
        out.reserve(n * self.output_dim);
        for row in a.chunks_exact(width) {
            out.extend_from_slice(&row[..self.output_dim]); // [n, 784]
        }
    }
}

/// `out = input · W + b` for `rows` rows: tiles of [`ROWS`] rows (their inputs interleaved into
/// `packed` first), then single rows for the rest (a lone point — the drag — must not pay for a
/// padded tile).
fn dense(input: &[f32], rows: usize, layer: &Dense, out: &mut [f32], packed: &mut Vec<f32>) {
    let (k_dim, n_dim) = (layer.inputs, layer.outputs);
    let tiled = rows / ROWS * ROWS;
    for r0 in (0..tiled).step_by(ROWS) {
        packed.resize(k_dim * ROWS, 0.0); // [k, ROWS]
        for (r, row) in input[r0 * k_dim..(r0 + ROWS) * k_dim].chunks_exact(k_dim).enumerate() {
            packed[r..].iter_mut().step_by(ROWS).zip(row).for_each(|(dst, &v)| *dst = v);
        }
        for p in 0..n_dim / COLS {
            let acc = tile_rows(packed, layer.panel(p), layer.bias8(p));
            for (r, row) in acc.iter().enumerate() {
                out[(r0 + r) * n_dim + p * COLS..(r0 + r) * n_dim + (p + 1) * COLS].copy_from_slice(row);
            }
        }
    }
    for r in tiled..rows {
        let a = &input[r * k_dim..(r + 1) * k_dim];
        for q in (0..n_dim / COLS).step_by(PANELS_SINGLE) {
            let acc = single_row_tile(a, layer, q);
            for (j, cols) in acc.iter().enumerate() {
                out[r * n_dim + (q + j) * COLS..r * n_dim + (q + j + 1) * COLS].copy_from_slice(cols);
            }
        }
    }
}

/// [`ROWS`] interleaved input rows times one weight panel: the portable tile, or relaxed SIMD's.
#[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
#[inline(always)]
fn tile_rows(packed: &[f32], panel: &[f32], bias: [f32; COLS]) -> [[f32; COLS]; ROWS] {
    tile::<ROWS>(packed, panel, bias)
}

#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
use fused::{single_row_tile, tile_rows};

/// `R` interleaved input rows (`[k, R]`) times one weight panel (`[k, COLS]`), plus the bias:
/// an `R × COLS` tile of the output, accumulated in registers.
#[cfg_attr(all(target_arch = "wasm32", feature = "relaxed-simd"), allow(dead_code))]
#[inline(always)]
fn tile<const R: usize>(packed: &[f32], panel: &[f32], bias: [f32; COLS]) -> [[f32; COLS]; R] {
    let mut acc = [bias; R];
    for (w, a) in panel.chunks_exact(COLS).zip(packed.chunks_exact(R)) {
        for (row, &a) in acc.iter_mut().zip(a) {
            for (acc, &w) in row.iter_mut().zip(w) {
                *acc += a * w;
            }
        }
    }
    acc
}

/// One input row times panels `q .. q + PANELS_SINGLE`, plus the bias: four panels at once, so
/// that eight independent f32x4 sums are in flight.
#[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
#[inline(always)]
fn single_row_tile(a: &[f32], layer: &Dense, q: usize) -> [[f32; COLS]; PANELS_SINGLE] {
    let mut acc: [[f32; COLS]; PANELS_SINGLE] = std::array::from_fn(|j| layer.bias8(q + j));
    let streams = layer.panel(q).chunks_exact(COLS).zip(layer.panel(q + 1).chunks_exact(COLS));
    let streams = streams.zip(layer.panel(q + 2).chunks_exact(COLS)).zip(layer.panel(q + 3).chunks_exact(COLS));
    for ((((w0, w1), w2), w3), &a) in streams.zip(a) {
        for (acc, w) in acc.iter_mut().zip([w0, w1, w2, w3]) {
            for (acc, &w) in acc.iter_mut().zip(w) {
                *acc += a * w;
            }
        }
    }
    acc
}

/// The two register tiles with relaxed SIMD's fused multiply-add: the same sums as [`tile`] and
/// `single_row_tile`, each product added in one instruction (rounded once or twice, as the
/// engine chooses: results agree with the portable tiles to float rounding).
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
mod fused {
    use core::arch::wasm32::{f32x4, f32x4_extract_lane, f32x4_relaxed_madd, f32x4_splat, v128};

    use super::{COLS, Dense, PANELS_SINGLE, ROWS};

    /// Eight consecutive floats as two vectors (LLVM makes each four one `v128.load`).
    #[inline(always)]
    fn load8(xs: &[f32]) -> [v128; 2] {
        let xs: &[f32; COLS] = xs.try_into().expect("a panel row of eight");
        [f32x4(xs[0], xs[1], xs[2], xs[3]), f32x4(xs[4], xs[5], xs[6], xs[7])]
    }

    /// Two vectors as eight floats (once per tile, not per step).
    #[inline(always)]
    fn store8([lo, hi]: [v128; 2]) -> [f32; COLS] {
        let lanes = |v| [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
        let ([a, b, c, d], [e, f, g, h]) = (lanes(lo), lanes(hi));
        [a, b, c, d, e, f, g, h]
    }

    /// [`ROWS`] interleaved input rows (`[k, ROWS]`) times one panel (`[k, COLS]`), plus the bias.
    #[target_feature(enable = "relaxed-simd")]
    pub(super) fn tile_rows(packed: &[f32], panel: &[f32], bias: [f32; COLS]) -> [[f32; COLS]; ROWS] {
        let mut acc = [load8(&bias); ROWS];
        for (w, a) in panel.chunks_exact(COLS).zip(packed.chunks_exact(ROWS)) {
            let w = load8(w);
            for (acc, &a) in acc.iter_mut().zip(a) {
                let a = f32x4_splat(a);
                acc[0] = f32x4_relaxed_madd(a, w[0], acc[0]);
                acc[1] = f32x4_relaxed_madd(a, w[1], acc[1]);
            }
        }
        acc.map(store8)
    }

    /// One input row times panels `q .. q + PANELS_SINGLE`, plus the bias.
    #[target_feature(enable = "relaxed-simd")]
    pub(super) fn single_row_tile(a: &[f32], layer: &Dense, q: usize) -> [[f32; COLS]; PANELS_SINGLE] {
        let mut acc: [[v128; 2]; PANELS_SINGLE] = std::array::from_fn(|j| load8(&layer.bias8(q + j)));
        let streams = layer.panel(q).chunks_exact(COLS).zip(layer.panel(q + 1).chunks_exact(COLS));
        let streams = streams.zip(layer.panel(q + 2).chunks_exact(COLS)).zip(layer.panel(q + 3).chunks_exact(COLS));
        for ((((w0, w1), w2), w3), &a) in streams.zip(a) {
            let a = f32x4_splat(a);
            for (acc, w) in acc.iter_mut().zip([w0, w1, w2, w3]) {
                let w = load8(w);
                acc[0] = f32x4_relaxed_madd(a, w[0], acc[0]);
                acc[1] = f32x4_relaxed_madd(a, w[1], acc[1]);
            }
        }
        acc.map(store8)
    }
}
