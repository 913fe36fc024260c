//! The negative ELBO, split into its two terms, in nats.
//!
//! For one image x with posterior q(z|x) = N(μ, diag σ²) and prior p(z) = N(0, I):
//!
//! ```text
//! ELBO(x) = E_q[log p(x|z)] − KL[q(z|x) ‖ p(z)]
//! ```
//!
//! - reconstruction: −log p(x|z) for Bernoulli pixels with logits ℓ is the binary cross-entropy
//!   Σᵢ [softplus(ℓᵢ) − xᵢ ℓᵢ], summed over the 784 pixels (Kingma & Welling 2014, §C.1);
//! - KL in closed form (ibid., appendix B): KL = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²).
//!
//! The training loss is reconstruction + β·KL (β = 1 is the ELBO; Higgins et al. 2017 for β ≠ 1).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::fast;
use crate::readout::to_vec;

/// −log p(x|z) per image, in nats.
///
/// Per pixel, softplus(ℓ) − xℓ = max(ℓ, 0) + ln(1 + e^−|ℓ|) − xℓ, whose derivative in ℓ is
/// σ(ℓ) − x. Both come from one pass over the pixels (one exp and one log each, vectorisable)
/// rather than from a chain of tensor ops that each allocate and record a backward step: on an
/// autodiff device the derivative reaches the logits through the surrogate s = Σ g·ℓ with
/// g = σ(ℓ) − x held constant, added as s − detach(s), which is exactly 0 forwards.
///
/// # Shapes
/// - `logits`, `x`: `[batch, 784]` (x in [0, 1]; binary or grey values)
/// - returns: `[batch]`
pub fn reconstruction_nats(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    let [batch, pixels] = logits.dims();
    let device = logits.device();
    let differentiate = device.is_autodiff();
    let (l, t) = (to_vec(logits.clone().detach()), to_vec(x));
    // Branch-free loops over plain slices, so that they vectorise (SIMD128 in wasm).
    let mut per_pixel = vec![0f32; l.len()];
    let mut slope = if differentiate { vec![0f32; l.len()] } else { Vec::new() };
    if differentiate {
        for (((value, slope), &l), &t) in per_pixel.iter_mut().zip(slope.iter_mut()).zip(&l).zip(&t) {
            let e = fast::exp(-l.abs()); // in (0, 1]
            *value = pixel_nats(l, t, e);
            *slope = if l >= 0.0 { 1.0 } else { e } / (1.0 + e) - t; // σ(ℓ) − x
        }
    } else {
        for ((value, &l), &t) in per_pixel.iter_mut().zip(&l).zip(&t) {
            *value = pixel_nats(l, t, fast::exp(-l.abs()));
        }
    }
    // NaN if a logit is (a diverging run): t·ℓ is NaN then, whatever t.
    let sums: Vec<f32> = per_pixel.chunks_exact(pixels).map(fast::sum).collect();
    let value = Tensor::<1>::from_data(TensorData::new(sums, [batch]), &device); // [batch]
    if !differentiate {
        return value;
    }
    let slope = Tensor::<2>::from_data(TensorData::new(slope, [batch, pixels]), &device); // [batch, 784]
    let surrogate = (slope * logits).sum_dim(1).squeeze_dim(1); // [batch]
    value + (surrogate.clone() - surrogate.detach())
}

/// −log p(x|z) of one image under Bernoulli pixels with logits `logits`: Σᵢ softplus(ℓᵢ) − xᵢℓᵢ,
/// nats — the value of [`reconstruction_nats`] for one image given as slices, in the same
/// vectorisable pass (eight running sums). The exact bound evaluates it at thousands of z.
pub fn bernoulli_nats(logits: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (l8, x8) = (logits.chunks_exact(8), x.chunks_exact(8));
    let rest: f32 = l8.remainder().iter().zip(x8.remainder()).map(|(&l, &t)| pixel_nats(l, t, fast::exp(-l.abs()))).sum();
    for (ls, ts) in l8.zip(x8) {
        for ((a, &l), &t) in acc.iter_mut().zip(ls).zip(ts) {
            *a += pixel_nats(l, t, fast::exp(-l.abs()));
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// softplus(ℓ) − tℓ = max(ℓ, 0) + ln(1 + e) − tℓ for one pixel, given e = e^−|ℓ| (branch-free).
#[inline]
fn pixel_nats(l: f32, t: f32, e: f32) -> f32 {
    (if l > 0.0 { l } else { 0.0 }) + fast::ln_1p_unit(e) - t * l
}

/// KL[N(μ, diag σ²) ‖ N(0, I)] per image, in nats, in closed form.
///
/// # Shapes
/// - `mu`, `logvar`: `[batch, latent]`
/// - returns: `[batch]`
pub fn kl_standard_normal(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    let per_dim = (logvar.clone().exp() + mu.square() - logvar).sub_scalar(1.0); // [batch, latent]
    per_dim.sum_dim(1).squeeze_dim(1).mul_scalar(0.5) // [batch]
}

/// The same closed-form KL for one posterior, on plain numbers (used at the wasm boundary).
pub fn kl_standard_normal_f32(mu: &[f32], sigma: &[f32]) -> f32 {
    mu.iter()
        .zip(sigma)
        .map(|(&m, &s)| {
            let var = s * s;
            0.5 * (var + m * m - var.max(f32::MIN_POSITIVE).ln() - 1.0)
        })
        .sum()
}

/// The two terms of the negative ELBO, averaged over images, in nats.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ElboTerms {
    /// E_q[−log p(x|z)], the reconstruction term.
    pub recon: f64,
    /// KL[q(z|x) ‖ p(z)].
    pub kl: f64,
}

impl ElboTerms {
    /// The ELBO itself (a lower bound on log p(x); higher is better): −(recon + KL).
    pub fn elbo(&self) -> f64 {
        -(self.recon + self.kl)
    }

    /// The training objective reconstruction + β·KL.
    pub fn loss(&self, beta: f64) -> f64 {
        self.recon + beta * self.kl
    }
}

/// Per-image reconstruction and KL of a model on a batch, with one posterior sample.
///
/// For a VAE, z = μ + σ⊙ε with `eps` ~ N(0, I); for an AE, z = μ and the KL is reported as 0
/// (its objective has no KL term).
///
/// # Shapes
/// - `x`: `[batch, 784]`, `eps`: `[batch, latent]`
/// - returns `(recon, kl)`: `[batch]` each, nats
pub fn elbo_terms(model: &crate::Vae, kind: crate::ModelKind, x: Tensor<2>, eps: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let (mu, logvar) = model.encode(x.clone()); // [batch, latent] each
    match kind {
        crate::ModelKind::Vae => {
            let z = crate::Vae::reparameterize(mu.clone(), logvar.clone(), eps); // [batch, latent]
            let recon = reconstruction_nats(model.decode_logits(z), x); // [batch]
            (recon, kl_standard_normal(mu, logvar))
        }
        crate::ModelKind::Ae => {
            let recon = reconstruction_nats(model.decode_logits(mu), x); // [batch]
            let zeros = recon.zeros_like();
            (recon, zeros)
        }
    }
}

/// `n` draws from N(0, 1), deterministic for a given `seed` (SplitMix64 + Box–Muller).
///
/// Used where a caller needs repeatable samples without an RNG dependency (the wasm boundary:
/// the same image always gets the same ELBO readout).
pub fn standard_normal_samples(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut next_uniform = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64 // in (0, 1)
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (next_uniform(), next_uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * core::f64::consts::PI * u2;
        out.push((r * theta.cos()) as f32);
        out.push((r * theta.sin()) as f32);
    }
    out.truncate(n);
    out
}
