//! Training checkpoints: model + optimiser state + the epoch reached, written atomically after
//! every epoch so a killed run loses at most one epoch and `--resume` continues it exactly.
//!
//! The random streams need no saving: every epoch reseeds them from (seed, epoch), so a resumed
//! run draws the same shuffles, binarisations and ε as an uninterrupted one.
//!
//! Layout: `VAECKPT\0`, u32 version, u32 header length, JSON header, u64 model length, model
//! (burnpack, f32, parameter ids kept so the optimiser state matches), u64 optimiser length,
//! optimiser (burnpack), u32 CRC-32 of everything before it. Integers little-endian.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use vae_core::{Vae, VaeConfig};

use crate::export::write_atomic;

const MAGIC: &[u8; 8] = b"VAECKPT\0";
const VERSION: u32 = 1;

/// What a run was started with: resuming under different settings would silently train
/// another model, so every field must match. (The learning rate may change on resume: lowering
/// it is how a diverged run is rescued.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub name: String,
    pub kind: String,
    pub beta: f64,
    pub hidden: Vec<usize>,
    pub batch_size: usize,
    pub seed: u64,
    pub epochs: usize,
    pub train_images: usize,
    pub dataset: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    settings: RunSettings,
    /// Epochs finished when the checkpoint was written.
    epochs_done: usize,
}

/// A run's state after `epochs_done` epochs.
pub struct Checkpoint {
    pub settings: RunSettings,
    pub epochs_done: usize,
    model: Vec<u8>,
    optimizer: Vec<u8>,
}

impl Checkpoint {
    /// Captures the model (autodiff or not) and the optimiser after `epochs_done` epochs.
    pub fn capture(settings: &RunSettings, epochs_done: usize, model: &Vae, optimizer: &ModuleOptimizer) -> Result<Self> {
        let model = model.valid().into_record().into_bytes().map_err(|e| anyhow::anyhow!("{e}")).context("serialising the model")?;
        let optimizer = optimizer.into_bytes().map_err(|e| anyhow::anyhow!("{e}")).context("serialising the optimiser")?;
        Ok(Self { settings: settings.clone(), epochs_done, model: model.to_vec(), optimizer: optimizer.to_vec() })
    }

    /// Writes the checkpoint atomically (a killed run leaves the previous one intact).
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = serde_json::to_vec(&Header { settings: self.settings.clone(), epochs_done: self.epochs_done })?;
        let mut out = Vec::with_capacity(32 + header.len() + self.model.len() + self.optimizer.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for part in [&self.model, &self.optimizer] {
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(part);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        write_atomic(path, &out)
    }

    /// Reads and verifies a checkpoint file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| {
            format!("no checkpoint to resume at {}; start without --resume (or pass --checkpoint)", path.display())
        })?;
        let damaged = |what: &str| anyhow::anyhow!("checkpoint {} is damaged ({what}); start again without --resume", path.display());
        ensure!(bytes.len() >= 8 && &bytes[..8] == MAGIC, damaged("not a vae-explorer checkpoint"));
        ensure!(bytes.len() >= 4 + 8, damaged("truncated"));
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(damaged("checksum mismatch"));
        }
        let mut pos: usize = 8;
        let mut take = |n: usize| -> Result<&[u8]> {
            let part = body.get(pos..pos.checked_add(n).ok_or_else(|| damaged("length overflow"))?).ok_or_else(|| damaged("truncated"))?;
            pos += n;
            Ok(part)
        };
        let version = u32::from_le_bytes(take(4)?.try_into()?);
        ensure!(version == VERSION, "checkpoint {} has format version {version}, this trainer writes {VERSION}; start again without --resume", path.display());
        let header_len = u32::from_le_bytes(take(4)?.try_into()?) as usize;
        let header: Header = serde_json::from_slice(take(header_len)?).map_err(|_| damaged("header"))?;
        let model_len = usize::try_from(u64::from_le_bytes(take(8)?.try_into()?))?;
        let model = take(model_len)?.to_vec();
        let optimizer_len = usize::try_from(u64::from_le_bytes(take(8)?.try_into()?))?;
        let optimizer = take(optimizer_len)?.to_vec();
        Ok(Self { settings: header.settings, epochs_done: header.epochs_done, model, optimizer })
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
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.model)).map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
        let model = config.init(device).try_load_record(record).map_err(|e| anyhow::anyhow!("checkpoint model does not fit: {e}"))?;
        let optimizer = optimizer
            .from_bytes(Bytes::from_bytes_vec(self.optimizer))
            .map_err(|e| anyhow::anyhow!("checkpoint optimiser state: {e}"))?;
        Ok((model, optimizer))
    }
}
