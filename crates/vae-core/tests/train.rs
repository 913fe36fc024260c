//! The training step's data-parallel split: however many shards the batch is cut into, the
//! gradients and reported terms are those of the whole batch.
#![cfg(feature = "train")]

mod common;

use std::sync::Mutex;

use burn::module::Param;
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use vae_core::train::{Objective, batch_gradients};
use vae_core::{ModelKind, Vae, VaeConfig, WeightsFile};

fn layers(model: &Vae) -> Vec<&Linear> {
    model.encoder.iter().chain([&model.enc_mu, &model.enc_logvar]).chain(&model.decoder).collect()
}

/// A parameter's gradient; empty where it has none (an AE never uses its log-variance head).
fn values<const D: usize>(grads: &GradientsParams, param: &Param<Tensor<D>>) -> Vec<f32> {
    grads.get::<D>(param.id).map(|grad| grad.into_data().try_to_vec::<f32>().expect("f32 gradient")).unwrap_or_default()
}

/// Every gradient of the model, layer by layer, weights then biases.
fn all_gradients(model: &Vae, grads: &GradientsParams) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for layer in layers(model) {
        out.push(values(grads, &layer.weight));
        out.push(values(grads, layer.bias.as_ref().expect("layers have biases")));
    }
    out
}

/// How many parameters have a gradient.
fn with_gradient(grads: &[Vec<f32>]) -> usize {
    grads.iter().filter(|g| !g.is_empty()).count()
}

fn assert_close(a: &[Vec<f32>], b: &[Vec<f32>]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let scale = x.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let worst = x.iter().zip(y).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        assert!(worst <= 1e-4 * scale, "gradient {i}: differs by {worst} (largest entry {scale})");
    }
}

/// The device's random stream is process-wide: tests that seed it must not interleave.
static RANDOM_STREAM: Mutex<()> = Mutex::new(());

fn gradients_with_shards(kind: ModelKind, shards: usize) -> (Vec<Vec<f32>>, f64, f64) {
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex().autodiff();
    device.seed(11);
    let model = VaeConfig::new().with_hidden(vec![64, 32]).init(&device);
    let x = Tensor::<2>::random([96, 784], Distribution::Bernoulli(0.3), &device); // [96, 784]
    device.seed(12); // the same ε for every shard count
    let (grads, terms) = batch_gradients(&model, Objective { kind, beta: 2.0 }, x, shards);
    (all_gradients(&model, &grads), terms.recon, terms.kl)
}

#[test]
fn sharded_gradients_equal_the_whole_batch_gradients() {
    for kind in [ModelKind::Vae, ModelKind::Ae] {
        let (whole, recon, kl) = gradients_with_shards(kind, 1);
        assert!(whole.iter().flatten().any(|g| *g != 0.0), "{kind}: the whole-batch gradient is not all zero");
        // Every weight and bias has one, except the AE's log-variance head, which it never uses.
        let expected = if kind == ModelKind::Ae { whole.len() - 2 } else { whole.len() };
        assert_eq!(with_gradient(&whole), expected, "{kind}: parameters with a gradient");
        for shards in [2, 3, 5] {
            let (split, split_recon, split_kl) = gradients_with_shards(kind, shards);
            assert_eq!(with_gradient(&split), expected, "{kind}, {shards} shards: parameters with a gradient");
            assert_close(&whole, &split);
            assert!((recon - split_recon).abs() < 1e-3 * recon, "{kind}, {shards} shards: recon {split_recon} vs {recon}");
            assert!((kl - split_kl).abs() < 1e-3 * kl.max(1e-3), "{kind}, {shards} shards: KL {split_kl} vs {kl}");
        }
    }
}

#[test]
fn the_batch_mean_not_the_shard_mean_is_differentiated() {
    // Doubling the batch with the same images must leave the mean's gradient unchanged; a step
    // that averaged per shard and then summed shards would double it.
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex().autodiff();
    device.seed(3);
    let model = VaeConfig::new().with_hidden(vec![32]).init(&device);
    let x = Tensor::<2>::random([32, 784], Distribution::Bernoulli(0.3), &device); // [32, 784]
    let twice = Tensor::cat(vec![x.clone(), x.clone()], 0); // [64, 784]
    let objective = Objective { kind: ModelKind::Ae, beta: 1.0 };
    let (once, _) = batch_gradients(&model, objective, x, 1);
    let (doubled, _) = batch_gradients(&model, objective, twice, 2);
    assert_close(&all_gradients(&model, &once), &all_gradients(&model, &doubled));
}

/// The reconstruction term's value is Σ softplus(ℓ) − xℓ and its gradient σ(ℓ) − x (it hands the
/// gradient to autodiff in closed form), over logits from −20 to 20 and grey targets.
#[test]
fn the_reconstruction_term_has_the_bernoulli_value_and_gradient() {
    use vae_core::loss::reconstruction_nats;
    let device = Device::flex().autodiff();
    let n = 2 * 784;
    let logits: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.4).collect();
    let targets: Vec<f32> = (0..n).map(|i| (i * 13 % 11) as f32 / 10.0).collect();
    let leaf = Tensor::<2>::from_data(TensorData::new(logits.clone(), [2, 784]), &device).require_grad();
    let x = Tensor::<2>::from_data(TensorData::new(targets.clone(), [2, 784]), &device);
    let loss = reconstruction_nats(leaf.clone(), x).sum(); // [1]
    let value = loss.clone().into_scalar::<f32>() as f64;
    let grads = loss.backward();
    let gradient = leaf.grad(&grads).expect("the logits get a gradient").into_data().try_to_vec::<f32>().expect("f32");
    let (mut expected_value, mut worst) = (0f64, 0f64);
    for ((&l, &t), &g) in logits.iter().zip(&targets).zip(&gradient) {
        let (l, t) = (l as f64, t as f64);
        expected_value += l.max(0.0) + (-l.abs()).exp().ln_1p() - t * l;
        worst = worst.max((g as f64 - (1.0 / (1.0 + (-l).exp()) - t)).abs());
    }
    assert!(worst < 1e-6, "gradient off by {worst}");
    assert!((value - expected_value).abs() < 1e-6 * expected_value, "{value} vs {expected_value}");
}

#[test]
fn fused_adam_steps_as_burns_adam_does() {
    use burn::optim::{AdamConfig, ModuleOptimizer};
    use vae_core::optim::FusedAdam;
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex().autodiff();
    device.seed(21);
    let start = VaeConfig::new().with_hidden(vec![64, 32]).init(&device);
    let x = Tensor::<2>::random([64, 784], Distribution::Bernoulli(0.3), &device); // [64, 784]
    let parameters = |model: &Vae| -> Vec<Vec<f32>> {
        let data = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().expect("f32 parameters");
        layers(model)
            .into_iter()
            .flat_map(|l| [data(l.weight.val().flatten(0, 1)), data(l.bias.as_ref().expect("layers have biases").val())])
            .collect()
    };
    let train = |mut optimizer: ModuleOptimizer| {
        let mut model = start.clone();
        for step in 0..6 {
            device.seed(100 + step); // the same ε for both optimisers
            let (grads, _) = batch_gradients(&model, Objective { kind: ModelKind::Vae, beta: 1.0 }, x.clone(), 1);
            model = optimizer.step(1e-3, model, grads);
        }
        parameters(&model)
    };
    // Reading the parameters draws them (burn initialises lazily): both runs start from these.
    let before = parameters(&start);
    let burns = train(AdamConfig::new().init());
    let fused = train(FusedAdam::default().init());
    assert_close(&burns, &fused);
    // …and both moved: six steps of 1e-3 each are far above the tolerance.
    let moved = before.iter().zip(&fused).map(|(a, b)| a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs()))).fold(0f32, f32::max);
    assert!(moved > 1e-3, "the parameters moved by at most {moved}");
}

/// The vendored cubecl-environment's patch is in force (`vendor/README.md`): an aligned byte
/// buffer becomes tensor bytes as it is, not copied. burn-flex makes every matrix product's output
/// this way; the copy was 5.4% of an epoch. Fails if the `[patch.crates-io]` entry is lost (say,
/// in a burn upgrade).
#[test]
fn new_tensor_buffers_are_not_copied() {
    // The system allocator aligns these to 16 bytes on the platforms we build for; keep asking
    // until it has, so the check below always runs.
    let buffer = (0..64).map(|_| vec![0u8; 1 << 16]).find(|b| b.as_ptr().align_offset(16) == 0).expect("a 16-byte-aligned buffer");
    let address = buffer.as_ptr();
    let bytes = burn::tensor::Bytes::from_bytes_vec(buffer);
    assert_eq!(bytes.as_ptr(), address, "the buffer was copied");
}

/// Loading a weights file replaces every parameter, so it draws nothing from the device's random
/// stream (it used to initialise all of them at random first: half the time of a load, and a
/// shift in whatever the stream drew next).
#[test]
fn loading_weights_draws_no_random_numbers() {
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    let config = VaeConfig::new().with_hidden(vec![16, 8]);
    let bytes = WeightsFile::from_model(config.init(&device), common::meta(config.clone())).expect("packs").to_bytes();
    let draw = || Tensor::<1>::random([8], Distribution::Default, &device).into_data().try_to_vec::<f32>().expect("f32");
    device.seed(5);
    let expected = draw();
    device.seed(5);
    WeightsFile::from_bytes(&bytes).expect("parses").load_model(&device).expect("loads");
    assert_eq!(draw(), expected, "loading the weights drew from the device's random stream");
}
