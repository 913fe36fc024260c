//! One optimisation step on the loss reconstruction + β_μ·KL_μ + β_σ·KL_σ (autodiff), and the
//! [`Learner`] that takes such steps on batches (binarised for a Bernoulli decoder, grey for a
//! Gaussian one): the trainer's and the page's training both run it.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use rand::Rng;
use rayon::prelude::*;

use crate::IMAGE_PIXELS;
use crate::loss::{ElboTerms, Likelihood, calibrated_sigma_x, elbo_terms, reconstruction_mean_squared_error};
use crate::model::{ModelKind, Vae};
use crate::optim::{for_each_chunk, slice, slice_mut};

/// What one step is asked to optimise: reconstruction + β_μ·KL_μ + β_σ·KL_σ, the KL split into
/// its mean's part ½‖μ‖² and its variance's part ½ Σ (σ² − 1 − ln σ²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    /// VAE (with KL) or plain AE.
    pub kind: ModelKind,
    /// Weight of the KL's mean part (ignored for an AE).
    pub beta_mean: f64,
    /// Weight of the KL's variance part (ignored for an AE).
    pub beta_var: f64,
    /// How the reconstruction term scores an image.
    pub likelihood: Likelihood,
}

impl Objective {
    /// reconstruction + β·KL with Bernoulli pixels: both parts of the KL weighted alike.
    pub fn new(kind: ModelKind, beta: f64) -> Self {
        Self { kind, beta_mean: beta, beta_var: beta, likelihood: Likelihood::Bernoulli }
    }

    /// The same objective with `likelihood`.
    pub fn with_likelihood(self, likelihood: Likelihood) -> Self {
        Self { likelihood, ..self }
    }

    /// The same objective with the mean's and the variance's parts weighted `beta_mean`, `beta_var`.
    pub fn with_betas(self, beta_mean: f64, beta_var: f64) -> Self {
        Self { beta_mean, beta_var, ..self }
    }

    /// β when both parts are weighted alike; the variance part's weight otherwise.
    pub fn beta(&self) -> f64 {
        self.beta_var
    }

    /// The mean part's weight when it differs from the variance part's (else `None`).
    pub fn split_beta_mean(&self) -> Option<f64> {
        (self.beta_mean != self.beta_var).then_some(self.beta_mean)
    }
}

/// Gradients of the batch's mean loss and the batch's mean terms, computed in `shards` parts in
/// parallel (fewer if the batch is small): each shard runs its forward and backward pass on its
/// own core and the shards' gradients are summed before the one optimiser step, which gives the
/// whole batch's gradient (up to float rounding). burn's matmuls alone hardly use a second core
/// at these sizes (batch 128: one epoch took 5.6 s on two threads against 6.4 s on one). The noise ε is drawn once for the whole batch, before
/// the split, so a run draws the same numbers whatever the number of shards.
///
/// # Shapes
/// - `x`: `[batch, 784]`
pub fn batch_gradients(model: &Vae, objective: Objective, x: Tensor<2>, shards: usize) -> (GradientsParams, ElboTerms) {
    let eps = batch_noise(model, &x);
    gradients_at(model, objective, x, eps, shards)
}

/// ε ~ N(0, I) for a batch's reparameterised samples, from the device's seeded stream.
///
/// # Shapes
/// - `x`: `[batch, 784]`; returns `[batch, latent]`
fn batch_noise(model: &Vae, x: &Tensor<2>) -> Tensor<2> {
    let [batch, _] = x.dims();
    let latent = model.enc_mu.weight.dims()[1];
    Tensor::<2>::random([batch, latent], Distribution::Normal(0.0, 1.0), &x.device())
}

/// [`batch_gradients`] at the noise `eps`.
///
/// # Shapes
/// - `x`: `[batch, 784]`, `eps`: `[batch, latent]`
fn gradients_at(model: &Vae, objective: Objective, x: Tensor<2>, eps: Tensor<2>, shards: usize) -> (GradientsParams, ElboTerms) {
    /// Below this many images per shard the split costs more than it saves.
    const MIN_SHARD: usize = 16;
    let [batch, _] = x.dims();
    let device = x.device();
    let shards = shards.clamp(1, (batch / MIN_SHARD).max(1));
    if shards == 1 {
        // One shard (e.g. one thread in wasm): no fork and no thread pool.
        let (grads, sum) = shard_gradients(model.clone(), objective, x, eps, batch);
        return (grads, sum.divided_by(batch as f64));
    }
    // Each shard gets its own leaves (`fork`: same parameter ids and buffers, fresh autodiff
    // nodes), so the shards build separate graphs that burn can differentiate concurrently.
    let jobs: Vec<_> = (0..shards)
        .map(|i| {
            let rows = i * batch / shards..(i + 1) * batch / shards;
            (model.clone().fork(&device), x.clone().slice(rows.clone()), eps.clone().slice(rows))
        })
        .collect();
    let results: Vec<(GradientsParams, ElboTerms)> =
        jobs.into_par_iter().map(|(shard_model, x, eps)| shard_gradients(shard_model, objective, x, eps, batch)).collect();
    let mut sum = ElboTerms::default();
    let mut shard_grads = Vec::with_capacity(results.len());
    for (grads, terms) in results {
        shard_grads.push(grads);
        sum.add(&terms);
    }
    let terms = sum.divided_by(batch as f64);
    let mut total = shard_grads.remove(0);
    model.visit(&mut SumGradients { total: &mut total, others: shard_grads });
    (total, terms)
}

/// Adds the other shards' gradients into `total`'s, parameter by parameter, in place and split
/// across the cores (burn's `GradientsAccumulator` adds on one thread into new buffers while the
/// other cores wait: 0.35–0.4 ms of a 10 ms step here).
struct SumGradients<'a> {
    total: &'a mut GradientsParams,
    others: Vec<GradientsParams>,
}

impl ModuleVisitor for SumGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let mut grads = self.total.remove::<D>(param.id).into_iter().chain(self.others.iter_mut().filter_map(|g| g.remove::<D>(param.id)));
        let Some(first) = grads.next() else { return };
        let device = first.device();
        let mut sum = first.into_data().convert::<f32>();
        let sum_values = slice_mut(&mut sum);
        for grad in grads {
            let grad = grad.into_data().convert::<f32>();
            for_each_chunk(sum_values, slice(&grad), |sum, grad| {
                for (s, &g) in sum.iter_mut().zip(grad) {
                    *s += g;
                }
            });
        }
        self.total.register::<D>(param.id, Tensor::from_data(sum, &device));
    }
}

/// One shard's share of the batch loss, (Σ recon + β_σ·Σ KL + (β_μ − β_σ)·Σ KL_μ) / `batch`
/// (= recon + β_μ·KL_μ + β_σ·KL_σ, since KL = KL_μ + KL_σ), differentiated; returns its gradients
/// and its summed terms. With β_μ = β_σ = β the loss is recon + β·KL, computed as it always was.
///
/// # Shapes
/// - `x`: `[shard, 784]`, `eps`: `[shard, latent]`
fn shard_gradients(model: Vae, objective: Objective, x: Tensor<2>, eps: Tensor<2>, batch: usize) -> (GradientsParams, ElboTerms) {
    let terms = elbo_terms(&model, objective.kind, objective.likelihood, x, eps); // [shard] each
    let recon = terms.recon.sum(); // [1]
    let kl = terms.kl.sum(); // [1]
    let kl_mean = terms.kl_mean.sum(); // [1]
    let loss = match objective.kind {
        ModelKind::Vae => {
            let weighted = recon.clone() + kl.clone().mul_scalar(objective.beta_var);
            match objective.split_beta_mean() {
                Some(beta_mean) => weighted + kl_mean.clone().mul_scalar(beta_mean - objective.beta_var),
                None => weighted,
            }
        }
        ModelKind::Ae => recon.clone(),
    }
    .div_scalar(batch as f64); // [1]
    let scalar = |t: Tensor<1>| t.detach().into_scalar::<f32>() as f64;
    let sums = ElboTerms { recon: scalar(recon), kl: scalar(kl), kl_mean: scalar(kl_mean) };
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (grads, sums)
}

/// Images per step of the digit classifier's training.
pub const CLASSIFIER_BATCH: usize = 128;

/// Trains the digit classifier on `pixels` (`n × 784`) and their `labels` (Adam, batches of [`CLASSIFIER_BATCH`],
/// `epochs` shuffled passes, seeded), calling `on_step` after each step; returns it for inference.
pub fn train_classifier(
    pixels: &[f32],
    labels: &[u8],
    epochs: usize,
    seed: u64,
    mut on_step: impl FnMut(),
) -> crate::classifier::Classifier {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let device = Device::flex();
    device.seed(seed);
    let train_device = device.autodiff();
    let mut model = crate::classifier::ClassifierConfig::new().init(&train_device);
    let mut optimizer = burn::optim::AdamConfig::new().init();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..labels.len()).collect();
    let mut x = vec![0.0; CLASSIFIER_BATCH * IMAGE_PIXELS];
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks_exact(CLASSIFIER_BATCH) {
            fill_batch::<rand::rngs::SmallRng>(pixels, chunk, &mut x, None);
            let y: Vec<i64> = chunk.iter().map(|&i| labels[i] as i64).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x.clone(), [CLASSIFIER_BATCH, IMAGE_PIXELS]), &train_device); // [batch, 784]
            let y = Tensor::<1, Int>::from_data(TensorData::new(y, [CLASSIFIER_BATCH]), &train_device); // [batch]
            model = classifier_step(model, &mut optimizer, x, y, 1e-3).0;
            on_step();
        }
    }
    model.valid()
}

/// One step of the digit classifier on a labelled batch; returns the updated classifier and the
/// batch's cross-entropy.
///
/// # Shapes
/// - `x`: `[batch, 784]`, `labels`: `[batch]`
pub fn classifier_step(
    model: crate::classifier::Classifier,
    optimizer: &mut ModuleOptimizer,
    x: Tensor<2>,
    labels: Tensor<1, Int>,
    learning_rate: f64,
) -> (crate::classifier::Classifier, f64) {
    let loss = crate::classifier::cross_entropy(model.forward(x), labels); // [1]
    let value = loss.clone().detach().into_scalar::<f32>() as f64;
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optimizer.step(learning_rate, model, grads), value)
}

/// A model in training with its optimiser, stepped one batch at a time on grey images that are
/// binarised afresh for every step (dynamic binarisation) for a Bernoulli decoder, and given as
/// they are to a Gaussian one. The trainer's epochs and the page's
/// live training both drive this one type; neither has a training step of its own.
pub struct Learner {
    /// `None` only while a step owns it.
    model: Option<Vae>,
    optimizer: ModuleOptimizer,
    /// What the steps optimise; β may change between steps. A learned σₓ holds its running
    /// value here (what evaluation uses); each step uses its own batch's.
    objective: Objective,
    /// Forward/backward shards per step: rayon's threads natively, 1 in wasm (one thread).
    pub shards: usize,
    device: Device,
    /// Where the batch's calibrated σₓ is computed (no autodiff: it takes no gradient).
    inference_device: Device,
    batch: Vec<f32>,
    /// A learned σₓ² as an exponential mean over the steps' calibrated values; `None` before
    /// the first step of a learned σₓ.
    running_variance: Option<f64>,
}

/// How much of a learned σₓ²'s running value each step keeps: a memory of about twenty steps,
/// so that the value evaluation uses is the end of an epoch's, not its average.
const SIGMA_X_MOMENTUM: f64 = 0.95;

impl core::fmt::Debug for Learner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Learner").field("objective", &self.objective).field("shards", &self.shards).finish_non_exhaustive()
    }
}

impl Learner {
    /// A learner for `model` (on an autodiff device) with `optimizer` (fresh, or restored from a
    /// checkpoint).
    pub fn new(model: Vae, optimizer: ModuleOptimizer, objective: Objective, shards: usize) -> Self {
        let device = model.enc_mu.weight.device();
        let inference_device = model.valid().enc_mu.weight.device();
        Self {
            model: Some(model),
            optimizer,
            objective,
            shards: shards.max(1),
            device,
            inference_device,
            batch: Vec::new(),
            running_variance: None,
        }
    }

    /// What the steps optimise (with a learned σₓ's running value).
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// Optimises `objective` from the next step on. A learned σₓ that stays learned keeps its
    /// running value (the σₓ given is only a start); one newly learned starts from the next batch.
    pub fn set_objective(&mut self, objective: Objective) {
        let keeps_running = objective.likelihood.is_learned() && self.objective.likelihood.is_learned();
        self.objective = if keeps_running {
            objective.with_likelihood(self.objective.likelihood)
        } else {
            self.running_variance = None;
            objective
        };
    }

    /// Continues a learned σₓ from `sigma_x` (a checkpoint's running value).
    pub fn resume_sigma_x(&mut self, sigma_x: f64) {
        if self.objective.likelihood.is_learned() {
            self.running_variance = Some(sigma_x * sigma_x);
            self.objective.likelihood = self.objective.likelihood.with_sigma_x(sigma_x);
        }
    }

    /// The objective of one step: with a learned σₓ, the one that minimises this batch's loss
    /// at the model's current parameters ([`calibrated_sigma_x`], taken as a constant: no
    /// gradient flows through it), whose square also updates the running value.
    ///
    /// # Shapes
    /// - `eps`: `[batch, latent]`, the step's noise; the batch is `self.batch`
    fn calibrated(&mut self, model: &Vae, eps: &Tensor<2>) -> Objective {
        if !self.objective.likelihood.is_learned() {
            return self.objective;
        }
        let rows = self.batch.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(TensorData::new(self.batch.clone(), [rows, IMAGE_PIXELS]), &self.inference_device); // [batch, 784]
        let eps = Tensor::<2>::from_data(eps.clone().into_data(), &self.inference_device); // [batch, latent]
        let sigma_x = calibrated_sigma_x(reconstruction_mean_squared_error(&model.valid(), self.objective.kind, x, eps));
        let variance = sigma_x * sigma_x;
        let running = self.running_variance.map_or(variance, |old| SIGMA_X_MOMENTUM * old + (1.0 - SIGMA_X_MOMENTUM) * variance);
        self.running_variance = Some(running);
        self.objective.likelihood = self.objective.likelihood.with_sigma_x(running.sqrt());
        self.objective.with_likelihood(self.objective.likelihood.with_sigma_x(sigma_x))
    }

    /// One optimiser step on the images `indices` of `pixels` (`n × 784` intensities in [0, 1]),
    /// binarised afresh with `rng` for a Bernoulli decoder; returns the batch's mean terms
    /// before the step.
    pub fn step(&mut self, pixels: &[f32], indices: &[usize], rng: &mut impl Rng, learning_rate: f64) -> ElboTerms {
        self.batch.resize(indices.len() * IMAGE_PIXELS, 0.0);
        fill_batch(pixels, indices, &mut self.batch, self.objective.likelihood.is_bernoulli().then_some(rng));
        let x = Tensor::<2>::from_data(TensorData::new(self.batch.clone(), [indices.len(), IMAGE_PIXELS]), &self.device); // [batch, 784]
        let model = self.model.take().expect("the model is put back after every step");
        let eps = batch_noise(&model, &x);
        let objective = self.calibrated(&model, &eps);
        let (grads, terms) = gradients_at(&model, objective, x, eps, self.shards);
        self.model = Some(self.optimizer.step(learning_rate, model, grads));
        terms
    }

    /// The model as it is now (on the autodiff device; `.valid()` for inference).
    pub fn model(&self) -> &Vae {
        self.model.as_ref().expect("the model is put back after every step")
    }

    /// The optimiser's state (for checkpoints).
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optimizer
    }

    /// Replaces the model (e.g. with the last good one after a diverged step); the optimiser
    /// state is reset, since its moments belong to the parameters that diverged.
    pub fn restore(&mut self, model: Vae, optimizer: ModuleOptimizer) {
        self.model = Some(model);
        self.optimizer = optimizer;
    }
}

/// Shards per step that use every thread of rayon's pool (one per core natively).
pub fn all_threads() -> usize {
    rayon::current_num_threads()
}

/// The test images as a model with `likelihood` is scored on: binarised once with
/// [`crate::eval::TEST_BINARIZATION_SEED`] (Bernoulli), or grey as they are (Gaussian).
pub fn scored_images(likelihood: Likelihood, grey: &[f32]) -> Vec<f32> {
    use rand::SeedableRng;
    match likelihood {
        Likelihood::Bernoulli => {
            let mut binary = vec![0.0; grey.len()];
            let all: Vec<usize> = (0..grey.len() / IMAGE_PIXELS).collect();
            let mut rng = rand::rngs::SmallRng::seed_from_u64(crate::eval::TEST_BINARIZATION_SEED);
            fill_batch(grey, &all, &mut binary, Some(&mut rng));
            binary
        }
        Likelihood::Gaussian { .. } => grey.to_vec(),
    }
}

/// Gathers the images `indices` of `pixels` into `out`: binarised afresh (x ~ Bernoulli(intensity), pixel
/// by pixel) with `binarize`'s rng when given (dynamic binarisation: every epoch sees new binary samples, which regularises a
/// Bernoulli decoder), as they are otherwise (a Gaussian decoder's grey pixels).
pub fn fill_batch<R: Rng>(pixels: &[f32], indices: &[usize], out: &mut [f32], mut binarize: Option<&mut R>) {
    for (row, &i) in out.chunks_exact_mut(IMAGE_PIXELS).zip(indices) {
        let src = &pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
        match binarize.as_deref_mut() {
            Some(rng) => row.iter_mut().zip(src).for_each(|(o, &p)| *o = if rng.random::<f32>() < p { 1.0 } else { 0.0 }),
            None => row.copy_from_slice(src),
        }
    }
}
