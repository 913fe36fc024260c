//! The negative ELBO, split into its two terms, in nats.
//!
//! For one image x with posterior q(z|x) = N(μ, diag σ²) and prior p(z) = N(0, I):
//!
//! ```text
//! ELBO(x) = E_q[log p(x|z)] − KL[q(z|x) ‖ p(z)]
//! ```
//!
//! - reconstruction, by the model's [`Likelihood`]: for Bernoulli pixels with logits ℓ, the binary
//!   cross-entropy Σᵢ [softplus(ℓᵢ) − xᵢ ℓᵢ] over the 784 pixels (Kingma & Welling 2014, §C.1);
//!   for Gaussian pixels of fixed standard deviation σₓ around the mean x′ = sigmoid(ℓ),
//!   ‖x − x′‖² / (2σₓ²) + 784·ln(σₓ√(2π)) — the exercise sheet's squared error, scaled, plus a
//!   constant (ibid., §C.2);
//! - KL in closed form (ibid., appendix B): KL = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²), which splits
//!   exactly into the mean's part ½‖μ‖² and the variance's part ½ Σⱼ (σⱼ² − 1 − ln σⱼ²).
//!
//! The training loss is reconstruction + β_μ·KL_μ + β_σ·KL_σ; β_μ = β_σ = β is the usual
//! reconstruction + β·KL (β = 1 is the ELBO; Higgins et al. 2017 for β ≠ 1).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::numeric::{self, LOG_2PI, to_vec};

/// How a decoder's output scores an image: the distribution of each pixel given z.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Likelihood {
    /// Each pixel ~ Bernoulli(sigmoid(ℓ)): for (nearly) black-or-white pixels, which are binarised
    /// for training and scoring. Figures are nats of binary images.
    #[default]
    Bernoulli,
    /// Each pixel ~ N(sigmoid(ℓ), σₓ²): for grey pixels, scored as they are. Figures are nats of
    /// a density over grey images, not comparable with Bernoulli nats.
    Gaussian {
        /// The decoder's standard deviation per pixel (intensities in [0, 1]): fixed, or where
        /// a learned one settled.
        sigma_x: f64,
        /// Whether training calibrates σₓ (the σ-VAE: each step uses the σₓ that minimises its
        /// batch's loss, [`calibrated_sigma_x`]) rather than holding it fixed. Left out when false.
        #[serde(default, skip_serializing_if = "core::ops::Not::not")]
        learned: bool,
    },
}

/// The smallest and largest σₓ a Gaussian likelihood may have.
pub const SIGMA_X_RANGE: core::ops::RangeInclusive<f64> = 0.01..=10.0;

/// The range a calibrated σₓ is clamped to: below 0.01 a decoder that copies its training images
/// would drive the loss to −∞; above 1 (the whole intensity range) σₓ explains nothing.
pub const CALIBRATED_SIGMA_X_RANGE: core::ops::RangeInclusive<f64> = 0.01..=1.0;

/// The σₓ that minimises a batch's Gaussian loss Σ ‖x − x′‖²/(2σₓ²) + N·ln σₓ (N pixels in all)
/// given its mean squared error per pixel: setting the derivative −Σ‖x − x′‖²/σₓ³ + N/σₓ to 0
/// gives σₓ² = mean squared error (Rybkin, Daniilidis & Levine 2021, "Simple and Effective VAE
/// Training with Calibrated Decoders", §3), clamped to [`CALIBRATED_SIGMA_X_RANGE`].
pub fn calibrated_sigma_x(mean_squared_error: f64) -> f64 {
    let (low, high) = (*CALIBRATED_SIGMA_X_RANGE.start(), *CALIBRATED_SIGMA_X_RANGE.end());
    if mean_squared_error.is_nan() { high } else { mean_squared_error.max(0.0).sqrt().clamp(low, high) }
}

/// Which pixel distribution a likelihood is, without its σₓ: what the trainer's `--likelihood`
/// and the page's training settings name (`"bernoulli"`, `"gaussian"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum LikelihoodKind {
    /// Bernoulli pixels (binarised images).
    #[default]
    Bernoulli,
    /// Gaussian pixels with a σₓ (grey images).
    Gaussian,
}

impl Likelihood {
    /// The likelihood `kind` names: for Gaussian pixels with σₓ `sigma_x`, fixed, or where a
    /// calibrated one starts when `learned` (Bernoulli pixels have neither).
    pub fn of(kind: LikelihoodKind, sigma_x: f64, learned: bool) -> Self {
        match kind {
            LikelihoodKind::Bernoulli => Likelihood::Bernoulli,
            LikelihoodKind::Gaussian => Likelihood::Gaussian { sigma_x, learned },
        }
    }

    /// Which pixel distribution this is.
    pub fn kind(&self) -> LikelihoodKind {
        match self {
            Likelihood::Bernoulli => LikelihoodKind::Bernoulli,
            Likelihood::Gaussian { .. } => LikelihoodKind::Gaussian,
        }
    }

    /// Whether this is the Bernoulli likelihood (the default, left out of weights headers).
    pub fn is_bernoulli(&self) -> bool {
        matches!(self, Likelihood::Bernoulli)
    }

    /// Gaussian pixels with a fixed σₓ.
    pub fn gaussian(sigma_x: f64) -> Self {
        Likelihood::Gaussian { sigma_x, learned: false }
    }

    /// Gaussian pixels whose σₓ training calibrates, starting from (and evaluated at, before
    /// the first step) `sigma_x`.
    pub fn learned_gaussian(sigma_x: f64) -> Self {
        Likelihood::Gaussian { sigma_x, learned: true }
    }

    /// Whether training calibrates σₓ.
    pub fn is_learned(&self) -> bool {
        matches!(self, Likelihood::Gaussian { learned: true, .. })
    }

    /// The Gaussian decoder's σₓ (none for Bernoulli pixels).
    pub fn sigma_x(&self) -> Option<f64> {
        match *self {
            Likelihood::Gaussian { sigma_x, .. } => Some(sigma_x),
            Likelihood::Bernoulli => None,
        }
    }

    /// The same likelihood with σₓ = `sigma_x` (Bernoulli pixels stay as they are).
    pub fn with_sigma_x(self, sigma_x: f64) -> Self {
        match self {
            Likelihood::Gaussian { learned, .. } => Likelihood::Gaussian { sigma_x, learned },
            Likelihood::Bernoulli => self,
        }
    }

    /// The likelihood if its σₓ is a finite number in [`SIGMA_X_RANGE`]; else what is wrong.
    pub fn checked(self) -> Result<Self, String> {
        match self {
            Likelihood::Gaussian { sigma_x, .. } if !(sigma_x.is_finite() && SIGMA_X_RANGE.contains(&sigma_x)) => {
                Err(format!("σₓ must be between {} and {} (got {sigma_x})", SIGMA_X_RANGE.start(), SIGMA_X_RANGE.end()))
            }
            other => Ok(other),
        }
    }

    /// −log p(x|z) per image, in nats, differentiable in the logits on an autodiff device.
    ///
    /// # Shapes
    /// - `logits`, `x`: `[batch, 784]`
    /// - returns: `[batch]`
    pub fn reconstruction(&self, logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        match *self {
            Likelihood::Bernoulli => reconstruction_nats(logits, x),
            Likelihood::Gaussian { sigma_x, .. } => gaussian_reconstruction_nats(logits, x, sigma_x),
        }
    }

    /// −log p(x|z) of one image given as slices (logits and pixels), in nats.
    pub fn nats(&self, logits: &[f32], x: &[f32]) -> f32 {
        match *self {
            Likelihood::Bernoulli => bernoulli_nats(logits, x),
            Likelihood::Gaussian { sigma_x, .. } => gaussian_nats(logits, x, sigma_x),
        }
    }
}

/// −log p(x|z) per image for Bernoulli pixels, in nats.
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
    pixelwise_nats(logits, x, 0.0, |l, t| {
        let e = numeric::exp(-l.abs()); // in (0, 1]
        (pixel_nats(l, t, e), if l >= 0.0 { 1.0 } else { e } / (1.0 + e) - t) // σ(ℓ) − x
    })
}

/// −log p(x|z) per image for Gaussian pixels N(sigmoid(ℓ), σₓ²), in nats:
/// Σᵢ (xᵢ − sᵢ)² / (2σₓ²) + 784·ln(σₓ√(2π)), s = sigmoid(ℓ), whose derivative in ℓᵢ is
/// (sᵢ − xᵢ)·sᵢ(1 − sᵢ)/σₓ². One pass over the pixels, as for [`reconstruction_nats`].
///
/// # Shapes
/// - `logits`, `x`: `[batch, 784]` (x grey in [0, 1])
/// - returns: `[batch]`
pub fn gaussian_reconstruction_nats(logits: Tensor<2>, x: Tensor<2>, sigma_x: f64) -> Tensor<1> {
    let pixels = logits.dims()[1];
    let inverse_variance = (1.0 / (sigma_x * sigma_x)) as f32;
    let half = 0.5 * inverse_variance;
    pixelwise_nats(logits, x, pixels as f64 * gaussian_log_normaliser(sigma_x), |l, t| {
        let s = numeric::sigmoid(l);
        let d = s - t;
        (half * d * d, d * s * (1.0 - s) * inverse_variance)
    })
}

/// ln(σₓ√(2π)): the Gaussian pixel's normalising constant, nats per pixel.
pub(crate) fn gaussian_log_normaliser(sigma_x: f64) -> f64 {
    sigma_x.ln() + 0.5 * LOG_2PI
}

/// Σ over each image's pixels of `pixel(ℓ, x).0`, plus `constant`, with the derivative
/// `pixel(ℓ, x).1` in each logit handed to autodiff.
///
/// Value and derivative come from one pass over the pixels (vectorisable) rather than from a
/// chain of tensor ops that each allocate and record a backward step: on an autodiff device the
/// derivative reaches the logits through the surrogate s = Σ g·ℓ with g held constant, added as
/// s − detach(s), which is exactly 0 forwards.
///
/// # Shapes
/// - `logits`, `x`: `[batch, pixels]`; returns `[batch]`
fn pixelwise_nats(logits: Tensor<2>, x: Tensor<2>, constant: f64, pixel: impl Fn(f32, f32) -> (f32, f32)) -> Tensor<1> {
    let [batch, pixels] = logits.dims();
    let device = logits.device();
    let differentiate = device.is_autodiff();
    let (l, t) = (to_vec(logits.clone().detach()), to_vec(x));
    // Branch-free loops over plain slices, so that they vectorise (SIMD128 in wasm).
    let mut per_pixel = vec![0f32; l.len()];
    let mut slope = if differentiate { vec![0f32; l.len()] } else { Vec::new() };
    if differentiate {
        for (((value, slope), &l), &t) in per_pixel.iter_mut().zip(slope.iter_mut()).zip(&l).zip(&t) {
            (*value, *slope) = pixel(l, t);
        }
    } else {
        for ((value, &l), &t) in per_pixel.iter_mut().zip(&l).zip(&t) {
            *value = pixel(l, t).0;
        }
    }
    // NaN if a logit is (a diverging run): t·ℓ is NaN then, whatever t.
    let sums: Vec<f32> = per_pixel.chunks_exact(pixels).map(|p| numeric::sum(p) + constant as f32).collect();
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
    pixel_sum(logits, x, |l, t| pixel_nats(l, t, numeric::exp(-l.abs())))
}

/// −log p(x|z) of one image under Gaussian pixels N(sigmoid(ℓ), σₓ²), nats: the value of
/// [`gaussian_reconstruction_nats`] for one image given as slices.
pub fn gaussian_nats(logits: &[f32], x: &[f32], sigma_x: f64) -> f32 {
    let half = (0.5 / (sigma_x * sigma_x)) as f32;
    half * squared_error(logits, x) + (logits.len() as f64 * gaussian_log_normaliser(sigma_x)) as f32
}

/// ‖x − sigmoid(ℓ)‖² of one image.
fn squared_error(logits: &[f32], x: &[f32]) -> f32 {
    pixel_sum(logits, x, |l, t| {
        let d = numeric::sigmoid(l) - t;
        d * d
    })
}

/// The mean squared error per pixel between a batch and its reconstructions at the posterior
/// samples z = μ + σ⊙ε (z = μ for an AE): what a calibrated σₓ is computed from
/// ([`calibrated_sigma_x`]). Run on an inference device.
///
/// # Shapes
/// - `x`: `[batch, 784]`, `eps`: `[batch, latent]`
pub fn reconstruction_mean_squared_error(model: &crate::Vae, kind: crate::ModelKind, x: Tensor<2>, eps: Tensor<2>) -> f64 {
    let (mu, logvar) = model.encode(x.clone()); // [batch, latent] each
    let z = match kind {
        crate::ModelKind::Vae => crate::Vae::reparameterize(mu, logvar, eps),
        crate::ModelKind::Ae => mu,
    }; // [batch, latent]
    let (logits, x) = (to_vec(model.decode_logits(z)), to_vec(x)); // [batch · 784] each
    let pixels = crate::IMAGE_PIXELS;
    let sum: f64 = logits.chunks(pixels).zip(x.chunks(pixels)).map(|(l, t)| squared_error(l, t) as f64).sum();
    sum / logits.len().max(1) as f64
}

/// Σᵢ f(ℓᵢ, xᵢ) over one image in eight running sums (a vectorisable order; the exact bound
/// evaluates it at thousands of z).
#[inline]
fn pixel_sum(logits: &[f32], x: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let (l8, x8) = (logits.chunks_exact(8), x.chunks_exact(8));
    let rest: f32 = l8.remainder().iter().zip(x8.remainder()).map(|(&l, &t)| f(l, t)).sum();
    for (ls, ts) in l8.zip(x8) {
        for ((a, &l), &t) in acc.iter_mut().zip(ls).zip(ts) {
            *a += f(l, t);
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// softplus(ℓ) − tℓ = max(ℓ, 0) + ln(1 + e) − tℓ for one pixel, given e = e^−|ℓ| (branch-free).
#[inline]
fn pixel_nats(l: f32, t: f32, e: f32) -> f32 {
    (if l > 0.0 { l } else { 0.0 }) + numeric::ln_1p_unit(e) - t * l
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

/// The mean's part of the closed-form KL, ½‖μ‖², per image, in nats: the pull of every code
/// towards the origin. The variance's part ½ Σⱼ (σⱼ² − 1 − ln σⱼ²) is the rest:
/// [`kl_standard_normal`] − this, exactly (up to float rounding).
///
/// # Shapes
/// - `mu`: `[batch, latent]`
/// - returns: `[batch]`
pub fn kl_mean_part(mu: Tensor<2>) -> Tensor<1> {
    mu.square().sum_dim(1).squeeze_dim(1).mul_scalar(0.5) // [batch]
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
    /// The mean's part of the KL, ½‖μ‖² (the variance's part is `kl − kl_mean`). Figures
    /// written before the split was recorded read as 0.
    #[serde(default)]
    pub kl_mean: f64,
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

    /// Whether the reconstruction and KL terms are both finite (a run that has not diverged).
    pub fn is_finite(&self) -> bool {
        self.recon.is_finite() && self.kl.is_finite()
    }

    /// The variance's part of the KL, ½ Σⱼ (σⱼ² − 1 − ln σⱼ²).
    pub fn kl_var(&self) -> f64 {
        self.kl - self.kl_mean
    }

    /// The sum of two sets of terms (for running means).
    pub fn add(&mut self, other: &ElboTerms) {
        self.recon += other.recon;
        self.kl += other.kl;
        self.kl_mean += other.kl_mean;
    }

    /// Every term divided by `n` (a sum made a mean).
    pub fn divided_by(&self, n: f64) -> ElboTerms {
        ElboTerms { recon: self.recon / n, kl: self.kl / n, kl_mean: self.kl_mean / n }
    }
}

/// Per-image terms of a batch, as tensors (see [`elbo_terms`]).
#[derive(Debug, Clone)]
pub struct BatchTerms {
    /// −log p(x|z) at one posterior sample, `[batch]`.
    pub recon: Tensor<1>,
    /// KL[q(z|x) ‖ p(z)], closed form, `[batch]` (0 for an AE).
    pub kl: Tensor<1>,
    /// Its mean's part ½‖μ‖², `[batch]` (0 for an AE).
    pub kl_mean: Tensor<1>,
}

/// Per-image reconstruction and KL (and the KL's mean part) of a model on a batch, with one
/// posterior sample, the reconstruction scored by `likelihood`.
///
/// For a VAE, z = μ + σ⊙ε with `eps` ~ N(0, I); for an AE, z = μ and the KL is reported as 0
/// (its objective has no KL term).
///
/// # Shapes
/// - `x`: `[batch, 784]`, `eps`: `[batch, latent]`
/// - returns `[batch]` each, nats
pub fn elbo_terms(model: &crate::Vae, kind: crate::ModelKind, likelihood: Likelihood, x: Tensor<2>, eps: Tensor<2>) -> BatchTerms {
    let (mu, logvar) = model.encode(x.clone()); // [batch, latent] each
    match kind {
        crate::ModelKind::Vae => {
            let z = crate::Vae::reparameterize(mu.clone(), logvar.clone(), eps); // [batch, latent]
            let recon = likelihood.reconstruction(model.decode_logits(z), x); // [batch]
            BatchTerms { recon, kl: kl_standard_normal(mu.clone(), logvar), kl_mean: kl_mean_part(mu) }
        }
        crate::ModelKind::Ae => {
            let recon = likelihood.reconstruction(model.decode_logits(mu), x); // [batch]
            let zeros = recon.zeros_like();
            BatchTerms { recon, kl: zeros.clone(), kl_mean: zeros }
        }
    }
}
