//! The exact bound (vae-core's `bound`, as the page runs it through vae-wasm) on the shipped VAE
//! and real test digits: log p(x) ≥ IWAE(k = 1000) − 0.05 and IWAE ≥ ELBO in the mean, both gaps
//! ≥ 0, a small error estimate of log p(x), and finite figures for hostile inputs.

use std::io::Read;
use std::path::PathBuf;

use burn::prelude::*;
use vae_core::bound::reference::Reference;
use vae_core::bound::{COARSE_SIDE, CoarseLogits, ExactBound, Gaussian2, exact_bound_of_image};
use vae_core::eval::{iwae_log_likelihood, mean_of};
use vae_core::fast::FastDecoder;
use vae_core::numeric::standard_normal_samples;
use vae_core::pack::DataPack;
use vae_core::{IMAGE_PIXELS, WeightsFile};
use vae_wasm::Explorer;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn test_pack() -> DataPack {
    let bytes = std::fs::read(root().join("datasets/mnist.vaed.gz")).expect("datasets/mnist.vaed.gz is committed");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut raw).expect("gzip");
    DataPack::from_bytes(&raw).expect("a dataset pack")
}

/// The first `n` test digits of the committed pack, binarised at one half.
fn test_digits(n: usize) -> Vec<Vec<f32>> {
    let pack = test_pack();
    pack.test.images.chunks_exact(IMAGE_PIXELS).take(n).map(|img| img.iter().map(|&v| if v > 127 { 1.0 } else { 0.0 }).collect()).collect()
}

/// The dense reference's log p(x) of the first 1,000 test images under the shipped VAE, binarised
/// as `trainer eval` scores them (written by `trainer eval --exact --limit 1000
/// --write-reference`; vae-core's `bound::reference`, independent of the bound's search).
#[derive(serde::Deserialize)]
struct ReferenceFile {
    model: String,
    references: Vec<Reference>,
}

/// Test images that the bound once got wrong, or whose posterior has several lobes, one far from
/// the encoder's q, a pointed top, or a ridge: checked besides the first ones.
const HARD_IMAGES: [usize; 15] = [16, 48, 232, 250, 281, 403, 446, 519, 618, 631, 643, 685, 810, 865, 930];

/// How close the bound comes to the reference on these digits, nats (the 0.01), both the
/// trainer's (coarse pass of 81² points) and the page's (61²: other starts, so other modes and
/// shares). The Gauss–Hermite rule alone, whose two orders agreed, was up to 0.027 off on a ReLU
/// decoder's kinks (test image 685); a share is now the rule's only where the trapezoid rule on a
/// grid agrees with it.
const NATS: f64 = 0.01;

#[test]
fn on_test_digits_the_bound_agrees_with_the_dense_reference_to_a_hundredth_of_a_nat() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/exact-reference-vae.json")).expect("the committed reference");
    let file: ReferenceFile = serde_json::from_str(&text).expect("a reference file");
    assert_eq!(file.model, "vae");
    let pack = test_pack();
    let grey: Vec<f32> = pack.test.images[..file.references.len() * IMAGE_PIXELS].iter().map(|&v| v as f32 / 255.0).collect();
    let binary = vae_core::train::scored_images(vae_core::Likelihood::Bernoulli, &grey);
    let e = Explorer::embedded("vae").expect("the embedded VAE");
    // The trainer's coarse pass (81 points a side) and the page's (41), each with its search.
    let file_bytes = std::fs::read(root().join("weights/vae.vaew")).expect("weights");
    let model = WeightsFile::from_bytes(&file_bytes).expect("a weights file").load_model(&Device::flex()).expect("loads");
    let decoder = FastDecoder::from_vae(&model);
    let coarse = CoarseLogits::new(&decoder, vae_core::Likelihood::Bernoulli, COARSE_SIDE);
    let images: Vec<usize> = (0..50).chain(HARD_IMAGES).collect();
    let (mut several, mut far) = (0, 0);
    let mut off: Vec<String> = Vec::new();
    for &i in &images {
        let x = &binary[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
        let post = e.posterior_of_pixels(x);
        let reference = file.references[i].log_px;
        let q = Gaussian2::diagonal([post.mu[0] as f64, post.mu[1] as f64], [post.sigma[0] as f64, post.sigma[1] as f64]);
        let trainer = exact_bound_of_image(&decoder, &coarse, x, q).expect("a bound");
        let page = e.exact_bound(x, post.mu, post.sigma).expect("a bound");
        for (path, b, tolerance) in [("trainer", &trainer, NATS), ("page", &page, NATS)] {
            if (b.log_px - reference).abs() > tolerance || !b.sure {
                off.push(format!("test image {i}, {path}: log p(x) {} vs the reference {reference} (sure: {})", b.log_px, b.sure));
            }
        }
        several += usize::from(trainer.modes > 1);
        let m = trainer.posterior_moments.mean;
        far += usize::from((m[0] - q.mean[0]).hypot(m[1] - q.mean[1]) > 0.2);
    }
    assert!(off.is_empty(), "{off:#?}");
    // The set holds the posteriors the search finds hard.
    assert!(several >= 10 && far >= 1, "{several} with several modes, {far} with the posterior's mass far from q");
}

/// IWAE(k) of one image under the shipped VAE (burn's path, as `trainer eval` computes it).
fn iwae(x: &[f32], k: usize, seed: u64) -> f64 {
    let device = Device::flex();
    let file = WeightsFile::from_bytes(&std::fs::read(root().join("weights/vae.vaew")).expect("weights")).expect("a weights file");
    let model = file.load_model(&device).expect("loads");
    let x = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, IMAGE_PIXELS]), &device);
    let eps = Tensor::<2>::from_data(TensorData::new(standard_normal_samples(2 * k, seed), [k, 2]), &device);
    mean_of(iwae_log_likelihood(&model, vae_core::Likelihood::Bernoulli, x, eps, k))
}

#[test]
fn on_test_digits_log_px_bounds_iwae_which_bounds_the_elbo_and_both_gaps_are_not_negative() {
    let e = Explorer::embedded("vae").expect("the embedded VAE");
    let digits = test_digits(6);
    let (mut log_px, mut iwaes, mut elbos) = (0.0, 0.0, 0.0);
    for (i, x) in digits.iter().enumerate() {
        let post = e.posterior_of_pixels(x);
        let b = e.exact_bound(x, post.mu, post.sigma).expect("a bound");
        let k1000 = iwae(x, 1000, 40 + i as u64);
        assert!(b.log_px.is_finite() && b.elbo.is_finite());
        assert!(b.approximation_gap() >= -1e-3 && b.amortization_gap() >= -1e-3 && b.full_covariance_gain() >= -1e-3, "digit {i}: {b:?}");
        // The error estimate compares the grid with one of twice its step: the grid itself is closer.
        assert!(b.log_px_error < 0.01, "digit {i}: the error estimate of log p(x) is {}", b.log_px_error);
        // IWAE is a lower bound in expectation only: one image's estimate can overshoot (digit 3's
        // did by 0.09 nats, where a brute-force grid of 10⁶ points agreed with the quadrature to
        // 0.002), so the ordering is checked on the mean below.
        // The ELBO integrated on a grid against the readout's 64-sample estimate of it.
        assert!((b.elbo - post.elbo as f64).abs() < 2.0, "digit {i}: integrated ELBO {} vs the 64-sample readout {}", b.elbo, post.elbo);
        (log_px, iwaes, elbos) = (log_px + b.log_px, iwaes + k1000, elbos + b.elbo);
    }
    let n = digits.len() as f64;
    assert!(
        log_px / n >= iwaes / n - 0.05 && iwaes / n >= elbos / n,
        "means: log p(x) {} ≥ IWAE {} ≥ ELBO {}",
        log_px / n,
        iwaes / n,
        elbos / n
    );
}

#[test]
fn hostile_inputs_give_finite_figures() {
    let e = Explorer::embedded("vae").expect("the embedded VAE");
    let blank = vec![0.0f32; IMAGE_PIXELS];
    let ink = vec![1.0f32; IMAGE_PIXELS];
    let noise: Vec<f32> = standard_normal_samples(IMAGE_PIXELS, 9).iter().map(|v| if *v > 0.0 { 1.0 } else { 0.0 }).collect();
    for (name, x) in [("blank", blank), ("all ink", ink), ("noise", noise)] {
        let post = e.posterior_of_pixels(&x);
        let b = e.exact_bound(&x, post.mu, post.sigma).unwrap_or_else(|err| panic!("{name}: {err}"));
        for v in [b.log_px, b.elbo, b.elbo_best_diagonal, b.elbo_best_full, b.log_px_error] {
            assert!(v.is_finite(), "{name}: {b:?}");
        }
        assert!(b.gap() >= -1e-3, "{name}: {b:?}");
    }
}

#[test]
fn an_autoencoder_has_no_bound() {
    let bytes = std::fs::read(root().join("weights/ae.vaew")).expect("the shipped AE");
    let ae = Explorer::from_weights(&bytes).expect("loads");
    let x = &test_digits(1)[0];
    assert!(ae.exact_bound(x, [0.0, 0.0], [0.1, 0.1]).expect_err("an AE has no bound").contains("defines no p(x)"));
}

#[test]
fn the_page_job_answers_a_draft_first_then_the_checked_bound() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/exact-reference-vae.json")).expect("the committed reference");
    let file: ReferenceFile = serde_json::from_str(&text).expect("a reference file");
    let pack = test_pack();
    let e = Explorer::embedded("vae").expect("the embedded VAE");
    // Test image 281: the rule alone is 0.018 nats off there, the checked bound within 0.01.
    let i = 281;
    // Binarised as the reference's images were: all of them at once (the seed runs across them).
    let grey: Vec<f32> = pack.test.images[..file.references.len() * IMAGE_PIXELS].iter().map(|&v| v as f32 / 255.0).collect();
    let binary = vae_core::train::scored_images(vae_core::Likelihood::Bernoulli, &grey);
    let x = binary[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS].to_vec();
    let post = e.posterior_of_pixels(&x);
    let mut job = e.exact_job(&x, post.mu, post.sigma).expect("a job").with_draft();
    let file_bytes = std::fs::read(root().join("weights/vae.vaew")).expect("weights");
    let model = WeightsFile::from_bytes(&file_bytes).expect("a weights file").load_model(&Device::flex()).expect("loads");
    let decoder = FastDecoder::from_vae(&model);
    let likelihood = vae_core::bound::log_likelihood_of(&decoder, vae_core::Likelihood::Bernoulli, &x);
    let mut answers = Vec::new();
    while answers.len() < 2 {
        if let Some(b) = job.step(&likelihood, 500).expect("a step") {
            answers.push(b);
        }
    }
    let (draft, checked) = (&answers[0], &answers[1]);
    assert!(draft.draft && !checked.draft, "a draft, then the checked bound");
    // The same figures as the bound made in one go; more evaluations (the draft's best Gaussians
    // and its ELBO's own nodes are not reused), fewer than the two made apart.
    let alone = e.exact_bound(&x, post.mu, post.sigma).expect("a bound");
    assert_eq!(*checked, ExactBound { evaluations: checked.evaluations, ..alone.clone() }, "the checked bound is the one-go bound");
    assert!(
        checked.evaluations > draft.evaluations && checked.evaluations < alone.evaluations + draft.evaluations,
        "{} {} {}",
        draft.evaluations,
        checked.evaluations,
        alone.evaluations
    );
    let reference = file.references[i].log_px;
    assert!((checked.log_px - reference).abs() <= NATS, "checked {} vs the reference {reference}", checked.log_px);
    assert!((draft.log_px - checked.log_px).abs() < 0.1, "the draft is close: {} vs {}", draft.log_px, checked.log_px);
}
