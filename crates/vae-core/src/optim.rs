//! Adam (Kingma & Ba, 2015) in one pass over each parameter: the optimiser every training run
//! uses — the trainer's and the page's.
//!
//! burn's `Adam` computes the same update as thirteen tensor operations per parameter, each a
//! pass over it (1.07 M floats for the shipped architecture) that allocates its result; here the
//! moments and the parameter are updated in one loop. The state is burn's own [`AdamState`], so
//! checkpoints are written and read as before, and the update is burn's to float rounding (tested
//! step by step against it):
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²          t ← t + 1
//! θ ← θ − lr · m · c / (√v + ε √(1 − β₂ᵗ)),   c = √(1 − β₂ᵗ) / (1 − β₁ᵗ)
//! ```

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::prelude::*;

use crate::readout::to_vec;

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
        let (device, shape) = (tensor.device(), tensor.shape());
        let mut theta = to_vec(tensor);
        let g = to_vec(grad);
        let (time, mut m, mut v) = match state {
            Some(AdamState { momentum }) => (momentum.time + 1, to_vec(momentum.moment_1), to_vec(momentum.moment_2)),
            None => (1, vec![0.0; g.len()], vec![0.0; g.len()]),
        };
        let (b1, b2) = (self.beta_1, self.beta_2);
        let bias_correction2_sqrt = (1.0 - b2.powi(time as i32)).sqrt();
        let step = lr as f32 * bias_correction2_sqrt / (1.0 - b1.powi(time as i32));
        let epsilon = self.epsilon * bias_correction2_sqrt;
        for (((theta, m), v), &g) in theta.iter_mut().zip(&mut m).zip(&mut v).zip(&g) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * (g * g);
            *theta -= step * *m / (v.sqrt() + epsilon);
        }
        let tensor = |values: Vec<f32>| Tensor::<D>::from_data(TensorData::new(values, shape.clone()), &device);
        let momentum = AdaptiveMomentumState::new(time, tensor(m), tensor(v));
        (tensor(theta), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}
