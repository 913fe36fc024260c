//! `cargo run --release -p trainer`: trains the explorer's VAE (or AE, or another β) on MNIST
//! and exports weights where the wasm crate embeds them.

mod checkpoint;
mod data;
mod eval;
mod exact;
mod export;
mod onnx;
mod pack_data;
mod run;
mod scoring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vae_core::ModelKind;

#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model and export its weights (the default). Prints a progress bar and each epoch's
    /// train and test terms in nats; with --json, a summary object on the last line.
    Train(TrainArgs),
    /// Train every model the page compares (AE, VAE, other β) and export them all. Prints as
    /// `train` does, once per model.
    TrainSuite(TrainArgs),
    /// Test-set ELBO, reconstruction, KL, IWAE log p(x), continuity and completeness of a weights
    /// file. Prints a readable report; with --json, also every figure as one object on the last line.
    Eval(scoring::EvalArgs),
    /// Posterior μ, σ and ELBO terms of image files. Prints one line per image; with --json, one
    /// JSON object per image.
    Encode(eval::EncodeArgs),
    /// Store the test-set posteriors (for the page's scatter layer) in a weights file and re-pack
    /// it. Prints what it stored; with --json, as one object.
    Annotate(eval::AnnotateArgs),
    /// Write a weights file's decoder as ONNX (for the benchmark against onnxruntime-web). Prints
    /// what it wrote; with --json, as one object.
    ExportOnnx(onnx::ExportOnnxArgs),
    /// Write the dataset pack the page trains on (a subset of the IDX files, gzipped) to
    /// datasets/<dataset>.vaed.gz. Prints what it wrote; with --json, as one object.
    PackData(pack_data::PackDataArgs),
}

/// Options of `trainer train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: data::DataArgs,
    /// Passes over the training set (150: ≈ 12 min in release on 2 cores, within 1.2 nats of the
    /// shipped model, which had 300).
    #[arg(long, default_value_t = 150)]
    pub epochs: usize,
    /// Images per optimiser step.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Adam's initial learning rate, at most 1 (cosine-decayed to a tenth over the run by burn's
    /// CosineAnnealingLrScheduler).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Weight of the KL term (1 = the ELBO): of both its parts, unless --beta-mean or --beta-var
    /// sets one.
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// Weight of the KL's mean part ½‖μ‖² (default: --beta). 0 lets the codes drift apart.
    #[arg(long)]
    pub beta_mean: Option<f64>,
    /// Weight of the KL's variance part ½Σ(σ² − 1 − ln σ²) (default: --beta). 0 lets σ shrink to
    /// points.
    #[arg(long)]
    pub beta_var: Option<f64>,
    /// The decoder's pixel distribution: bernoulli (binarised pixels, binary cross-entropy) or
    /// gaussian (grey pixels, squared error / (2σₓ²) + a constant).
    #[arg(long, value_enum, default_value = "bernoulli")]
    pub likelihood: vae_core::LikelihoodKind,
    /// The Gaussian decoder's σₓ per pixel (intensities in [0, 1]), or `learned`: each step uses
    /// the σₓ that minimises its batch's loss (σₓ² = the mean squared error per pixel, the
    /// calibrated decoder of Rybkin et al. 2021) and the weights record where it settled. The
    /// exercise sheet's plain ‖x − x′‖² + KL is σₓ = 1/√2 ≈ 0.71.
    #[arg(long, default_value = "0.1", value_parser = parse_sigma_x)]
    pub sigma_x: SigmaXArg,
    /// Training images held out as the validation split (chosen by --seed): every epoch is
    /// scored on them, and --keep best writes the epoch they score best. 0: train on all
    /// [default: 5000, or a twelfth of a smaller training set].
    #[arg(long)]
    pub validation: Option<usize>,
    /// Which epoch to write: best (the best validation ELBO) or last.
    #[arg(long, value_enum, default_value = "best")]
    pub keep: KeepArg,
    /// vae, or ae for a plain autoencoder.
    #[arg(long, value_enum, default_value = "vae")]
    pub model: ModelKind,
    /// Hidden layer widths of the encoder (the decoder mirrors them), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [512, 256])]
    pub hidden: Vec<usize>,
    /// Seed for initialisation, shuffling, binarisation and sampling.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Smoke run: 1 epoch on 2,000 training and 500 test images.
    #[arg(long)]
    pub short: bool,
    /// Use only the first N training images (and N/6 test images).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Where to write the weights (default: weights/<name>.vaew, embedded by the wasm crate).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Name of the model on the page (default: vae, ae or vae-beta<β>).
    #[arg(long)]
    pub name: Option<String>,
    /// Also print one JSON object with the final figures on the last line.
    #[arg(long)]
    pub json: bool,
    /// Where to keep the checkpoint written after every epoch (default: beside --out with the
    /// extension .ckpt, else checkpoints/<name>.ckpt). Removed once the weights are written.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue the interrupted run from its checkpoint (same flags as the run it continues).
    #[arg(long)]
    pub resume: bool,
}

/// `--sigma-x`'s values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SigmaXArg {
    /// A fixed σₓ.
    Fixed(f64),
    /// Calibrated at every step.
    Learned,
}

fn parse_sigma_x(text: &str) -> Result<SigmaXArg, String> {
    match text {
        "learned" => Ok(SigmaXArg::Learned),
        number => number.parse().map(SigmaXArg::Fixed).map_err(|_| format!("{number:?} is neither a number (e.g. 0.1) nor `learned`")),
    }
}

/// `--keep`'s values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepArg {
    /// The epoch with the best validation ELBO.
    Best,
    /// The last epoch.
    Last,
}

/// Validation images held out by default.
pub const DEFAULT_VALIDATION: usize = 5000;

/// A learned σₓ before the first step (the fixed default's value).
const LEARNED_SIGMA_X_START: f64 = 0.1;

impl TrainArgs {
    /// The decoder's likelihood as the flags give it.
    pub fn likelihood(&self) -> vae_core::Likelihood {
        match self.sigma_x {
            SigmaXArg::Fixed(sigma_x) => vae_core::Likelihood::of(self.likelihood, sigma_x, false),
            // Where evaluation stands before the first step; each step sets its own.
            SigmaXArg::Learned => vae_core::Likelihood::of(self.likelihood, LEARNED_SIGMA_X_START, true),
        }
    }

    /// What the training steps optimise.
    pub fn objective(&self) -> vae_core::train::Objective {
        vae_core::train::Objective::new(self.model, self.beta)
            .with_betas(self.beta_mean.unwrap_or(self.beta), self.beta_var.unwrap_or(self.beta))
            .with_likelihood(self.likelihood())
    }

    /// Images to hold out for validation from `train_images`: `--validation`, else
    /// [`DEFAULT_VALIDATION`] (a twelfth of MNIST's 60,000) or a twelfth of a smaller set.
    pub fn validation_images(&self, train_images: usize) -> usize {
        self.validation.unwrap_or(DEFAULT_VALIDATION.min(train_images / 12))
    }

    /// The page's name for this model.
    pub fn model_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| match self.model {
            ModelKind::Ae => "ae".into(),
            ModelKind::Vae if self.beta == 1.0 => "vae".into(),
            ModelKind::Vae => format!("vae-beta{}", self.beta),
        })
    }

    /// Where this run's checkpoint lives.
    pub fn checkpoint_path(&self) -> PathBuf {
        match (&self.checkpoint, &self.out) {
            (Some(path), _) => path.clone(),
            (None, Some(out)) => out.with_extension("ckpt"),
            (None, None) => format!("checkpoints/{}.ckpt", self.model_name()).into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Train(args)) => run::train(&args),
        Some(Command::TrainSuite(args)) => run::train_suite(&args),
        Some(Command::Eval(args)) if args.exact => exact::eval_exact(&args),
        Some(Command::Eval(args)) => eval::eval(&args),
        Some(Command::Encode(args)) => eval::encode(&args),
        Some(Command::Annotate(args)) => eval::annotate(&args),
        Some(Command::ExportOnnx(args)) => onnx::export_onnx(&args),
        Some(Command::PackData(args)) => pack_data::pack_data(&args),
        None => run::train(&cli.train),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
