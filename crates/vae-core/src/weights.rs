//! The weights file: burn's burnpack record in our envelope ([`crate::framing`]: magic
//! `b"VAEXPLR\0"`, version, lengths, CRC-32) with
//!
//! - header: JSON of [`WeightsMeta`] (architecture, objective, training figures);
//! - one part: burnpack bytes of the model's ModuleRecord, parameters in f16, byte-shuffled in
//!   version 2 (all even bytes, then all odd bytes).
//!
//! Parameters are stored as f16 (half the bytes the page downloads) and cast back to f32 on
//! load; a decoded image moves by well under one grey level. Version 2 shuffles the payload's
//! bytes so the f16 high bytes (sign, exponent: few distinct values) sit together, which gzip
//! shrinks by ≈ 7% more — bytes every visitor of the page downloads. Version 1 files still load.
//!
//! Each field is checked on load, so a truncated, corrupted, foreign or newer file gives a
//! [`WeightsError`] that names the problem instead of a panic or garbage images.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use crate::dataset::{self, Preprocessing};
use crate::framing::{self, FrameError};
use crate::loss::Likelihood;
use crate::message::{Localized, PageMessage};
use crate::model::{ModelKind, NotExplorable, Vae, VaeConfig};
use crate::{IMAGE_PIXELS, LATENT_DIM};

/// First bytes of every weights file.
pub const MAGIC: &[u8; 8] = b"VAEXPLR\0";
/// The version this build writes; it also reads every version from [`OLDEST_READABLE_VERSION`].
pub const FORMAT_VERSION: u32 = 2;
/// The oldest version this build still reads (version 1: the payload is not shuffled).
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// Everything a weights file says about its model, besides the numbers themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsMeta {
    /// Short name used by the page's model switch, e.g. `vae`, `ae`, `vae-beta4`.
    pub name: String,
    /// The objective the model was trained with.
    pub kind: ModelKind,
    /// Weight of the KL term during training (0 for an AE); of its variance part when the mean
    /// part had another weight ([`WeightsMeta::beta_mean`]).
    pub beta: f64,
    /// Weight of the KL's mean part ½‖μ‖² when it differed from `beta` (left out otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_mean: Option<f64>,
    /// How the decoder scores an image: Bernoulli pixels (left out of the header, as in every
    /// file written before the choice existed) or Gaussian pixels with a fixed σₓ. Every readout
    /// of the model (test figures, ELBO, log p(x)) is in this likelihood's units.
    #[serde(default, skip_serializing_if = "Likelihood::is_bernoulli")]
    pub likelihood: Likelihood,
    /// The validation split the epoch was chosen on, and that epoch's figures on it (none for
    /// runs without one: the page's, and every file written before the split existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// Architecture needed to rebuild the model.
    pub config: VaeConfig,
    /// Dataset the model was trained on, e.g. `mnist` (an id of [`crate::dataset::DATASETS`]).
    pub dataset: String,
    /// The name of each class, by label (Fashion-MNIST's "T-shirt/top", …). Left empty, it is
    /// filled in with the dataset's names when the file is packed or read
    /// ([`WeightsMeta::with_dataset_defaults`]): files written before it was recorded read so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// How an image given by a user is made to look like the training images. Left out, it is
    /// the dataset's (MNIST's when it is not one we know), filled in as the class names are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<Preprocessing>,
    /// Epochs trained.
    pub epochs: usize,
    /// Seed of the training run.
    pub seed: u64,
    /// Test-set reconstruction term after training, nats per image.
    pub test_recon: f64,
    /// Test-set KL term after training, nats per image.
    pub test_kl: f64,
    /// Posteriors of a sample of test images, for the page's scatter and aggregate-posterior
    /// layers: `[μ₁, μ₂, σ₁, σ₂, label]` each (σ = 0 for an AE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_posteriors: Vec<[f32; 5]>,
    /// How training went: the training terms at points along the run (per epoch from the
    /// trainer; every few hundred steps and at every change of β or learning rate from the page).
    /// Files written before the log existed have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_log: Vec<TrainingLogEntry>,
}

impl WeightsMeta {
    /// How an image given by a user is preprocessed for this model.
    pub fn preprocessing(&self) -> Preprocessing {
        self.preprocessing.unwrap_or_else(|| dataset::by_id_or_mnist(&self.dataset).preprocessing)
    }

    /// The metadata with the class names and preprocessing its dataset gives where it names
    /// none: every file packed records them, and older files read with them.
    fn with_dataset_defaults(mut self) -> Self {
        let dataset = dataset::by_id_or_mnist(&self.dataset);
        if self.classes.is_empty() {
            self.classes = dataset.class_names();
        }
        self.preprocessing.get_or_insert(dataset.preprocessing);
        self
    }
}

/// How a trainer run chose the epoch it wrote: on images held out of the training set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Images held out of the training set (chosen by the run's seed).
    pub images: usize,
    /// The epoch written (1-based).
    pub kept_epoch: usize,
    /// Whether that is the epoch with the best validation ELBO (`--keep best`) or the last.
    pub best: bool,
    /// The written epoch's validation reconstruction term, nats per image.
    pub recon: f64,
    /// Its validation KL term, nats per image.
    pub kl: f64,
}

impl Validation {
    /// The written epoch's validation ELBO, nats per image.
    pub fn elbo(&self) -> f64 {
        -(self.recon + self.kl)
    }
}

/// One point of a run's training log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainingLogEntry {
    /// Optimiser steps taken when the entry was written.
    pub step: usize,
    /// The epoch (1-based) the entry closes or falls in.
    pub epoch: usize,
    /// Mean training reconstruction term since the previous entry, nats per image.
    pub recon: f64,
    /// Mean training KL term since the previous entry, nats per image.
    pub kl: f64,
    /// The mean part ½‖μ‖² of that KL (entries written before the split read 0).
    #[serde(default)]
    pub kl_mean: f64,
    /// β in force for those steps (the variance part's, when the mean part's differed).
    pub beta: f64,
    /// The mean part's β when it differed from `beta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_mean: Option<f64>,
    /// Learning rate of the last of those steps.
    pub learning_rate: f64,
}

/// Why a weights file could not be used. Each message says what to do next.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WeightsError {
    /// Shorter than its own fields say.
    #[error("weights file is truncated ({0}); re-export it with the trainer")]
    Truncated(String),
    /// Not a vae-explorer weights file.
    #[error("not a vae-explorer weights file (bad magic bytes)")]
    BadMagic,
    /// Written by another version of the format.
    #[error(
        "weights format version {found} is not supported (this build reads {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}); retrain or use a matching build"
    )]
    Version {
        /// Version found in the file.
        found: u32,
    },
    /// The bytes changed after they were written.
    #[error("weights file is corrupted (checksum {found:#010x}, expected {expected:#010x}); re-download or re-export it")]
    Checksum {
        /// Checksum computed over the file.
        found: u32,
        /// Checksum stored in the file.
        expected: u32,
    },
    /// The JSON header does not parse.
    #[error("weights header is invalid: {0}")]
    Header(String),
    /// The architecture is not one the explorer can draw.
    #[error("weights are for another architecture: {0}")]
    NotExplorable(#[from] NotExplorable),
    /// The tensors do not match the architecture the header describes.
    #[error("weights are for another architecture: {0}")]
    Architecture(String),
    /// A parameter is NaN or infinite.
    #[error("weights contain a non-finite value in `{0}`; the training run diverged, retrain it")]
    NonFinite(String),
    /// burn could not write the record.
    #[error("could not serialise the model: {0}")]
    Record(String),
}

/// A parsed weights file: metadata plus the model's burnpack record.
#[derive(Debug, Clone)]
pub struct WeightsFile {
    /// What the file says about the model.
    pub meta: WeightsMeta,
    payload: Vec<u8>,
}

impl WeightsFile {
    /// Packs a trained model with its metadata (the dataset's class names and preprocessing
    /// filled in where the metadata names none).
    pub fn from_model(model: Vae, meta: WeightsMeta) -> Result<Self, WeightsError> {
        check_finite(&model)?;
        let bytes = model.map(&mut CastFloats(DType::F16)).into_record().into_bytes().map_err(|e| WeightsError::Record(e.to_string()))?;
        Ok(Self { meta: meta.with_dataset_defaults(), payload: bytes.to_vec() })
    }

    /// The file's bytes, ready to be written.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.meta).expect("WeightsMeta holds only strings, numbers and arrays: JSON cannot fail");
        framing::write(MAGIC, FORMAT_VERSION, &header, &[&shuffle(&self.payload)])
    }

    /// Parses and verifies a file's bytes (magic, version, lengths, checksum, header).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let frame = framing::read(bytes, MAGIC, OLDEST_READABLE_VERSION..=FORMAT_VERSION, 1)?;
        let meta: WeightsMeta = serde_json::from_slice(frame.header).map_err(|e| WeightsError::Header(e.to_string()))?;
        meta.config.check_explorable()?;
        meta.likelihood.checked().map_err(WeightsError::Header)?;
        let meta = meta.with_dataset_defaults();
        let payload = frame.parts[0];
        let payload = if frame.version >= 2 { unshuffle(payload) } else { payload.to_vec() };
        Ok(Self { meta, payload })
    }

    /// Rebuilds the model on `device`, checking that the tensors fit the architecture and are
    /// finite.
    pub fn load_model(&self, device: &Device) -> Result<Vae, WeightsError> {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.payload.clone()))
            .map_err(|e| WeightsError::Truncated(format!("payload: {e}")))?
            .cast_to_module_dtype();
        let model = self.meta.config.init_to_load(device).try_load_record(record).map_err(|e| WeightsError::Architecture(e.to_string()))?;
        check_finite(&model)?;
        Ok(model)
    }
}

/// Even-indexed bytes, then odd-indexed bytes (for f16 data: low bytes, then high bytes).
fn shuffle(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().step_by(2).chain(bytes.iter().skip(1).step_by(2)).copied().collect()
}

/// The inverse of [`shuffle`] (pairs written into place: pushing byte by byte was a tenth of
/// loading a model).
fn unshuffle(bytes: &[u8]) -> Vec<u8> {
    let (even, odd) = bytes.split_at(bytes.len().div_ceil(2));
    let mut out = vec![0u8; bytes.len()];
    let mut pairs = out.chunks_exact_mut(2);
    for ((pair, &e), &o) in (&mut pairs).zip(even).zip(odd) {
        pair[0] = e;
        pair[1] = o;
    }
    if let (Some(last), Some(&e)) = (pairs.into_remainder().first_mut(), even.last()) {
        *last = e; // an odd length: the last byte has no partner
    }
    out
}

/// Casts every float parameter to one dtype.
struct CastFloats(DType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

impl From<FrameError> for WeightsError {
    fn from(err: FrameError) -> Self {
        match err {
            FrameError::Truncated(what) => WeightsError::Truncated(what.into()),
            FrameError::BadMagic => WeightsError::BadMagic,
            FrameError::Version { found } => WeightsError::Version { found },
            FrameError::HeaderTooLarge(len) => WeightsError::Header(format!("header claims {len} bytes")),
            FrameError::Checksum { found, expected } => WeightsError::Checksum { found, expected },
        }
    }
}

impl Localized for WeightsError {
    fn page_message(&self) -> PageMessage {
        match self {
            WeightsError::Truncated(_) => PageMessage::new("error.weights.truncated"),
            WeightsError::BadMagic => PageMessage::new("error.weights.foreign"),
            WeightsError::Version { found } => PageMessage::new("error.weights.version")
                .with("found", found)
                .with("oldest", OLDEST_READABLE_VERSION)
                .with("newest", FORMAT_VERSION),
            WeightsError::Checksum { .. } => PageMessage::new("error.weights.corrupted"),
            WeightsError::Header(_) => PageMessage::new("error.weights.header"),
            WeightsError::NotExplorable(NotExplorable::LatentDimensions { found }) => {
                PageMessage::new("error.weights.latent").with("found", found).with("drawn", LATENT_DIM)
            }
            WeightsError::NotExplorable(NotExplorable::InputSize { found }) => {
                PageMessage::new("error.weights.input").with("found", found).with("needed", IMAGE_PIXELS)
            }
            WeightsError::NotExplorable(NotExplorable::EmptyLayer) | WeightsError::Architecture(_) => {
                PageMessage::new("error.weights.architecture")
            }
            WeightsError::NonFinite(_) => PageMessage::new("error.weights.non-finite"),
            WeightsError::Record(_) => PageMessage::new("error.weights.record"),
        }
    }
}

/// Every parameter must be finite: a diverged run must not ship.
fn check_finite(model: &Vae) -> Result<(), WeightsError> {
    let layers = model
        .encoder
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("encoder.{i}"), l))
        .chain([("enc_mu".to_string(), &model.enc_mu), ("enc_logvar".to_string(), &model.enc_logvar)])
        .chain(model.decoder.iter().enumerate().map(|(i, l)| (format!("decoder.{i}"), l)));
    for (name, layer) in layers {
        let mut tensors = vec![("weight", layer.weight.val())];
        if let Some(bias) = &layer.bias {
            tensors.push(("bias", bias.val().unsqueeze_dim(0)));
        }
        for (part, t) in tensors {
            let finite = t.is_finite().all().into_scalar::<bool>();
            if !finite {
                return Err(WeightsError::NonFinite(format!("{name}.{part}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shuffling_is_reversible_for_any_length() {
        for n in 0..9 {
            let bytes: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
            assert_eq!(super::unshuffle(&super::shuffle(&bytes)), bytes, "length {n}");
        }
        assert_eq!(super::shuffle(&[1, 2, 3, 4, 5]), vec![1, 3, 5, 2, 4]);
    }
}
