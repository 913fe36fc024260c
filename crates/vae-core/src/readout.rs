//! What the explorer (and `trainer encode`) says about one image: its posterior and ELBO terms.

use burn::prelude::*;
use serde::Serialize;

use crate::eval::{importance_samples_of, log_mean_exp};
use crate::fast::FastDecoder;
use crate::loss::{Likelihood, kl_standard_normal_f32};
use crate::numeric::{self, standard_normal_samples, to_vec};
use crate::{IMAGE_PIXELS, IMAGE_SIDE, LATENT_DIM, ModelKind, Vae};

/// Posterior samples used for the reconstruction term of the readout.
pub const READOUT_SAMPLES: usize = 64;
/// Samples of the posterior returned for display.
pub const SHOWN_SAMPLES: usize = 8;
/// Seed of those samples: the same image always gets the same readout.
const READOUT_SEED: u64 = 7;

/// The posterior of one image and the two terms of its ELBO.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Posterior {
    /// Mean μ of q(z|x), latent units.
    pub mu: [f32; 2],
    /// Standard deviation σ of q(z|x), latent units (0 for a plain AE: it has no posterior).
    pub sigma: [f32; 2],
    /// E_q[−log p(x|z)], nats, a Monte-Carlo estimate with [`READOUT_SAMPLES`] samples
    /// (for an AE: −log p(x|μ)).
    pub recon: f32,
    /// KL[q(z|x) ‖ N(0, I)], nats, closed form (0 for an AE).
    pub kl: f32,
    /// ELBO = −(recon + KL), nats.
    pub elbo: f32,
    /// Importance-weighted estimate of log p(x) from the same [`READOUT_SAMPLES`] samples
    /// (≥ the ELBO in expectation); `None` for an AE, which defines no p(x).
    pub iwae: Option<f32>,
    /// The 28×28 input the encoder saw.
    pub input: Vec<f32>,
    /// decode(μ): the image's reconstruction.
    pub reconstruction: Vec<f32>,
    /// A few of the reparameterised samples z = μ + σ ⊙ ε used for `recon`, `[x0, y0, …]`
    /// ([`SHOWN_SAMPLES`] of them; for an AE, μ repeated).
    pub samples: Vec<f32>,
    /// Whether the upload was dark-on-light and was inverted (set by the caller that preprocessed).
    pub inverted: bool,
    /// The likelihood `recon`, `elbo` and `iwae` are in (Gaussian figures are densities of grey
    /// pixels, not comparable with Bernoulli nats).
    pub likelihood: Likelihood,
}

/// Decodes latent points `[x0, y0, x1, y1, …]` into `n × 784` intensities in [0, 1].
pub fn decode_points(model: &Vae, zs: &[f32], device: &Device) -> Vec<f32> {
    let n = zs.len() / LATENT_DIM;
    if n == 0 {
        return Vec::new();
    }
    let z = Tensor::<2>::from_data(TensorData::new(zs[..n * LATENT_DIM].to_vec(), [n, LATENT_DIM]), device); // [n, 2]
    to_vec(model.decode(z)) // [n, 784]
}

/// Posterior and ELBO readout of a 28×28 input with intensities in [0, 1]. A VAE's
/// reconstruction term and IWAE bound come from the same [`READOUT_SAMPLES`] reparameterised
/// samples, decoded once, scored by the model's `likelihood`. `decoder` is `model`'s decoder
/// ([`FastDecoder::from_vae`]): every decode here goes through it.
pub fn posterior(
    model: &Vae,
    decoder: &FastDecoder,
    kind: ModelKind,
    likelihood: Likelihood,
    pixels: &[f32],
    device: &Device,
) -> Posterior {
    let x = Tensor::<2>::from_data(TensorData::new(pixels.to_vec(), [1, IMAGE_PIXELS]), device); // [1, 784]
    let (mu_t, logvar) = model.encode(x.clone()); // [1, 2] each
    let mu = to_vec(mu_t.clone());
    let mu = [mu[0], mu[1]];
    let mu_logits = decoder.decode_logits(&mu); // [784]
    let reconstruction = mu_logits.iter().map(|&l| numeric::sigmoid(l)).collect();
    let logits_tensor = |logits: Vec<f32>| {
        let n = logits.len() / IMAGE_PIXELS;
        Tensor::<2>::from_data(TensorData::new(logits, [n, IMAGE_PIXELS]), device) // [n, 784]
    };
    let (sigma, recon, kl, iwae, zs) = match kind {
        // An AE's code is the point μ: its reconstruction term is −log p(x|μ), and it has no KL.
        ModelKind::Ae => ([0.0; 2], to_vec(likelihood.reconstruction(logits_tensor(mu_logits), x))[0], 0.0, None, mu.to_vec()),
        ModelKind::Vae => {
            let lv = to_vec(logvar.clone());
            let sigma = [(0.5 * lv[0]).exp(), (0.5 * lv[1]).exp()];
            let eps = standard_normal_samples(READOUT_SAMPLES * LATENT_DIM, READOUT_SEED);
            let eps = Tensor::<2>::from_data(TensorData::new(eps, [READOUT_SAMPLES, LATENT_DIM]), device); // [k, 2]
            let samples = importance_samples_of(mu_t, logvar, likelihood, x, eps, READOUT_SAMPLES, |z| {
                logits_tensor(decoder.decode_logits(&to_vec(z)))
            });
            let recon = to_vec(samples.recon.mean())[0];
            let iwae = to_vec(log_mean_exp(samples.log_weights))[0];
            (sigma, recon, kl_standard_normal_f32(&mu, &sigma), Some(iwae), to_vec(samples.z))
        }
    };
    let samples = zs.iter().copied().cycle().take(SHOWN_SAMPLES * LATENT_DIM).collect();
    Posterior {
        mu,
        sigma,
        recon,
        kl,
        elbo: -(recon + kl),
        iwae,
        input: pixels.to_vec(),
        reconstruction,
        samples,
        inverted: false,
        likelihood,
    }
}

/// [`encode_many`] with each image's label: `[μ₁, μ₂, σ₁, σ₂, label]` per image, as weights
/// files store test posteriors and the page draws them.
pub fn labelled_codes(model: &Vae, kind: ModelKind, pixels: &[f32], labels: &[u8], device: &Device) -> Vec<[f32; 5]> {
    encode_many(model, kind, pixels, device).into_iter().zip(labels).map(|(p, &label)| [p[0], p[1], p[2], p[3], label as f32]).collect()
}

/// Posterior means and standard deviations of many 28×28 inputs, `[μ₁, μ₂, σ₁, σ₂]` per image
/// (σ = 0 for an AE), encoded in batches.
pub fn encode_many(model: &Vae, kind: ModelKind, pixels: &[f32], device: &Device) -> Vec<[f32; 4]> {
    let mut out = Vec::with_capacity(pixels.len() / IMAGE_PIXELS);
    for chunk in pixels.chunks(1000 * IMAGE_PIXELS) {
        let b = chunk.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [b, IMAGE_PIXELS]), device); // [b, 784]
        let (mu, logvar) = model.encode(x); // [b, 2] each
        let (mu, logvar) = (to_vec(mu), to_vec(logvar));
        for i in 0..b {
            let sigma = |d: usize| match kind {
                ModelKind::Vae => (0.5 * logvar[2 * i + d]).exp(),
                ModelKind::Ae => 0.0,
            };
            out.push([mu[2 * i], mu[2 * i + 1], sigma(0), sigma(1)]);
        }
    }
    out
}

/// Lays out `n` 28×28 grey images row by row, `cols` per row, as one RGBA image
/// (`cols·28 × rows·28`); returns `(rgba, width, height)`.
pub fn tile_rgba(images: &[f32], cols: usize) -> (Vec<u8>, usize, usize) {
    let n = images.len() / IMAGE_PIXELS;
    let cols = cols.max(1);
    let rows = n.div_ceil(cols);
    let (width, height) = (cols * IMAGE_SIDE, rows * IMAGE_SIDE);
    let mut rgba = vec![0u8; width * height * 4];
    for (k, img) in images.chunks_exact(IMAGE_PIXELS).enumerate() {
        let (ox, oy) = ((k % cols) * IMAGE_SIDE, (k / cols) * IMAGE_SIDE);
        for y in 0..IMAGE_SIDE {
            let start = ((oy + y) * width + ox) * 4;
            let grey = &img[y * IMAGE_SIDE..(y + 1) * IMAGE_SIDE];
            for (px, &v) in rgba[start..start + IMAGE_SIDE * 4].chunks_exact_mut(4).zip(grey) {
                let c = grey_byte(v);
                px.copy_from_slice(&[c, c, c, 255]);
            }
        }
    }
    // Cells past the last image stay transparent black (alpha 0).
    (rgba, width, height)
}

/// One intensity in [0, 1] as a grey level 0–255.
#[inline]
fn grey_byte(v: f32) -> u8 {
    numeric::round_non_negative(v.clamp(0.0, 1.0) * 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_laid_out_row_by_row() {
        let mut images = vec![0.0f32; 3 * IMAGE_PIXELS];
        images[IMAGE_PIXELS + 5] = 1.0; // image 1, row 0, column 5
        images[2 * IMAGE_PIXELS] = 1.0; // image 2, top-left
        let (rgba, w, h) = tile_rgba(&images, 2);
        assert_eq!((w, h), (56, 56));
        assert_eq!(&rgba[(28 + 5) * 4..(28 + 5) * 4 + 4], &[255, 255, 255, 255]);
        assert_eq!(&rgba[(28 * 56) * 4..(28 * 56) * 4 + 4], &[255, 255, 255, 255]);
        assert_eq!(rgba[(28 * 56 + 30) * 4 + 3], 0, "the empty fourth cell stays transparent");
    }
}
