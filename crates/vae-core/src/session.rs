//! One training run, as the trainer's command line and the page's Worker both drive it: epochs of
//! shuffled batches, the learning rate's schedule, the return to the last good model when the loss
//! stops being finite, the training log, the test figures and codes of the model shown, and the
//! weights header that carries them. The two callers differ only in their [`Plan`].

use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::loss::{ElboTerms, SIGMA_X_RANGE};
use crate::message::{Localized, PageMessage};
use crate::model::{ModelKind, Vae, VaeConfig};
use crate::optim::FusedAdam;
use crate::pack::DataPack;
use crate::train::{Learner, Objective, all_threads, scored_images};
use crate::weights::{TrainingLogEntry, WeightsFile, WeightsMeta};

/// Learning rates above this are refused (they diverge at once).
pub const MAX_LEARNING_RATE: f64 = 100.0;
/// β above this is refused.
pub const MAX_BETA: f64 = 1000.0;
/// A live run's log gets an entry every this many steps (and at every change of β or learning
/// rate): ten minutes of training in the page stay a few kilobytes of header.
pub const LOG_EVERY_STEPS: usize = 200;

/// How a run paces itself: the page's open-ended live run or the trainer's fixed number of epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    /// The page: a constant learning rate the learner may change, one random stream from the
    /// seed, a log entry every [`LOG_EVERY_STEPS`] steps and at every change, one thread, and
    /// views one step behind the optimiser (the parameters of the last step whose loss was
    /// finite: a diverging step never reaches the plane).
    Live,
    /// The trainer: a cosine schedule from the learning rate to a tenth of it over `epochs`,
    /// each epoch's shuffle and noise seeded by (seed, epoch) so that a resumed run draws what
    /// the uninterrupted one would have, a log entry per epoch, every core, views of the
    /// current model.
    Epochs(usize),
}

/// A run's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// What the steps optimise (model kind, likelihood, the KL parts' weights).
    pub objective: Objective,
    /// The network's widths.
    pub config: VaeConfig,
    /// Adam's learning rate (the schedule's start for [`Plan::Epochs`]).
    pub learning_rate: f64,
    /// Images per step.
    pub batch_size: usize,
    /// Seed of the initial weights, the batches and the binarisation.
    pub seed: u64,
    /// Live or a fixed number of epochs.
    pub plan: Plan,
}

impl Settings {
    /// A live run of a VAE or AE with reconstruction + β·KL, Bernoulli pixels and the default widths.
    pub fn live(kind: ModelKind, beta: f64, learning_rate: f64, batch_size: usize, seed: u64) -> Self {
        Self { objective: Objective::new(kind, beta), config: VaeConfig::new(), learning_rate, batch_size, seed, plan: Plan::Live }
    }
}

/// The images a run trains and is scored on, as intensities in [0, 1].
#[derive(Debug, Clone, Default)]
pub struct TrainingData {
    /// The dataset's id (`mnist`, …).
    pub dataset: String,
    /// Training images, `n × 784`.
    pub train: Vec<f32>,
    /// Validation images held out of the training set, `v × 784` (none in the page): what a
    /// diverged run's return and the trainer's choice of epoch are judged on, never the test set.
    pub validation: Vec<f32>,
    /// Test images, `m × 784`.
    pub test: Vec<f32>,
    /// The test images' labels.
    pub test_labels: Vec<u8>,
}

impl From<DataPack> for TrainingData {
    fn from(pack: DataPack) -> Self {
        Self {
            dataset: pack.header.dataset.clone(),
            train: pack.train.intensities(),
            validation: Vec::new(),
            test: pack.test.intensities(),
            test_labels: pack.test.labels,
        }
    }
}

/// What training has reached, as the page shows it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Optimiser steps taken.
    pub step: usize,
    /// Passes over the training images begun (1-based).
    pub epoch: usize,
    /// Mean reconstruction term of the last steps' batches, nats per image.
    pub recon: f64,
    /// Mean KL term of the last steps' batches, nats per image.
    pub kl: f64,
    /// Its mean part ½‖μ‖².
    pub kl_mean: f64,
    /// Its variance part ½Σ(σ² − 1 − ln σ²).
    pub kl_var: f64,
    /// β of the KL's mean part in force.
    pub beta_mean: f64,
    /// β of the KL's variance part in force.
    pub beta_var: f64,
    /// A learned σₓ's running value (none when σₓ is fixed or the pixels are Bernoulli).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma_x: Option<f64>,
}

/// Why training cannot start or go on. Each message says what to do next.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// β outside `0..=MAX_BETA`.
    #[error("β must be between 0 and {MAX_BETA}")]
    Beta,
    /// A Gaussian likelihood's σₓ outside [`SIGMA_X_RANGE`].
    #[error("σₓ must be between {} and {}", SIGMA_X_RANGE.start(), SIGMA_X_RANGE.end())]
    SigmaX,
    /// A change of likelihood (Bernoulli ↔ Gaussian) in the middle of a run.
    #[error("the likelihood is chosen when a run starts: press Reset to start one with the other")]
    LikelihoodChanged,
    /// A learning rate outside `(0, MAX_LEARNING_RATE]`.
    #[error("the learning rate must be above 0 and at most {MAX_LEARNING_RATE}")]
    LearningRate,
    /// A batch larger than the training set (or empty).
    #[error("the batch size must be 1 to {max} (the training images)")]
    BatchSize {
        /// Training images.
        max: usize,
    },
    /// The loss became NaN or infinite; the model of step `kept` was put back.
    #[error(
        "training diverged at step {failed_at} (the loss became {loss}); the model of step {kept} (the last with a finite test loss) is kept — \
         lower the learning rate (now {learning_rate}) and start again"
    )]
    Diverged {
        /// The step whose loss was not finite.
        failed_at: usize,
        /// That loss.
        loss: f64,
        /// The step of the model kept.
        kept: usize,
        /// The learning rate in force.
        learning_rate: f64,
    },
    /// The model's test loss is not finite, so it cannot be saved.
    #[error("the model at step {step} has a non-finite test loss ({recon} + {kl}); lower the learning rate and start again")]
    NotFinite {
        /// The model's step.
        step: usize,
        /// Its test reconstruction term.
        recon: f64,
        /// Its test KL term.
        kl: f64,
    },
    /// The dataset pack does not parse.
    #[error(transparent)]
    Pack(#[from] crate::pack::PackError),
    /// The model could not be written as weights.
    #[error(transparent)]
    Weights(#[from] crate::WeightsError),
}

impl Localized for TrainError {
    fn page_message(&self) -> PageMessage {
        match self {
            TrainError::Beta => PageMessage::new("error.training.beta").with("max", MAX_BETA),
            TrainError::SigmaX => {
                PageMessage::new("error.training.sigma-x").with("min", SIGMA_X_RANGE.start()).with("max", SIGMA_X_RANGE.end())
            }
            TrainError::LikelihoodChanged => PageMessage::new("error.training.likelihood-changed"),
            TrainError::LearningRate => PageMessage::new("error.training.learning-rate").with("max", MAX_LEARNING_RATE),
            TrainError::BatchSize { max } => PageMessage::new("error.training.batch").with("max", max),
            TrainError::Diverged { failed_at, kept, learning_rate, .. } => {
                PageMessage::new("error.training.diverged").with("failed", failed_at).with("kept", kept).with("lr", learning_rate)
            }
            TrainError::NotFinite { step, .. } => PageMessage::new("error.training.not-finite").with("step", step),
            TrainError::Pack(e) => e.page_message(),
            TrainError::Weights(e) => e.page_message(),
        }
    }
}

/// One training run: the model and its optimiser, where the run is in its epochs, the log, and
/// the test figures of the model shown (computed once per step however often they are asked for).
#[derive(Debug)]
pub struct Session {
    learner: Learner,
    settings: Settings,
    data: TrainingData,
    /// The test images as the likelihood scores them (binarised once, or grey).
    test_scored: Vec<f32>,
    /// The validation images, likewise.
    validation_scored: Vec<f32>,
    /// Shuffles and binarises; reseeded every epoch under [`Plan::Epochs`].
    rng: SmallRng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    step: usize,
    /// The learning rate of the last step taken (or of the next, before the first).
    learning_rate: f64,
    schedule: Option<Scheduler>,
    /// Under [`Plan::Live`]: the parameters the last step with a finite loss started from.
    last_good: Option<Vae>,
    /// The last model whose test loss was seen finite, and its step: what a diverged run goes
    /// back to (a finite batch loss alone does not make a model usable). `None` before the first
    /// test figures of a [`Plan::Epochs`] run.
    checked: Option<(Vae, usize)>,
    device: Device,
    log: Vec<TrainingLogEntry>,
    /// Summed terms of the steps since the last log entry, and how many.
    window: (ElboTerms, usize),
    test_cache: Option<(usize, ElboTerms)>,
    codes_cache: Option<(usize, Vec<[f32; 5]>)>,
}

/// burn's cosine annealing, which keeps no Debug of its own.
struct Scheduler(ModuleLrScheduler);

impl core::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CosineAnnealing")
    }
}

impl Session {
    /// Checks the settings, initialises the model (seeded) and begins the first epoch.
    pub fn start(data: TrainingData, settings: Settings) -> Result<Self, TrainError> {
        check(&settings.objective, settings.learning_rate)?;
        let images = data.train.len() / crate::IMAGE_PIXELS;
        if !(1..=images).contains(&settings.batch_size) {
            return Err(TrainError::BatchSize { max: images });
        }
        let device = Device::flex();
        device.seed(settings.seed);
        let model = settings.config.init(&device.clone().autodiff());
        // burn draws a parameter's initial values at its first use, so the order of first uses
        // is part of a seeded run. Each plan keeps the order its runs always had, so that runs
        // (and the shipped weights) reproduce bit for bit: the page's uses every parameter here,
        // in module order; the trainer's first use is the learner's, then the first step's
        // (after the first epoch has seeded the device).
        let last_good = (settings.plan == Plan::Live).then(|| model.valid());
        let shards = if settings.plan == Plan::Live { 1 } else { all_threads() };
        let mut session = Self {
            learner: Learner::new(model, FusedAdam::default().init(), settings.objective, shards),
            test_scored: scored_images(settings.objective.likelihood, &data.test),
            validation_scored: scored_images(settings.objective.likelihood, &data.validation),
            rng: SmallRng::seed_from_u64(settings.seed),
            order: (0..images).collect(),
            cursor: 0,
            epoch: 0,
            step: 0,
            learning_rate: settings.learning_rate,
            schedule: None,
            checked: last_good.clone().map(|model| (model, 0)),
            last_good,
            device,
            log: Vec::new(),
            window: (ElboTerms::default(), 0),
            test_cache: None,
            codes_cache: None,
            settings,
            data,
        };
        session.schedule = session.scheduler_at(0)?;
        session.begin_epoch();
        Ok(session)
    }

    /// burn's cosine schedule from the learning rate to a tenth of it over the planned steps,
    /// advanced past the first `step` (none under [`Plan::Live`]).
    fn scheduler_at(&mut self, step: usize) -> Result<Option<Scheduler>, TrainError> {
        let Plan::Epochs(epochs) = self.settings.plan else { return Ok(None) };
        let lr = self.settings.learning_rate;
        let total = (self.steps_per_epoch() * epochs).max(1);
        let mut scheduler =
            CosineAnnealingLrSchedulerConfig::new(lr, total).with_min_lr(lr / 10.0).init().map_err(|_| TrainError::LearningRate)?;
        for _ in 0..step {
            self.learning_rate = scheduler.step().base();
        }
        Ok(Some(Scheduler(scheduler)))
    }

    /// Continues a [`Plan::Epochs`] run after `epochs_done` epochs from its checkpoint: the model,
    /// the optimiser's state and the log. The next step begins epoch `epochs_done + 1`.
    pub fn resume(
        &mut self,
        epochs_done: usize,
        model: Vae,
        optimizer: burn::optim::ModuleOptimizer,
        log: Vec<TrainingLogEntry>,
    ) -> Result<(), TrainError> {
        self.step = epochs_done * self.steps_per_epoch();
        self.epoch = epochs_done;
        self.cursor = self.order.len();
        self.checked = Some((model.valid(), self.step));
        self.learner.restore(model, optimizer);
        self.log = log;
        self.window = (ElboTerms::default(), 0);
        (self.test_cache, self.codes_cache) = (None, None);
        self.schedule = self.scheduler_at(self.step)?;
        Ok(())
    }

    /// Continues a learned σₓ from a checkpoint's running value (after [`Session::resume`]).
    pub fn resume_sigma_x(&mut self, sigma_x: f64) {
        self.learner.resume_sigma_x(sigma_x);
        (self.test_cache, self.codes_cache) = (None, None);
    }

    /// The training images the next step takes, by index, when it stays in the current pass
    /// (`None` when it begins a new one, whose shuffle is not drawn yet).
    pub fn next_batch(&self) -> Option<&[usize]> {
        self.order.get(self.cursor..self.cursor + self.settings.batch_size)
    }

    /// Batches in one pass over the training images (the remainder is left out).
    pub fn steps_per_epoch(&self) -> usize {
        self.order.len() / self.settings.batch_size
    }

    /// A new pass over the training images: a fresh shuffle (and, under [`Plan::Epochs`], fresh
    /// streams seeded by the seed and the epoch).
    fn begin_epoch(&mut self) {
        self.epoch += 1;
        self.cursor = 0;
        if let Plan::Epochs(_) = self.settings.plan {
            let epoch_seed = self.settings.seed ^ (self.epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            self.rng = SmallRng::seed_from_u64(epoch_seed);
            self.device.seed(epoch_seed);
            self.order = (0..self.order.len()).collect();
        }
        self.order.shuffle(&mut self.rng);
    }

    /// One optimiser step on the next batch; returns its mean terms. A non-finite loss puts back
    /// the last model with a finite test loss (with a fresh optimiser) and is an error that says so.
    pub fn step(&mut self) -> Result<ElboTerms, TrainError> {
        let batch = self.settings.batch_size;
        if self.cursor + batch > self.order.len() {
            self.begin_epoch();
        }
        if let Some(Scheduler(scheduler)) = &mut self.schedule {
            self.learning_rate = scheduler.step().base();
        }
        let indices = &self.order[self.cursor..self.cursor + batch];
        let start = (self.settings.plan == Plan::Live).then(|| self.learner.model().valid());
        let terms = self.learner.step(&self.data.train, indices, &mut self.rng, self.learning_rate);
        if !terms.is_finite() {
            return Err(self.diverged(terms.recon + terms.kl));
        }
        if start.is_some() {
            // The parameters this step started from gave a finite loss: the last good model.
            self.last_good = start;
        }
        self.cursor += batch;
        self.step += 1;
        self.window.0.add(&terms);
        self.window.1 += 1;
        let closes = match self.settings.plan {
            Plan::Live => self.step.is_multiple_of(LOG_EVERY_STEPS),
            Plan::Epochs(_) => self.cursor + batch > self.order.len(),
        };
        if closes {
            self.close_log_window();
        }
        Ok(terms)
    }

    /// Takes `n` steps; returns the mean terms over them.
    pub fn steps(&mut self, n: usize) -> Result<Progress, TrainError> {
        let mut sum = ElboTerms::default();
        for _ in 0..n {
            sum.add(&self.step()?);
        }
        let mean = sum.divided_by(n.max(1) as f64);
        let objective = self.learner.objective();
        let sigma_x = objective.likelihood.is_learned().then(|| objective.likelihood.sigma_x()).flatten();
        Ok(Progress {
            sigma_x,
            step: self.step,
            epoch: self.epoch,
            recon: mean.recon,
            kl: mean.kl,
            kl_mean: mean.kl_mean,
            kl_var: mean.kl_var(),
            beta_mean: objective.beta_mean,
            beta_var: objective.beta_var,
        })
    }

    /// Changes the KL parts' weights, σₓ (of a Gaussian likelihood: the likelihood itself is the
    /// run's) and the learning rate from the next step on; the steps before close a log entry.
    pub fn set_hyperparameters(&mut self, objective: Objective, learning_rate: f64) -> Result<(), TrainError> {
        check(&objective, learning_rate)?;
        let now = self.learner.objective();
        if objective.kind != now.kind || objective.likelihood.is_bernoulli() != now.likelihood.is_bernoulli() {
            return Err(TrainError::LikelihoodChanged);
        }
        self.close_log_window();
        self.learner.set_objective(objective);
        if self.learner.objective().likelihood != now.likelihood {
            // Another σₓ: the test figures are in other units from here on.
            (self.test_cache, self.codes_cache) = (None, None);
        }
        self.settings.objective = objective;
        self.settings.learning_rate = learning_rate;
        self.learning_rate = learning_rate;
        self.schedule = self.scheduler_at(self.step)?;
        Ok(())
    }

    /// Writes the log entry for the steps since the last one (if any) and starts a new window.
    fn close_log_window(&mut self) {
        self.log.extend(self.window_entry());
        self.window = (ElboTerms::default(), 0);
    }

    /// The log entry for the steps since the last one (none if there were none).
    fn window_entry(&self) -> Option<TrainingLogEntry> {
        let (sum, n) = self.window;
        let mean = sum.divided_by(n as f64);
        (n > 0).then(|| TrainingLogEntry {
            step: self.step,
            epoch: self.epoch,
            recon: mean.recon,
            kl: mean.kl,
            kl_mean: mean.kl_mean,
            beta: self.learner.objective().beta(),
            beta_mean: self.learner.objective().split_beta_mean(),
            learning_rate: self.learning_rate,
        })
    }

    /// The training log up to now, including the steps since the last entry.
    pub fn training_log(&self) -> Vec<TrainingLogEntry> {
        self.log.iter().copied().chain(self.window_entry()).collect()
    }

    /// Puts the last model with a finite test loss back (with a fresh optimiser; a new
    /// initialisation if none was seen yet) and says what happened.
    fn diverged(&mut self, loss: f64) -> TrainError {
        let failed_at = self.step + 1;
        let fresh = self.settings.config.init(&self.device.clone().autodiff());
        let (model, step) = match self.checked.clone() {
            Some((good, step)) => (fresh.load_record(good.into_record()), step),
            None => (fresh, 0),
        };
        if self.last_good.is_some() {
            self.last_good = Some(model.valid());
        }
        self.learner.restore(model, FusedAdam::default().init());
        self.step = step;
        (self.test_cache, self.codes_cache) = (None, None);
        TrainError::Diverged { failed_at, loss, kept: step, learning_rate: self.learning_rate }
    }

    /// The model the views show and a snapshot saves (see [`Plan`]), for inference.
    pub fn shown(&self) -> Vae {
        match &self.last_good {
            Some(model) => model.clone(),
            None => self.learner.model().valid(),
        }
    }

    /// Test-set reconstruction and KL of the model shown, nats per image. Without a validation
    /// split (the page), a finite result makes it the model a diverging run goes back to.
    pub fn test_terms(&mut self) -> ElboTerms {
        if let Some((step, terms)) = self.test_cache
            && step == self.step
        {
            return terms;
        }
        let shown = self.shown();
        let terms = self.terms_on(&shown, &self.test_scored);
        self.test_cache = Some((self.step, terms));
        if terms.is_finite() && self.validation_scored.is_empty() {
            self.checked = Some((shown, self.step));
        }
        terms
    }

    /// Validation-set reconstruction and KL of the model shown, nats per image (`None` without
    /// a validation split). A finite result makes it the model a diverging run goes back to.
    pub fn validation_terms(&mut self) -> Option<ElboTerms> {
        if self.validation_scored.is_empty() {
            return None;
        }
        let shown = self.shown();
        let terms = self.terms_on(&shown, &self.validation_scored);
        if terms.is_finite() {
            self.checked = Some((shown, self.step));
        }
        Some(terms)
    }

    /// Reconstruction and KL of `model` on `scored` images, in the objective's likelihood.
    fn terms_on(&self, model: &Vae, scored: &[f32]) -> ElboTerms {
        let objective = self.learner.objective();
        crate::eval::elbo_on(model, objective.kind, objective.likelihood, scored, &self.device)
    }

    /// Makes `model` (for inference) the run's model, with a fresh optimiser and a learned σₓ's
    /// running value `sigma_x`: the trainer's `--keep best` puts the best validation epoch's
    /// model back before writing its weights.
    pub fn restore_model(&mut self, model: Vae, sigma_x: Option<f64>) {
        let autodiff = self.settings.config.init(&self.device.clone().autodiff()).load_record(model.clone().into_record());
        self.learner.restore(autodiff, FusedAdam::default().init());
        if let Some(sigma_x) = sigma_x {
            self.learner.resume_sigma_x(sigma_x);
        }
        if self.last_good.is_some() {
            self.last_good = Some(model);
        }
        (self.test_cache, self.codes_cache) = (None, None);
    }

    /// The shown model's posteriors of the test images, `[μ₁, μ₂, σ₁, σ₂, label]` each.
    pub fn test_codes(&mut self) -> Vec<[f32; 5]> {
        if let Some((step, codes)) = &self.codes_cache
            && *step == self.step
        {
            return codes.clone();
        }
        let codes = crate::readout::labelled_codes(
            &self.shown(),
            self.learner.objective().kind,
            &self.data.test,
            &self.data.test_labels,
            &self.device,
        );
        self.codes_cache = Some((self.step, codes.clone()));
        codes
    }

    /// The weights header of the shown model named `name`: its test figures and codes, the log.
    /// Fails while its test loss is not finite (a run on its way to diverging): such a model is
    /// of no use to the explorer, and the weights format refuses non-finite figures.
    pub fn weights_meta(&mut self, name: &str) -> Result<WeightsMeta, TrainError> {
        let test = self.test_terms();
        if !test.is_finite() {
            return Err(TrainError::NotFinite { step: self.step, recon: test.recon, kl: test.kl });
        }
        let objective = self.learner.objective();
        let kind = objective.kind;
        Ok(WeightsMeta {
            name: name.into(),
            kind,
            beta: if kind == ModelKind::Ae { 0.0 } else { objective.beta() },
            beta_mean: if kind == ModelKind::Ae { None } else { objective.split_beta_mean() },
            likelihood: objective.likelihood,
            validation: None,
            config: self.settings.config.clone(),
            dataset: self.data.dataset.clone(),
            // The dataset's, filled in by `WeightsFile::from_model`.
            classes: Vec::new(),
            preprocessing: None,
            epochs: self.epoch,
            seed: self.settings.seed,
            test_recon: test.recon,
            test_kl: test.kl,
            test_posteriors: self.test_codes(),
            training_log: self.training_log(),
        })
    }

    /// The shown model as weights-file bytes named `name`, with [`Session::weights_meta`]'s header
    /// changed by `edit` (e.g. fewer, rounded test codes).
    pub fn weights(&mut self, name: &str, edit: impl FnOnce(&mut WeightsMeta)) -> Result<Vec<u8>, TrainError> {
        let mut meta = self.weights_meta(name)?;
        edit(&mut meta);
        Ok(WeightsFile::from_model(self.shown(), meta)?.to_bytes())
    }

    /// Optimiser steps taken.
    pub fn step_count(&self) -> usize {
        self.step
    }

    /// Passes over the training images begun.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The run's settings (with the objective and learning rate now in force; a learned σₓ's
    /// start, see [`Session::objective`] for its running value).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the steps optimise now, with a learned σₓ's running value.
    pub fn objective(&self) -> Objective {
        self.learner.objective()
    }

    /// The model and its optimiser, for checkpoints.
    pub fn learner(&self) -> &Learner {
        &self.learner
    }

    /// The inference device (for decoding with [`Session::shown`]).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The learning rate of the last step taken.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
}

/// The objective's βs and σₓ and the learning rate within what a run accepts.
fn check(objective: &Objective, learning_rate: f64) -> Result<(), TrainError> {
    if ![objective.beta_mean, objective.beta_var].iter().all(|b| b.is_finite() && (0.0..=MAX_BETA).contains(b)) {
        return Err(TrainError::Beta);
    }
    objective.likelihood.checked().map_err(|_| TrainError::SigmaX)?;
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate <= MAX_LEARNING_RATE) {
        return Err(TrainError::LearningRate);
    }
    Ok(())
}
