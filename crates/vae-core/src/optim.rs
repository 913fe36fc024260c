//! Adam (Kingma & Ba, 2015) in one pass over each parameter: the optimiser every training run
//! uses — the trainer's and the page's.
//!
//! burn's `Adam` computes the same update as thirteen tensor operations per parameter, each a
//! pass over it (1.07 M floats for the shipped architecture) that allocates its result; here the
//! moments and the parameter are updated in one loop, in place in the buffers the step is handed
//! (copying them out and back was 11% of a native epoch's samples; without the copies an epoch on
//! two threads went from 6.0–7.0 to 5.2–5.7 s). Natively, large parameters are also split across
//! the cores, which are otherwise idle while it runs (no better than one thread within this VM's
//! noise when measured on its own). The state is burn's own [`AdamState`], so checkpoints are
//! written and read as before, and the update is burn's to float rounding (tested step by step
//! against it):
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²          t ← t + 1
//! θ ← θ − lr · m · c / (√v + ε √(1 − β₂ᵗ)),   c = √(1 − β₂ᵗ) / (1 − β₁ᵗ)
//! ```

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::prelude::*;

use rayon::prelude::*;

/// Loops over fewer values than this run on one thread (a fork costs more than it saves).
const PARALLEL_MIN: usize = 1 << 15;

/// Zero moments for a parameter of this shape.
fn zeros(shape: &burn::tensor::Shape) -> TensorData {
    TensorData::new(vec![0.0f32; shape.num_elements()], shape.clone())
}

/// The values of f32 data.
pub(crate) fn slice(data: &TensorData) -> &[f32] {
    data.as_slice::<f32>().expect("parameters and gradients are f32")
}

/// The same, writable.
pub(crate) fn slice_mut(data: &mut TensorData) -> &mut [f32] {
    data.as_mut_slice::<f32>().expect("parameters and gradients are f32")
}

/// The part length when a loop over `len` values is worth splitting across the cores; `None` for
/// one thread (always in wasm, where rayon would only fall back to this thread) or a short loop.
fn parallel_chunk(len: usize) -> Option<usize> {
    let threads = if cfg!(target_family = "wasm") { 1 } else { rayon::current_num_threads() };
    (threads > 1 && len >= PARALLEL_MIN).then(|| len.div_ceil(threads))
}

/// Runs `f` on matching parts of `a` and `b` (equal lengths), split across the cores when
/// [`parallel_chunk`] says so.
pub(crate) fn for_each_chunk(a: &mut [f32], b: &[f32], f: impl Fn(&mut [f32], &[f32]) + Sync) {
    match parallel_chunk(a.len()) {
        Some(chunk) => a.par_chunks_mut(chunk).zip(b.par_chunks(chunk)).for_each(|(a, b)| f(a, b)),
        None => f(a, b),
    }
}

/// Adam's hyperparameters; the defaults are burn's `AdamConfig`'s (β₁ 0.9, β₂ 0.999, ε 1e-5).
#[derive(Debug, Clone, Copy)]
pub struct FusedAdam {
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Added to √v (scaled by √(1 − β₂ᵗ), as burn does).
    pub epsilon: f32,
}

impl Default for FusedAdam {
    fn default() -> Self {
        Self { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-5 }
    }
}

impl FusedAdam {
    /// A module optimiser that steps every parameter with this Adam.
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        // `into_data` hands over the buffer without a copy when the tensor is its only owner (the
        // parameter, its gradient and the moments all are here), and `from_data` takes it back the
        // same way: the update runs in place on the buffers it was given.
        let mut theta = tensor.into_data().convert::<f32>();
        let g = grad.into_data().convert::<f32>();
        let (time, mut m, mut v) = match state {
            Some(AdamState { momentum }) => {
                (momentum.time + 1, momentum.moment_1.into_data().convert::<f32>(), momentum.moment_2.into_data().convert::<f32>())
            }
            None => (1, zeros(theta.shape()), zeros(theta.shape())),
        };
        let (b1, b2) = (self.beta_1, self.beta_2);
        let bias_correction2_sqrt = (1.0 - b2.powi(time as i32)).sqrt();
        let step = lr as f32 * bias_correction2_sqrt / (1.0 - b1.powi(time as i32));
        let epsilon = self.epsilon * bias_correction2_sqrt;
        let update = |theta: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| {
            for (((theta, m), v), &g) in theta.iter_mut().zip(m).zip(v).zip(g) {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * (g * g);
                *theta -= step * *m / (v.sqrt() + epsilon);
            }
        };
        let (theta_values, m_values, v_values, g_values) = (slice_mut(&mut theta), slice_mut(&mut m), slice_mut(&mut v), slice(&g));
        // The step runs between the batch's parallel forward/backward passes, with the other
        // cores idle: split it across them.
        match parallel_chunk(theta_values.len()) {
            Some(chunk) => theta_values
                .par_chunks_mut(chunk)
                .zip(m_values.par_chunks_mut(chunk))
                .zip(v_values.par_chunks_mut(chunk))
                .zip(g_values.par_chunks(chunk))
                .for_each(|(((theta, m), v), g)| update(theta, m, v, g)),
            None => update(theta_values, m_values, v_values, g_values),
        }
        let tensor = |data: TensorData| Tensor::<D>::from_data(data, &device);
        let momentum = AdaptiveMomentumState::new(time, tensor(m), tensor(v));
        (tensor(theta), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}
