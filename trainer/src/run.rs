//! `trainer train`: vae-core's training session with a progress bar, checkpoints and a report.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail, ensure};

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use vae_core::optim::FusedAdam;
use vae_core::session::{Plan, Session, Settings, TrainError, TrainingData};
use vae_core::{ElboTerms, ModelKind, VaeConfig};

use crate::checkpoint::{Checkpoint, RunSettings};
use crate::export::write_atomic;
use crate::{KeepArg, SigmaXArg, TrainArgs};

/// A training run as the flags describe it: vae-core's [`Session`] (the loop the page's training
/// also runs) with the trainer's data, progress bar and checkpoints. The CLI, `train-suite` and
/// anything else that trains drive the same steps: [`Trainer::new`], [`Trainer::resume`], then
/// [`Trainer::run_epoch`] and [`Trainer::evaluate`] per epoch, and [`Trainer::export`].
pub struct Trainer {
    args: TrainArgs,
    name: String,
    session: Session,
    /// Training, validation and test images.
    counts: (usize, usize, usize),
    settings: RunSettings,
    epochs: usize,
    /// The next epoch to run, 1-based.
    next_epoch: usize,
    /// Under `--keep best`: the epoch with the best validation ELBO so far.
    best: Option<Kept>,
}

/// The model of an epoch kept for writing, with its validation figures.
#[derive(Debug, Clone)]
pub struct Kept {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// Its validation terms, nats per image.
    pub validation: ElboTerms,
    /// Its model, for inference.
    pub model: vae_core::Vae,
    /// A learned σₓ's running value at that epoch.
    pub sigma_x: Option<f64>,
}

/// An epoch's figures on the held-out images.
#[derive(Debug, Clone, Copy)]
pub struct EpochFigures {
    /// On the validation split (none without one).
    pub validation: Option<ElboTerms>,
    /// On the test set.
    pub test: ElboTerms,
    /// A learned σₓ's running value.
    pub sigma_x: Option<f64>,
}

/// What [`Trainer::export`] wrote.
#[derive(Debug)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// How many bytes.
    pub bytes: usize,
    /// The written model's test terms.
    pub test: ElboTerms,
    /// The validation record in its header.
    pub validation: Option<vae_core::Validation>,
    /// Its σₓ when learned.
    pub sigma_x: Option<f64>,
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
        let held_out = args.validation_images(dataset.train.len());
        ensure!(
            held_out < dataset.train.len(),
            "--validation {held_out} leaves none of the {} training images; hold out fewer",
            dataset.train.len()
        );
        ensure!(
            held_out > 0 || args.keep == KeepArg::Last,
            "--keep best chooses the epoch on a validation split: give --validation N (N ≥ 1), or --keep last"
        );
        let mut validation = dataset.train.hold_out(held_out, args.seed);
        let (epochs, limit) = if args.short { (1, Some(args.limit.unwrap_or(2000))) } else { (args.epochs, args.limit) };
        if let Some(n) = limit {
            dataset.train.truncate(n);
            dataset.test.truncate((n / 6).max(100));
            validation.truncate((n / 6).max(100));
        }
        ensure!(dataset.train.len() >= args.batch_size, "only {} training images for a batch of {}", dataset.train.len(), args.batch_size);
        let name = args.model_name();
        let settings = RunSettings {
            name: name.clone(),
            kind: args.model,
            beta: args.objective().beta(),
            beta_mean: args.objective().split_beta_mean(),
            likelihood: args.likelihood(),
            hidden: args.hidden.clone(),
            batch_size: args.batch_size,
            seed: args.seed,
            epochs,
            train_images: dataset.train.len(),
            validation_images: validation.len(),
            keep_best: args.keep == KeepArg::Best,
            dataset: args.data.dataset().as_str().into(),
        };
        let counts = (dataset.train.len(), validation.len(), dataset.test.len());
        let data = TrainingData {
            dataset: settings.dataset.clone(),
            train: dataset.train.pixels,
            validation: validation.pixels,
            test: dataset.test.pixels,
            test_labels: dataset.test.labels,
        };
        let session = Session::start(
            data,
            Settings {
                objective: args.objective(),
                config: VaeConfig::new().with_hidden(args.hidden.clone()),
                learning_rate: args.lr,
                batch_size: args.batch_size,
                seed: args.seed,
                plan: Plan::Epochs(epochs),
            },
        )
        .map_err(|e| anyhow!("{e}"))?;
        Ok(Self { args: args.clone(), name, session, counts, settings, epochs, next_epoch: 1, best: None })
    }

    /// Continues from the run's checkpoint, which must belong to a run with the same flags.
    pub fn resume(&mut self) -> Result<()> {
        let path = self.args.checkpoint_path();
        let checkpoint = Checkpoint::load(&path)?;
        checkpoint.check_matches(&self.settings, &path)?;
        self.next_epoch = checkpoint.epochs_done + 1;
        println!("resuming {} from {} after epoch {}/{}", self.name, path.display(), checkpoint.epochs_done, self.epochs);
        let (done, log, sigma_x) = (checkpoint.epochs_done, checkpoint.log.clone(), checkpoint.sigma_x);
        let config = self.session.settings().config.clone();
        self.best = checkpoint.kept(&config, self.session.device())?;
        let device = self.session.device().clone().autodiff();
        let (model, optimizer) = checkpoint.restore(&config, &device, FusedAdam::default().init())?;
        self.session.resume(done, model, optimizer, log).map_err(|e| anyhow!("{e}"))?;
        if let Some(sigma_x) = sigma_x {
            self.session.resume_sigma_x(sigma_x);
        }
        Ok(())
    }

    /// One line saying what is trained on what.
    pub fn describe(&self) -> String {
        let objective = self.session.settings().objective;
        let kl = match objective.split_beta_mean() {
            Some(beta_mean) => format!("{beta_mean}·KL_μ + {}·KL_σ", objective.beta_var),
            None => format!("{}·KL", objective.beta()),
        };
        let decoder = match objective.likelihood {
            vae_core::Likelihood::Bernoulli => "Bernoulli decoder".to_string(),
            vae_core::Likelihood::Gaussian { learned: true, .. } => {
                "Gaussian decoder, σₓ learned (calibrated per batch), grey pixels".into()
            }
            vae_core::Likelihood::Gaussian { sigma_x, .. } => format!("Gaussian decoder σₓ = {sigma_x}, grey pixels"),
        };
        let keep = match (self.args.keep, self.counts.1) {
            (_, 0) => "no validation split, writes the last epoch".to_string(),
            (KeepArg::Best, n) => format!("{n} validation images, writes the best validation epoch"),
            (KeepArg::Last, n) => format!("{n} validation images, writes the last epoch"),
        };
        let objective = match objective.kind {
            ModelKind::Vae => format!("VAE, loss = recon + {kl}, {decoder}"),
            ModelKind::Ae => format!("plain AE, loss = recon (no KL), {decoder}"),
        };
        format!(
            "training {} ({objective}) on {} images ({keep}; {} test), hidden {:?}, {} epochs of batch {}",
            self.name, self.counts.0, self.counts.2, self.args.hidden, self.epochs, self.args.batch_size
        )
    }

    /// Whether epochs remain.
    pub fn has_epochs_left(&self) -> bool {
        self.next_epoch <= self.epochs
    }

    /// Trains the next epoch (shuffle, binarise afresh, one Adam step per batch on the cosine
    /// schedule) with a progress bar; [`Trainer::evaluate`] then scores it and writes the
    /// checkpoint. A non-finite loss stops the run and names the last good checkpoint.
    pub fn run_epoch(&mut self) -> Result<EpochReport> {
        let epoch = self.next_epoch;
        let steps = self.session.steps_per_epoch();
        let bar = progress_bar(steps, epoch, self.epochs);
        let started = Instant::now();
        let mut sum = ElboTerms::default();
        for step in 0..steps {
            let terms = match self.session.step() {
                Ok(terms) => terms,
                Err(TrainError::Diverged { loss, .. }) => {
                    bar.abandon();
                    bail!("the loss became non-finite ({loss}) at epoch {epoch}, step {step}; {}", self.rescue(epoch));
                }
                Err(other) => return Err(other.into()),
            };
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
        self.next_epoch += 1;
        Ok(EpochReport { epoch, train: sum.divided_by(steps as f64), seconds })
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

    /// The current model's validation and test figures, nats per image.
    pub fn figures(&mut self) -> EpochFigures {
        let validation = self.session.validation_terms();
        let test = self.session.test_terms();
        EpochFigures { validation, test, sigma_x: self.learned_sigma_x() }
    }

    /// A learned σₓ's running value (none when σₓ is fixed).
    fn learned_sigma_x(&self) -> Option<f64> {
        let likelihood = self.session.objective().likelihood;
        likelihood.is_learned().then(|| likelihood.sigma_x()).flatten()
    }

    /// Scores the epoch just trained ([`Trainer::figures`]), keeps it if its validation ELBO is
    /// the best yet (`--keep best`), and writes the checkpoint.
    pub fn evaluate(&mut self) -> Result<EpochFigures> {
        let figures = self.figures();
        let epoch = self.next_epoch - 1;
        if let Some(validation) = figures.validation
            && self.args.keep == KeepArg::Best
            && validation.is_finite()
            && self.best.as_ref().is_none_or(|best| validation.elbo() > best.validation.elbo())
        {
            self.best = Some(Kept { epoch, validation, model: self.session.shown(), sigma_x: figures.sigma_x });
        }
        let learner = self.session.learner();
        Checkpoint::capture(&self.settings, epoch, &self.session.training_log(), learner.model(), learner.optimizer())?
            .with_sigma_x(figures.sigma_x)
            .with_kept(self.best.as_ref())?
            .save(&self.args.checkpoint_path())?;
        Ok(figures)
    }

    /// Writes the weights file of the kept epoch (`--keep best`: the best validation one; else
    /// the last) with its validation and test figures and the first [`SHIPPED_POSTERIORS`] test
    /// posteriors, rounded, atomically, and removes the checkpoint.
    pub fn export(&mut self) -> Result<Written> {
        let out = self.args.out.clone().unwrap_or_else(|| format!("weights/{}.vaew", self.name).into());
        let images = self.counts.1;
        let validation = match self.best.take() {
            Some(kept) => {
                self.session.restore_model(kept.model, kept.sigma_x);
                Some(vae_core::Validation {
                    images,
                    kept_epoch: kept.epoch,
                    best: true,
                    recon: kept.validation.recon,
                    kl: kept.validation.kl,
                })
            }
            None => self.session.validation_terms().map(|last| vae_core::Validation {
                images,
                kept_epoch: self.next_epoch - 1,
                best: false,
                recon: last.recon,
                kl: last.kl,
            }),
        };
        let bytes = self
            .session
            .weights(&self.name, |meta| {
                meta.test_posteriors = shipped(std::mem::take(&mut meta.test_posteriors));
                meta.validation = validation;
            })
            .context("packing the trained weights")?;
        write_atomic(&out, &bytes)?;
        // The run is complete and its weights are safe: the checkpoint has served its purpose.
        let _ = std::fs::remove_file(self.args.checkpoint_path());
        Ok(Written { path: out, bytes: bytes.len(), test: self.session.test_terms(), validation, sigma_x: self.learned_sigma_x() })
    }
}

fn check_flags(args: &TrainArgs) -> Result<()> {
    ensure!(args.epochs > 0 || args.short, "--epochs must be at least 1");
    ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    // burn's cosine schedule takes rates in (0, 1]; Adam's useful ones are far below 1.
    ensure!(args.lr.is_finite() && args.lr > 0.0 && args.lr <= 1.0, "--lr must be above 0 and at most 1");
    for (flag, beta) in [("--beta", Some(args.beta)), ("--beta-mean", args.beta_mean), ("--beta-var", args.beta_var)] {
        ensure!(beta.is_none_or(|b| b.is_finite() && b >= 0.0), "{flag} must be a non-negative number");
    }
    args.likelihood().checked().map_err(|e| anyhow::anyhow!("--sigma-x: {e}"))?;
    ensure!(
        args.sigma_x != SigmaXArg::Learned || args.likelihood == vae_core::LikelihoodKind::Gaussian,
        "--sigma-x learned is the Gaussian decoder's; add --likelihood gaussian"
    );

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
    while trainer.has_epochs_left() {
        let mut report = trainer.run_epoch()?;
        fastest_steps = fastest_steps.min(report.seconds);
        let evaluation = Instant::now();
        let figures = trainer.evaluate()?;
        // An epoch's time includes its test-set evaluation, as the PyTorch reference's does.
        report.seconds += evaluation.elapsed().as_secs_f64();
        print_epoch(&report, &figures, trainer.epochs);
        fastest_epoch = fastest_epoch.min(report.seconds);
    }
    let written = trainer.export()?;
    let seconds = started.elapsed().as_secs_f64();
    let test = written.test;
    let kept = match written.validation {
        Some(v) if v.best => format!("epoch {} (best validation ELBO {:.2}); ", v.kept_epoch, v.elbo()),
        Some(v) => format!("epoch {} (the last; validation ELBO {:.2}); ", v.kept_epoch, v.elbo()),
        None => String::new(),
    };
    let sigma = written.sigma_x.map(|s| format!(", learned σₓ {s:.4}")).unwrap_or_default();
    println!(
        "wrote {} ({:.1} MB) after {seconds:.0}s: {kept}test ELBO {:.2} nats (recon {:.2}, KL {:.2}){sigma}",
        written.path.display(),
        written.bytes as f64 / 1e6,
        test.elbo(),
        test.recon,
        test.kl
    );
    if args.json {
        let images_per_epoch = (trainer.session.steps_per_epoch() * args.batch_size) as f64;
        let summary = serde_json::json!({
            "name": trainer.name, "weights": written.path, "epochs": trainer.epochs,
            "elbo": test.elbo(), "recon": test.recon, "kl": test.kl,
            "validation_elbo": written.validation.map(|v| v.elbo()), "kept_epoch": written.validation.map(|v| v.kept_epoch),
            "sigma_x": written.sigma_x,
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

fn print_epoch(report: &EpochReport, figures: &EpochFigures, epochs: usize) {
    let terms = |name: &str, t: &ElboTerms| format!("{name} −ELBO {:7.2} (recon {:7.2}, KL {:5.2})", -t.elbo(), t.recon, t.kl);
    let validation = figures.validation.map(|v| format!("  {}", terms("validation", &v))).unwrap_or_default();
    let sigma = figures.sigma_x.map(|s| format!("  σₓ {s:.4}")).unwrap_or_default();
    println!(
        "epoch {:>3}/{epochs}  {}{validation}  {} nats{sigma}  {:.1}s",
        report.epoch,
        terms("train", &report.train),
        terms("test", &figures.test),
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
pub fn test_posteriors(model: &vae_core::Vae, kind: ModelKind, test: &crate::data::Split, device: &Device) -> Vec<[f32; 5]> {
    let n = test.len().min(SHIPPED_POSTERIORS);
    shipped(vae_core::readout::labelled_codes(model, kind, &test.pixels[..n * vae_core::IMAGE_PIXELS], &test.labels, device))
}

/// The first [`SHIPPED_POSTERIORS`] codes, rounded to 1e-3 latent units: far below a pixel of the
/// plane, and it halves what the page downloads.
fn shipped(mut codes: Vec<[f32; 5]>) -> Vec<[f32; 5]> {
    codes.truncate(SHIPPED_POSTERIORS);
    codes.iter_mut().for_each(|c| c[..4].iter_mut().for_each(|v| *v = (*v * 1000.0).round() / 1000.0));
    codes
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
