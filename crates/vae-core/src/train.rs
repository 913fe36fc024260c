//! One optimisation step on the loss reconstruction + β·KL (autodiff; trainer only).

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::loss::{ElboTerms, elbo_terms};
use crate::model::{ModelKind, Vae};

/// What one step is asked to optimise.
#[derive(Debug, Clone, Copy)]
pub struct Objective {
    /// VAE (with KL) or plain AE.
    pub kind: ModelKind,
    /// Weight of the KL term (ignored for an AE).
    pub beta: f64,
}

/// Runs forward, backward and the optimiser on one batch; returns the updated model and the
/// batch's mean terms (before the update).
///
/// `model` and `x` must live on an autodiff device.
///
/// # Shapes
/// - `x`: `[batch, 784]`
pub fn train_step(
    model: Vae,
    optimizer: &mut ModuleOptimizer,
    objective: Objective,
    x: Tensor<2>,
    learning_rate: f64,
) -> (Vae, ElboTerms) {
    let [batch, _] = x.dims();
    let latent = model.enc_mu.weight.dims()[1];
    let eps = Tensor::<2>::random([batch, latent], Distribution::Normal(0.0, 1.0), &x.device()); // [batch, latent]
    let (recon, kl) = elbo_terms(&model, objective.kind, x, eps); // [batch] each
    let recon = recon.mean(); // [1]
    let kl = kl.mean(); // [1]
    let loss = match objective.kind {
        ModelKind::Vae => recon.clone() + kl.clone().mul_scalar(objective.beta),
        ModelKind::Ae => recon.clone(),
    };
    let terms = ElboTerms {
        recon: recon.detach().into_scalar::<f32>() as f64,
        kl: kl.detach().into_scalar::<f32>() as f64,
    };
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optimizer.step(learning_rate, model, grads);
    (model, terms)
}

/// Drops the autodiff graph: the same parameters on the plain device, for evaluation and export.
pub fn without_autodiff(model: &Vae) -> Vae {
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
