//! Training in the page: vae-core's own [`Learner`] (burn autodiff + Adam, the loss and model
//! defined once) behind a thin wasm-bindgen boundary. A second wasm module, loaded only when the
//! user opens training, so the bytes before the first image do not grow; it runs in a Worker.
//!
//! The live model reaches the explorer as weights-file bytes ([`LiveTrainer::snapshot`]), the
//! same path a downloaded model takes.

use burn::module::Module;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
#[cfg(test)]
use vae_core::IMAGE_PIXELS;
use vae_core::loss::SIGMA_X_RANGE;
use vae_core::message::js_error;
use vae_core::optim::FusedAdam;
use vae_core::pack::DataPack;
use vae_core::train::{Learner, Objective, scored_images};
use vae_core::{ElboTerms, Likelihood, Localized, ModelKind, PageMessage, TrainingLogEntry, Vae, VaeConfig, WeightsFile, WeightsMeta};
use wasm_bindgen::prelude::*;

/// Learning rates above this are refused (they diverge at once).
pub const MAX_LEARNING_RATE: f64 = 100.0;
/// β above this is refused.
pub const MAX_BETA: f64 = 1000.0;
/// The training log gets an entry every this many steps (and at every change of β or learning
/// rate): ten minutes of training in the page stay a few kilobytes of header.
pub const LOG_EVERY_STEPS: usize = 200;

/// A run's settings, as the page's controls give them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// What the steps optimise (model kind, likelihood, the KL parts' weights).
    pub objective: Objective,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Images per step.
    pub batch_size: usize,
    /// Seed of the initial weights, the batches and the binarisation.
    pub seed: u64,
}

impl Settings {
    /// A VAE or AE with reconstruction + β·KL and Bernoulli pixels.
    pub fn new(kind: ModelKind, beta: f64, learning_rate: f64, batch_size: usize, seed: u64) -> Self {
        Self { objective: Objective::new(kind, beta), learning_rate, batch_size, seed }
    }
}

/// [`Settings`] as JS sends them: `{kind, likelihood, sigmaX, betaMean, betaVar, learningRate,
/// batchSize, seed}` (`likelihood` `"bernoulli"` or `"gaussian"`; `sigmaX` used by the latter).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsSettings {
    kind: ModelKind,
    #[serde(flatten)]
    hyper: JsHyperparameters,
    batch_size: u32,
    seed: u32,
}

/// What may change while a run goes on: `{likelihood, sigmaX, betaMean, betaVar, learningRate}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsHyperparameters {
    likelihood: String,
    #[serde(default)]
    sigma_x: f64,
    beta_mean: f64,
    beta_var: f64,
    learning_rate: f64,
}

impl JsHyperparameters {
    fn likelihood(&self) -> Result<Likelihood, JsValue> {
        match self.likelihood.as_str() {
            "bernoulli" => Ok(Likelihood::Bernoulli),
            "gaussian" => Ok(Likelihood::Gaussian { sigma_x: self.sigma_x }),
            other => Err(JsError::new(&format!("unknown likelihood {other:?}: use \"bernoulli\" or \"gaussian\"")).into()),
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
}

/// The live test codes as the page draws them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CodesView {
    /// `[μ₁, μ₂, σ₁, σ₂, label, …]`.
    codes: Vec<f32>,
    mean_squared_norm: f32,
    mean_sigma: f32,
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
        /// Training images in the pack.
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
    /// The live model's test loss is not finite, so it cannot be saved.
    #[error("the model at step {step} has a non-finite test loss ({recon} + {kl}); lower the learning rate and start again")]
    NotFinite {
        /// The live model's step.
        step: usize,
        /// Its test reconstruction term.
        recon: f64,
        /// Its test KL term.
        kl: f64,
    },
    /// The dataset pack does not parse.
    #[error(transparent)]
    Pack(#[from] vae_core::pack::PackError),
    /// The model could not be written as weights.
    #[error(transparent)]
    Weights(#[from] vae_core::WeightsError),
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

/// One training run in the page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct LiveTrainer {
    learner: Learner,
    config: VaeConfig,
    dataset: String,
    train: Vec<f32>,
    test: Vec<f32>,
    /// The test images as the likelihood scores them (binarised once, or grey).
    test_scored: Vec<f32>,
    test_labels: Vec<u8>,
    rng: SmallRng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    step: usize,
    seed: u64,
    batch_size: usize,
    learning_rate: f64,
    /// The parameters the last step with a finite loss started from: what the views show.
    last_good: Vae,
    /// The last model whose test loss was seen finite, and its step: what a diverged run goes
    /// back to (a finite batch loss alone does not make a model usable: its test loss may
    /// already be infinite).
    checked: (Vae, usize),
    device: Device,
    /// Entries written so far; the steps since the last one are summed in `window`.
    log: Vec<TrainingLogEntry>,
    /// Summed terms of the steps since the last log entry, and how many.
    window: (ElboTerms, usize),
    /// The test terms and codes of the model shown, with the step they belong to: the views, the
    /// test figures and a snapshot taken at the same step compute them once.
    test_cache: Option<(usize, ElboTerms)>,
    codes_cache: Option<(usize, Vec<[f32; 5]>)>,
}

impl LiveTrainer {
    /// Starts a run on a parsed pack.
    pub fn start(pack: DataPack, settings: Settings) -> Result<Self, TrainError> {
        let Settings { objective, learning_rate, batch_size, seed } = settings;
        check_settings(&objective, learning_rate)?;
        if !(1..=pack.train.len()).contains(&batch_size) {
            return Err(TrainError::BatchSize { max: pack.train.len() });
        }
        let device = Device::flex();
        device.seed(seed);
        let config = VaeConfig::new();
        let model = config.init(&device.clone().autodiff());
        let last_good = model.valid();
        let checked = (last_good.clone(), 0);
        let mut rng = SmallRng::seed_from_u64(seed);
        let test = pack.test.intensities();
        let mut order: Vec<usize> = (0..pack.train.len()).collect();
        order.shuffle(&mut rng);
        Ok(Self {
            learner: Learner::new(model, FusedAdam::default().init(), objective, 1),
            config,
            dataset: pack.header.dataset.clone(),
            train: pack.train.intensities(),
            test_scored: scored_images(objective.likelihood, &test),
            test,
            test_labels: pack.test.labels,
            rng,
            order,
            cursor: 0,
            epoch: 1,
            step: 0,
            seed,
            batch_size,
            learning_rate,
            last_good,
            checked,
            device,
            log: Vec::new(),
            window: (ElboTerms::default(), 0),
            test_cache: None,
            codes_cache: None,
        })
    }

    /// Takes `n` steps; returns the mean terms over them. A non-finite loss restores the last good
    /// model (the parameters of the last step whose loss was finite) and is an error that says so.
    /// The views and snapshots show that model: one step behind the optimiser.
    pub fn steps(&mut self, n: usize) -> Result<Progress, TrainError> {
        let mut sum = ElboTerms::default();
        for _ in 0..n {
            if self.cursor + self.batch_size > self.order.len() {
                self.order.shuffle(&mut self.rng);
                self.cursor = 0;
                self.epoch += 1;
            }
            let indices = &self.order[self.cursor..self.cursor + self.batch_size];
            let start = self.learner.model().valid();
            let terms = self.learner.step(&self.train, indices, &mut self.rng, self.learning_rate);
            if !(terms.recon.is_finite() && terms.kl.is_finite()) {
                return Err(self.diverged(terms.recon + terms.kl));
            }
            // The parameters this step started from gave a finite loss: the last good model.
            self.last_good = start;
            self.cursor += self.batch_size;
            self.step += 1;
            sum.add(&terms);
            self.window.0.add(&terms);
            self.window.1 += 1;
            if self.step.is_multiple_of(LOG_EVERY_STEPS) {
                self.close_log_window();
            }
        }
        let mean = sum.divided_by(n.max(1) as f64);
        let objective = self.learner.objective;
        Ok(Progress {
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

    /// Changes the KL parts' weights, σₓ (of a Gaussian likelihood: the likelihood itself is
    /// the run's) and the learning rate from the next step on; the steps before close a log entry.
    pub fn set_hyperparameters(&mut self, objective: Objective, learning_rate: f64) -> Result<(), TrainError> {
        check_settings(&objective, learning_rate)?;
        let now = self.learner.objective;
        if objective.kind != now.kind || objective.likelihood.is_bernoulli() != now.likelihood.is_bernoulli() {
            return Err(TrainError::LikelihoodChanged);
        }
        self.close_log_window();
        if objective.likelihood != now.likelihood {
            // Another σₓ: the test figures are in other units from here on.
            (self.test_cache, self.codes_cache) = (None, None);
        }
        self.learner.objective = objective;
        self.learning_rate = learning_rate;
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
            beta: self.learner.objective.beta(),
            beta_mean: self.learner.objective.split_beta_mean(),
            learning_rate: self.learning_rate,
        })
    }

    /// The training log up to now, including the steps since the last entry.
    pub fn training_log(&self) -> Vec<TrainingLogEntry> {
        self.log.iter().copied().chain(self.window_entry()).collect()
    }

    /// Puts the last model with a finite test loss back (with a fresh optimiser) and says what
    /// happened.
    fn diverged(&mut self, loss: f64) -> TrainError {
        let failed_at = self.step + 1;
        let (good, step) = self.checked.clone();
        self.learner.restore(
            self.config.init(&self.device.clone().autodiff()).load_record(good.clone().into_record()),
            FusedAdam::default().init(),
        );
        self.last_good = good;
        self.step = step;
        (self.test_cache, self.codes_cache) = (None, None);
        TrainError::Diverged { failed_at, loss, kept: step, learning_rate: self.learning_rate }
    }

    /// Test-set reconstruction and KL of the live model (the pack's test images, binarised once).
    /// A finite result makes this model the one a diverging run goes back to.
    pub fn test_terms(&mut self) -> ElboTerms {
        if let Some((step, terms)) = self.test_cache
            && step == self.step
        {
            return terms;
        }
        let objective = self.learner.objective;
        let terms = vae_core::eval::elbo_on(&self.last_good, objective.kind, objective.likelihood, &self.test_scored, &self.device);
        self.test_cache = Some((self.step, terms));
        if terms.recon.is_finite() && terms.kl.is_finite() {
            self.checked = (self.last_good.clone(), self.step);
        }
        terms
    }

    /// The live model's posteriors of the test images, `[μ₁, μ₂, σ₁, σ₂, label]` each.
    pub fn test_codes(&mut self) -> Vec<[f32; 5]> {
        if let Some((step, codes)) = &self.codes_cache
            && *step == self.step
        {
            return codes.clone();
        }
        let codes: Vec<[f32; 5]> = vae_core::readout::encode_many(&self.last_good, self.learner.objective.kind, &self.test, &self.device)
            .into_iter()
            .zip(&self.test_labels)
            .map(|(p, &label)| [p[0], p[1], p[2], p[3], label as f32])
            .collect();
        self.codes_cache = Some((self.step, codes.clone()));
        codes
    }

    /// The live model as a weights file named `name`.
    /// Fails while the model's test loss is not finite (a run on its way to diverging): such a
    /// model is of no use to the explorer, and the weights format refuses non-finite figures.
    pub fn weights(&mut self, name: &str) -> Result<Vec<u8>, TrainError> {
        let test = self.test_terms();
        if !(test.recon.is_finite() && test.kl.is_finite()) {
            return Err(TrainError::NotFinite { step: self.step, recon: test.recon, kl: test.kl });
        }
        let objective = self.learner.objective;
        let kind = objective.kind;
        let meta = WeightsMeta {
            name: name.into(),
            kind,
            beta: if kind == ModelKind::Ae { 0.0 } else { objective.beta() },
            beta_mean: if kind == ModelKind::Ae { None } else { objective.split_beta_mean() },
            likelihood: objective.likelihood,
            config: self.config.clone(),
            dataset: self.dataset.clone(),
            // The dataset's, filled in by `WeightsFile::from_model`.
            classes: Vec::new(),
            preprocessing: None,
            epochs: self.epoch,
            seed: self.seed,
            test_recon: test.recon,
            test_kl: test.kl,
            test_posteriors: self.test_codes(),
            training_log: self.training_log(),
        };
        Ok(WeightsFile::from_model(self.last_good.clone(), meta)?.to_bytes())
    }
}

fn check_settings(objective: &Objective, learning_rate: f64) -> Result<(), TrainError> {
    if ![objective.beta_mean, objective.beta_var].iter().all(|b| b.is_finite() && (0.0..=MAX_BETA).contains(b)) {
        return Err(TrainError::Beta);
    }
    objective.likelihood.checked().map_err(|_| TrainError::SigmaX)?;
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate <= MAX_LEARNING_RATE) {
        return Err(TrainError::LearningRate);
    }
    Ok(())
}

impl JsSettings {
    fn settings(&self) -> Result<Settings, JsValue> {
        let objective =
            Objective::new(self.kind, 1.0).with_betas(self.hyper.beta_mean, self.hyper.beta_var).with_likelihood(self.hyper.likelihood()?);
        Ok(Settings { objective, learning_rate: self.hyper.learning_rate, batch_size: self.batch_size as usize, seed: self.seed as u64 })
    }
}

#[wasm_bindgen]
impl LiveTrainer {
    /// Starts a run on the bytes of a dataset pack (`trainer pack-data`, decompressed) with
    /// `settings` = `{kind, likelihood, sigmaX, betaMean, betaVar, learningRate, batchSize, seed}`.
    #[wasm_bindgen(constructor)]
    pub fn new(pack: &[u8], settings: JsValue) -> Result<LiveTrainer, JsValue> {
        console_error_panic_hook::set_once();
        let settings: JsSettings = serde_wasm_bindgen::from_value(settings)?;
        let pack = DataPack::from_bytes(pack).map_err(|e| js_error(&TrainError::from(e)))?;
        Self::start(pack, settings.settings()?).map_err(|e| js_error(&e))
    }

    /// Takes `n` optimiser steps; returns `{step, epoch, recon, kl, klMean, klVar, betaMean,
    /// betaVar}` (means over them).
    #[wasm_bindgen(js_name = train)]
    pub fn train(&mut self, n: u32) -> Result<JsValue, JsValue> {
        let progress = self.steps(n.clamp(1, 10_000) as usize).map_err(|e| js_error(&e))?;
        Ok(serde_wasm_bindgen::to_value(&progress)?)
    }

    /// Changes `{likelihood, sigmaX, betaMean, betaVar, learningRate}` from the next step on
    /// (the likelihood itself only with its σₓ: Bernoulli ↔ Gaussian needs a new run).
    #[wasm_bindgen(js_name = setHyperparameters)]
    pub fn set_hyperparameters_js(&mut self, hyperparameters: JsValue) -> Result<(), JsValue> {
        let hyper: JsHyperparameters = serde_wasm_bindgen::from_value(hyperparameters)?;
        let objective = self.learner.objective.with_betas(hyper.beta_mean, hyper.beta_var).with_likelihood(hyper.likelihood()?);
        self.set_hyperparameters(objective, hyper.learning_rate).map_err(|e| js_error(&e))
    }

    /// The run's likelihood: `{kind: "bernoulli"}` or `{kind: "gaussian", sigma_x}`.
    pub fn likelihood(&self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.learner.objective.likelihood).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Test-set `{recon, kl}` of the live model, nats per image.
    #[wasm_bindgen(js_name = testTerms)]
    pub fn test_terms_js(&mut self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.test_terms()).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The test images' posteriors, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]`, and how they sit
    /// against the prior: `{codes, meanSquaredNorm, meanSigma}` (mean ‖μ‖², 2 for codes spread
    /// like N(0, I); mean σ, 1 for N(0, I)'s).
    #[wasm_bindgen(js_name = testCodes)]
    pub fn test_codes_js(&mut self) -> Result<JsValue, JsError> {
        let codes = self.test_codes();
        let view = CodesView {
            mean_squared_norm: vae_core::latent::mean_squared_norm(&codes),
            mean_sigma: vae_core::latent::mean_sigma(&codes),
            codes: codes.into_iter().flatten().collect(),
        };
        serde_wasm_bindgen::to_value(&view).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Optimiser steps taken so far.
    #[wasm_bindgen(js_name = stepCount)]
    pub fn step_count(&self) -> u32 {
        self.step as u32
    }

    /// Decodes latent points `[x0, y0, …]` (at most 1,024) with the live model into one RGBA
    /// sheet, `cols` images per row: `cols·28` pixels wide.
    #[wasm_bindgen(js_name = decodeSheet)]
    pub fn decode_sheet(&self, zs: &[f32], cols: u32) -> Result<Vec<u8>, JsError> {
        vae_core::latent::check_points(zs, 1024).map_err(|e| JsError::new(&e))?;
        let images = vae_core::readout::decode_points(&self.last_good, zs, &self.device);
        Ok(vae_core::readout::tile_rgba(&images, cols.clamp(1, 64) as usize).0)
    }

    /// Images per optimiser step.
    #[wasm_bindgen(js_name = batchSize)]
    pub fn batch_size(&self) -> u32 {
        self.batch_size as u32
    }

    /// The live model as `.vaew` bytes named `name`, which `Explorer.fromBytes` and `trainer
    /// eval` read.
    pub fn snapshot(&mut self, name: &str) -> Result<Vec<u8>, JsValue> {
        self.weights(name).map_err(|e| js_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, MutexGuard};
    use vae_core::pack::{PackHeader, PackSplit};

    /// burn's flex device has one global random stream (seeded by `start`): tests that run in
    /// parallel would draw from each other's, so each takes this lock first.
    fn one_at_a_time() -> MutexGuard<'static, ()> {
        static DEVICE_RNG: Mutex<()> = Mutex::new(());
        DEVICE_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A small pack of strokes, one position per class, so a few steps can learn something.
    fn pack(train: usize, test: usize) -> DataPack {
        let split = |n: usize, offset: usize| {
            let mut images = vec![0u8; n * IMAGE_PIXELS];
            let labels: Vec<u8> = (0..n).map(|i| ((i + offset) % 10) as u8).collect();
            for (i, &label) in labels.iter().enumerate() {
                for t in 4..24 {
                    images[i * IMAGE_PIXELS + t * 28 + 4 + 2 * label as usize] = 255;
                }
            }
            PackSplit { images, labels }
        };
        DataPack {
            header: PackHeader { dataset: "mnist".into(), train, test, source: "test".into() },
            train: split(train, 0),
            test: split(test, 3),
        }
    }

    #[test]
    fn live_training_lowers_the_test_loss_and_snapshots_load_as_weights() {
        let _serial = one_at_a_time();
        let mut live = LiveTrainer::start(pack(256, 40), Settings::new(ModelKind::Vae, 1.0, 1e-3, 32, 7)).expect("starts");
        let before = live.test_terms();
        let progress = live.steps(40).expect("finite steps");
        assert_eq!((progress.step, progress.epoch), (40, 5), "{progress:?}");
        let after = live.test_terms();
        assert!(after.recon + after.kl < before.recon + before.kl - 20.0, "{before:?} → {after:?}");
        let file = WeightsFile::from_bytes(&live.weights("live").expect("packs")).expect("reads back");
        assert_eq!((file.meta.name.as_str(), file.meta.test_posteriors.len()), ("live", 40));
        file.load_model(&Device::flex()).expect("loads");
        assert!(live.test_codes().iter().all(|c| c[2] > 0.0 && c[3] > 0.0), "a VAE's codes have σ > 0");
    }

    #[test]
    fn a_diverging_run_is_an_error_and_keeps_the_last_good_model() {
        let _serial = one_at_a_time();
        let mut live = LiveTrainer::start(pack(128, 20), Settings::new(ModelKind::Vae, 1.0, 50.0, 32, 1)).expect("starts");
        let mut result = Ok(live.steps(0).expect("no step"));
        for i in 0..50 {
            if i % 2 == 0 {
                live.test_terms(); // as the page's views do, now and then
            }
            result = live.steps(1);
            if result.is_err() {
                break;
            }
        }
        let err = result.expect_err("a learning rate of 50 diverges").to_string();
        assert!(err.contains("diverged") && err.contains("lower the learning rate"), "{err}");
        assert!(err.contains(&format!("the model of step {} ", live.step)), "the message names the step kept: {err}");
        let kept = live.test_terms();
        assert!(kept.recon.is_finite() && kept.kl.is_finite(), "{kept:?}");
        assert!(live.weights("live").is_ok(), "the kept model is finite, so it packs");
    }

    #[test]
    fn snapshots_carry_the_training_log_with_each_change_of_beta() {
        let _serial = one_at_a_time();
        let mut live = LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Vae, 1.0, 1e-3, 16, 3)).expect("starts");
        live.steps(LOG_EVERY_STEPS + 5).expect("finite");
        live.set_hyperparameters(Objective::new(ModelKind::Vae, 4.0), 1e-3).expect("valid");
        live.steps(3).expect("finite");
        let file = WeightsFile::from_bytes(&live.weights("live").expect("packs")).expect("reads back");
        let marks: Vec<(usize, f64)> = file.meta.training_log.iter().map(|e| (e.step, e.beta)).collect();
        let last = LOG_EVERY_STEPS + 8;
        assert_eq!(marks, [(LOG_EVERY_STEPS, 1.0), (LOG_EVERY_STEPS + 5, 1.0), (last, 4.0)], "{:?}", file.meta.training_log);
        assert!(file.meta.training_log.iter().all(|e| e.recon.is_finite() && e.kl > 0.0 && e.learning_rate == 1e-3));
    }

    #[test]
    fn pausing_between_steps_changes_nothing() {
        let _serial = one_at_a_time();
        let zs = [0.0, 0.0, 1.5, -0.5, -2.0, 1.0];
        // What a run shows: its header (test figures, codes, log) and what it decodes.
        let outcome = |live: &mut LiveTrainer| {
            let meta = WeightsFile::from_bytes(&live.weights("live").expect("packs")).expect("reads back").meta;
            (meta, vae_core::readout::decode_points(&live.last_good, &zs, &live.device))
        };
        let whole = {
            let mut live = LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Vae, 1.0, 1e-3, 16, 9)).expect("starts");
            live.steps(7).expect("finite");
            outcome(&mut live)
        };
        let mut paused = LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Vae, 1.0, 1e-3, 16, 9)).expect("starts");
        for n in [2, 1, 4] {
            live_views(&mut paused);
            paused.steps(n).expect("finite");
        }
        assert!(outcome(&mut paused) == whole, "a run paused (views and snapshots taken) ended elsewhere");
    }

    /// What the page asks for while a run is paused.
    fn live_views(live: &mut LiveTrainer) {
        let _ = (live.test_terms(), live.test_codes(), live.weights("live"), live.training_log());
    }

    #[test]
    fn side_by_side_runs_start_from_the_same_weights_and_see_the_same_batches() {
        let _serial = one_at_a_time();
        let mut vae = LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Vae, 1.0, 1e-3, 16, 11)).expect("starts");
        let mut ae = LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Ae, 1.0, 1e-3, 16, 11)).expect("starts");
        let means = |live: &mut LiveTrainer| live.test_codes().iter().map(|c| [c[0], c[1]]).collect::<Vec<_>>();
        assert_eq!(means(&mut vae), means(&mut ae), "the same seed must give both models the same initial encoder");
        assert_eq!(vae.order, ae.order, "the same seed must give both runs the same batches");
        let mut other = LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Ae, 1.0, 1e-3, 16, 12)).expect("starts");
        other.steps(0).expect("no step");
        assert_ne!(means(&mut other), means(&mut ae), "another seed gives other weights");
    }

    /// One error of each variant (checked in the test below).
    fn one_of_each() -> Vec<TrainError> {
        vec![
            TrainError::Beta,
            TrainError::SigmaX,
            TrainError::LikelihoodChanged,
            TrainError::LearningRate,
            TrainError::BatchSize { max: 10 },
            TrainError::Diverged { failed_at: 3, loss: f64::NAN, kept: 2, learning_rate: 10.0 },
            TrainError::NotFinite { step: 3, recon: f64::NAN, kl: 1.0 },
            TrainError::Pack(vae_core::pack::PackError::Header("eof".into())),
            TrainError::Weights(vae_core::WeightsError::NonFinite("decoder.0.weight".into())),
        ]
    }

    /// Which variant an error is, by a match the compiler makes exhaustive: a new variant does not
    /// build until it has an arm (and a number) here, and the test then fails until
    /// [`one_of_each`] has one of it.
    fn variant(err: &TrainError) -> usize {
        match err {
            TrainError::Beta => 0,
            TrainError::SigmaX => 1,
            TrainError::LikelihoodChanged => 2,
            TrainError::LearningRate => 3,
            TrainError::BatchSize { .. } => 4,
            TrainError::Diverged { .. } => 5,
            TrainError::NotFinite { .. } => 6,
            TrainError::Pack(_) => 7,
            TrainError::Weights(_) => 8,
        }
    }

    #[test]
    fn every_training_error_has_its_english_page_message() {
        let catalogue = std::fs::read_to_string(format!("{}/../../{}", env!("CARGO_MANIFEST_DIR"), vae_core::message::ENGLISH_CATALOGUE))
            .expect("the catalogue is readable");
        let errors = one_of_each();
        let covered: std::collections::BTreeSet<usize> = errors.iter().map(variant).collect();
        assert_eq!(covered, (0..=8).collect(), "one sample of each variant, numbered 0 to the last arm of `variant`");
        for err in errors {
            if let Err(problem) = vae_core::message::check_against_catalogue(&catalogue, &err.page_message()) {
                panic!("“{err}”: {problem}");
            }
        }
    }

    #[test]
    fn settings_are_checked() {
        let _serial = one_at_a_time();
        assert!(LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Ae, 1.0, 0.0, 32, 1)).is_err());
        assert!(LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Vae, f64::NAN, 1e-3, 32, 1)).is_err());
        assert!(LiveTrainer::start(pack(64, 10), Settings::new(ModelKind::Vae, 1.0, 1e-3, 65, 1)).is_err());
    }
}
