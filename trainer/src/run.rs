//! The training loop: shuffle, binarise, step, report, export.

use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use burn::module::Module;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use vae_core::loss::elbo_terms;
use vae_core::train::{Objective, train_step};
use vae_core::{ElboTerms, IMAGE_PIXELS, ModelKind, Vae, VaeConfig, WeightsFile, WeightsMeta};

use crate::TrainArgs;
use crate::checkpoint::{Checkpoint, RunSettings};
use crate::data::Split;
use crate::export::write_atomic;

/// The test set is binarised once with this seed, so every run and every model is scored on
/// the same binary images (the usual protocol for likelihoods in nats).
pub const TEST_BINARIZATION_SEED: u64 = 0x5eed_7e57;
const EVAL_BATCH: usize = 1000;

/// Trains as `args` say and writes the weights file.
pub fn train(args: &TrainArgs) -> Result<()> {
    ensure!(args.epochs > 0 || args.short, "--epochs must be at least 1");
    ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    ensure!(args.lr.is_finite() && args.lr > 0.0, "--lr must be a positive number");
    ensure!(args.beta.is_finite() && args.beta >= 0.0, "--beta must be a non-negative number");
    ensure!(!args.hidden.is_empty() && !args.hidden.contains(&0), "--hidden needs widths ≥ 1, e.g. 512,256");

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
    let mut model = config.init(&train_device);
    let mut optimizer = AdamConfig::new().init();
    let objective = Objective { kind: args.kind(), beta: args.beta };
    let test_x = binarize(&dataset.test.pixels, &mut SmallRng::seed_from_u64(TEST_BINARIZATION_SEED));

    let name = args.model_name();
    let settings = RunSettings {
        name: name.clone(),
        kind: format!("{:?}", objective.kind).to_lowercase(),
        beta: args.beta,
        hidden: args.hidden.clone(),
        batch_size: args.batch_size,
        seed: args.seed,
        epochs,
        train_images: dataset.train.len(),
        dataset: args.data.dataset.as_str().into(),
    };
    let checkpoint_path = args.checkpoint_path();
    let mut first_epoch = 1;
    if args.resume {
        let checkpoint = Checkpoint::load(&checkpoint_path)?;
        checkpoint.check_matches(&settings, &checkpoint_path)?;
        first_epoch = checkpoint.epochs_done + 1;
        println!("resuming {name} from {} after epoch {}/{epochs}", checkpoint_path.display(), checkpoint.epochs_done);
        (model, optimizer) = checkpoint.restore(&config, &train_device, optimizer)?;
    }
    let objective_text = match objective.kind {
        ModelKind::Vae => format!("VAE, loss = recon + {}·KL", args.beta),
        ModelKind::Ae => "plain AE, loss = recon (no KL)".to_string(),
    };
    println!(
        "training {name} ({objective_text}) on {} images ({} test), hidden {:?}, {epochs} epochs of batch {}",
        dataset.train.len(),
        dataset.test.len(),
        args.hidden,
        args.batch_size
    );
    let steps_per_epoch = dataset.train.len() / args.batch_size;
    let total_steps = (steps_per_epoch * epochs) as f64;
    let mut batch = vec![0f32; args.batch_size * IMAGE_PIXELS];
    let mut test = ElboTerms::default();
    let started = Instant::now();
    let mut fastest_epoch = f64::INFINITY;
    for epoch in first_epoch..=epochs {
        // Every epoch draws from streams seeded by (seed, epoch), so a resumed run repeats exactly
        // what the uninterrupted one would have drawn.
        let epoch_seed = args.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = SmallRng::seed_from_u64(epoch_seed);
        device.seed(epoch_seed);
        let mut order: Vec<usize> = (0..dataset.train.len()).collect();
        order.shuffle(&mut rng);
        let bar = progress_bar(steps_per_epoch, epoch, epochs);
        let epoch_start = Instant::now();
        let mut sum = ElboTerms::default();
        for (step, chunk) in order.chunks_exact(args.batch_size).enumerate() {
            fill_binarized_batch(&dataset.train, chunk, &mut batch, &mut rng);
            let x = Tensor::<2>::from_data(TensorData::new(batch.clone(), [chunk.len(), IMAGE_PIXELS]), &train_device); // [batch, 784]
            let progress = ((epoch - 1) * steps_per_epoch + step) as f64 / total_steps;
            let (next, terms) = train_step(model, &mut optimizer, objective, x, cosine_lr(args.lr, progress));
            model = next;
            if !(terms.recon.is_finite() && terms.kl.is_finite()) {
                bar.abandon();
                let rescue = if epoch > 1 {
                    format!("the last good checkpoint (after epoch {}) is {}: continue it with --resume and a lower --lr", epoch - 1, checkpoint_path.display())
                } else {
                    "retrain with a lower --lr".to_string()
                };
                bail!("the loss became non-finite at epoch {epoch}, step {step} (recon {}, KL {}); {rescue}", terms.recon, terms.kl);
            }
            sum.recon += terms.recon;
            sum.kl += terms.kl;
            let seen = (step + 1) as f64;
            let rate = ((step + 1) * args.batch_size) as f64 / epoch_start.elapsed().as_secs_f64();
            bar.set_message(format!(
                "−ELBO {:.1} = recon {:.1} + KL {:.2} nats · {rate:.0} img/s",
                (sum.recon + sum.kl) / seen,
                sum.recon / seen,
                sum.kl / seen
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let n = steps_per_epoch as f64;
        let train_terms = ElboTerms { recon: sum.recon / n, kl: sum.kl / n };
        test = evaluate(&model.valid(), objective.kind, &test_x, &device);
        println!(
            "epoch {epoch:>3}/{epochs}  train −ELBO {:7.2} (recon {:7.2}, KL {:5.2})  test −ELBO {:7.2} (recon {:7.2}, KL {:5.2}) nats  {:.1}s",
            -train_terms.elbo(),
            train_terms.recon,
            train_terms.kl,
            -test.elbo(),
            test.recon,
            test.kl,
            epoch_start.elapsed().as_secs_f64()
        );
        fastest_epoch = fastest_epoch.min(epoch_start.elapsed().as_secs_f64());
        Checkpoint::capture(&settings, epoch, &model, &optimizer)?.save(&checkpoint_path)?;
    }
    if first_epoch > epochs {
        test = evaluate(&model.valid(), objective.kind, &test_x, &device);
    }

    let out = args.out.clone().unwrap_or_else(|| format!("weights/{name}.vaew").into());
    let meta = WeightsMeta {
        name: name.clone(),
        kind: objective.kind,
        beta: if objective.kind == ModelKind::Ae { 0.0 } else { args.beta },
        config,
        dataset: args.data.dataset.as_str().into(),
        epochs,
        seed: args.seed,
        test_recon: test.recon,
        test_kl: test.kl,
        test_posteriors: test_posteriors(&model.valid(), objective.kind, &dataset.test, &device),
    };
    let file = WeightsFile::from_model(model.valid(), meta).context("packing the trained weights")?;
    write_atomic(&out, &file.to_bytes())?;
    // The run is complete and its weights are safe: the checkpoint has served its purpose.
    let _ = std::fs::remove_file(&checkpoint_path);
    println!(
        "wrote {} ({:.1} MB) after {:.0}s: test ELBO {:.2} nats (recon {:.2}, KL {:.2})",
        out.display(),
        file.to_bytes().len() as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        test.elbo(),
        test.recon,
        test.kl
    );
    if args.json {
        let summary = serde_json::json!({
            "name": name, "weights": out, "epochs": epochs,
            "elbo": test.elbo(), "recon": test.recon, "kl": test.kl,
            "seconds": started.elapsed().as_secs_f64(),
            // One epoch of training plus its test-set evaluation (the fastest, if several).
            "epoch_s": fastest_epoch.is_finite().then_some(fastest_epoch),
            "images_per_s": fastest_epoch.is_finite().then(|| (steps_per_epoch * args.batch_size) as f64 / fastest_epoch),
        });
        println!("{summary}");
    }
    Ok(())
}

/// The models the page compares, trained one after another with the same architecture and
/// schedule: plain AE, VAE (β = 1), and VAEs with a weaker and a stronger KL term.
pub fn train_suite(args: &TrainArgs) -> Result<()> {
    ensure!(args.out.is_none() && args.name.is_none(), "train-suite names its own outputs; drop --out and --name");
    let runs = [(crate::ModelArg::Ae, 1.0), (crate::ModelArg::Vae, 1.0), (crate::ModelArg::Vae, 0.1), (crate::ModelArg::Vae, 4.0)];
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

/// Mean reconstruction and KL over a (binarised) test set, one posterior sample per image.
pub fn evaluate(model: &Vae, kind: ModelKind, pixels: &[f32], device: &Device) -> ElboTerms {
    let n = pixels.len() / IMAGE_PIXELS;
    let mut sum = ElboTerms::default();
    for chunk in pixels.chunks(EVAL_BATCH * IMAGE_PIXELS) {
        let b = chunk.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [b, IMAGE_PIXELS]), device); // [b, 784]
        let eps = Tensor::<2>::random([b, model.enc_mu.weight.dims()[1]], Distribution::Normal(0.0, 1.0), device);
        let (recon, kl) = elbo_terms(model, kind, x, eps); // [b] each
        sum.recon += recon.sum().into_scalar::<f32>() as f64;
        sum.kl += kl.sum().into_scalar::<f32>() as f64;
    }
    ElboTerms { recon: sum.recon / n as f64, kl: sum.kl / n as f64 }
}

/// x ~ Bernoulli(intensity), pixel by pixel.
pub fn binarize(pixels: &[f32], rng: &mut impl Rng) -> Vec<f32> {
    pixels.iter().map(|&p| if rng.random::<f32>() < p { 1.0 } else { 0.0 }).collect()
}

/// Gathers the images `indices` into `out`, binarised afresh (dynamic binarisation: every epoch
/// sees new binary samples, which regularises the decoder).
fn fill_binarized_batch(split: &Split, indices: &[usize], out: &mut [f32], rng: &mut impl Rng) {
    for (row, &i) in out.chunks_exact_mut(IMAGE_PIXELS).zip(indices) {
        let src = &split.pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
        for (o, &p) in row.iter_mut().zip(src) {
            *o = if rng.random::<f32>() < p { 1.0 } else { 0.0 };
        }
    }
}

/// Cosine decay from `lr` to `lr / 10` as `progress` goes from 0 to 1.
fn cosine_lr(lr: f64, progress: f64) -> f64 {
    let floor = lr / 10.0;
    floor + 0.5 * (lr - floor) * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos())
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
