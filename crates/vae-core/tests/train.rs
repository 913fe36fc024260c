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
    let (grads, terms) = batch_gradients(&model, Objective::new(kind, 2.0), x, shards);
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
    let objective = Objective::new(ModelKind::Ae, 1.0);
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
            let (grads, _) = batch_gradients(&model, Objective::new(ModelKind::Vae, 1.0), x.clone(), 1);
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

// The exercise sheet's loss, term by term (issue: ‖x − x′‖² as a Gaussian decoder, and the KL's
// pulls on the mean and the variance).

/// A small VAE, a batch of grey images and one ε, the same for every call with the same seed.
fn sheet_fixture(seed: u64) -> (Vae, Tensor<2>, Tensor<2>) {
    let device = Device::flex().autodiff();
    device.seed(seed);
    let model = VaeConfig::new().with_hidden(vec![48, 24]).init(&device);
    let x = Tensor::<2>::random([40, 784], Distribution::Uniform(0.0, 1.0), &device); // [40, 784]
    let eps = Tensor::<2>::random([40, 2], Distribution::Normal(0.0, 1.0), &device); // [40, 2]
    // burn draws parameters when they are first read: read them all now, so that the seeded ε
    // of the steps below is drawn after them, the same in every call.
    let _ = model.decode_logits(model.encode(x.clone()).0);
    (model, x, eps)
}

/// The gradients of `loss(terms)` / batch, the loss written out by hand from `elbo_terms`.
fn hand_gradients(
    model: &Vae,
    likelihood: vae_core::Likelihood,
    x: Tensor<2>,
    eps: Tensor<2>,
    loss: impl Fn(vae_core::loss::BatchTerms) -> Tensor<1>,
) -> Vec<Vec<f32>> {
    let batch = x.dims()[0];
    let terms = vae_core::loss::elbo_terms(model, ModelKind::Vae, likelihood, x, eps);
    let grads = GradientsParams::from_grads(loss(terms).div_scalar(batch as f64).backward(), model);
    all_gradients(model, &grads)
}

#[test]
fn the_two_kl_parts_sum_to_the_closed_form_kl() {
    use vae_core::loss::{kl_mean_part, kl_standard_normal};
    let device = Device::flex();
    let mu = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 1.5, -2.0, -0.3, 0.7, 4.0, 0.1], [4, 2]), &device);
    let logvar = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, -3.0, 1.0, -8.0, -8.0, 2.0, 0.5], [4, 2]), &device);
    let kl = kl_standard_normal(mu.clone(), logvar.clone()).into_data().try_to_vec::<f32>().expect("f32");
    let mean = kl_mean_part(mu.clone()).into_data().try_to_vec::<f32>().expect("f32");
    let (m, lv) = (mu.into_data().try_to_vec::<f32>().expect("f32"), logvar.into_data().try_to_vec::<f32>().expect("f32"));
    for i in 0..4 {
        // Each part on its own, in f64: ½‖μ‖² and ½ Σ (σ² − 1 − ln σ²).
        let mean_part: f64 = (0..2).map(|d| 0.5 * (m[2 * i + d] as f64).powi(2)).sum();
        let var_part: f64 = (0..2).map(|d| 0.5 * ((lv[2 * i + d] as f64).exp() - 1.0 - lv[2 * i + d] as f64)).sum();
        assert!((mean[i] as f64 - mean_part).abs() < 1e-5 * (1.0 + mean_part), "image {i}: mean part {} vs {mean_part}", mean[i]);
        assert!(
            (kl[i] as f64 - (mean_part + var_part)).abs() < 1e-5 * (1.0 + var_part),
            "image {i}: KL {} vs {}",
            kl[i],
            mean_part + var_part
        );
    }
    assert_eq!(mean[0], 0.0, "codes at the origin feel no pull on the mean");
}

#[test]
fn equal_betas_take_todays_step_bit_for_bit() {
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for beta in [1.0, 2.5] {
        let (model, x, _) = sheet_fixture(31);
        let objective = Objective::new(ModelKind::Vae, beta).with_betas(beta, beta);
        model.encoder[0].weight.device().seed(32);
        let (grads, terms) = batch_gradients(&model, objective, x.clone(), 1);
        // Today's step: recon + β·KL, with the ε batch_gradients draws from the seeded stream.
        model.encoder[0].weight.device().seed(32);
        let eps = Tensor::<2>::random([40, 2], Distribution::Normal(0.0, 1.0), &x.device());
        let today = hand_gradients(&model, vae_core::Likelihood::Bernoulli, x, eps, |t| t.recon.sum() + t.kl.sum().mul_scalar(beta));
        assert!(all_gradients(&model, &grads) == today, "β_μ = β_σ = {beta} is not today's step bit for bit");
        assert!(terms.kl_mean > 0.0 && terms.kl_mean < terms.kl, "{terms:?}");
    }
}

#[test]
fn each_kl_part_is_weighted_by_its_own_beta() {
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (model, x, _) = sheet_fixture(41);
    for (beta_mean, beta_var) in [(0.0, 1.0), (1.0, 0.0), (3.0, 0.5)] {
        let objective = Objective::new(ModelKind::Vae, 1.0).with_betas(beta_mean, beta_var);
        model.encoder[0].weight.device().seed(42);
        let (grads, _) = batch_gradients(&model, objective, x.clone(), 1);
        model.encoder[0].weight.device().seed(42);
        let eps = Tensor::<2>::random([40, 2], Distribution::Normal(0.0, 1.0), &x.device());
        let expected = hand_gradients(&model, vae_core::Likelihood::Bernoulli, x.clone(), eps, |t| {
            let mean = t.kl_mean.sum();
            t.recon.sum() + mean.clone().mul_scalar(beta_mean) + (t.kl.sum() - mean).mul_scalar(beta_var)
        });
        assert_close(&all_gradients(&model, &grads), &expected);
    }
}

#[test]
fn the_gaussian_reconstruction_is_half_the_squared_error_over_sigma_squared_plus_a_constant() {
    use vae_core::loss::{gaussian_nats, gaussian_reconstruction_nats};
    let device = Device::flex().autodiff();
    let n = 2 * 784;
    let logits: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.3).collect();
    let targets: Vec<f32> = (0..n).map(|i| (i * 13 % 11) as f32 / 10.0).collect();
    for sigma_x in [0.1f64, 0.3, 1.0 / 2f64.sqrt()] {
        let leaf = Tensor::<2>::from_data(TensorData::new(logits.clone(), [2, 784]), &device).require_grad();
        let x = Tensor::<2>::from_data(TensorData::new(targets.clone(), [2, 784]), &device);
        let per_image = gaussian_reconstruction_nats(leaf.clone(), x, sigma_x).into_data().try_to_vec::<f32>().expect("f32");
        let leaf2 = Tensor::<2>::from_data(TensorData::new(logits.clone(), [2, 784]), &device).require_grad();
        let x2 = Tensor::<2>::from_data(TensorData::new(targets.clone(), [2, 784]), &device);
        let grads = gaussian_reconstruction_nats(leaf2.clone(), x2, sigma_x).sum().backward();
        let gradient = leaf2.grad(&grads).expect("the logits get a gradient").into_data().try_to_vec::<f32>().expect("f32");
        let var = sigma_x * sigma_x;
        let constant = 784.0 * (sigma_x * (2.0 * std::f64::consts::PI).sqrt()).ln();
        for (image, &got) in per_image.iter().enumerate() {
            let range = image * 784..(image + 1) * 784;
            let mut expected = constant;
            for i in range.clone() {
                let s = 1.0 / (1.0 + (-(logits[i] as f64)).exp());
                let d = s - targets[i] as f64;
                expected += d * d / (2.0 * var);
                let slope = d * s * (1.0 - s) / var;
                assert!(
                    (gradient[i] as f64 - slope).abs() < 1e-5 * (1.0 + slope.abs()),
                    "σₓ {sigma_x}, pixel {i}: {} vs {slope}",
                    gradient[i]
                );
            }
            let got = got as f64;
            assert!((got - expected).abs() < 1e-4 * expected.abs().max(1.0), "σₓ {sigma_x}, image {image}: {got} vs {expected}");
            let one = gaussian_nats(&logits[range.clone()], &targets[range], sigma_x) as f64;
            assert!((one - expected).abs() < 1e-4 * expected.abs().max(1.0), "σₓ {sigma_x}, one image: {one} vs {expected}");
        }
    }
}

/// With a Gaussian decoder, loss = ‖x − x′‖²/(2σₓ²) + β·KL + const: (c·σₓ², β) is (σₓ², c·β)
/// with the loss divided by c, so its gradients are 1/c times as large and the minimiser is the same.
#[test]
fn scaling_sigma_x_squared_by_c_is_scaling_beta_by_c() {
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (model, x, _) = sheet_fixture(51);
    let (sigma_x, beta) = (0.2f64, 1.0);
    for c in [4.0f64, 0.25, 2.5] {
        let gradients = |sigma_x: f64, beta: f64| {
            let objective = Objective::new(ModelKind::Vae, beta).with_likelihood(vae_core::Likelihood::gaussian(sigma_x));
            model.encoder[0].weight.device().seed(52); // the same ε for both
            all_gradients(&model, &batch_gradients(&model, objective, x.clone(), 1).0)
        };
        let scaled_sigma = gradients(sigma_x * c.sqrt(), beta);
        let scaled_beta: Vec<Vec<f32>> =
            gradients(sigma_x, c * beta).into_iter().map(|g| g.into_iter().map(|v| v / c as f32).collect()).collect();
        assert!(scaled_sigma.iter().flatten().any(|g| g.abs() > 1e-6), "c = {c}: the gradients are not all zero");
        assert_close(&scaled_sigma, &scaled_beta);
    }
}

#[test]
fn a_gaussian_learner_trains_on_grey_pixels_and_a_bernoulli_one_on_binary_ones() {
    use rand::SeedableRng;
    use vae_core::train::Learner;
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pixels: Vec<f32> = (0..8 * 784).map(|i| (i % 7) as f32 / 6.0).collect();
    let device = Device::flex().autodiff();
    // Two steps on the same images; `binarisation` seeds the binarisation (the only use of the rng).
    let run = |likelihood, binarisation| {
        device.seed(61);
        let model = VaeConfig::new().with_hidden(vec![16]).init(&device);
        let _ = model.decode_logits(model.encode(Tensor::zeros([1, 784], &device)).0); // draw the parameters now
        device.seed(62);
        let objective = Objective::new(ModelKind::Vae, 1.0).with_likelihood(likelihood);
        let mut learner = Learner::new(model, vae_core::optim::FusedAdam::default().init(), objective, 1);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(binarisation);
        (learner.step(&pixels, &[0, 1, 2, 3], &mut rng, 1e-3), learner.step(&pixels, &[0, 1, 2, 3], &mut rng, 1e-3))
    };
    let gaussian = vae_core::Likelihood::gaussian(0.1);
    let g = run(gaussian, 1);
    assert_eq!(g, run(gaussian, 2), "a Gaussian decoder sees the grey pixels, however they would have been binarised");
    assert_ne!(g.0.recon, g.1.recon, "the Gaussian run moved");
    let bernoulli = vae_core::Likelihood::Bernoulli;
    assert_ne!(run(bernoulli, 1).0, run(bernoulli, 2).0, "a Bernoulli decoder sees the batch binarised afresh");
}

#[test]
fn the_calibrated_sigma_x_is_the_minimiser_of_the_batch_loss() {
    use vae_core::Likelihood;
    use vae_core::loss::{calibrated_sigma_x, elbo_terms, reconstruction_mean_squared_error};
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = Device::flex();
    device.seed(71);
    let model = VaeConfig::new().with_hidden(vec![32]).init(&device);
    let x = Tensor::<2>::random([40, 784], Distribution::Uniform(0.0, 1.0), &device); // [40, 784]
    let eps = Tensor::<2>::random([40, 2], Distribution::Normal(0.0, 1.0), &device); // [40, 2]
    let closed_form = calibrated_sigma_x(reconstruction_mean_squared_error(&model, ModelKind::Vae, x.clone(), eps.clone()));
    // The batch's Gaussian loss as training computes it, minimised numerically over ln σₓ by a
    // golden-section search on the calibrated range.
    let loss = |log_sigma: f64| -> f64 {
        let recon = elbo_terms(&model, ModelKind::Vae, Likelihood::gaussian(log_sigma.exp()), x.clone(), eps.clone()).recon;
        recon.into_data().try_to_vec::<f32>().expect("f32").iter().map(|&v| v as f64).sum()
    };
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut low, mut high) = (0.01f64.ln(), 0.0f64);
    for _ in 0..60 {
        let (a, b) = (high - ratio * (high - low), low + ratio * (high - low));
        if loss(a) < loss(b) { high = b } else { low = a }
    }
    let numerical = ((low + high) / 2.0).exp();
    assert!(
        (numerical - closed_form).abs() < 2e-3 * closed_form,
        "closed form σₓ {closed_form} vs the loss's numerical minimiser {numerical}"
    );
    assert!(closed_form > 0.05 && closed_form < 0.9, "the planted batch's σₓ is inside the clamp: {closed_form}");
    assert_eq!((calibrated_sigma_x(1e-9), calibrated_sigma_x(4.0), calibrated_sigma_x(f64::NAN)), (0.01, 1.0, 1.0), "clamped to [0.01, 1]");
}

#[test]
fn a_learned_sigma_x_learner_moves_its_sigma_and_keeps_a_running_value() {
    use rand::SeedableRng;
    use vae_core::Likelihood;
    use vae_core::train::Learner;
    let _stream = RANDOM_STREAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pixels: Vec<f32> = (0..8 * 784).map(|i| (i % 7) as f32 / 6.0).collect();
    let device = Device::flex().autodiff();
    let run = |likelihood| {
        device.seed(61);
        let model = VaeConfig::new().with_hidden(vec![16]).init(&device);
        let _ = model.decode_logits(model.encode(Tensor::zeros([1, 784], &device)).0);
        device.seed(62);
        let objective = Objective::new(ModelKind::Vae, 1.0).with_likelihood(likelihood);
        let mut learner = Learner::new(model, vae_core::optim::FusedAdam::default().init(), objective, 1);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let terms = learner.step(&pixels, &[0, 1, 2, 3], &mut rng, 1e-3);
        (terms, learner.objective().likelihood)
    };
    let (learned_terms, after) = run(Likelihood::learned_gaussian(0.1));
    let Likelihood::Gaussian { sigma_x, learned: true } = after else { panic!("{after:?}") };
    assert!(sigma_x != 0.1 && (0.01..=1.0).contains(&sigma_x), "σₓ moved from its start 0.1 to {sigma_x}");
    // The step used that batch's σₓ: its reconstruction term is the fixed-σₓ run's at the same σₓ.
    let (fixed_terms, _) = run(Likelihood::gaussian(sigma_x));
    assert!(
        (learned_terms.recon - fixed_terms.recon).abs() < 1e-3 * fixed_terms.recon.abs().max(1.0),
        "{learned_terms:?} vs {fixed_terms:?}"
    );
    let (start_terms, _) = run(Likelihood::gaussian(0.1));
    assert!((learned_terms.recon - start_terms.recon).abs() > 1.0, "the learned step did not use σₓ = 0.1");
}
