//! `trainer eval --exact`: a model's test set scored by quadrature (vae-core's `bound`): the exact
//! mean log p(x), the encoder's ELBO integrated on grids, and the gap between them split into the
//! approximation and amortization gaps. The images are shared out over the cores, each with a
//! decoder of its own; the decoder's logits on the coarse grid are made once.

use std::time::Instant;

use anyhow::{Result, ensure};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use vae_core::bound::{COARSE_SIDE, CoarseLogits, ExactBound, Gaussian2, exact_bound, exact_bound_of_image};
use vae_core::fast::FastDecoder;
use vae_core::loss::Likelihood;
use vae_core::numeric::to_vec;
use vae_core::train::scored_images;
use vae_core::{IMAGE_PIXELS, LATENT_DIM, ModelKind, Vae};

use crate::eval::{EvalArgs, load_weights};

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
    /// The largest change of an image's log p(x) when its grid step doubles.
    max_log_px_error: f64,
    /// Images whose posterior has more than one mode.
    several_modes: usize,
    seconds: f64,
}

/// Scores the test set (binarised once with the usual fixed seed for a Bernoulli decoder, grey
/// for a Gaussian one) by quadrature and prints the means.
pub fn eval_exact(args: &EvalArgs) -> Result<()> {
    let device = Device::flex();
    let (file, model) = load_weights(&args.weights, &device)?;
    ensure!(file.meta.kind == ModelKind::Vae, "--exact needs a VAE: a plain autoencoder defines no p(x)");
    let mut dataset = args.data.load_for(&file.meta)?;
    if let Some(n) = args.limit {
        dataset.test.truncate(n.max(1));
    }
    let test_x = scored_images(file.meta.likelihood, &dataset.test.pixels);
    let codes = vae_core::readout::encode_many(&model, ModelKind::Vae, &test_x, &device);
    let n = codes.len();
    let started = Instant::now();
    let coarse = coarse_logits(&FastDecoder::from_vae(&model), file.meta.likelihood);
    let bar = ProgressBar::new(n as u64);
    if let Ok(style) = ProgressStyle::with_template("exact log p(x) [{bar:30}] {pos}/{len} images ({per_sec}, eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    // The images shared out over the cores, each thread with a model and decoder of its own.
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get()).clamp(1, n.max(1));
    let per_thread = n.div_ceil(threads);
    let parts: Vec<Result<Vec<ExactBound>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (file, codes, test_x, coarse, bar) = (&file, &codes, &test_x, &coarse, &bar);
                scope.spawn(move || -> Result<Vec<ExactBound>> {
                    let device = Device::flex();
                    let model = file.load_model(&device)?;
                    let decoder = FastDecoder::from_vae(&model);
                    (t * per_thread..((t + 1) * per_thread).min(n))
                        .map(|i| {
                            let [m0, m1, s0, s1] = codes[i];
                            let x = &test_x[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
                            let likelihood = log_likelihood(&model, &decoder, file.meta.likelihood, x, &device);
                            let q = Gaussian2::diagonal([m0 as f64, m1 as f64], [s0 as f64, s1 as f64]);
                            let bound = exact_bound(&likelihood, q, Some(coarse.log_joint(x)));
                            bar.inc(1);
                            bound.map_err(|e| anyhow::anyhow!("test image {i}: {e}"))
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")))).collect()
    });
    let mut bounds = Vec::with_capacity(n);
    for part in parts {
        bounds.extend(part?);
    }
    bar.finish_and_clear();
    let report = summarise(&bounds, started.elapsed().as_secs_f64());
    print_exact(&file.meta.name, file.meta.likelihood, &report);
    if args.json {
        println!("{}", serde_json::json!({ "name": file.meta.name, "likelihood": file.meta.likelihood, "exact": report }));
    }
    Ok(())
}

fn summarise(bounds: &[ExactBound], seconds: f64) -> ExactReport {
    let n = bounds.len().max(1) as f64;
    let mean = |f: &dyn Fn(&ExactBound) -> f64| bounds.iter().map(f).sum::<f64>() / n;
    ExactReport {
        images: bounds.len(),
        log_px: mean(&|b| b.log_px),
        elbo: mean(&|b| b.elbo),
        approximation_gap: mean(&|b| b.approximation_gap()),
        amortization_gap: mean(&|b| b.amortization_gap()),
        full_covariance_gain: mean(&|b| b.full_covariance_gain()),
        max_log_px_error: bounds.iter().map(|b| b.log_px_error).fold(0.0, f64::max),
        several_modes: bounds.iter().filter(|b| b.modes > 1).count(),
        seconds,
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
            println!("{name}{} on {} grey test images, by quadrature:", crate::eval::gaussian_units(likelihood), r.images)
        }
    }
    println!(
        "  log p(x) {:.3} nats (exact: the largest change of one image's figure when its grid step doubles is {:.1e})",
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
        "  {} images with posteriors of more than one mode; {:.0} s ({:.1} images/s)",
        r.several_modes,
        r.seconds,
        r.images as f64 / r.seconds.max(1e-9)
    );
}
