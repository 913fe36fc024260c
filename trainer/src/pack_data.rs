//! `trainer pack-data`: the dataset pack the page trains on (a subset of an IDX dataset, grey
//! levels kept, gzipped), made once from the IDX files and committed like the weights, so that
//! building or serving the page never needs the dataset.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use clap::Args;
use vae_core::IMAGE_PIXELS;
use vae_core::pack::{DataPack, PackHeader, PackSplit};

use crate::data::{self, Split};
use crate::export::write_atomic;

/// Options of `trainer pack-data`.
#[derive(Args, Debug, Clone)]
pub struct PackDataArgs {
    #[command(flatten)]
    pub data: data::DataArgs,
    /// Training images to keep: the first N of the training set.
    #[arg(long, default_value_t = 10_000)]
    pub train: usize,
    /// Test images to keep: the first N of the test set (the page's live views encode them).
    #[arg(long, default_value_t = 1_000)]
    pub test: usize,
    /// Where to write the gzipped pack (`cargo xtask web` turns datasets/<dataset>.vaed.gz into
    /// the page's script).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object ({out, dataset, train, test, bytes}) instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

/// Grey levels 0–255 of the first `n` images of `split` (its intensities are levels / 255).
fn first(split: &Split, n: usize) -> PackSplit {
    let n = n.min(split.len());
    PackSplit {
        images: split.pixels[..n * IMAGE_PIXELS].iter().map(|&p| (p * 255.0).round() as u8).collect(),
        labels: split.labels[..n].to_vec(),
    }
}

/// Writes the pack as `args` say.
pub fn pack_data(args: &PackDataArgs) -> Result<()> {
    ensure!(args.train >= 1 && args.test >= 1, "--train and --test need at least one image each");
    let dataset = args.data.load()?;
    let name = args.data.dataset().as_str();
    let (train, test) = (first(&dataset.train, args.train), first(&dataset.test, args.test));
    let header = PackHeader {
        dataset: name.into(),
        train: train.len(),
        test: test.len(),
        source: format!("the first {} training and {} test images of the {name} IDX files", train.len(), test.len()),
    };
    let pack = DataPack { header, train, test };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&pack.to_bytes()).context("compressing the pack")?;
    let bytes = gz.finish().context("compressing the pack")?;
    let out = args.out.clone().unwrap_or_else(|| format!("datasets/{name}.vaed.gz").into());
    write_atomic(&out, &bytes)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "out": out, "dataset": name, "train": pack.train.len(), "test": pack.test.len(), "bytes": bytes.len() })
        );
    } else {
        println!(
            "wrote {} ({} training and {} test images of {name}, {:.2} MB gzipped)",
            out.display(),
            pack.train.len(),
            pack.test.len(),
            bytes.len() as f64 / 1e6
        );
    }
    Ok(())
}
