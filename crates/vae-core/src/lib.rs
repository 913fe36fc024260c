//! The variational autoencoder of vae-explorer, defined once.
//!
//! Used by the trainer (with the `train` feature: autodiff and the optimiser step) and by the
//! wasm crate (inference only). This crate does no I/O: it turns bytes into models, images and
//! datasets, and back, so that every caller shares one definition.
//!
//! - [`model`]: encoder `784 → hidden → (μ, log σ²)`, decoder `2 → hidden → 784` Bernoulli logits.
//! - [`loss`]: the ELBO split into reconstruction and KL, in nats.
//! - [`message`]: errors as keys of the page's message catalogues, for its languages.
//! - [`preprocess`]: any RGBA image → a 28×28 MNIST-style input.
//! - [`classifier`]: a small digit classifier that scores decoded prior samples.
//! - [`dataset`]: the datasets a model can be trained on: names, class names, preprocessing.
//! - [`bound`]: log p(x), the true posterior and the two gaps of the ELBO, by quadrature.
//! - [`eval`]: the importance-weighted log-likelihood and the decoder's continuity.
//! - [`latent`]: the prior's density, grids over the plane, checked points, interpolation.
//! - [`numeric`]: the bottom layer: tensor values as f32, vectorisable kernels, normal draws.
//! - [`idx`]: the IDX file format of MNIST and its relatives.
//! - [`pack`]: a dataset subset in one file, for training in the page.
//! - [`framing`]: magic, version, lengths and CRC around the weights and checkpoint files.
//! - [`readout`]: one image's posterior and ELBO terms, as the page shows them.
//! - [`session`]: one training run (epochs, schedule, rollback, log, weights header) for the
//!   trainer and the page.
//! - [`train`]: the training step and the [`train::Learner`] that takes it.
//! - [`weights`]: the versioned, checksummed weights file.
#![cfg_attr(not(test), warn(missing_docs))]

pub mod bound;
pub mod classifier;
pub mod dataset;
pub mod eval;
pub mod fast;
pub mod framing;
pub mod idx;
pub mod latent;
pub mod loss;
pub mod message;
pub mod model;
pub mod numeric;
#[cfg(feature = "train")]
pub mod optim;
pub mod pack;
pub mod preprocess;
pub mod readout;
#[cfg(feature = "train")]
pub mod session;
#[cfg(feature = "train")]
pub mod train;
pub mod weights;

pub use dataset::{DatasetInfo, Preprocessing};
pub use loss::{ElboTerms, Likelihood, LikelihoodKind, kl_standard_normal, reconstruction_nats};
pub use message::{Localized, PageMessage};
pub use model::{ModelKind, Vae, VaeConfig};
pub use preprocess::{PreprocessError, Preprocessed, preprocess_rgba, preprocess_rgba_as};
pub use weights::{TrainingLogEntry, Validation, WeightsError, WeightsFile, WeightsMeta};

/// Side of an MNIST image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in one MNIST image (`28 × 28`).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Dimensions of the latent space: two, so it can be drawn.
pub const LATENT_DIM: usize = 2;
