//! Training in the page: vae-core's [`Session`] (burn autodiff + Adam; the loop, loss and model
//! defined once) behind a thin wasm-bindgen boundary: check the arguments, call the core, convert
//! the answer. A second wasm module, loaded only when the user opens training, so the bytes before
//! the first image do not grow; it runs in a Worker.
//!
//! The live model reaches the explorer as weights-file bytes ([`LiveTrainer::snapshot`]), the
//! same path a downloaded model takes.

use serde::{Deserialize, Serialize};
use vae_core::message::js_error;
use vae_core::pack::DataPack;
use vae_core::session::{Session, Settings, TrainError, TrainingData};
use vae_core::train::Objective;
use vae_core::{Likelihood, LikelihoodKind, ModelKind};
use wasm_bindgen::prelude::*;

/// A run's settings as JS sends them: `{kind, likelihood, sigmaX, sigmaLearned, betaMean, betaVar,
/// learningRate, batchSize, seed}` (`likelihood` `"bernoulli"` or `"gaussian"`; `sigmaX` and
/// `sigmaLearned` used by the latter: a fixed σₓ, or one calibrated at every step).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsSettings {
    kind: ModelKind,
    #[serde(flatten)]
    hyper: JsHyperparameters,
    batch_size: u32,
    seed: u32,
}

/// What may change while a run goes on: `{likelihood, sigmaX, sigmaLearned, betaMean, betaVar,
/// learningRate}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsHyperparameters {
    likelihood: LikelihoodKind,
    #[serde(default)]
    sigma_x: f64,
    #[serde(default)]
    sigma_learned: bool,
    beta_mean: f64,
    beta_var: f64,
    learning_rate: f64,
}

impl JsHyperparameters {
    /// The objective `base` with these weights and this likelihood.
    fn objective(&self, base: Objective) -> Objective {
        let likelihood = Likelihood::of(self.likelihood, self.sigma_x, self.sigma_learned);
        base.with_betas(self.beta_mean, self.beta_var).with_likelihood(likelihood)
    }
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

// The shapes of the objects the binding takes and gives, for the declarations wasm-bindgen writes
// (pkg/vae_train_wasm.d.ts), against which tsc checks the Worker: each mirrors the serde struct
// above it or in vae-core (`JsSettings`, `JsHyperparameters`, `Progress`, `ElboTerms`, `CodesView`).
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** What may change while a run goes on. */
export interface Hyperparameters { likelihood: "bernoulli" | "gaussian"; sigmaX?: number; sigmaLearned?: boolean; betaMean: number; betaVar: number; learningRate: number }
/** A run's settings. */
export interface TrainSettings extends Hyperparameters { kind: "vae" | "ae"; batchSize: number; seed: number }
/** Means over the steps just taken, nats per image. */
export interface TrainProgress { step: number; epoch: number; recon: number; kl: number; klMean: number; klVar: number; betaMean: number; betaVar: number; sigmaX?: number }
/** Test-set terms of the live model, nats per image. */
export interface TestTerms { recon: number; kl: number; kl_mean: number }
/** The test images' posteriors, flattened [μ₁, μ₂, σ₁, σ₂, label, …], and how they sit against the prior. */
export interface TestCodes { codes: number[]; meanSquaredNorm: number; meanSigma: number }
/** The run's likelihood. */
export type TrainLikelihood = { kind: "bernoulli" } | { kind: "gaussian"; sigma_x: number; learned?: boolean };
"#;

/// One training run in the page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct LiveTrainer {
    session: Session,
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen]
impl LiveTrainer {
    /// Starts a run on the bytes of a dataset pack (`trainer pack-data`, decompressed) with
    /// `settings` = `{kind, likelihood, sigmaX, betaMean, betaVar, learningRate, batchSize, seed}`.
    #[wasm_bindgen(constructor)]
    pub fn new(pack: &[u8], #[wasm_bindgen(unchecked_param_type = "TrainSettings")] settings: JsValue) -> Result<LiveTrainer, JsValue> {
        console_error_panic_hook::set_once();
        let js: JsSettings = serde_wasm_bindgen::from_value(settings)?;
        let objective = js.hyper.objective(Objective::new(js.kind, 1.0));
        let settings =
            Settings { objective, ..Settings::live(js.kind, 1.0, js.hyper.learning_rate, js.batch_size as usize, js.seed as u64) };
        let pack = DataPack::from_bytes(pack).map_err(|e| js_error(&TrainError::from(e)))?;
        let session = Session::start(TrainingData::from(pack), settings).map_err(|e| js_error(&e))?;
        Ok(Self { session })
    }

    /// Takes `n` optimiser steps; returns `{step, epoch, recon, kl, klMean, klVar, betaMean,
    /// betaVar}` (means over them).
    #[wasm_bindgen(unchecked_return_type = "TrainProgress")]
    pub fn train(&mut self, n: u32) -> Result<JsValue, JsValue> {
        let progress = self.session.steps(n.clamp(1, 10_000) as usize).map_err(|e| js_error(&e))?;
        Ok(to_js(&progress)?)
    }

    /// Changes `{likelihood, sigmaX, betaMean, betaVar, learningRate}` from the next step on
    /// (the likelihood itself only with its σₓ: Bernoulli ↔ Gaussian needs a new run).
    #[wasm_bindgen(js_name = setHyperparameters)]
    pub fn set_hyperparameters(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Hyperparameters")] hyperparameters: JsValue,
    ) -> Result<(), JsValue> {
        let hyper: JsHyperparameters = serde_wasm_bindgen::from_value(hyperparameters)?;
        let objective = hyper.objective(self.session.settings().objective);
        self.session.set_hyperparameters(objective, hyper.learning_rate).map_err(|e| js_error(&e))
    }

    /// The run's likelihood: `{kind: "bernoulli"}` or `{kind: "gaussian", sigma_x}`.
    #[wasm_bindgen(unchecked_return_type = "TrainLikelihood")]
    pub fn likelihood(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.objective().likelihood)
    }

    /// Test-set `{recon, kl}` of the live model, nats per image.
    #[wasm_bindgen(js_name = testTerms, unchecked_return_type = "TestTerms")]
    pub fn test_terms(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.session.test_terms())
    }

    /// The test images' posteriors, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]`, and how they sit
    /// against the prior: `{codes, meanSquaredNorm, meanSigma}` (mean ‖μ‖², 2 for codes spread
    /// like N(0, I); mean σ, 1 for N(0, I)'s).
    #[wasm_bindgen(js_name = testCodes, unchecked_return_type = "TestCodes")]
    pub fn test_codes(&mut self) -> Result<JsValue, JsError> {
        let codes = self.session.test_codes();
        let view = CodesView {
            mean_squared_norm: vae_core::latent::mean_squared_norm(&codes),
            mean_sigma: vae_core::latent::mean_sigma(&codes),
            codes: codes.into_iter().flatten().collect(),
        };
        to_js(&view)
    }

    /// Optimiser steps taken so far.
    #[wasm_bindgen(js_name = stepCount)]
    pub fn step_count(&self) -> u32 {
        self.session.step_count() as u32
    }

    /// Decodes latent points `[x0, y0, …]` (at most 1,024) with the live model into one RGBA
    /// sheet, `cols` images per row: `cols·28` pixels wide.
    #[wasm_bindgen(js_name = decodeSheet)]
    pub fn decode_sheet(&self, zs: &[f32], cols: u32) -> Result<Vec<u8>, JsError> {
        vae_core::latent::check_points(zs, 1024).map_err(|e| JsError::new(&e))?;
        let images = vae_core::readout::decode_points(&self.session.shown(), zs, self.session.device());
        Ok(vae_core::readout::tile_rgba(&images, cols.clamp(1, 64) as usize).0)
    }

    /// Images per optimiser step.
    #[wasm_bindgen(js_name = batchSize)]
    pub fn batch_size(&self) -> u32 {
        self.session.settings().batch_size as u32
    }

    /// The live model as `.vaew` bytes named `name`, which `Explorer.fromBytes` and `trainer
    /// eval` read.
    pub fn snapshot(&mut self, name: &str) -> Result<Vec<u8>, JsValue> {
        self.session.weights(name, |_| ()).map_err(|e| js_error(&e))
    }
}
