//! Training checkpoints: model + optimiser state + the epoch reached, written atomically after
//! every epoch so a killed run loses at most one epoch and `--resume` continues it exactly.
//!
//! The random streams need no saving: every epoch reseeds them from (seed, epoch), so a resumed
//! run draws the same shuffles, binarisations and ε as an uninterrupted one.
//!
//! Layout: vae-core's envelope ([`vae_core::framing`]) with magic `VAECKPT\0`, a JSON header
//! (the run's settings, the epochs done, a learned σₓ's running value, the kept epoch's figures)
//! and three parts: the model (burnpack, f32, parameter ids kept so the optimiser state
//! matches), the optimiser state (burnpack) and the model `--keep best` has kept so far (burnpack;
//! empty when none).

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use vae_core::framing::{self, FrameError};
use vae_core::{TrainingLogEntry, Vae, VaeConfig};

use crate::export::write_atomic;

const MAGIC: &[u8; 8] = b"VAECKPT\0";
/// Version 2 added the kept model and a learned σₓ.
const VERSION: u32 = 2;

/// What a run was started with: resuming under different settings would silently train
/// another model, so every field must match. (The learning rate may change on resume: lowering
/// it is how a diverged run is rescued.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub name: String,
    /// VAE or AE (stored as vae-core's enum: the same JSON as the string it replaced).
    pub kind: vae_core::ModelKind,
    pub beta: f64,
    /// The KL mean part's weight when it differs from `beta` (checkpoints before it: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta_mean: Option<f64>,
    /// The decoder's likelihood (checkpoints before it: Bernoulli).
    #[serde(default, skip_serializing_if = "vae_core::Likelihood::is_bernoulli")]
    pub likelihood: vae_core::Likelihood,
    pub hidden: Vec<usize>,
    pub batch_size: usize,
    pub seed: u64,
    pub epochs: usize,
    pub train_images: usize,
    /// Images held out for validation.
    pub validation_images: usize,
    /// Whether the best validation epoch is written (else the last).
    pub keep_best: bool,
    pub dataset: String,
}

/// The epoch `--keep best` has kept so far, as the header records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct KeptHeader {
    epoch: usize,
    validation: vae_core::ElboTerms,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sigma_x: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    settings: RunSettings,
    /// Epochs finished when the checkpoint was written.
    epochs_done: usize,
    /// The run's training log so far (checkpoints written before it existed have none).
    #[serde(default)]
    log: Vec<TrainingLogEntry>,
    /// A learned σₓ's running value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sigma_x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kept: Option<KeptHeader>,
}

/// A run's state after `epochs_done` epochs.
pub struct Checkpoint {
    pub settings: RunSettings,
    pub epochs_done: usize,
    /// The training log up to `epochs_done`, carried on into the weights file.
    pub log: Vec<TrainingLogEntry>,
    /// A learned σₓ's running value.
    pub sigma_x: Option<f64>,
    kept: Option<KeptHeader>,
    model: Vec<u8>,
    optimizer: Vec<u8>,
    kept_model: Vec<u8>,
}

impl Checkpoint {
    /// Captures the model (autodiff or not) and the optimiser after `epochs_done` epochs.
    pub fn capture(
        settings: &RunSettings,
        epochs_done: usize,
        log: &[TrainingLogEntry],
        model: &Vae,
        optimizer: &ModuleOptimizer,
    ) -> Result<Self> {
        let model = model_bytes(model)?;
        let optimizer = optimizer.into_bytes().map_err(|e| anyhow::anyhow!("{e}")).context("serialising the optimiser")?;
        Ok(Self {
            settings: settings.clone(),
            epochs_done,
            log: log.to_vec(),
            sigma_x: None,
            kept: None,
            model,
            optimizer: optimizer.to_vec(),
            kept_model: Vec::new(),
        })
    }

    /// The same checkpoint with a learned σₓ's running value.
    pub fn with_sigma_x(self, sigma_x: Option<f64>) -> Self {
        Self { sigma_x, ..self }
    }

    /// The same checkpoint with the epoch `--keep best` has kept so far.
    pub fn with_kept(self, kept: Option<&crate::run::Kept>) -> Result<Self> {
        let Some(kept) = kept else { return Ok(self) };
        let header = KeptHeader { epoch: kept.epoch, validation: kept.validation, sigma_x: kept.sigma_x };
        Ok(Self { kept: Some(header), kept_model: model_bytes(&kept.model)?, ..self })
    }

    /// The kept epoch, its model on `device` (for inference).
    pub fn kept(&self, config: &VaeConfig, device: &Device) -> Result<Option<crate::run::Kept>> {
        let Some(header) = self.kept else { return Ok(None) };
        let model = load_model(&self.kept_model, config, device).context("the checkpoint's kept model")?;
        Ok(Some(crate::run::Kept { epoch: header.epoch, validation: header.validation, model, sigma_x: header.sigma_x }))
    }

    /// Writes the checkpoint atomically (a killed run leaves the previous one intact).
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = serde_json::to_vec(&Header {
            settings: self.settings.clone(),
            epochs_done: self.epochs_done,
            log: self.log.clone(),
            sigma_x: self.sigma_x,
            kept: self.kept,
        })?;
        write_atomic(path, &framing::write(MAGIC, VERSION, &header, &[&self.model, &self.optimizer, &self.kept_model]))
    }

    /// Reads and verifies a checkpoint file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("no checkpoint to resume at {}; start without --resume (or pass --checkpoint)", path.display()))?;
        let frame = framing::read(&bytes, MAGIC, VERSION..=VERSION, 3).map_err(|err| match err {
            FrameError::Version { found } => {
                anyhow::anyhow!(
                    "checkpoint {} has format version {found}, this trainer writes {VERSION}; start again without --resume",
                    path.display()
                )
            }
            FrameError::BadMagic => anyhow::anyhow!("{} is not a vae-explorer checkpoint; start again without --resume", path.display()),
            other => anyhow::anyhow!("checkpoint {} is damaged ({other}); start again without --resume", path.display()),
        })?;
        let header: Header = serde_json::from_slice(frame.header)
            .map_err(|e| anyhow::anyhow!("checkpoint {} is damaged (header: {e}); start again without --resume", path.display()))?;
        let (model, optimizer, kept_model) = (frame.parts[0].to_vec(), frame.parts[1].to_vec(), frame.parts[2].to_vec());
        Ok(Self {
            settings: header.settings,
            epochs_done: header.epochs_done,
            log: header.log,
            sigma_x: header.sigma_x,
            kept: header.kept,
            model,
            optimizer,
            kept_model,
        })
    }

    /// Refuses to resume a checkpoint of a different run, naming what differs.
    pub fn check_matches(&self, settings: &RunSettings, path: &Path) -> Result<()> {
        if &self.settings == settings {
            return Ok(());
        }
        let (a, b) = (serde_json::to_value(&self.settings)?, serde_json::to_value(settings)?);
        let differs: Vec<String> = a
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| b.get(k.as_str()) != Some(v))
            .map(|(k, v)| format!("{k}: checkpoint {v}, now {}", b.get(k.as_str()).cloned().unwrap_or_default()))
            .collect();
        bail!(
            "checkpoint {} belongs to another run ({}); resume with the same flags, or start again without --resume",
            path.display(),
            differs.join("; ")
        )
    }

    /// Restores the model on `device` (autodiff for training) and the optimiser state.
    pub fn restore(self, config: &VaeConfig, device: &Device, optimizer: ModuleOptimizer) -> Result<(Vae, ModuleOptimizer)> {
        let model = load_model(&self.model, config, device)?;
        let optimizer =
            optimizer.from_bytes(Bytes::from_bytes_vec(self.optimizer)).map_err(|e| anyhow::anyhow!("checkpoint optimiser state: {e}"))?;
        Ok((model, optimizer))
    }
}

/// A model's parameters as burnpack bytes.
fn model_bytes(model: &Vae) -> Result<Vec<u8>> {
    Ok(model.valid().into_record().into_bytes().map_err(|e| anyhow::anyhow!("{e}")).context("serialising the model")?.to_vec())
}

/// A model from burnpack bytes, on `device`.
fn load_model(bytes: &[u8], config: &VaeConfig, device: &Device) -> Result<Vae> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
    config.init(device).try_load_record(record).map_err(|e| anyhow::anyhow!("checkpoint model does not fit: {e}"))
}
