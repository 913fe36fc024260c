//! What `trainer eval` and `trainer eval --exact` share: their options, reading a weights file,
//! and the units a Gaussian decoder's figures are in. (Both eval.rs and exact.rs build on it, so
//! neither imports the other for these.)

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::prelude::*;
use clap::Args;
use vae_core::{Likelihood, Vae, WeightsFile};

use crate::data;

/// Options of `trainer eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The weights file to evaluate.
    #[arg(long, default_value = "weights/vae.vaew")]
    pub weights: PathBuf,
    #[command(flatten)]
    pub data: data::DataArgs,
    /// Importance samples per image for the IWAE bound (1000 for the reported figures).
    #[arg(long, default_value_t = 1000)]
    pub k: usize,
    /// Evaluate on the first N test images only.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Score by quadrature instead: the exact mean log p(x) (no sampling: in two latent
    /// dimensions p(x) = ∫ p(x|z) p(z) dz is a sum on grids), the encoder's ELBO integrated the
    /// same way, and the gap log p(x) − ELBO split into the approximation gap (the best diagonal
    /// Gaussian for each image) and the amortization gap (one encoder for all), with what a full
    /// covariance would gain. A VAE only; minutes on the full test set.
    #[arg(long)]
    pub exact: bool,
    /// With --exact: also compute each image's dense reference (log p(x, z) on a 0.05-step grid
    /// over ±5, the cells near the best refined until halving their step moves log p(x) by less
    /// than 0.005 nats; independent of the bound's search, and 20–100× its cost), report how far
    /// the bound is from it, and write the reference values to this JSON file.
    #[arg(long, requires = "exact", value_name = "FILE")]
    pub write_reference: Option<PathBuf>,
    /// With --exact: compare each image's log p(x) with a reference file that --write-reference
    /// wrote (for the same model and images) instead of computing it again.
    #[arg(long, requires = "exact", conflicts_with = "write_reference", value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// With --exact: IWAE(k) on the same images for each of these k (e.g. `--iwae 1,10,100,1000`),
    /// all from max(k) samples of the encoder's q per image (each estimate the mean over disjoint
    /// groups of k), beside the exact log p(x), with the images where IWAE stays a nat short.
    #[arg(long, requires = "exact", value_delimiter = ',', value_parser = clap::value_parser!(usize))]
    pub iwae: Vec<usize>,
    /// With --exact: score only these test images (indices, e.g. `--images 8,446,519`), binarised
    /// as in a run over the whole set.
    #[arg(long, requires = "exact", value_delimiter = ',')]
    pub images: Vec<usize>,
    /// Also print one JSON object with every figure on the last line (after the readable report).
    #[arg(long)]
    pub json: bool,
}

/// Loads and verifies a weights file.
pub fn load_weights(path: &Path, device: &Device) -> Result<(WeightsFile, Vae)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading {} (train one with `cargo run --release -p trainer`)", path.display()))?;
    let file = WeightsFile::from_bytes(&bytes).with_context(|| path.display().to_string())?;
    let model = file.load_model(device).with_context(|| path.display().to_string())?;
    Ok((file, model))
}

/// " (Gaussian decoder, σₓ = …: nats of a density over grey images)" for a Gaussian decoder,
/// nothing for a Bernoulli one: what a report adds so that its figures are not read as
/// Bernoulli nats.
pub fn gaussian_units(likelihood: Likelihood) -> String {
    match likelihood {
        Likelihood::Bernoulli => String::new(),
        Likelihood::Gaussian { sigma_x, learned } => {
            format!(" (Gaussian decoder, σₓ = {}: nats of a density over grey images)", sigma_x_text(sigma_x, learned))
        }
    }
}

/// A Gaussian decoder's σₓ as the reports say it: a fixed one as it was given, a learned one to
/// four places and named so.
pub fn sigma_x_text(sigma_x: f64, learned: bool) -> String {
    if learned { format!("{sigma_x:.4}, learned") } else { sigma_x.to_string() }
}
