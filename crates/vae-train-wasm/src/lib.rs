//! Training in the page: vae-core's own [`Learner`] (burn autodiff + Adam, the loss and model
//! defined once) behind a thin wasm-bindgen boundary. A second wasm module, loaded only when the
//! user opens training, so the bytes before the first image do not grow; it runs in a Worker.
//!
//! The live model reaches the explorer as weights-file bytes ([`LiveTrainer::snapshot`]), the
//! same path a downloaded model takes.

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::Serialize;
#[cfg(test)]
use vae_core::IMAGE_PIXELS;
use vae_core::eval::TEST_BINARIZATION_SEED;
use vae_core::pack::DataPack;
use vae_core::train::{Learner, Objective, binarize};
use vae_core::{ElboTerms, LATENT_DIM, ModelKind, Vae, VaeConfig, WeightsFile, WeightsMeta};
use wasm_bindgen::prelude::*;

/// Learning rates above this are refused (they diverge at once).
pub const MAX_LEARNING_RATE: f64 = 100.0;
/// β above this is refused.
pub const MAX_BETA: f64 = 1000.0;

/// What training has reached, as the page shows it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Progress {
    /// Optimiser steps taken.
    pub step: usize,
    /// Passes over the training images begun (1-based).
    pub epoch: usize,
    /// Mean reconstruction term of the last steps' batches, nats per image.
    pub recon: f64,
    /// Mean KL term of the last steps' batches, nats per image.
    pub kl: f64,
    /// β in force.
    pub beta: f64,
}

/// The live test codes as the page draws them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CodesView {
    /// `[μ₁, μ₂, σ₁, σ₂, label, …]`.
    codes: Vec<f32>,
    mean_squared_norm: f32,
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
    test_binary: Vec<f32>,
    test_labels: Vec<u8>,
    rng: SmallRng,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    step: usize,
    seed: u64,
    batch_size: usize,
    learning_rate: f64,
    /// The parameters the last step with a finite loss started from (a diverged step restores them).
    last_good: Vae,
    device: Device,
}

impl LiveTrainer {
    /// Starts a run on a parsed pack.
    pub fn start(pack: DataPack, kind: ModelKind, beta: f64, learning_rate: f64, batch_size: usize, seed: u64) -> Result<Self, String> {
        check_settings(beta, learning_rate)?;
        if !(1..=pack.train.len()).contains(&batch_size) {
            return Err(format!("the batch size must be 1 to {} (the training images)", pack.train.len()));
        }
        let device = Device::flex();
        device.seed(seed);
        let config = VaeConfig::new();
        let model = config.init(&device.clone().autodiff());
        let last_good = model.valid();
        let mut rng = SmallRng::seed_from_u64(seed);
        let test_binary = binarize(&pack.test.intensities(), &mut SmallRng::seed_from_u64(TEST_BINARIZATION_SEED));
        let mut order: Vec<usize> = (0..pack.train.len()).collect();
        order.shuffle(&mut rng);
        Ok(Self {
            learner: Learner::new(model, AdamConfig::new().init(), Objective { kind, beta }, 1),
            config,
            dataset: pack.header.dataset.clone(),
            train: pack.train.intensities(),
            test: pack.test.intensities(),
            test_binary,
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
            device,
        })
    }

    /// Takes `n` steps; returns the mean terms over them. A non-finite loss restores the last good
    /// model (the parameters of the last step whose loss was finite) and is an error that says so.
    /// The views and snapshots show that model: one step behind the optimiser.
    pub fn steps(&mut self, n: usize) -> Result<Progress, String> {
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
                return Err(self.diverged(format!("the loss became {}", terms.recon + terms.kl)));
            }
            // The parameters this step started from gave a finite loss: the last good model.
            self.last_good = start;
            self.cursor += self.batch_size;
            self.step += 1;
            sum.recon += terms.recon;
            sum.kl += terms.kl;
        }
        let n = n.max(1) as f64;
        Ok(Progress { step: self.step, epoch: self.epoch, recon: sum.recon / n, kl: sum.kl / n, beta: self.learner.objective.beta })
    }

    /// Puts the last good model back (with a fresh optimiser) and says what happened.
    fn diverged(&mut self, what: String) -> String {
        let good = self.config.init(&self.device.clone().autodiff()).load_record(self.last_good.clone().into_record());
        self.learner.restore(good, AdamConfig::new().init());
        format!(
            "training diverged at step {} ({what}); the last good model is kept — lower the learning rate (now {}) and start again",
            self.step + 1,
            self.learning_rate
        )
    }

    /// Test-set reconstruction and KL of the live model (the pack's test images, binarised once).
    pub fn test_terms(&self) -> ElboTerms {
        vae_core::eval::elbo_on(&self.last_good, self.learner.objective.kind, &self.test_binary, &self.device)
    }

    /// The live model's posteriors of the test images, `[μ₁, μ₂, σ₁, σ₂, label]` each.
    pub fn test_codes(&self) -> Vec<[f32; 5]> {
        vae_core::readout::encode_many(&self.last_good, self.learner.objective.kind, &self.test, &self.device)
            .into_iter()
            .zip(&self.test_labels)
            .map(|(p, &label)| [p[0], p[1], p[2], p[3], label as f32])
            .collect()
    }

    /// The live model as a weights file named `name`.
    pub fn weights(&self, name: &str) -> Result<Vec<u8>, String> {
        let test = self.test_terms();
        let kind = self.learner.objective.kind;
        let meta = WeightsMeta {
            name: name.into(),
            kind,
            beta: if kind == ModelKind::Ae { 0.0 } else { self.learner.objective.beta },
            config: self.config.clone(),
            dataset: self.dataset.clone(),
            epochs: self.epoch,
            seed: self.seed,
            test_recon: test.recon,
            test_kl: test.kl,
            test_posteriors: self.test_codes(),
        };
        Ok(WeightsFile::from_model(self.last_good.clone(), meta).map_err(|e| e.to_string())?.to_bytes())
    }
}

fn check_settings(beta: f64, learning_rate: f64) -> Result<(), String> {
    if !(beta.is_finite() && (0.0..=MAX_BETA).contains(&beta)) {
        return Err(format!("β must be between 0 and {MAX_BETA}"));
    }
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate <= MAX_LEARNING_RATE) {
        return Err(format!("the learning rate must be above 0 and at most {MAX_LEARNING_RATE}"));
    }
    Ok(())
}

fn kind_of(kind: &str) -> Result<ModelKind, JsError> {
    match kind {
        "vae" => Ok(ModelKind::Vae),
        "ae" => Ok(ModelKind::Ae),
        other => Err(JsError::new(&format!("unknown model kind {other:?}: use \"vae\" or \"ae\""))),
    }
}

#[wasm_bindgen]
impl LiveTrainer {
    /// Starts a run on the bytes of a dataset pack (`trainer pack-data`, decompressed).
    #[wasm_bindgen(constructor)]
    pub fn new(pack: &[u8], kind: &str, beta: f64, learning_rate: f64, batch_size: u32, seed: u32) -> Result<LiveTrainer, JsError> {
        console_error_panic_hook::set_once();
        let pack = DataPack::from_bytes(pack).map_err(|e| JsError::new(&e.to_string()))?;
        Self::start(pack, kind_of(kind)?, beta, learning_rate, batch_size as usize, seed as u64).map_err(|e| JsError::new(&e))
    }

    /// Takes `n` optimiser steps; returns `{step, epoch, recon, kl, beta}` (means over them).
    #[wasm_bindgen(js_name = train)]
    pub fn train(&mut self, n: u32) -> Result<JsValue, JsError> {
        let progress = self.steps(n.clamp(1, 10_000) as usize).map_err(|e| JsError::new(&e))?;
        serde_wasm_bindgen::to_value(&progress).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Changes β (and the learning rate) from the next step on.
    #[wasm_bindgen(js_name = setHyperparameters)]
    pub fn set_hyperparameters(&mut self, beta: f64, learning_rate: f64) -> Result<(), JsError> {
        check_settings(beta, learning_rate).map_err(|e| JsError::new(&e))?;
        self.learner.objective.beta = beta;
        self.learning_rate = learning_rate;
        Ok(())
    }

    /// Test-set `{recon, kl}` of the live model, nats per image.
    #[wasm_bindgen(js_name = testTerms)]
    pub fn test_terms_js(&self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.test_terms()).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The test images' posteriors, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]`, and how far they sit
    /// from the prior: `{codes, meanSquaredNorm}` (mean ‖μ‖², 2 for codes spread like N(0, I)).
    #[wasm_bindgen(js_name = testCodes)]
    pub fn test_codes_js(&self) -> Result<JsValue, JsError> {
        let codes = self.test_codes();
        let view =
            CodesView { mean_squared_norm: vae_core::latent::mean_squared_norm(&codes), codes: codes.into_iter().flatten().collect() };
        serde_wasm_bindgen::to_value(&view).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Optimiser steps taken so far.
    #[wasm_bindgen(js_name = stepCount)]
    pub fn step_count(&self) -> u32 {
        self.step as u32
    }

    /// Decodes latent points `[x0, y0, …]` with the live model into `n × 784` intensities.
    pub fn decode(&self, zs: &[f32]) -> Result<Vec<f32>, JsError> {
        if !zs.len().is_multiple_of(LATENT_DIM) || zs.len() > 2 * 1024 || zs.iter().any(|v| !v.is_finite()) {
            return Err(JsError::new("decode takes up to 1,024 finite x,y pairs"));
        }
        Ok(vae_core::readout::decode_points(&self.last_good, zs, &self.device))
    }

    /// Images per optimiser step.
    #[wasm_bindgen(js_name = batchSize)]
    pub fn batch_size(&self) -> u32 {
        self.batch_size as u32
    }

    /// The live model as `.vaew` bytes named `name`, which `Explorer.fromBytes` and `trainer
    /// eval` read.
    pub fn snapshot(&self, name: &str) -> Result<Vec<u8>, JsError> {
        self.weights(name).map_err(|e| JsError::new(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vae_core::pack::{PackHeader, PackSplit};

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
        let mut live = LiveTrainer::start(pack(256, 40), ModelKind::Vae, 1.0, 1e-3, 32, 7).expect("starts");
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
        let mut live = LiveTrainer::start(pack(128, 20), ModelKind::Vae, 1.0, 50.0, 32, 1).expect("starts");
        let mut result = Ok(live.steps(0).expect("no step"));
        for _ in 0..50 {
            result = live.steps(1);
            if result.is_err() {
                break;
            }
        }
        let err = result.expect_err("a learning rate of 50 diverges");
        assert!(err.contains("diverged") && err.contains("lower the learning rate"), "{err}");
        let kept = live.test_terms();
        assert!(kept.recon.is_finite() && kept.kl.is_finite(), "{kept:?}");
        assert!(live.weights("live").is_ok(), "the kept model is finite, so it packs");
    }

    #[test]
    fn settings_are_checked() {
        assert!(LiveTrainer::start(pack(64, 10), ModelKind::Ae, 1.0, 0.0, 32, 1).is_err());
        assert!(LiveTrainer::start(pack(64, 10), ModelKind::Vae, f64::NAN, 1e-3, 32, 1).is_err());
        assert!(LiveTrainer::start(pack(64, 10), ModelKind::Vae, 1.0, 1e-3, 65, 1).is_err());
    }
}
