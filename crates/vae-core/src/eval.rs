//! Evaluation maths: the importance-weighted bound on log p(x) and the continuity of the decoder.

use burn::prelude::*;

use crate::loss::reconstruction_nats;
use crate::readout::{decode_points, to_vec};
use crate::{IMAGE_PIXELS, LATENT_DIM, Vae};

const LOG_2PI: f64 = 1.837_877_066_409_345_5;

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
pub fn iwae_log_likelihood(model: &Vae, x: Tensor<2>, eps: Tensor<2>, k: usize) -> Tensor<1> {
    let [batch, pixels] = x.dims();
    let (mu, logvar) = model.encode(x.clone()); // [batch, latent] each
    let latent = mu.dims()[1];
    let repeat = |t: Tensor<2>, width: usize| t.unsqueeze_dim::<3>(1).repeat_dim(1, k).reshape([batch * k, width]);
    let mu = repeat(mu, latent); // [batch·k, latent]
    let logvar = repeat(logvar, latent); // [batch·k, latent]
    let z = Vae::reparameterize(mu, logvar.clone(), eps.clone()); // [batch·k, latent]
    let half_log_2pi = 0.5 * LOG_2PI * latent as f64;
    // log q(z|x) = Σ −½ε² − ½ log σ² − ½ log 2π ; log p(z) = Σ −½z² − ½ log 2π
    let log_q = (eps.square() + logvar).sum_dim(1).mul_scalar(-0.5).sub_scalar(half_log_2pi); // [batch·k, 1]
    let log_p_z = z.clone().square().sum_dim(1).mul_scalar(-0.5).sub_scalar(half_log_2pi); // [batch·k, 1]
    let log_p_x = reconstruction_nats(model.decode_logits(z), repeat(x, pixels)).neg(); // [batch·k]
    let log_w = (log_p_x.unsqueeze_dim::<2>(1) + log_p_z - log_q).reshape([batch, k]); // [batch, k]
    let max = log_w.clone().max_dim(1); // [batch, 1]
    let lse = (log_w - max.clone()).exp().sum_dim(1).log() + max; // [batch, 1]
    lse.sub_scalar((k as f64).ln()).squeeze_dim(1) // [batch]
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

/// Mean pixel change per unit latent step between horizontally and vertically neighbouring grid
/// points with spacing `step`, inside the disk of radius `radius` (pixel intensities in [0, 1]).
pub fn continuity(model: &Vae, device: &Device, radius: f32, step: f32) -> Continuity {
    let n = (2.0 * radius / step).round() as usize + 1;
    let coord = |i: usize| -radius + i as f32 * step;
    let zs: Vec<f32> = (0..n).flat_map(|j| (0..n).flat_map(move |i| [coord(i), coord(j)])).collect();
    let images: Vec<f32> = zs.chunks(4096 * LATENT_DIM).flat_map(|chunk| decode_points(model, chunk, device)).collect();
    let image = |i: usize, j: usize| &images[(j * n + i) * IMAGE_PIXELS..(j * n + i + 1) * IMAGE_PIXELS];
    let inside = |i: usize, j: usize| coord(i).hypot(coord(j)) <= radius + 1e-4;
    let (mut sum, mut max, mut count) = (0.0f64, 0.0f32, 0usize);
    for j in 0..n {
        for i in 0..n {
            for (ni, nj) in [(i + 1, j), (i, j + 1)] {
                if ni < n && nj < n && inside(i, j) && inside(ni, nj) {
                    let diff = image(i, j).iter().zip(image(ni, nj)).map(|(a, b)| (a - b).abs()).sum::<f32>();
                    let rate = diff / IMAGE_PIXELS as f32 / step;
                    sum += rate as f64;
                    max = max.max(rate);
                    count += 1;
                }
            }
        }
    }
    Continuity { mean: (sum / count.max(1) as f64) as f32, max, step, radius }
}

/// Reads a `[batch]` tensor's mean as f64.
pub fn mean_of(t: Tensor<1>) -> f64 {
    let v = to_vec(t);
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}
