//! Evaluation maths: the importance-weighted bound on log p(x) and the continuity of the decoder.

use std::ops::Range;

use burn::prelude::*;

use crate::fast::FastDecoder;
use crate::latent::{LatentGrid, log_prior};
use crate::loss::Likelihood;
use crate::numeric::{LOG_2PI, to_vec};
use crate::{IMAGE_PIXELS, LATENT_DIM, Vae};

/// The test set is binarised once with this seed, so every run, every model and the page's live
/// training are scored on the same binary images (the usual protocol for likelihoods in nats).
pub const TEST_BINARIZATION_SEED: u64 = 0x5eed_7e57;
/// Seed of the posterior noise ε with which [`elbo_on`] scores a test set.
pub const TEST_NOISE_SEED: u64 = 0x5eed_e951;

/// k reparameterised samples per image and what each says about the image.
#[derive(Debug, Clone)]
pub struct ImportanceSamples {
    /// zᵢ = μ + σ ⊙ εᵢ, `[batch · k, latent]`, image-major.
    pub z: Tensor<2>,
    /// −log p(x|zᵢ), nats, `[batch, k]`: the reconstruction term's Monte-Carlo samples.
    pub recon: Tensor<2>,
    /// log wᵢ = log p(x|zᵢ) + log p(zᵢ) − log q(zᵢ|x), nats, `[batch, k]`.
    pub log_weights: Tensor<2>,
}

/// Draws the samples zᵢ = μ + σ ⊙ εᵢ of q(z|x) (one decode for all of them) and their importance
/// weights against the prior:
///
/// ```text
/// log q(z|x) = Σ −½ε² − ½ log σ² − ½ log 2π ;  log p(z) = Σ −½z² − ½ log 2π
/// ```
///
/// # Shapes
/// - `x`: `[batch, 784]`, `eps`: `[batch · k, latent]` (image-major: the k samples of image 0 first)
pub fn importance_samples(model: &Vae, likelihood: Likelihood, x: Tensor<2>, eps: Tensor<2>, k: usize) -> ImportanceSamples {
    let (mu, logvar) = model.encode(x.clone()); // [batch, latent] each
    importance_samples_of(mu, logvar, likelihood, x, eps, k, |z| model.decode_logits(z))
}

/// [`importance_samples`] of images whose posteriors (`mu`, `logvar`: `[batch, latent]`) are
/// already encoded, decoding with `decode_logits` (`[n, latent]` → `[n, 784]` logits): the page
/// decodes with its fast decoder.
pub fn importance_samples_of(
    mu: Tensor<2>,
    logvar: Tensor<2>,
    likelihood: Likelihood,
    x: Tensor<2>,
    eps: Tensor<2>,
    k: usize,
    decode_logits: impl Fn(Tensor<2>) -> Tensor<2>,
) -> ImportanceSamples {
    let [batch, pixels] = x.dims();
    let latent = mu.dims()[1];
    let repeat = |t: Tensor<2>, width: usize| t.unsqueeze_dim::<3>(1).repeat_dim(1, k).reshape([batch * k, width]);
    let mu = repeat(mu, latent); // [batch·k, latent]
    let logvar = repeat(logvar, latent); // [batch·k, latent]
    let z = Vae::reparameterize(mu, logvar.clone(), eps.clone()); // [batch·k, latent]
    let half_log_2pi = 0.5 * LOG_2PI * latent as f64;
    let log_q = (eps.square() + logvar).sum_dim(1).mul_scalar(-0.5).sub_scalar(half_log_2pi); // [batch·k, 1]
    let log_p_z = crate::latent::log_prior_rows(z.clone()); // [batch·k, 1]
    let recon = likelihood.reconstruction(decode_logits(z.clone()), repeat(x, pixels)); // [batch·k]
    let log_weights = (recon.clone().neg().unsqueeze_dim::<2>(1) + log_p_z - log_q).reshape([batch, k]); // [batch, k]
    ImportanceSamples { z, recon: recon.reshape([batch, k]), log_weights }
}

/// log (1/k) Σᵢ exp(aᵢ) along each row, computed stably.
///
/// # Shapes
/// - `a`: `[batch, k]`; returns `[batch]`
pub fn log_mean_exp(a: Tensor<2>) -> Tensor<1> {
    let k = a.dims()[1];
    let max = a.clone().max_dim(1); // [batch, 1]
    let lse = (a - max.clone()).exp().sum_dim(1).log() + max; // [batch, 1]
    lse.sub_scalar((k as f64).ln()).squeeze_dim(1) // [batch]
}

/// The importance-weighted estimate of log p(x) (Burda et al. 2016) with `k` samples per image:
///
/// ```text
/// log p(x) ≥ E[ log (1/k) Σᵢ p(x|zᵢ) p(zᵢ) / q(zᵢ|x) ],  zᵢ = μ + σ ⊙ εᵢ
/// ```
///
/// It equals the ELBO in expectation for k = 1 and tightens towards log p(x) as k grows.
///
/// # Shapes
/// - `x`: `[batch, 784]`, `eps`: `[batch · k, latent]` (image-major: the k samples of image 0 first)
/// - returns: `[batch]`, nats
pub fn iwae_log_likelihood(model: &Vae, likelihood: Likelihood, x: Tensor<2>, eps: Tensor<2>, k: usize) -> Tensor<1> {
    log_mean_exp(importance_samples(model, likelihood, x, eps, k).log_weights)
}

/// IWAE(k) from n ≥ k importance log weights of one image: the mean over the ⌊n/k⌋ disjoint groups
/// of k of log (1/k) Σ exp(wᵢ), each an IWAE(k) estimate (so one set of samples gives every k).
pub fn grouped_iwae(log_weights: &[f64], k: usize) -> f64 {
    let groups: Vec<f64> = log_weights.chunks_exact(k.max(1)).map(|g| crate::numeric::log_sum_exp(g) - (k as f64).ln()).collect();
    groups.iter().sum::<f64>() / groups.len().max(1) as f64
}

/// How fast the decoded image changes as z moves, over a grid inside a disk of the prior.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Continuity {
    /// Mean over neighbouring grid points of mean |Δpixel| per latent unit.
    pub mean: f32,
    /// The largest such rate: a spike means a tear in the latent space.
    pub max: f32,
    /// Grid step, latent units.
    pub step: f32,
    /// Radius of the disk (in σ of the prior) the grid covers.
    pub radius: f32,
}

/// Mean |Δpixel| per latent unit towards the right and upper neighbour of every point of the
/// grid z = `scale` ⊙ u, u on `grid`: the grid, its step and the rates are in units of u, so
/// `scale` = the spread of a model's codes measures every model in its own units ([1, 1]: units
/// of z). Returns `(rate_right, rate_up)` in the grid's order (`NaN` on the missing edge).
pub fn continuity_rates(model: &Vae, grid: &LatentGrid, scale: [f32; 2]) -> (Vec<f32>, Vec<f32>) {
    continuity_rates_in_rows(&FastDecoder::from_vae(model), grid, scale, 0..grid.n)
}

/// [`continuity_rates`] of the grid rows `rows` only (`rows.len() × n` each, in the grid's order),
/// decoded by `decoder`: a map can be made a band of rows at a time (the page does, between
/// frames). The band's first row is compared with the row above it, decoded once more here.
pub fn continuity_rates_in_rows(decoder: &FastDecoder, grid: &LatentGrid, scale: [f32; 2], rows: Range<usize>) -> (Vec<f32>, Vec<f32>) {
    let n = grid.n;
    let step = grid.step();
    let rows = rows.start.min(n)..rows.end.min(n);
    let first = rows.start.saturating_sub(1); // the row above the band
    let points = grid.points();
    let zs: Vec<f32> = points[first * n * LATENT_DIM..rows.end * n * LATENT_DIM]
        .chunks_exact(LATENT_DIM)
        .flat_map(|u| [u[0] * scale[0], u[1] * scale[1]])
        .collect();
    let images = decoder.decode(&zs); // [(rows.end − first)·n, 784]
    let image = |col: usize, row: usize| {
        let at = ((row - first) * n + col) * IMAGE_PIXELS;
        &images[at..at + IMAGE_PIXELS]
    };
    let rate = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / IMAGE_PIXELS as f32 / step;
    let mut right = vec![f32::NAN; rows.len() * n];
    let mut up = vec![f32::NAN; rows.len() * n];
    for row in rows.clone() {
        for col in 0..n {
            let at = (row - rows.start) * n + col;
            if col + 1 < n {
                right[at] = rate(image(col, row), image(col + 1, row));
            }
            if row > 0 {
                up[at] = rate(image(col, row), image(col, row - 1));
            }
        }
    }
    (right, up)
}

/// Mean pixel change per unit latent step between horizontally and vertically neighbouring grid
/// points with spacing `step`, inside the disk of radius `radius` (pixel intensities in [0, 1]).
pub fn continuity(model: &Vae, radius: f32, step: f32) -> Continuity {
    continuity_scaled(model, radius, step, [1.0, 1.0])
}

/// [`continuity`] in units of `scale` per latent dimension: the grid is z = `scale` ⊙ u with u
/// inside the disk of radius `radius`, and rates are per unit of u.
///
/// Why: a plain autoencoder's latent has no scale of its own (stretch z by 10 and shrink the
/// decoder's first layer by 10: the same model), so its continuity per unit of z says nothing
/// until z is measured against the spread of its own codes. A VAE's codes are held near the
/// prior's scale, so for it the two measures nearly agree.
pub fn continuity_scaled(model: &Vae, radius: f32, step: f32, scale: [f32; 2]) -> Continuity {
    let n = (2.0 * radius / step).round() as usize + 1;
    let half = (n as f32 - 1.0) / 2.0;
    let coord = |i: usize| (i as f32 - half) * step;
    let inside = |col: usize, row: usize| coord(col).hypot(coord(row)) <= radius + 1e-4;
    let grid = LatentGrid { n, range: half * step, center: [0.0, 0.0] };
    let (right, up) = continuity_rates(model, &grid, scale);
    let (mut sum, mut max, mut count) = (0.0f64, 0.0f32, 0usize);
    for row in 0..n {
        for col in 0..n {
            let pairs = [(right[row * n + col], inside(col + 1, row)), (up[row * n + col], row > 0 && inside(col, row - 1))];
            for (rate, other_inside) in pairs {
                if inside(col, row) && other_inside && rate.is_finite() {
                    sum += rate as f64;
                    max = max.max(rate);
                    count += 1;
                }
            }
        }
    }
    Continuity { mean: (sum / count.max(1) as f64) as f32, max, step, radius }
}

/// Standard deviation of each latent coordinate over a set of codes `[μ₁, μ₂, …]` (rows of at
/// least two numbers): the spread of a model's codes, the unit of [`continuity_scaled`].
pub fn code_spread<R: AsRef<[f32]>>(codes: &[R]) -> [f32; 2] {
    let n = codes.len().max(1) as f64;
    let mut out = [0.0f32; 2];
    for (d, value) in out.iter_mut().enumerate() {
        let mean = codes.iter().map(|c| c.as_ref()[d] as f64).sum::<f64>() / n;
        let var = codes.iter().map(|c| (c.as_ref()[d] as f64 - mean).powi(2)).sum::<f64>() / n;
        *value = var.sqrt() as f32;
    }
    out
}

/// Density of the aggregate posterior q(z) = (1/N) Σᵢ N(z; μᵢ, diag σᵢ²) at the points of `grid`.
/// Posteriors narrower than `min_sigma` (an AE's points) are widened to it, a kernel density
/// estimate.
pub fn aggregate_density(posteriors: &[[f32; 5]], grid: &LatentGrid, min_sigma: f32) -> Vec<f32> {
    let n = grid.n;
    let count = posteriors.len().max(1) as f32;
    let mut out = vec![0.0f32; n * n];
    for p in posteriors {
        let (sx, sy) = (p[2].max(min_sigma), p[3].max(min_sigma));
        let norm = 1.0 / (2.0 * core::f32::consts::PI * sx * sy * count);
        // Only points within 4σ contribute noticeably. Row r holds z₂ = coord(1, n − 1 − r).
        for up in grid.indices_within(1, p[1] - 4.0 * sy, p[1] + 4.0 * sy) {
            let row = n - 1 - up;
            let dy = (grid.coord(1, up) - p[1]) / sy;
            for col in grid.indices_within(0, p[0] - 4.0 * sx, p[0] + 4.0 * sx) {
                let dx = (grid.coord(0, col) - p[0]) / sx;
                out[row * n + col] += norm * (-0.5 * (dx * dx + dy * dy)).exp();
            }
        }
    }
    out
}

/// Mean reconstruction and KL per image over images (`n × 784`: binarised for a Bernoulli
/// `likelihood`, grey for a Gaussian one), one posterior sample each, in batches of a thousand:
/// how the trainer and the page score a model on a test set.
///
/// The noise ε is drawn from its own fixed stream ([`TEST_NOISE_SEED`]), not the device's: the
/// score is a function of the model alone, and scoring mid-run does not change what training
/// draws next (a paused run continues exactly as an uninterrupted one).
pub fn elbo_on(model: &Vae, kind: crate::ModelKind, likelihood: Likelihood, pixels: &[f32], device: &Device) -> crate::ElboTerms {
    const BATCH: usize = 1000;
    let n = (pixels.len() / IMAGE_PIXELS).max(1);
    let latent = model.enc_mu.weight.dims()[1];
    let noise = crate::numeric::standard_normal_samples(n * latent, TEST_NOISE_SEED);
    let mut sum = crate::ElboTerms::default();
    for (chunk, noise) in pixels.chunks(BATCH * IMAGE_PIXELS).zip(noise.chunks(BATCH * latent)) {
        let b = chunk.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [b, IMAGE_PIXELS]), device); // [b, 784]
        let eps = Tensor::<2>::from_data(TensorData::new(noise.to_vec(), [b, latent]), device); // [b, latent]
        let terms = crate::loss::elbo_terms(model, kind, likelihood, x, eps); // [b] each
        let total = |t: Tensor<1>| t.sum().into_scalar::<f32>() as f64;
        sum.add(&crate::ElboTerms { recon: total(terms.recon), kl: total(terms.kl), kl_mean: total(terms.kl_mean) });
    }
    sum.divided_by(n as f64)
}

/// Reads a `[batch]` tensor's mean as f64.
pub fn mean_of(t: Tensor<1>) -> f64 {
    let v = to_vec(t);
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}

/// Below this log-density (nats) under both the prior and the codes, log q/p means nothing
/// (beyond ≈ 3.7σ of the prior and far from every code): the map leaves such points blank.
const NEGLIGIBLE_LOG_DENSITY: f32 = -7.0;

/// log₂ q(z)/p(z) at every point of `grid`: the aggregate posterior (the mixture of the
/// `posteriors`, `[μ₁, μ₂, σ₁, σ₂, label]` each, widened to at least `bandwidth`, a kernel
/// density estimate) against the prior. Positive where codes crowd, negative in holes the prior
/// still samples from, `NaN` where both densities are negligible.
pub fn aggregate_vs_prior(posteriors: &[[f32; 5]], grid: &LatentGrid, bandwidth: f32) -> Vec<f32> {
    let log_peak = log_prior([0.0, 0.0]);
    let q = aggregate_density(posteriors, grid, bandwidth);
    grid.points()
        .chunks_exact(LATENT_DIM)
        .zip(q)
        .map(|(z, q)| {
            let log_p = log_prior([z[0], z[1]]);
            let log_q = q.max(1e-12).ln();
            if log_p < log_peak + NEGLIGIBLE_LOG_DENSITY && log_q < log_peak + NEGLIGIBLE_LOG_DENSITY {
                return f32::NAN;
            }
            (log_q - log_p) / core::f32::consts::LN_2
        })
        .collect()
}

/// How fast the decoded image changes at every point of `grid`: mean |Δpixel| per latent unit
/// towards the right and the upper neighbour, averaged (one of them on the grid's edges).
pub fn continuity_map(model: &Vae, grid: &LatentGrid) -> Vec<f32> {
    continuity_map_rows(&FastDecoder::from_vae(model), grid, 0..grid.n)
}

/// [`continuity_map`] of the grid rows `rows` only (`rows.len() × n` values), decoded by
/// `decoder`: the bands of a map, concatenated, are the map.
pub fn continuity_map_rows(decoder: &FastDecoder, grid: &LatentGrid, rows: Range<usize>) -> Vec<f32> {
    let (right, up) = continuity_rates_in_rows(decoder, grid, [1.0, 1.0], rows);
    right
        .iter()
        .zip(&up)
        .map(|(&r, &u)| match (r.is_finite(), u.is_finite()) {
            (true, true) => 0.5 * (r + u),
            (true, false) => r,
            (false, true) => u,
            (false, false) => 0.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_map_is_positive_on_the_codes_negative_in_holes_and_blank_far_away() {
        // Codes crowded at (1, 1): denser than the prior there, thinner at (−1, −1), nothing at the corner.
        let posteriors = vec![[1.0f32, 1.0, 0.1, 0.1, 0.0]; 10];
        let grid = LatentGrid::new(9, 4.0).expect("valid");
        let map = aggregate_vs_prior(&posteriors, &grid, 0.25);
        let at = |x: f32, y: f32| {
            let col = ((x + 4.0) / grid.step()).round() as usize;
            let row = ((4.0 - y) / grid.step()).round() as usize;
            map[row * 9 + col]
        };
        assert!(at(1.0, 1.0) > 1.0, "{}", at(1.0, 1.0));
        assert!(at(-1.0, -1.0) < -1.0, "{}", at(-1.0, -1.0));
        assert!(at(-4.0, -4.0).is_nan());
        // The same map over a window around the codes agrees with the whole map at shared points.
        let window = LatentGrid::window(9, [1.0, 1.0], 1.0).expect("valid");
        let zoomed = aggregate_vs_prior(&posteriors, &window, 0.25);
        assert!((zoomed[4 * 9 + 4] - at(1.0, 1.0)).abs() < 1e-4, "{} vs {}", zoomed[4 * 9 + 4], at(1.0, 1.0));
        assert!((zoomed[0] - at(0.0, 2.0)).abs() < 1e-4, "{} vs {}", zoomed[0], at(0.0, 2.0));
        // log₂ q/p by hand at the code itself: q = N((1,1); (1,1), 0.25²I).
        let q = 1.0 / (2.0 * core::f32::consts::PI * 0.25 * 0.25);
        let expected = (q.ln() - log_prior([1.0, 1.0])) / core::f32::consts::LN_2;
        assert!((at(1.0, 1.0) - expected).abs() < 1e-3, "{} vs {expected}", at(1.0, 1.0));
    }
}
