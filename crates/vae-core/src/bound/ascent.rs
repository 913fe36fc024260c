//! Semi-amortized inference for one image (Kim et al. 2018, "Semi-Amortized Variational
//! Autoencoders"): gradient ascent on the image's ELBO over a diagonal Gaussian's mean and log
//! standard deviation, from the encoder's q(z|x) towards q\*, the best diagonal Gaussian — the
//! amortization gap closed step by step, for the page to show.
//!
//! Each step takes ELBO(q) = E_q[log p(x, z)] + H(q) and its gradient by a Gauss–Hermite rule in
//! q's own coordinates, z = μ + σ⊙u, with no sampling and no decoder gradient: for a Gaussian,
//! ∂E_q[f]/∂μⱼ = E[f(z) uⱼ]/σⱼ and ∂E_q[f]/∂ln σⱼ = E[f(z)(uⱼ² − 1)] (Stein's identity), and
//! H(q) = ln σ₁ + ln σ₂ + ln(2πe). The same sums give the curvature in the mean,
//! ∂²E_q[f]/∂μᵢ∂μⱼ = E[f(z)(uᵢuⱼ − δᵢⱼ)]/(σᵢσⱼ), so the mean takes a Newton step (exact for a
//! Gaussian posterior, tilted or not) and each ln σⱼ one with the curvature a Gaussian posterior
//! would give it, 2σⱼ²·∂²E/∂μⱼ²; where the ELBO is not concave there, a step along the gradient
//! preconditioned by q's Fisher information. A step is halved until the ELBO does not fall.

use super::quadrature::gauss_hermite;
use super::{BoundError, Gaussian2};
use crate::latent::log_prior_f64;
use crate::numeric::LOG_2PI;

/// The Gauss–Hermite rule's order per axis: ORDER² decodes per step.
const ORDER: usize = 12;
/// The first step's size, as a share of the Newton step.
const FIRST_RATE: f64 = 1.0;
/// ln σ moves by at most this per step (a factor e).
const MAX_LOG_SIGMA_STEP: f64 = 1.0;
/// A step is taken when the ELBO falls by no more than this (the rule's rounding), else halved.
const SLACK_NATS: f64 = 1e-9;
/// The ascent has converged when the ELBO rose by less than this over a step …
const SETTLED_NATS: f64 = 1e-5;
/// … or when the step has been halved below this share.
const SMALLEST_RATE: f64 = 1e-4;
/// Steps taken at most.
pub const MAX_STEPS: usize = 300;

/// One diagonal Gaussian on its way from the encoder's q to the best one for this image.
#[derive(Debug, Clone, PartialEq)]
pub struct Ascent {
    /// q's mean.
    pub mean: [f64; 2],
    /// ln σ of q's two axes.
    pub log_sigma: [f64; 2],
    /// ELBO(q) by the rule, nats.
    pub elbo: f64,
    /// Steps taken.
    pub steps: usize,
    /// Whether the ascent has stopped (converged, or [`MAX_STEPS`] taken).
    pub done: bool,
    /// Decoder evaluations spent.
    pub evaluations: usize,
    gradient: [f64; 4],
    /// E[f(z)·u₁u₂]: with the gradient's ln σ entries, the curvature in the mean.
    cross: f64,
    rate: f64,
}

impl Ascent {
    /// Starts at the diagonal Gaussian N(`mean`, diag `sigma`²) (the encoder's q), evaluating
    /// its ELBO and gradient.
    pub fn new(likelihood: &dyn Fn(&[f64]) -> Vec<f64>, mean: [f64; 2], sigma: [f64; 2]) -> Result<Self, BoundError> {
        if !sigma.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(BoundError::NoPosterior(sigma[0], sigma[1]));
        }
        let log_sigma = [sigma[0].ln(), sigma[1].ln()];
        let (elbo, gradient, cross) = elbo_and_gradient(likelihood, mean, log_sigma)?;
        Ok(Self { mean, log_sigma, elbo, steps: 0, done: false, evaluations: ORDER * ORDER, gradient, cross, rate: FIRST_RATE })
    }

    /// q's σ on each axis.
    pub fn sigma(&self) -> [f64; 2] {
        [self.log_sigma[0].exp(), self.log_sigma[1].exp()]
    }

    /// q as a Gaussian.
    pub fn gaussian(&self) -> Gaussian2 {
        Gaussian2::diagonal(self.mean, self.sigma())
    }

    /// One step up the ELBO (halving it until the ELBO does not fall); marks the ascent done when
    /// it has converged.
    pub fn step(&mut self, likelihood: &dyn Fn(&[f64]) -> Vec<f64>) -> Result<(), BoundError> {
        if self.done {
            return Ok(());
        }
        let direction = self.direction();
        loop {
            let r = self.rate;
            let mean = [self.mean[0] + r * direction[0], self.mean[1] + r * direction[1]];
            let log_sigma = [self.log_sigma[0] + r * direction[2], self.log_sigma[1] + r * direction[3]];
            let (elbo, gradient, cross) = elbo_and_gradient(likelihood, mean, log_sigma)?;
            self.evaluations += ORDER * ORDER;
            if elbo >= self.elbo - SLACK_NATS {
                let rose = elbo - self.elbo;
                (self.mean, self.log_sigma, self.elbo, self.gradient, self.cross) = (mean, log_sigma, elbo, gradient, cross);
                self.steps += 1;
                // A step that went through may try a longer one next time.
                self.rate = (r * 2.0).min(FIRST_RATE);
                self.done = rose < SETTLED_NATS || self.steps >= MAX_STEPS;
                return Ok(());
            }
            self.rate = r / 2.0;
            if self.rate < SMALLEST_RATE {
                self.done = true;
                return Ok(());
            }
        }
    }
}

impl Ascent {
    /// The step in (μ₁, μ₂, ln σ₁, ln σ₂) at rate 1: Newton's per axis where the ELBO is concave
    /// along it, else the gradient preconditioned by q's Fisher information (σ² for μ, ½ for ln σ).
    fn direction(&self) -> [f64; 4] {
        let g = self.gradient;
        let sigma = [self.log_sigma[0].exp(), self.log_sigma[1].exp()];
        // E[f(uⱼ² − 1)] = ∂E/∂ln σⱼ (the gradient's ln σ entry less H's 1) = σⱼ²·∂²E/∂μⱼ².
        let along = [g[2] - 1.0, g[3] - 1.0];
        let h = [along[0] / (sigma[0] * sigma[0]), self.cross / (sigma[0] * sigma[1]), along[1] / (sigma[1] * sigma[1])];
        let det = h[0] * h[2] - h[1] * h[1];
        let mean = if h[0] < 0.0 && det > 0.0 {
            // −H⁻¹g: Newton's step for the mean.
            [-(h[2] * g[0] - h[1] * g[1]) / det, -(h[0] * g[1] - h[1] * g[0]) / det]
        } else {
            [sigma[0] * sigma[0] * g[0], sigma[1] * sigma[1] * g[1]]
        };
        let log_sigma = [0, 1].map(|j| {
            let step = if along[j] < 0.0 { -g[2 + j] / (2.0 * along[j]) } else { 0.5 * g[2 + j] };
            step.clamp(-MAX_LOG_SIGMA_STEP, MAX_LOG_SIGMA_STEP)
        });
        [mean[0], mean[1], log_sigma[0], log_sigma[1]]
    }
}

/// ELBO(q) for q = N(mean, diag e^(2·log_sigma)), its gradient in (μ₁, μ₂, ln σ₁, ln σ₂) and
/// E[f(z)·u₁u₂] (for the curvature), by the Gauss–Hermite rule in q's coordinates.
fn elbo_and_gradient(
    likelihood: &dyn Fn(&[f64]) -> Vec<f64>,
    mean: [f64; 2],
    log_sigma: [f64; 2],
) -> Result<(f64, [f64; 4], f64), BoundError> {
    let sigma = [log_sigma[0].exp(), log_sigma[1].exp()];
    // Nodes u for E over N(0, 1): u = √2·x, weight w/√π.
    let rule: Vec<(f64, f64)> =
        gauss_hermite(ORDER).into_iter().map(|(x, w)| (std::f64::consts::SQRT_2 * x, w / std::f64::consts::PI.sqrt())).collect();
    let mut zs = Vec::with_capacity(2 * ORDER * ORDER);
    for &(v, _) in &rule {
        for &(u, _) in &rule {
            zs.extend([mean[0] + sigma[0] * u, mean[1] + sigma[1] * v]);
        }
    }
    let log_lik = likelihood(&zs);
    let (mut expectation, mut g, mut cross) = (0.0, [0.0; 4], 0.0);
    for (k, (z, l)) in zs.chunks_exact(2).zip(&log_lik).enumerate() {
        let f = l + log_prior_f64([z[0], z[1]]);
        if !f.is_finite() {
            return Err(BoundError::NotFinite(z[0], z[1]));
        }
        let ((u, wu), (v, wv)) = (rule[k % ORDER], rule[k / ORDER]);
        let w = wu * wv;
        expectation += w * f;
        g[0] += w * f * u / sigma[0];
        g[1] += w * f * v / sigma[1];
        g[2] += w * f * (u * u - 1.0);
        g[3] += w * f * (v * v - 1.0);
        cross += w * f * u * v;
    }
    // H(q) = Σⱼ ln σⱼ + ln(2πe); its derivative in each ln σⱼ is 1.
    let entropy = log_sigma[0] + log_sigma[1] + LOG_2PI + 1.0;
    g[2] += 1.0;
    g[3] += 1.0;
    Ok((expectation + entropy, g, cross))
}
