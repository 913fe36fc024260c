//! The training loop: shuffle, binarise, step, report, export.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

use burn::module::Module;
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use vae_core::optim::FusedAdam;
use vae_core::train::{Learner, cosine_lr, scored_images};
use vae_core::{ElboTerms, IMAGE_PIXELS, ModelKind, TrainingLogEntry, Vae, VaeConfig, WeightsFile, WeightsMeta};

use crate::TrainArgs;
use crate::checkpoint::{Checkpoint, RunSettings};
use crate::data::{Dataset, Split};
use crate::export::write_atomic;

use vae_core::eval::elbo_on;

/// A training run as the flags describe it: data, model, optimiser, schedule and checkpoint.
/// The CLI, `train-suite` and anything else that trains drive the same steps: [`Trainer::new`],
/// [`Trainer::resume`], then [`Trainer::run_epoch`] and [`Trainer::evaluate`] per epoch, and
/// [`Trainer::export`].
pub struct Trainer {
    args: TrainArgs,
    name: String,
    dataset: Dataset,
    device: Device,
    train_device: Device,
    config: VaeConfig,
    learner: Learner,
    /// The test set as the model is scored on it (`scored_images`: binarised once, or grey).
    test_x: Vec<f32>,
    settings: RunSettings,
    epochs: usize,
    /// The next epoch to run, 1-based.
    next_epoch: usize,
    /// One entry per finished epoch, written into the weights file.
    log: Vec<TrainingLogEntry>,
}

/// What one epoch of training gave.
#[derive(Debug, Clone, Copy)]
pub struct EpochReport {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// Mean training terms over the epoch's batches (before each step), nats per image.
    pub train: ElboTerms,
    /// Wall-clock seconds of the epoch's steps.
    pub seconds: f64,
}

impl Trainer {
    /// Checks the flags, loads the data and initialises model and optimiser (seeded).
    pub fn new(args: &TrainArgs) -> Result<Self> {
        check_flags(args)?;
        let mut dataset = args.data.load()?;
        let (epochs, limit) = if args.short { (1, Some(args.limit.unwrap_or(2000))) } else { (args.epochs, args.limit) };
        if let Some(n) = limit {
            dataset.train.truncate(n);
            dataset.test.truncate((n / 6).max(100));
        }
        ensure!(dataset.train.len() >= args.batch_size, "only {} training images for a batch of {}", dataset.train.len(), args.batch_size);
        let device = Device::flex();
        device.seed(args.seed);
        let train_device = device.clone().autodiff();
        let config = VaeConfig::new().with_hidden(args.hidden.clone());
        let model = config.init(&train_device);
        let name = args.model_name();
        let settings = RunSettings {
            name: name.clone(),
            kind: args.model.to_string(),
            beta: args.objective().beta(),
            beta_mean: args.objective().split_beta_mean(),
            likelihood: args.likelihood(),
            hidden: args.hidden.clone(),
            batch_size: args.batch_size,
            seed: args.seed,
            epochs,
            train_images: dataset.train.len(),
            dataset: args.data.dataset().as_str().into(),
        };
        Ok(Self {
            test_x: scored_images(args.likelihood(), &dataset.test.pixels),
            learner: Learner::new(model, FusedAdam::default().init(), args.objective(), vae_core::train::all_threads()),
            args: args.clone(),
            name,
            dataset,
            device,
            train_device,
            config,
            settings,
            epochs,
            next_epoch: 1,
            log: Vec::new(),
        })
    }

    /// Continues from the run's checkpoint, which must belong to a run with the same flags.
    pub fn resume(&mut self) -> Result<()> {
        let path = self.args.checkpoint_path();
        let checkpoint = Checkpoint::load(&path)?;
        checkpoint.check_matches(&self.settings, &path)?;
        self.next_epoch = checkpoint.epochs_done + 1;
        self.log = checkpoint.log.clone();
        println!("resuming {} from {} after epoch {}/{}", self.name, path.display(), checkpoint.epochs_done, self.epochs);
        let (model, optimizer) = checkpoint.restore(&self.config, &self.train_device, FusedAdam::default().init())?;
        self.learner.restore(model, optimizer);
        Ok(())
    }

    /// One line saying what is trained on what.
    pub fn describe(&self) -> String {
        let objective = self.learner.objective;
        let kl = match objective.split_beta_mean() {
            Some(beta_mean) => format!("{beta_mean}·KL_μ + {}·KL_σ", objective.beta_var),
            None => format!("{}·KL", objective.beta()),
        };
        let decoder = match objective.likelihood {
            vae_core::Likelihood::Bernoulli => "Bernoulli decoder".to_string(),
            vae_core::Likelihood::Gaussian { sigma_x } => format!("Gaussian decoder σₓ = {sigma_x}, grey pixels"),
        };
        let objective = match objective.kind {
            ModelKind::Vae => format!("VAE, loss = recon + {kl}, {decoder}"),
            ModelKind::Ae => format!("plain AE, loss = recon (no KL), {decoder}"),
        };
        format!(
            "training {} ({objective}) on {} images ({} test), hidden {:?}, {} epochs of batch {}",
            self.name,
            self.dataset.train.len(),
            self.dataset.test.len(),
            self.args.hidden,
            self.epochs,
            self.args.batch_size
        )
    }

    /// Whether epochs remain.
    pub fn has_epochs_left(&self) -> bool {
        self.next_epoch <= self.epochs
    }

    fn steps_per_epoch(&self) -> usize {
        self.dataset.train.len() / self.args.batch_size
    }

    /// Trains the next epoch (shuffle, binarise afresh, one Adam step per batch on the cosine
    /// schedule) with a progress bar, then writes the checkpoint. A non-finite loss stops the run
    /// and names the last good checkpoint.
    pub fn run_epoch(&mut self) -> Result<EpochReport> {
        let epoch = self.next_epoch;
        // Every epoch draws from streams seeded by (seed, epoch), so a resumed run repeats exactly
        // what the uninterrupted one would have drawn.
        let epoch_seed = self.args.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = SmallRng::seed_from_u64(epoch_seed);
        self.device.seed(epoch_seed);
        let mut order: Vec<usize> = (0..self.dataset.train.len()).collect();
        order.shuffle(&mut rng);
        let steps = self.steps_per_epoch();
        let bar = progress_bar(steps, epoch, self.epochs);
        let started = Instant::now();
        let mut sum = ElboTerms::default();
        for (step, chunk) in order.chunks_exact(self.args.batch_size).enumerate() {
            let terms = self.step(chunk, epoch, step, &mut rng);
            if !(terms.recon.is_finite() && terms.kl.is_finite()) {
                bar.abandon();
                bail!(
                    "the loss became non-finite at epoch {epoch}, step {step} (recon {}, KL {}); {}",
                    terms.recon,
                    terms.kl,
                    self.rescue(epoch)
                );
            }
            sum.add(&terms);
            let seen = (step + 1) as f64;
            let rate = ((step + 1) * self.args.batch_size) as f64 / started.elapsed().as_secs_f64();
            bar.set_message(format!(
                "−ELBO {:.1} = recon {:.1} + KL {:.2} nats · {rate:.0} img/s",
                (sum.recon + sum.kl) / seen,
                sum.recon / seen,
                sum.kl / seen
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let n = steps as f64;
        let train = sum.divided_by(n);
        self.log.push(TrainingLogEntry {
            step: epoch * steps,
            epoch,
            recon: train.recon,
            kl: train.kl,
            kl_mean: train.kl_mean,
            beta: self.learner.objective.beta(),
            beta_mean: self.learner.objective.split_beta_mean(),
            learning_rate: self.learning_rate(epoch, steps - 1),
        });
        Checkpoint::capture(&self.settings, epoch, &self.log, self.learner.model(), self.learner.optimizer())?
            .save(&self.args.checkpoint_path())?;
        self.next_epoch += 1;
        Ok(EpochReport { epoch, train, seconds })
    }

    /// One optimiser step on the images `indices`, binarised afresh, on the cosine schedule.
    fn step(&mut self, indices: &[usize], epoch: usize, step: usize, rng: &mut SmallRng) -> ElboTerms {
        let learning_rate = self.learning_rate(epoch, step);
        self.learner.step(&self.dataset.train.pixels, indices, rng, learning_rate)
    }

    /// The cosine schedule's learning rate at `step` (0-based) of `epoch` (1-based).
    fn learning_rate(&self, epoch: usize, step: usize) -> f64 {
        let steps = self.steps_per_epoch();
        cosine_lr(self.args.lr, ((epoch - 1) * steps + step) as f64 / (steps * self.epochs) as f64)
    }

    /// What to do after a diverged epoch.
    fn rescue(&self, epoch: usize) -> String {
        if epoch > 1 {
            format!(
                "the last good checkpoint (after epoch {}) is {}: continue it with --resume and a lower --lr",
                epoch - 1,
                self.args.checkpoint_path().display()
            )
        } else {
            "retrain with a lower --lr".to_string()
        }
    }

    /// Test-set reconstruction and KL of the current model, nats per image.
    pub fn evaluate(&self) -> ElboTerms {
        let objective = self.learner.objective;
        elbo_on(&self.learner.model().valid(), objective.kind, objective.likelihood, &self.test_x, &self.device)
    }

    /// Writes the weights file (with `test`'s figures and the shipped test posteriors) atomically
    /// and removes the checkpoint; returns where and how many bytes.
    pub fn export(&self, test: ElboTerms) -> Result<(PathBuf, usize)> {
        let out = self.args.out.clone().unwrap_or_else(|| format!("weights/{}.vaew", self.name).into());
        let model = self.learner.model().valid();
        let kind = self.learner.objective.kind;
        let meta = WeightsMeta {
            name: self.name.clone(),
            kind,
            beta: if kind == ModelKind::Ae { 0.0 } else { self.learner.objective.beta() },
            beta_mean: if kind == ModelKind::Ae { None } else { self.learner.objective.split_beta_mean() },
            likelihood: self.learner.objective.likelihood,
            config: self.config.clone(),
            dataset: self.args.data.dataset().as_str().into(),
            // The dataset's, filled in by `WeightsFile::from_model`.
            classes: Vec::new(),
            preprocessing: None,
            epochs: self.epochs,
            seed: self.args.seed,
            test_recon: test.recon,
            test_kl: test.kl,
            test_posteriors: test_posteriors(&model, kind, &self.dataset.test, &self.device),
            training_log: self.log.clone(),
        };
        let bytes = WeightsFile::from_model(model, meta).context("packing the trained weights")?.to_bytes();
        write_atomic(&out, &bytes)?;
        // The run is complete and its weights are safe: the checkpoint has served its purpose.
        let _ = std::fs::remove_file(self.args.checkpoint_path());
        Ok((out, bytes.len()))
    }
}

fn check_flags(args: &TrainArgs) -> Result<()> {
    ensure!(args.epochs > 0 || args.short, "--epochs must be at least 1");
    ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    ensure!(args.lr.is_finite() && args.lr > 0.0, "--lr must be a positive number");
    for (flag, beta) in [("--beta", Some(args.beta)), ("--beta-mean", args.beta_mean), ("--beta-var", args.beta_var)] {
        ensure!(beta.is_none_or(|b| b.is_finite() && b >= 0.0), "{flag} must be a non-negative number");
    }
    args.likelihood().checked().map_err(|e| anyhow::anyhow!("--sigma-x: {e}"))?;
    ensure!(!args.hidden.is_empty() && !args.hidden.contains(&0), "--hidden needs widths ≥ 1, e.g. 512,256");
    Ok(())
}

/// Trains as `args` say and writes the weights file.
pub fn train(args: &TrainArgs) -> Result<()> {
    let mut trainer = Trainer::new(args)?;
    if args.resume {
        trainer.resume()?;
    }
    println!("{}", trainer.describe());
    let started = Instant::now();
    let (mut fastest_epoch, mut fastest_steps) = (f64::INFINITY, f64::INFINITY);
    let mut test = None;
    while trainer.has_epochs_left() {
        let mut report = trainer.run_epoch()?;
        fastest_steps = fastest_steps.min(report.seconds);
        let evaluation = Instant::now();
        let terms = trainer.evaluate();
        // An epoch's time includes its test-set evaluation, as the PyTorch reference's does.
        report.seconds += evaluation.elapsed().as_secs_f64();
        print_epoch(&report, &terms, trainer.epochs);
        fastest_epoch = fastest_epoch.min(report.seconds);
        test = Some(terms);
    }
    let test = test.unwrap_or_else(|| trainer.evaluate());
    let (out, bytes) = trainer.export(test)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "wrote {} ({:.1} MB) after {seconds:.0}s: test ELBO {:.2} nats (recon {:.2}, KL {:.2})",
        out.display(),
        bytes as f64 / 1e6,
        test.elbo(),
        test.recon,
        test.kl
    );
    if args.json {
        let images_per_epoch = (trainer.steps_per_epoch() * args.batch_size) as f64;
        let summary = serde_json::json!({
            "name": trainer.name, "weights": out, "epochs": trainer.epochs,
            "elbo": test.elbo(), "recon": test.recon, "kl": test.kl,
            "seconds": seconds,
            // The fastest epoch: its training steps and its test-set evaluation.
            "epoch_s": fastest_epoch.is_finite().then_some(fastest_epoch),
            "images_per_s": fastest_epoch.is_finite().then(|| images_per_epoch / fastest_epoch),
            // The training steps alone (no evaluation): what the page's training compares with.
            "step_images_per_s": fastest_steps.is_finite().then(|| images_per_epoch / fastest_steps),
        });
        println!("{summary}");
    }
    Ok(())
}

fn print_epoch(report: &EpochReport, test: &ElboTerms, epochs: usize) {
    let train = report.train;
    println!(
        "epoch {:>3}/{epochs}  train −ELBO {:7.2} (recon {:7.2}, KL {:5.2})  test −ELBO {:7.2} (recon {:7.2}, KL {:5.2}) nats  {:.1}s",
        report.epoch,
        -train.elbo(),
        train.recon,
        train.kl,
        -test.elbo(),
        test.recon,
        test.kl,
        report.seconds
    );
}

/// The models the page compares, trained one after another with the same architecture and
/// schedule: plain AE, VAE (β = 1), and VAEs with a weaker and a stronger KL term.
pub fn train_suite(args: &TrainArgs) -> Result<()> {
    ensure!(args.out.is_none() && args.name.is_none(), "train-suite names its own outputs; drop --out and --name");
    let runs = [(ModelKind::Ae, 1.0), (ModelKind::Vae, 1.0), (ModelKind::Vae, 0.1), (ModelKind::Vae, 4.0)];
    for (model, beta) in runs {
        let mut one = args.clone();
        one.model = model;
        one.beta = beta;
        train(&one)?;
    }
    Ok(())
}

/// Test images whose posteriors ship with the weights (for the page's scatter layer).
pub const SHIPPED_POSTERIORS: usize = 2000;

/// Posteriors `[μ₁, μ₂, σ₁, σ₂, label]` of the first [`SHIPPED_POSTERIORS`] test images.
pub fn test_posteriors(model: &Vae, kind: ModelKind, test: &Split, device: &Device) -> Vec<[f32; 5]> {
    let n = test.len().min(SHIPPED_POSTERIORS);
    vae_core::readout::encode_many(model, kind, &test.pixels[..n * IMAGE_PIXELS], device)
        .into_iter()
        .zip(&test.labels)
        // 1e-3 latent units is far below a pixel of the plane; rounding halves what the page downloads.
        .map(|(p, &label)| [round3(p[0]), round3(p[1]), round3(p[2]), round3(p[3]), label as f32])
        .collect()
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn progress_bar(steps: usize, epoch: usize, epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}/{epochs}"));
    bar
}
