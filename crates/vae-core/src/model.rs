//! Encoder and decoder: `encode → (μ, log σ²)`, `reparameterize`, `decode`.
//!
//! The shape follows pytorch/examples' VAE and Kingma & Welling (2014), appendix C.2: an MLP
//! encoder gives the mean and log-variance of a diagonal Gaussian posterior q(z|x); the decoder
//! gives Bernoulli logits of p(x|z) for every pixel.

use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use serde::{Deserialize, Serialize};

use crate::{IMAGE_PIXELS, LATENT_DIM};

/// Which objective a model was trained with. The architecture is the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Variational autoencoder: stochastic encoder, loss = reconstruction + β·KL.
    Vae,
    /// Plain autoencoder: the encoder's μ is the code, σ is unused, loss = reconstruction only.
    Ae,
}

impl core::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ModelKind::Vae => "vae",
            ModelKind::Ae => "ae",
        })
    }
}

/// Architecture of a [`Vae`]. Stored inside every weights file, so a file says what it needs.
#[derive(Config, Debug, PartialEq)]
pub struct VaeConfig {
    /// Input pixels (784 for 28×28).
    #[config(default = 784)]
    pub input_dim: usize,
    /// Widths of the encoder's hidden layers; the decoder mirrors them.
    #[config(default = "vec![512, 256]")]
    pub hidden: Vec<usize>,
    /// Latent dimensions (2, so it can be drawn).
    #[config(default = 2)]
    pub latent_dim: usize,
}

impl VaeConfig {
    /// Builds a model with freshly initialised parameters on `device`.
    pub fn init(&self, device: &Device) -> Vae {
        self.build(device, None)
    }

    /// Builds a model whose parameters a record is about to replace (a weights file): zeros, not
    /// random draws. Loading a record fills burn's lazily initialised parameters first, and
    /// drawing 1.07 M random numbers for them was half the time of loading a model (8 of 17 ms
    /// natively), and consumed the device's random stream for nothing.
    pub fn init_to_load(&self, device: &Device) -> Vae {
        self.build(device, Some(Initializer::Zeros))
    }

    /// The layers, each with `initializer` (burn's default for a linear layer when `None`).
    fn build(&self, device: &Device, initializer: Option<Initializer>) -> Vae {
        let linear = |inputs: usize, outputs: usize| match &initializer {
            Some(init) => LinearConfig::new(inputs, outputs).with_initializer(init.clone()).init(device),
            None => LinearConfig::new(inputs, outputs).init(device),
        };
        let mut widths = vec![self.input_dim];
        widths.extend(&self.hidden);
        let encoder = widths.windows(2).map(|w| linear(w[0], w[1])).collect();
        let last = *widths.last().unwrap_or(&self.input_dim);
        let enc_mu = linear(last, self.latent_dim);
        let enc_logvar = linear(last, self.latent_dim);
        let mut dec_widths = vec![self.latent_dim];
        dec_widths.extend(self.hidden.iter().rev());
        dec_widths.push(self.input_dim);
        let decoder = dec_widths.windows(2).map(|w| linear(w[0], w[1])).collect();
        Vae { encoder, enc_mu, enc_logvar, decoder }
    }

    /// Checks that this architecture is one the explorer can use (28×28 in, 2-D latent).
    pub fn check_explorable(&self) -> Result<(), NotExplorable> {
        if self.input_dim != IMAGE_PIXELS {
            return Err(NotExplorable::InputSize { found: self.input_dim });
        }
        if self.latent_dim != LATENT_DIM {
            return Err(NotExplorable::LatentDimensions { found: self.latent_dim });
        }
        if self.hidden.contains(&0) {
            return Err(NotExplorable::EmptyLayer);
        }
        Ok(())
    }

    /// Multiply–accumulates of one decode (the cost of a single point on the latent plane).
    pub fn decoder_macs(&self) -> usize {
        let mut widths = vec![self.latent_dim];
        widths.extend(self.hidden.iter().rev());
        widths.push(self.input_dim);
        widths.windows(2).map(|w| w[0] * w[1]).sum()
    }
}

/// Why a configuration is not one the explorer can draw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotExplorable {
    /// Images of another size.
    #[error("input_dim is {found}, the explorer needs {IMAGE_PIXELS}")]
    InputSize {
        /// The configuration's input size.
        found: usize,
    },
    /// A latent space that is not a plane.
    #[error(
        "its latent space has {found} dimensions; the explorer draws {LATENT_DIM}-D latent spaces only (every model the trainer makes is {LATENT_DIM}-D)"
    )]
    LatentDimensions {
        /// The configuration's latent dimensions.
        found: usize,
    },
    /// A hidden layer without units.
    #[error("a hidden layer has width 0")]
    EmptyLayer,
}

/// A VAE (or, trained without KL, a plain autoencoder) with an MLP encoder and decoder.
#[derive(Module, Debug)]
pub struct Vae {
    /// Hidden layers of the encoder, each followed by ReLU.
    pub encoder: Vec<Linear>,
    /// Head giving the posterior mean μ.
    pub enc_mu: Linear,
    /// Head giving the posterior log-variance log σ².
    pub enc_logvar: Linear,
    /// Decoder layers; ReLU between them, none after the last (it gives logits).
    pub decoder: Vec<Linear>,
}

impl Vae {
    /// Parameters of the posterior q(z|x) = N(μ, diag σ²).
    ///
    /// # Shapes
    /// - `x`: `[batch, 784]`, pixel intensities in [0, 1]
    /// - returns `(mu, logvar)`: `[batch, latent]` each
    pub fn encode(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = self.encoder.iter().fold(x, |h, layer| relu(layer.forward(h))); // [batch, hidden]
        let mu = self.enc_mu.forward(h.clone()); // [batch, latent]
        let logvar = self.enc_logvar.forward(h); // [batch, latent]
        (mu, logvar)
    }

    /// The reparameterisation trick: z = μ + σ ⊙ ε with ε ~ N(0, I), so that z is a
    /// differentiable function of (μ, log σ²) and gradients flow through the sample.
    ///
    /// # Shapes
    /// - `mu`, `logvar`, `eps`: `[batch, latent]`
    /// - returns `z`: `[batch, latent]`
    pub fn reparameterize(mu: Tensor<2>, logvar: Tensor<2>, eps: Tensor<2>) -> Tensor<2> {
        let sigma = logvar.mul_scalar(0.5).exp(); // [batch, latent]
        mu + sigma * eps
    }

    /// Bernoulli logits of p(x|z) for every pixel.
    ///
    /// # Shapes
    /// - `z`: `[batch, latent]`
    /// - returns: `[batch, 784]`
    pub fn decode_logits(&self, z: Tensor<2>) -> Tensor<2> {
        let last = self.decoder.len().saturating_sub(1);
        self.decoder.iter().enumerate().fold(z, |h, (i, layer)| {
            let h = layer.forward(h); // [batch, width_i]
            if i < last { relu(h) } else { h }
        })
    }

    /// Pixel intensities in [0, 1]: the Bernoulli means σ(logits).
    ///
    /// # Shapes
    /// - `z`: `[batch, latent]`
    /// - returns: `[batch, 784]`
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        sigmoid(self.decode_logits(z))
    }
}
