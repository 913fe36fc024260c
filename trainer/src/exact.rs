//! `trainer eval --exact`: a model's test set scored by quadrature (vae-core's `bound`): the exact
//! mean log p(x), the encoder's ELBO integrated on grids, and the gap between them split into the
//! approximation and amortization gaps. The images are shared out over the cores, each with a
//! decoder of its own; the decoder's logits on the coarse grid are made once.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use vae_core::bound::reference::{REFERENCE_RANGE, REFERENCE_SIDE, Reference, dense_reference};
use vae_core::bound::{COARSE_SIDE, CoarseLogits, ExactBound, Gaussian2, exact_bound, exact_bound_of_image};
use vae_core::fast::FastDecoder;
use vae_core::loss::Likelihood;
use vae_core::numeric::{standard_normal_samples, to_vec};
use vae_core::train::scored_images;
use vae_core::{IMAGE_PIXELS, LATENT_DIM, ModelKind, Vae, WeightsFile};

use crate::scoring::{EvalArgs, gaussian_units, load_weights};

/// The exact figures of one image under a model (`coarse`: its decoder's [`coarse_logits`]),
/// `mu`/`sigma` its encoder's posterior.
pub fn bound_of(decoder: &FastDecoder, coarse: &CoarseLogits, pixels: &[f32], mu: [f32; 2], sigma: [f32; 2]) -> Result<ExactBound> {
    let encoder = Gaussian2::diagonal([mu[0] as f64, mu[1] as f64], [sigma[0] as f64, sigma[1] as f64]);
    Ok(exact_bound_of_image(decoder, coarse, pixels, encoder)?)
}

/// The decoder's logits on the bound's coarse grid: made once per model, used for every image.
pub fn coarse_logits(decoder: &FastDecoder, likelihood: Likelihood) -> CoarseLogits {
    CoarseLogits::new(decoder, likelihood, COARSE_SIDE)
}

/// Points per batch from which burn's decode (gemm's matrix products, AVX-512 where the CPU has
/// it, over every core) beats the fast decoder's single-threaded tiles.
const BURN_BATCH: usize = 8;

/// log p(x|z) of image `x` at points `[x0, y0, …]`: small batches (the mode search's stencils)
/// through the fast decoder, large ones (the regions' grids) through burn's decode.
fn log_likelihood<'a>(
    model: &'a Vae,
    decoder: &'a FastDecoder,
    likelihood: Likelihood,
    x: &'a [f32],
    device: &'a Device,
) -> impl Fn(&[f64]) -> Vec<f64> + 'a {
    move |zs: &[f64]| {
        let n = zs.len() / LATENT_DIM;
        let z32: Vec<f32> = zs.iter().map(|&v| v as f32).collect();
        let logits = if n < BURN_BATCH {
            decoder.decode_logits(&z32)
        } else {
            to_vec(model.decode_logits(Tensor::<2>::from_data(TensorData::new(z32, [n, LATENT_DIM]), device))) // [n, 784]
        };
        logits.chunks_exact(IMAGE_PIXELS).map(|l| -(likelihood.nats(l, x) as f64)).collect()
    }
}

/// Means over the test images of the exact figures.
#[derive(Debug, Default, serde::Serialize)]
struct ExactReport {
    images: usize,
    log_px: f64,
    elbo: f64,
    approximation_gap: f64,
    amortization_gap: f64,
    full_covariance_gain: f64,
    /// The largest error estimate of one image's log p(x).
    max_log_px_error: f64,
    /// Images whose posterior has more than one mode.
    several_modes: usize,
    /// Images where the search could not be sure it found every mode holding mass.
    unsure: usize,
    /// Decoder evaluations per image: median and 95th percentile.
    evaluations_median: usize,
    evaluations_p95: usize,
    seconds: f64,
    /// Agreement with the dense reference, where one was computed or read.
    reference: Option<Agreement>,
    /// IWAE(k) on the same images, for each k of `--iwae`.
    iwae: Vec<IwaeRow>,
}

/// IWAE(k) over the scored images: its mean, how far below the mean exact log p(x), and the
/// images where it stays more than a nat short.
#[derive(Debug, Default, serde::Serialize)]
struct IwaeRow {
    k: usize,
    mean: f64,
    short_by: f64,
    /// Test images whose IWAE(k) is more than 1 nat below their exact log p(x), with how far.
    short_over_one_nat: Vec<(usize, f64)>,
}

/// Importance samples drawn per batch for `--iwae` (a batch of one image's samples is decoded at once).
const IWAE_CHUNK: usize = 5000;

/// IWAE(k) of image `x` for each k of `ks`, all from the same max(ks) samples of the encoder's
/// q (seeded by the image's index `image`): each estimate is the mean over the disjoint groups of
/// k samples, an IWAE(k) estimate each.
fn iwae_estimates(model: &Vae, likelihood: Likelihood, x: &[f32], image: usize, ks: &[usize], device: &Device) -> Vec<f64> {
    let Some(&most) = ks.iter().max() else { return Vec::new() };
    let mut log_weights = Vec::with_capacity(most);
    let x = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, IMAGE_PIXELS]), device); // [1, 784]
    for (c, start) in (0..most).step_by(IWAE_CHUNK).enumerate() {
        let m = IWAE_CHUNK.min(most - start);
        let seed = 0x1_3a3e_u64 ^ ((image as u64) << 20) ^ c as u64;
        let eps = Tensor::<2>::from_data(TensorData::new(standard_normal_samples(2 * m, seed), [m, LATENT_DIM]), device); // [m, 2]
        let samples = vae_core::eval::importance_samples(model, likelihood, x.clone(), eps, m);
        log_weights.extend(to_vec(samples.log_weights).iter().map(|&w| w as f64)); // [1, m]
    }
    ks.iter().map(|&k| vae_core::eval::grouped_iwae(&log_weights, k)).collect()
}

fn iwae_rows(bounds: &[ExactBound], iwaes: &[Vec<f64>], ks: &[usize], chosen: &[usize]) -> Vec<IwaeRow> {
    let n = bounds.len().max(1) as f64;
    ks.iter()
        .enumerate()
        .map(|(j, &k)| {
            let mean = iwaes.iter().map(|w| w[j]).sum::<f64>() / n;
            let log_px = bounds.iter().map(|b| b.log_px).sum::<f64>() / n;
            let short = chosen.iter().zip(bounds.iter().zip(iwaes)).map(|(&i, (b, w))| (i, b.log_px - w[j])).filter(|(_, d)| *d > 1.0);
            IwaeRow { k, mean, short_by: log_px - mean, short_over_one_nat: short.collect() }
        })
        .collect()
}

/// How far the bound's log p(x) is from the dense reference's.
#[derive(Debug, Default, serde::Serialize)]
struct Agreement {
    /// |Δ log p(x)| at most this, nats.
    max_abs_difference: f64,
    /// Images further than [`AGREEMENT_NATS`] from the reference, with their differences.
    disagreeing: Vec<(usize, f64)>,
    tolerance: f64,
}

/// The agreement the bound promises with the dense reference, nats.
const AGREEMENT_NATS: f64 = 0.01;

/// A reference file: the dense reference of the first images of a model's test set.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ReferenceFile {
    model: String,
    about: String,
    references: Vec<Reference>,
}

/// One image's figures: its bound, its dense reference (with `--write-reference`) and its IWAE(k)
/// for each k of `--iwae`.
struct Scored {
    bound: ExactBound,
    reference: Option<Reference>,
    iwae: Vec<f64>,
}

/// The images a run scores: the test images `chosen` (binarised once with the usual fixed seed
/// for a Bernoulli decoder, grey for a Gaussian one) and their encoder's posteriors.
struct Images {
    chosen: Vec<usize>,
    pixels: Vec<f32>,
    codes: Vec<[f32; 4]>,
}

impl Images {
    fn load(args: &EvalArgs, file: &WeightsFile, model: &Vae, device: &Device) -> Result<Self> {
        let mut dataset = args.data.load_for(&file.meta)?;
        let last = args.images.iter().max().map(|i| i + 1);
        if let Some(n) = args.limit.or(last) {
            dataset.test.truncate(n.max(1));
        }
        let all = scored_images(file.meta.likelihood, &dataset.test.pixels);
        let count = all.len() / IMAGE_PIXELS;
        let chosen: Vec<usize> = if args.images.is_empty() { (0..count).collect() } else { args.images.clone() };
        ensure!(chosen.iter().all(|&i| i < count), "--images names an image past the test set's end ({count} images)");
        let pixels: Vec<f32> = chosen.iter().flat_map(|&i| all[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS].to_vec()).collect();
        let codes = vae_core::readout::encode_many(model, ModelKind::Vae, &pixels, device);
        Ok(Self { chosen, pixels, codes })
    }

    fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }
}

/// Scores the test set by quadrature and prints the means (and, as asked, the agreement with the
/// dense reference and IWAE(k) on the same images).
pub fn eval_exact(args: &EvalArgs) -> Result<()> {
    let device = Device::flex();
    let (file, model) = load_weights(&args.weights, &device)?;
    ensure!(file.meta.kind == ModelKind::Vae, "--exact needs a VAE: a plain autoencoder defines no p(x)");
    ensure!(args.iwae.iter().all(|&k| k >= 1), "--iwae takes sample counts of at least 1");
    let given = match &args.reference {
        Some(path) => Some(read_reference(path, &file.meta.name)?),
        None => None,
    };
    let images = Images::load(args, &file, &model, &device)?;
    let started = Instant::now();
    let scored = score_all(args, &file, &model, &images)?;
    let seconds = started.elapsed().as_secs_f64();
    let bounds: Vec<ExactBound> = scored.iter().map(|s| s.bound.clone()).collect();
    let references: Option<Vec<Reference>> = match given {
        Some(given) => Some(images.chosen.iter().filter_map(|&i| given.get(i).copied()).collect()),
        None => scored.iter().map(|s| s.reference).collect(),
    };
    if let (Some(path), Some(references), true) = (&args.write_reference, &references, args.images.is_empty()) {
        write_reference(path, &file, references)?;
    }
    let mut report = summarise(&bounds, seconds);
    report.reference = references.as_ref().map(|r| agreement(&bounds, r, &images.chosen));
    let iwaes: Vec<Vec<f64>> = scored.into_iter().map(|s| s.iwae).collect();
    report.iwae = iwae_rows(&bounds, &iwaes, &args.iwae, &images.chosen);
    if args.json && !args.images.is_empty() {
        for (k, (i, b)) in images.chosen.iter().zip(&bounds).enumerate() {
            let reference = references.as_ref().and_then(|r| r.get(k));
            println!("{}", serde_json::json!({ "image": i, "bound": b, "reference": reference }));
        }
    }
    print_exact(&file.meta.name, file.meta.likelihood, &report);
    if args.json {
        println!("{}", serde_json::json!({ "name": file.meta.name, "likelihood": file.meta.likelihood, "exact": report }));
    }
    Ok(())
}

/// Every image scored, shared out over the cores, each thread with a model and decoder of its
/// own; the decoder's logits on the coarse grid (and the reference's fixed grid) made once.
fn score_all(args: &EvalArgs, file: &WeightsFile, model: &Vae, images: &Images) -> Result<Vec<Scored>> {
    let decoder = FastDecoder::from_vae(model);
    let coarse = coarse_logits(&decoder, file.meta.likelihood);
    let fixed = args.write_reference.as_ref().map(|_| CoarseLogits::over(&decoder, file.meta.likelihood, REFERENCE_SIDE, REFERENCE_RANGE));
    let n = images.codes.len();
    let bar = ProgressBar::new(n as u64);
    if let Ok(style) = ProgressStyle::with_template("exact log p(x) [{bar:30}] {pos}/{len} images ({per_sec}, eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get()).clamp(1, n.max(1));
    let per_thread = n.div_ceil(threads);
    let parts: Vec<Result<Vec<Scored>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (coarse, fixed, bar) = (&coarse, &fixed, &bar);
                scope.spawn(move || -> Result<Vec<Scored>> {
                    let device = Device::flex();
                    let model = file.load_model(&device)?;
                    let decoder = FastDecoder::from_vae(&model);
                    let likelihood = file.meta.likelihood;
                    (t * per_thread..((t + 1) * per_thread).min(n))
                        .map(|i| {
                            let x = images.image(i);
                            let log_likelihood = log_likelihood(&model, &decoder, likelihood, x, &device);
                            let [m0, m1, s0, s1] = images.codes[i];
                            let q = Gaussian2::diagonal([m0 as f64, m1 as f64], [s0 as f64, s1 as f64]);
                            let bound = exact_bound(&log_likelihood, q, Some(coarse.log_joint(x)));
                            let reference = fixed.as_ref().map(|fixed| dense_reference(fixed, &log_likelihood, x));
                            let iwae = iwae_estimates(&model, likelihood, x, images.chosen[i], &args.iwae, &device);
                            bar.inc(1);
                            let bound = bound.map_err(|e| anyhow::anyhow!("test image {}: {e}", images.chosen[i]))?;
                            Ok(Scored { bound, reference, iwae })
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")))).collect()
    });
    bar.finish_and_clear();
    let mut scored = Vec::with_capacity(n);
    for part in parts {
        scored.extend(part?);
    }
    Ok(scored)
}

fn write_reference(path: &std::path::Path, file: &WeightsFile, references: &[Reference]) -> Result<()> {
    let about = format!(
        "Dense reference log p(x) (vae-core bound::reference) of the first {} test images, {}",
        references.len(),
        match file.meta.likelihood {
            Likelihood::Bernoulli => format!("binarised with seed {:#x}", vae_core::eval::TEST_BINARIZATION_SEED),
            Likelihood::Gaussian { .. } => "grey".to_string(),
        }
    );
    let json = serde_json::to_string(&ReferenceFile { model: file.meta.name.clone(), about, references: references.to_vec() })?;
    crate::export::write_atomic(path, json.as_bytes())
}

fn read_reference(path: &std::path::Path, model: &str) -> Result<Vec<Reference>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {} (write one with --write-reference)", path.display()))?;
    let file: ReferenceFile = serde_json::from_str(&text).with_context(|| format!("{} is not a reference file", path.display()))?;
    ensure!(file.model == model, "{} is the reference of model “{}”, not “{model}”", path.display(), file.model);
    Ok(file.references)
}

/// `chosen`: the test image of each bound.
fn agreement(bounds: &[ExactBound], references: &[Reference], chosen: &[usize]) -> Agreement {
    let differences: Vec<(usize, f64)> =
        chosen.iter().zip(bounds.iter().zip(references)).map(|(&i, (b, r))| (i, b.log_px - r.log_px)).collect();
    Agreement {
        max_abs_difference: differences.iter().map(|(_, d)| d.abs()).fold(0.0, f64::max),
        disagreeing: differences.into_iter().filter(|(_, d)| d.abs() > AGREEMENT_NATS).collect(),
        tolerance: AGREEMENT_NATS,
    }
}

/// The `q`-th quantile (0 ≤ q ≤ 1) of counts, the nearest rank.
fn quantile(values: &[usize], q: f64) -> usize {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(((q * sorted.len() as f64).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0)
}

fn summarise(bounds: &[ExactBound], seconds: f64) -> ExactReport {
    let n = bounds.len().max(1) as f64;
    let mean = |f: &dyn Fn(&ExactBound) -> f64| bounds.iter().map(f).sum::<f64>() / n;
    let evaluations: Vec<usize> = bounds.iter().map(|b| b.evaluations).collect();
    ExactReport {
        images: bounds.len(),
        log_px: mean(&|b| b.log_px),
        elbo: mean(&|b| b.elbo),
        approximation_gap: mean(&|b| b.approximation_gap()),
        amortization_gap: mean(&|b| b.amortization_gap()),
        full_covariance_gain: mean(&|b| b.full_covariance_gain()),
        max_log_px_error: bounds.iter().map(|b| b.log_px_error).fold(0.0, f64::max),
        several_modes: bounds.iter().filter(|b| b.modes > 1).count(),
        unsure: bounds.iter().filter(|b| !b.sure).count(),
        evaluations_median: quantile(&evaluations, 0.5),
        evaluations_p95: quantile(&evaluations, 0.95),
        seconds,
        reference: None,
        iwae: Vec::new(),
    }
}

fn print_exact(name: &str, likelihood: Likelihood, r: &ExactReport) {
    match likelihood {
        Likelihood::Bernoulli => println!(
            "{name} on {} test images, binarised with seed {:#x}, by quadrature:",
            r.images,
            vae_core::eval::TEST_BINARIZATION_SEED
        ),
        Likelihood::Gaussian { .. } => {
            println!("{name}{} on {} grey test images, by quadrature:", gaussian_units(likelihood), r.images)
        }
    }
    println!(
        "  log p(x) {:.3} nats (exact: the largest error estimate of one image's figure, its change from the coarser rule that checked it (a grid at twice the step), is {:.1e})",
        r.log_px, r.max_log_px_error
    );
    println!("  ELBO of the encoder's q(z|x) {:.3} nats (integrated, not sampled): the gap is {:.3} nats", r.elbo, r.log_px - r.elbo);
    println!("    approximation gap {:.3} nats: the best diagonal Gaussian for each image still misses its posterior", r.approximation_gap);
    println!(
        "    amortization gap  {:.3} nats: one encoder for every image does worse than the best Gaussian for each",
        r.amortization_gap
    );
    println!("  a full covariance would gain {:.3} nats over the best diagonal Gaussian", r.full_covariance_gain);
    println!(
        "  {} images with posteriors of more than one mode; {} where the search could not be sure it found every mode",
        r.several_modes, r.unsure
    );
    println!(
        "  decoder evaluations per image: median {}, p95 {}; {:.0} s ({:.1} images/s)",
        r.evaluations_median,
        r.evaluations_p95,
        r.seconds,
        r.images as f64 / r.seconds.max(1e-9)
    );
    for row in &r.iwae {
        println!(
            "  IWAE(k = {}) {:.3} nats: {:.3} below log p(x); more than 1 nat short on {} images",
            row.k,
            row.mean,
            row.short_by,
            row.short_over_one_nat.len()
        );
    }
    if let Some(a) = &r.reference {
        println!(
            "  against the dense reference: largest |Δ log p(x)| {:.4} nats; {} images further than {} nats{}",
            a.max_abs_difference,
            a.disagreeing.len(),
            a.tolerance,
            if a.disagreeing.is_empty() { String::new() } else { format!(" (first: {:?})", &a.disagreeing[..a.disagreeing.len().min(8)]) }
        );
    }
}
