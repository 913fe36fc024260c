//! `trainer eval` and `trainer encode`: figures for a weights file, posteriors for image files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use burn::prelude::*;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vae_core::eval::{Continuity, code_spread, continuity, continuity_scaled, iwae_log_likelihood, mean_of};
use vae_core::fast::FastDecoder;
use vae_core::numeric::standard_normal_samples;
use vae_core::{ElboTerms, IMAGE_PIXELS, Likelihood, ModelKind, Vae, WeightsFile, WeightsMeta, preprocess_rgba_as, readout};

use crate::data::{self, Split};
use crate::scoring::{EvalArgs, gaussian_units, load_weights, sigma_x_text};
use vae_core::classifier::{Classifier, argmax, class_entropy_bits, classify};
use vae_core::eval::{TEST_BINARIZATION_SEED, elbo_on};
use vae_core::train::scored_images;

/// Options of `trainer encode`.
#[derive(Args, Debug, Clone)]
pub struct EncodeArgs {
    /// Image files (PNG, JPEG, GIF, BMP, WebP).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// The weights file to encode with.
    #[arg(long, default_value = "weights/vae.vaew")]
    pub weights: PathBuf,
    /// Print one JSON object per image ({file, mu, sigma, kl, recon, elbo, inverted, input, and
    /// with --exact log_px, approximation_gap, amortization_gap, exact_sure, exact_evaluations},
    /// or {file, error}) instead of one readable line per image. `input` is the 28×28
    /// intensities the encoder saw (784 numbers, row-major, in [0, 1]).
    #[arg(long)]
    pub json: bool,
    /// Also compute each image's exact bound: log p(x) and the approximation and amortization
    /// gaps, by quadrature (null for an AE). About 0.1 s an image on one core, where encoding
    /// alone takes milliseconds.
    #[arg(long)]
    pub exact: bool,
}

/// Options of `trainer annotate`.
#[derive(Args, Debug, Clone)]
pub struct AnnotateArgs {
    /// The weights file to update in place.
    #[arg(long, default_value = "weights/vae.vaew")]
    pub weights: PathBuf,
    /// Also renames the model (the page loads a model by a name that must equal its file name,
    /// e.g. a run trained as `--name trial-3` shipped as `weights/vae.vaew` needs `--name vae`).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub data: data::DataArgs,
    /// Print one JSON object ({weights, name, test_posteriors}) instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

/// Recomputes the test-set posteriors stored in a weights file (for files written before the
/// format carried them) and re-packs its parameters; writes atomically.
pub fn annotate(args: &AnnotateArgs) -> Result<()> {
    let device = Device::flex();
    let (mut file, model) = load_weights(&args.weights, &device)?;
    let dataset = args.data.load_for(&file.meta)?;
    file.meta.test_posteriors = crate::run::test_posteriors(&model, file.meta.kind, &dataset.test, &device);
    if let Some(name) = &args.name {
        ensure!(!name.is_empty(), "--name must not be empty");
        file.meta.name = name.clone();
    }
    // Re-pack the parameters too, so older files move to the current payload (f16).
    let file = WeightsFile::from_model(model, file.meta).context("re-packing the weights")?;
    crate::export::write_atomic(&args.weights, &file.to_bytes())?;
    let stored = file.meta.test_posteriors.len();
    if args.json {
        println!("{}", serde_json::json!({ "weights": args.weights, "name": file.meta.name, "test_posteriors": stored }));
    } else {
        println!("{}: stored the posteriors of {stored} test images (model “{}”)", args.weights.display(), file.meta.name);
    }
    Ok(())
}

/// Everything `trainer eval` measures about one weights file.
struct EvalReport {
    name: String,
    kind: ModelKind,
    beta: f64,
    beta_mean: Option<f64>,
    likelihood: Likelihood,
    images: usize,
    terms: ElboTerms,
    iwae: Option<f64>,
    k: usize,
    iwae_seconds: f64,
    continuity: Continuity,
    /// σ of the test codes μ: the unit of `continuity_own`.
    spread: [f32; 2],
    continuity_own: Continuity,
    completeness: Completeness,
    classifier_accuracy: f64,
    /// The training log from the file's header (empty for files written before it existed).
    training_log: Vec<vae_core::TrainingLogEntry>,
    /// How the trainer chose the epoch written (none without a validation split).
    validation: Option<vae_core::Validation>,
}

/// Prints test ELBO, reconstruction, KL, IWAE, continuity and completeness of a model (`--exact`
/// is exact.rs's).
pub fn eval(args: &EvalArgs) -> Result<()> {
    let report = measure(args)?;
    print_report(&report);
    if args.json {
        println!("{}", report_json(&report));
    }
    Ok(())
}

fn measure(args: &EvalArgs) -> Result<EvalReport> {
    ensure!(args.k >= 1, "--k must be at least 1");
    let device = Device::flex();
    let (file, model) = load_weights(&args.weights, &device)?;
    let kind = file.meta.kind;
    let mut dataset = args.data.load_for(&file.meta)?;
    if let Some(n) = args.limit {
        dataset.test.truncate(n.max(1));
    }
    let likelihood = file.meta.likelihood;
    let test_x = scored_images(likelihood, &dataset.test.pixels);
    device.seed(TEST_BINARIZATION_SEED);
    let terms = elbo_on(&model, kind, likelihood, &test_x, &device);
    let started = Instant::now();
    let iwae = (kind == ModelKind::Vae).then(|| iwae(&model, likelihood, &test_x, args.k, &device));
    let iwae_seconds = started.elapsed().as_secs_f64();
    // Continuity also in units of the spread of the model's own codes (test-set μ): the only
    // fair comparison with an AE, whose latent has no scale of its own.
    let spread = code_spread(&vae_core::readout::encode_many(&model, kind, &dataset.test.pixels, &device));
    let (classifier, classifier_accuracy) = train_classifier(&dataset.train, &dataset.test, TEST_BINARIZATION_SEED);
    Ok(EvalReport {
        name: file.meta.name.clone(),
        kind,
        beta: file.meta.beta,
        beta_mean: file.meta.beta_mean,
        likelihood,
        images: dataset.test.len(),
        terms,
        iwae,
        k: args.k,
        iwae_seconds,
        continuity: continuity(&model, 3.0, 0.1),
        spread,
        continuity_own: continuity_scaled(&model, 3.0, 0.1, spread),
        completeness: completeness(&model, &classifier, &device),
        classifier_accuracy,
        training_log: file.meta.training_log.clone(),
        validation: file.meta.validation,
    })
}

/// What the model is, how it was trained and on what it is scored; then the test-set figures:
/// bound, continuity, completeness.
fn print_report(r: &EvalReport) {
    let betas = match r.beta_mean {
        Some(beta_mean) => format!("β_μ = {beta_mean}, β_σ = {}", r.beta),
        None => format!("β = {}", r.beta),
    };
    match r.likelihood {
        Likelihood::Bernoulli => println!(
            "{} ({}, {betas}, Bernoulli decoder) on {} test images, binarised with seed {TEST_BINARIZATION_SEED:#x}:",
            r.name, r.kind, r.images
        ),
        Likelihood::Gaussian { sigma_x, learned } => println!(
            "{} ({}, {betas}, Gaussian decoder σₓ = {}) on {} grey test images; figures are nats of a density over grey \
             images, not comparable with a Bernoulli decoder's:",
            r.name,
            r.kind,
            sigma_x_text(sigma_x, learned),
            r.images
        ),
    }
    if let Some(v) = r.validation {
        let which = if v.best { "the best validation ELBO" } else { "the last" };
        println!(
            "  written at epoch {} ({which}): validation ELBO {:.2} nats on {} held-out training images",
            v.kept_epoch,
            v.elbo(),
            v.images
        );
    }
    if let (Some(first), Some(last)) = (r.training_log.first(), r.training_log.last()) {
        println!(
            "  trained {} steps ({} epochs); training −ELBO {:.2} → {:.2} nats over its log of {} entries",
            last.step,
            last.epoch,
            first.recon + first.kl,
            last.recon + last.kl,
            r.training_log.len()
        );
    }
    let (terms, cont, own) = (&r.terms, &r.continuity, &r.continuity_own);
    match r.kind {
        ModelKind::Vae => println!(
            "  ELBO {:.2} nats = −(reconstruction {:.2} + KL {:.2})\n  IWAE log p(x) ≥ {:.2} nats (k = {}, {:.0}s)",
            terms.elbo(),
            terms.recon,
            terms.kl,
            r.iwae.unwrap_or(f64::NAN),
            r.k,
            r.iwae_seconds
        ),
        ModelKind::Ae => println!("  reconstruction −log p(x|μ) {:.2} nats (a plain AE has no posterior, so no ELBO or IWAE)", terms.recon),
    }
    println!(
        "  continuity: mean |Δpixel| per latent unit {:.4} (max {:.4}) on a {}-step grid within {}σ",
        cont.mean, cont.max, cont.step, cont.radius
    );
    println!(
        "  continuity in units of the codes' own spread (σ of μ: {:.2}, {:.2}): mean {:.4} (max {:.4}, max/mean {:.1}) within 3 of those units",
        r.spread[0],
        r.spread[1],
        own.mean,
        own.max,
        own.max / own.mean.max(f32::MIN_POSITIVE)
    );
    println!(
        "  completeness: {:.1}% of {COMPLETENESS_SAMPLES} prior samples decode to a digit the classifier names with p ≥ {CONFIDENT}; \
         their digits have {:.2} bits of entropy (3.32 = all ten equally) (classifier test accuracy {:.2}%)",
        100.0 * r.completeness.confident,
        r.completeness.class_entropy_bits,
        100.0 * r.classifier_accuracy
    );
}

fn report_json(r: &EvalReport) -> serde_json::Value {
    serde_json::json!({
        "name": r.name, "kind": r.kind, "beta": r.beta, "beta_mean": r.beta_mean, "likelihood": r.likelihood, "images": r.images,
        "elbo": (r.kind == ModelKind::Vae).then(|| r.terms.elbo()), "recon": r.terms.recon, "kl": r.terms.kl,
        "iwae": r.iwae, "k": r.k,
        "continuity_mean": r.continuity.mean, "continuity_max": r.continuity.max,
        "code_spread": r.spread, "continuity_own_mean": r.continuity_own.mean, "continuity_own_max": r.continuity_own.max,
        "completeness": r.completeness.confident, "prior_class_entropy_bits": r.completeness.class_entropy_bits,
        "completeness_samples": COMPLETENESS_SAMPLES, "classifier_accuracy": r.classifier_accuracy,
        "training_log": r.training_log,
        "validation_elbo": r.validation.map(|v| v.elbo()), "kept_epoch": r.validation.map(|v| v.kept_epoch),
    })
}

/// Prior samples scored for completeness.
pub const COMPLETENESS_SAMPLES: usize = 1000;
/// A decoded prior sample counts as recognisable when the classifier is this sure of its digit.
pub const CONFIDENT: f32 = 0.9;

/// Trains the digit classifier used to score completeness (3 epochs, seeded) and returns it
/// with its test accuracy.
pub fn train_classifier(train: &Split, test: &Split, seed: u64) -> (Classifier, f64) {
    const EPOCHS: usize = 3;
    let bar = ProgressBar::new((EPOCHS * (train.len() / vae_core::train::CLASSIFIER_BATCH)) as u64);
    if let Ok(style) = ProgressStyle::with_template("digit classifier [{bar:30}] {pos}/{len} steps") {
        bar.set_style(style.progress_chars("=> "));
    }
    let model = vae_core::train::train_classifier(&train.pixels, &train.labels, EPOCHS, seed, || bar.inc(1));
    bar.finish_and_clear();
    let probs = classify(&model, &test.pixels, &Device::flex());
    let correct = probs.chunks_exact(10).zip(&test.labels).filter(|(p, l)| argmax(p) == **l as usize).count();
    (model, correct as f64 / test.len().max(1) as f64)
}

/// What decoded prior samples look like to the digit classifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Completeness {
    /// Share of samples the classifier assigns to a digit with probability ≥ [`CONFIDENT`]:
    /// how much of the prior decodes to something recognisable.
    pub confident: f64,
    /// Entropy of the predicted digits, bits (log₂ 10 ≈ 3.32 when all ten digits come out
    /// equally often): whether sampling the prior generates the whole data set or a corner of it.
    pub class_entropy_bits: f64,
}

/// Decodes [`COMPLETENESS_SAMPLES`] draws from the prior and scores them with the classifier.
pub fn completeness(model: &Vae, classifier: &Classifier, device: &Device) -> Completeness {
    let zs = standard_normal_samples(COMPLETENESS_SAMPLES * 2, 0xc0de);
    let images = readout::decode_points(model, &zs, device);
    let probs = classify(classifier, &images, device);
    let confident = probs.chunks_exact(10).filter(|p| p.iter().copied().fold(0.0, f32::max) >= CONFIDENT).count();
    let mut counts = [0usize; 10];
    probs.chunks_exact(10).for_each(|p| counts[argmax(p)] += 1);
    let class_entropy_bits = class_entropy_bits(&counts);
    Completeness { confident: confident as f64 / COMPLETENESS_SAMPLES as f64, class_entropy_bits }
}

/// Mean IWAE bound over the test images, in batches, with a progress bar.
fn iwae(model: &Vae, likelihood: Likelihood, pixels: &[f32], k: usize, device: &Device) -> f64 {
    let n = pixels.len() / IMAGE_PIXELS;
    let batch = (8192 / k).clamp(1, 100);
    let bar = ProgressBar::new(n as u64);
    if let Ok(style) = ProgressStyle::with_template("IWAE [{bar:30}] {pos}/{len} images (eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut sum = 0.0;
    for (i, chunk) in pixels.chunks(batch * IMAGE_PIXELS).enumerate() {
        let b = chunk.len() / IMAGE_PIXELS;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [b, IMAGE_PIXELS]), device); // [b, 784]
        let eps = standard_normal_samples(b * k * 2, 0x1_3a3e ^ i as u64);
        let eps = Tensor::<2>::from_data(TensorData::new(eps, [b * k, 2]), device); // [b·k, 2]
        sum += mean_of(iwae_log_likelihood(model, likelihood, x, eps, k)) * b as f64;
        bar.inc(b as u64);
    }
    bar.finish_and_clear();
    sum / n as f64
}

/// Prints one line per image (JSON with `--json`): its posterior and ELBO terms under the model.
pub fn encode(args: &EncodeArgs) -> Result<()> {
    let device = Device::flex();
    let (file, model) = load_weights(&args.weights, &device)?;
    let decoder = FastDecoder::from_vae(&model);
    // The bound's coarse grid, decoded once for every image (a VAE's only, with --exact).
    let coarse = (args.exact && file.meta.kind == ModelKind::Vae).then(|| crate::exact::coarse_logits(&decoder, file.meta.likelihood));
    let mut failed = 0;
    for path in &args.images {
        match encode_one(path, &model, &decoder, args.exact.then_some(coarse.as_ref()), &file.meta, &device) {
            Ok(line) if args.json => println!("{line}"),
            Ok(line) => println!(
                "{}: μ = ({:.3}, {:.3}), σ = ({:.4}, {:.4}), recon {:.2} + KL {:.2} nats, ELBO {:.2}{}{}{}",
                path.display(),
                line["mu"][0].as_f64().unwrap_or(f64::NAN),
                line["mu"][1].as_f64().unwrap_or(f64::NAN),
                line["sigma"][0].as_f64().unwrap_or(f64::NAN),
                line["sigma"][1].as_f64().unwrap_or(f64::NAN),
                line["recon"].as_f64().unwrap_or(f64::NAN),
                line["kl"].as_f64().unwrap_or(f64::NAN),
                line["elbo"].as_f64().unwrap_or(f64::NAN),
                if line["inverted"].as_bool() == Some(true) { " (dark on light: inverted)" } else { "" },
                line["log_px"].as_f64().map_or(String::new(), |log_px| format!(
                    ", exact log p(x) {log_px:.2} (approximation gap {:.3}, amortization gap {:.3})",
                    line["approximation_gap"].as_f64().unwrap_or(f64::NAN),
                    line["amortization_gap"].as_f64().unwrap_or(f64::NAN)
                )),
                gaussian_units(file.meta.likelihood)
            ),
            Err(err) => {
                failed += 1;
                eprintln!("{}: {err:#}", path.display());
                if args.json {
                    println!("{}", serde_json::json!({ "file": path, "error": format!("{err:#}") }));
                }
            }
        }
    }
    ensure!(failed == 0, "{failed} of {} images could not be encoded", args.images.len());
    Ok(())
}

/// One image's posterior, preprocessed the way the model's dataset was made (as the page does);
/// with `exact` (`Some`: the bound's coarse grid, `None` inside it for an AE) its exact bound too.
fn encode_one(
    path: &Path,
    model: &Vae,
    decoder: &FastDecoder,
    exact: Option<Option<&vae_core::bound::CoarseLogits>>,
    meta: &WeightsMeta,
    device: &Device,
) -> Result<serde_json::Value> {
    let img = image::open(path).context("not an image this tool can read (PNG, JPEG, GIF, BMP, WebP)")?.to_rgba8();
    let pre = preprocess_rgba_as(img.as_raw(), img.width() as usize, img.height() as usize, meta.preprocessing())?;
    let post = readout::posterior(model, decoder, meta.kind, meta.likelihood, &pre.pixels, device);
    let mut line = serde_json::json!({
        "file": path, "mu": post.mu, "sigma": post.sigma, "kl": post.kl, "recon": post.recon,
        "elbo": post.elbo, "inverted": pre.inverted, "input": pre.pixels, "likelihood": post.likelihood,
    });
    if let Some(Some(coarse)) = exact {
        let exact = crate::exact::bound_of(decoder, coarse, &pre.pixels, post.mu, post.sigma)?;
        for (key, value) in [
            ("log_px", serde_json::json!(exact.log_px)),
            ("approximation_gap", serde_json::json!(exact.approximation_gap())),
            ("amortization_gap", serde_json::json!(exact.amortization_gap())),
            ("exact_sure", serde_json::json!(exact.sure)),
            ("exact_evaluations", serde_json::json!(exact.evaluations)),
        ] {
            line[key] = value;
        }
    } else if exact.is_some() {
        // An AE defines no p(x): said as nulls, so a script reading --exact output needs no case.
        for key in ["log_px", "approximation_gap", "amortization_gap", "exact_sure", "exact_evaluations"] {
            line[key] = serde_json::Value::Null;
        }
    }
    Ok(line)
}
