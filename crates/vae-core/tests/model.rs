//! The model's shapes, the loss maths, and the weights format, on the CPU backend.

mod common;

use burn::prelude::*;
use burn::tensor::Distribution;
use common::meta;
use vae_core::Likelihood;
use vae_core::dataset::{self, Preprocessing};
use vae_core::loss::{elbo_terms, kl_standard_normal, kl_standard_normal_f32, reconstruction_nats};
use vae_core::model::NotExplorable;
use vae_core::numeric::standard_normal_samples;
use vae_core::weights::{FORMAT_VERSION, MAGIC};
use vae_core::{ModelKind, Vae, VaeConfig, WeightsError, WeightsFile, WeightsMeta};

fn device() -> Device {
    Device::flex()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

#[test]
fn encode_and_decode_have_the_documented_shapes() {
    let model = VaeConfig::new().with_hidden(vec![32, 16]).init(&device());
    let x = Tensor::<2>::random([3, 784], Distribution::Uniform(0.0, 1.0), &device());
    let (mu, logvar) = model.encode(x);
    assert_eq!(mu.dims(), [3, 2]);
    assert_eq!(logvar.dims(), [3, 2]);
    let images = model.decode(Tensor::<2>::zeros([5, 2], &device()));
    assert_eq!(images.dims(), [5, 784]);
    assert!(to_vec(images).iter().all(|v| *v > 0.0 && *v < 1.0));
    assert_eq!(VaeConfig::new().decoder_macs(), 2 * 256 + 256 * 512 + 512 * 784);
}

#[test]
fn closed_form_kl_matches_a_monte_carlo_estimate() {
    let (mu, sigma) = ([0.5f32, -1.2], [0.3f32, 1.7]);
    // KL = E_q[log q(z) − log p(z)], estimated with many reparameterised samples.
    let n = 200_000;
    let eps = standard_normal_samples(2 * n, 11);
    let mut sum = 0.0f64;
    for e in eps.chunks_exact(2) {
        for d in 0..2 {
            let z = mu[d] + sigma[d] * e[d];
            let log_q = -0.5 * e[d] * e[d] - sigma[d].ln();
            let log_p = -0.5 * z * z;
            sum += (log_q - log_p) as f64;
        }
    }
    let monte_carlo = sum / n as f64;
    let logvar: Vec<f32> = sigma.iter().map(|s| 2.0 * s.ln()).collect();
    let closed = to_vec(kl_standard_normal(
        Tensor::<2>::from_data(TensorData::new(mu.to_vec(), [1, 2]), &device()),
        Tensor::<2>::from_data(TensorData::new(logvar, [1, 2]), &device()),
    ))[0] as f64;
    assert!((closed - monte_carlo).abs() < 0.01 * closed.abs().max(1.0), "closed {closed} vs MC {monte_carlo}");
    assert!((kl_standard_normal_f32(&mu, &sigma) as f64 - closed).abs() < 1e-4);
}

#[test]
fn kl_of_the_prior_itself_is_zero() {
    let zeros = Tensor::<2>::zeros([4, 2], &device());
    assert!(to_vec(kl_standard_normal(zeros.clone(), zeros)).iter().all(|v| v.abs() < 1e-7));
    assert_eq!(kl_standard_normal_f32(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
}

#[test]
fn reconstruction_is_the_summed_bernoulli_nll() {
    let logits = [2.0f32, -1.0, 0.0, 3.0];
    let x = [1.0f32, 0.0, 1.0, 0.25];
    let expected: f32 = logits
        .iter()
        .zip(&x)
        .map(|(&l, &t)| {
            let p = 1.0 / (1.0 + (-l).exp());
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum();
    let got = to_vec(reconstruction_nats(
        Tensor::<2>::from_data(TensorData::new(logits.to_vec(), [1, 4]), &device()),
        Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, 4]), &device()),
    ))[0];
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
}

#[test]
fn reparameterised_samples_have_the_posterior_moments() {
    let n = 50_000;
    let mu = Tensor::<2>::from_data(TensorData::new([1.5f32, -0.5].repeat(n), [n, 2]), &device());
    let logvar = Tensor::<2>::from_data(TensorData::new([(0.2f32 * 0.2).ln(), (3.0f32 * 3.0).ln()].repeat(n), [n, 2]), &device());
    let eps = Tensor::<2>::from_data(TensorData::new(standard_normal_samples(2 * n, 3), [n, 2]), &device());
    let z = to_vec(Vae::reparameterize(mu, logvar, eps));
    for (d, (m, s)) in [(1.5f32, 0.2f32), (-0.5, 3.0)].into_iter().enumerate() {
        let xs: Vec<f32> = z.iter().skip(d).step_by(2).copied().collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n as f32).sqrt();
        assert!((mean - m).abs() < 0.05 * s.max(1.0), "dim {d}: mean {mean}");
        assert!((sd - s).abs() < 0.03 * s, "dim {d}: sd {sd}");
    }
}

#[test]
fn autoencoder_terms_have_no_kl_and_ignore_eps() {
    let model = VaeConfig::new().with_hidden(vec![8]).init(&device());
    let x = Tensor::<2>::random([2, 784], Distribution::Uniform(0.0, 1.0), &device());
    let a = elbo_terms(&model, ModelKind::Ae, Likelihood::Bernoulli, x.clone(), Tensor::zeros([2, 2], &device()));
    let b = elbo_terms(&model, ModelKind::Ae, Likelihood::Bernoulli, x, Tensor::ones([2, 2], &device()));
    assert_eq!(to_vec(a.kl), vec![0.0, 0.0]);
    assert_eq!(to_vec(a.kl_mean), vec![0.0, 0.0]);
    assert_eq!(to_vec(a.recon), to_vec(b.recon));
}

/// Largest absolute difference between two equally long slices.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn weights_round_trip_within_half_precision() {
    let config = VaeConfig::new().with_hidden(vec![16, 8]);
    let model = config.init(&device());
    let z = Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -1.1], [1, 2]), &device());
    let before = to_vec(model.decode(z.clone()));
    let bytes = WeightsFile::from_model(model, meta(config.clone())).expect("pack").to_bytes();
    assert_eq!(&bytes[..8], MAGIC);
    let file = WeightsFile::from_bytes(&bytes).expect("parse");
    // Read back with the dataset's classes and preprocessing filled in (the test's meta names none).
    let mnist = WeightsMeta { classes: dataset::MNIST.class_names(), preprocessing: Some(Preprocessing::CentreOfMass20), ..meta(config) };
    assert_eq!(file.meta, mnist);
    let after = to_vec(file.load_model(&device()).expect("load").decode(z));
    // Stored as f16: a decoded pixel moves by far less than one grey level (1/255).
    let diff = max_diff(&before, &after);
    assert!(diff < 1.0 / 255.0 && diff > 0.0, "round trip moved pixels by {diff}");
}

#[test]
fn damaged_weights_files_are_named_errors() {
    let config = VaeConfig::new().with_hidden(vec![4]);
    let bytes = WeightsFile::from_model(config.init(&device()), meta(config)).expect("pack").to_bytes();
    for cut in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        assert!(matches!(WeightsFile::from_bytes(&bytes[..cut]), Err(WeightsError::Truncated(_) | WeightsError::BadMagic)), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(matches!(WeightsFile::from_bytes(&flipped), Err(WeightsError::Checksum { .. })));
    let mut foreign = bytes.clone();
    foreign[0] = b'X';
    assert_eq!(WeightsFile::from_bytes(&foreign).expect_err("foreign bytes"), WeightsError::BadMagic);
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(WeightsFile::from_bytes(&newer).expect_err("a newer version"), WeightsError::Version { found: FORMAT_VERSION + 1 });
}

#[test]
fn weights_of_another_architecture_are_refused() {
    let small = VaeConfig::new().with_hidden(vec![4]);
    let mut file = WeightsFile::from_model(small.init(&device()), meta(small)).expect("pack");
    // Header claims a wider network than the tensors hold.
    file.meta.config = VaeConfig::new().with_hidden(vec![8]);
    let reparsed = WeightsFile::from_bytes(&file.to_bytes()).expect("envelope is fine");
    assert!(matches!(reparsed.load_model(&device()), Err(WeightsError::Architecture(_))));
    // A 3-D latent cannot be explored on a plane.
    let mut three = file.clone();
    three.meta.config = VaeConfig::new().with_latent_dim(3);
    assert_eq!(
        WeightsFile::from_bytes(&three.to_bytes()).expect_err("a 3-D latent"),
        WeightsError::NotExplorable(NotExplorable::LatentDimensions { found: 3 })
    );
}

#[test]
fn non_finite_weights_never_ship() {
    let config = VaeConfig::new().with_hidden(vec![4]);
    let mut model = config.init(&device());
    let w = model.decoder[0].weight.val();
    let poisoned = w.clone().mul_scalar(f32::NAN);
    model.decoder[0].weight = burn::module::Param::from_tensor(poisoned);
    let err = WeightsFile::from_model(model, meta(config)).expect_err("non-finite weights");
    assert_eq!(err, WeightsError::NonFinite("decoder.0.weight".into()));
}

#[test]
fn iwae_with_one_sample_is_the_elbo_in_expectation_and_tightens_with_k() {
    use vae_core::eval::{iwae_log_likelihood, mean_of};
    let model = VaeConfig::new().with_hidden(vec![16]).init(&device());
    let x = Tensor::<2>::random([8, 784], Distribution::Bernoulli(0.2), &device());
    let reps = 400;
    for likelihood in [Likelihood::Bernoulli, Likelihood::gaussian(0.3)] {
        // ELBO with closed-form KL, averaged over many posterior samples.
        let eps = Tensor::<2>::from_data(TensorData::new(standard_normal_samples(8 * reps * 2, 5), [8 * reps, 2]), &device());
        let x_rep = x.clone().unsqueeze_dim::<3>(1).repeat_dim(1, reps).reshape([8 * reps, 784]);
        let terms = elbo_terms(&model, ModelKind::Vae, likelihood, x_rep.clone(), eps.clone());
        let elbo = -(mean_of(terms.recon) + mean_of(terms.kl));
        // IWAE with k = 1 on the same number of samples: each "image" is one repetition.
        let iwae1 = mean_of(iwae_log_likelihood(&model, likelihood, x_rep, eps, 1));
        assert!((iwae1 - elbo).abs() < 0.01 * elbo.abs(), "{likelihood:?}: IWAE(k=1) {iwae1} vs ELBO {elbo}");
        let eps = Tensor::<2>::from_data(TensorData::new(standard_normal_samples(8 * 64 * 2, 6), [8 * 64, 2]), &device());
        let iwae64 = mean_of(iwae_log_likelihood(&model, likelihood, x.clone(), eps, 64));
        assert!(iwae64 >= iwae1 - 0.01, "{likelihood:?}: IWAE(k=64) {iwae64} is looser than IWAE(k=1) {iwae1}");
    }
}

#[test]
fn continuity_is_zero_for_a_constant_decoder_and_positive_otherwise() {
    use vae_core::eval::continuity;
    let mut model = VaeConfig::new().with_hidden(vec![8]).init(&device());
    let c = continuity(&model, 3.0, 0.5);
    assert!(c.mean > 0.0 && c.max >= c.mean);
    // Zero the first decoder layer's weights: the output no longer depends on z.
    let w = model.decoder[0].weight.val();
    model.decoder[0].weight = burn::module::Param::from_tensor(w.zeros_like());
    let flat = continuity(&model, 3.0, 0.5);
    assert_eq!((flat.mean, flat.max), (0.0, 0.0));
}

#[test]
fn a_continuity_map_made_in_bands_of_rows_is_the_whole_map() {
    use vae_core::eval::{continuity_map, continuity_map_rows};
    use vae_core::fast::FastDecoder;
    use vae_core::latent::LatentGrid;
    let model = VaeConfig::new().with_hidden(vec![16]).init(&device());
    let grid = LatentGrid::new(9, 3.0).expect("a grid");
    let whole = continuity_map(&model, &grid);
    assert_eq!(whole.len(), 81);
    let decoder = FastDecoder::from_vae(&model);
    // Bands of 4, 4 and 1 rows: each band's first row is compared with the row above it.
    let banded: Vec<f32> = [0..4, 4..8, 8..9].into_iter().flat_map(|rows| continuity_map_rows(&decoder, &grid, rows)).collect();
    assert_eq!(banded.len(), whole.len());
    for (i, (a, b)) in banded.iter().zip(&whole).enumerate() {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-3), "point {i}: {a} in bands vs {b} whole");
    }
    assert!(whole.iter().all(|v| v.is_finite() && *v >= 0.0), "every point has a neighbour to compare with");
    assert!(whole.iter().filter(|v| **v > 0.0).count() > 40, "the decoder changes across the grid: {whole:?}");
}

#[test]
fn continuity_in_code_units_does_not_change_when_the_latent_is_stretched() {
    use vae_core::eval::{code_spread, continuity, continuity_scaled};
    let model = VaeConfig::new().with_hidden(vec![16]).init(&device());
    // The same decoder on a latent stretched 5×: z' = 5z, first layer's weights ÷ 5.
    let mut stretched = model.clone();
    let w = stretched.decoder[0].weight.val();
    stretched.decoder[0].weight = burn::module::Param::from_tensor(w.div_scalar(5.0));
    let plain = continuity(&model, 3.0, 0.25);
    let per_unit = continuity(&stretched, 3.0, 0.25);
    assert!(per_unit.mean < plain.mean, "per unit of z the stretched model looks smoother: {per_unit:?} vs {plain:?}");
    let own_units = continuity_scaled(&stretched, 3.0, 0.25, [5.0, 5.0]);
    assert!((own_units.mean - plain.mean).abs() <= 1e-4 * plain.mean.max(1e-3), "{own_units:?} vs {plain:?}");
    assert!((own_units.max - plain.max).abs() <= 1e-4 * plain.max.max(1e-3), "{own_units:?} vs {plain:?}");
    let spread = code_spread(&[[1.0f32, 10.0], [3.0, 10.0], [5.0, 16.0], [7.0, 16.0]]);
    assert!((spread[0] - 5f32.sqrt()).abs() < 1e-6 && (spread[1] - 3.0).abs() < 1e-6, "{spread:?}");
}

#[test]
fn aggregate_density_integrates_to_one_and_peaks_at_the_posteriors() {
    use vae_core::eval::aggregate_density;
    use vae_core::latent::LatentGrid;
    let posteriors = [[1.0f32, -1.0, 0.3, 0.2, 3.0], [-2.0, 1.5, 0.2, 0.4, 7.0]];
    let grid = LatentGrid::new(121, 4.0).expect("valid grid");
    let d = aggregate_density(&posteriors, &grid, 0.0);
    let (n, range, step) = (grid.n, grid.range, grid.step());
    let mass: f32 = d.iter().sum::<f32>() * step * step;
    assert!((mass - 1.0).abs() < 0.01, "mass {mass}");
    let (argmax, _) = d.iter().enumerate().fold((0, 0.0f32), |best, (i, &v)| if v > best.1 { (i, v) } else { best });
    let (col, row) = (argmax % n, argmax / n);
    let (x, y) = (-range + col as f32 * step, range - row as f32 * step);
    assert!((x - 1.0).abs() < 0.05 && (y + 1.0).abs() < 0.05, "peak at ({x}, {y})");
}

#[test]
fn fast_decoder_matches_burns_decode() {
    use vae_core::fast::FastDecoder;
    // Widths that are not multiples of the tile sizes, and batch sizes around the tile height.
    for hidden in [vec![30, 13], vec![64, 32], vec![7]] {
        let model = VaeConfig::new().with_hidden(hidden.clone()).init(&device());
        let fast = FastDecoder::from_vae(&model);
        for n in [0usize, 1, 3, 4, 5, 9, 37] {
            let zs: Vec<f32> = (0..2 * n).map(|i| ((i as f32) * 0.7).sin() * 2.5).collect();
            let got = fast.decode(&zs);
            assert_eq!(got.len(), n * 784, "hidden {hidden:?}, n = {n}");
            if n == 0 {
                continue;
            }
            let z = Tensor::<2>::from_data(TensorData::new(zs.clone(), [n, 2]), &device());
            let expected = to_vec(model.decode(z.clone()));
            let worst = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "hidden {hidden:?}, n = {n}: differs from burn by {worst}");
            let logits = fast.decode_logits(&zs);
            let expected = to_vec(model.decode_logits(z));
            let worst = logits.iter().zip(&expected).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "hidden {hidden:?}, n = {n}: logits differ from burn's by {worst}");
        }
    }
}

#[test]
fn version_1_weights_files_still_load() {
    // Rewrite a current file as version 1 wrote it: the same layout with the payload unshuffled.
    let config = VaeConfig::new().with_hidden(vec![16]);
    let model = config.init(&device());
    let current = WeightsFile::from_model(model, meta(config)).expect("pack").to_bytes();
    let header_len = u32::from_le_bytes(current[12..16].try_into().expect("4 bytes")) as usize;
    let start = 24 + header_len;
    let end = current.len() - 4;
    let shuffled = &current[start..end];
    let (even, odd) = shuffled.split_at(shuffled.len().div_ceil(2));
    let mut plain = Vec::with_capacity(shuffled.len());
    for (i, &b) in even.iter().enumerate() {
        plain.push(b);
        plain.extend(odd.get(i));
    }
    let mut old = current[..start].to_vec();
    old[8..12].copy_from_slice(&1u32.to_le_bytes());
    old.extend_from_slice(&plain);
    let crc = crc32fast::hash(&old);
    old.extend_from_slice(&crc.to_le_bytes());

    let z = || Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -1.2], [1, 2]), &device());
    let decode = |bytes: &[u8]| to_vec(WeightsFile::from_bytes(bytes).expect("parses").load_model(&device()).expect("loads").decode(z()));
    assert!(decode(&old) == decode(&current), "a version-1 file decodes differently");
    assert_ne!(shuffled, &plain[..], "version 2 should store the payload shuffled");
}

#[test]
fn every_file_says_its_dataset_classes_and_preprocessing_older_ones_as_their_dataset_or_mnist() {
    let config = VaeConfig::new().with_hidden(vec![4]);
    // A header as written before classes and preprocessing were recorded (packing fills them in:
    // they are taken out again), or with its own.
    let read = |dataset: &str, classes: Vec<String>, preprocessing: Option<Preprocessing>| {
        let mut file =
            WeightsFile::from_model(config.init(&device()), WeightsMeta { dataset: dataset.into(), ..meta(config.clone()) }).expect("pack");
        (file.meta.classes, file.meta.preprocessing) = (classes, preprocessing);
        WeightsFile::from_bytes(&file.to_bytes()).expect("reads").meta
    };
    // Packing records the dataset's.
    let packed = WeightsFile::from_model(config.init(&device()), WeightsMeta { dataset: "fashion-mnist".into(), ..meta(config.clone()) });
    assert_eq!(packed.expect("pack").meta.preprocessing, Some(Preprocessing::Fill28));
    // Written before classes and preprocessing were recorded: the dataset's own.
    let old = read("mnist", Vec::new(), None);
    assert_eq!((old.classes, old.preprocessing), (dataset::MNIST.class_names(), Some(Preprocessing::CentreOfMass20)));
    let fashion = read("fashion-mnist", Vec::new(), None);
    assert_eq!(fashion.classes[0], "T-shirt/top");
    assert_eq!(fashion.preprocessing(), Preprocessing::Fill28);
    assert_eq!(read("a-dataset-we-do-not-know", Vec::new(), None).classes, dataset::MNIST.class_names());
    // What a file records is what it says.
    let own = read("fashion-mnist", vec!["a".into(); 10], Some(Preprocessing::CentreOfMass20));
    assert_eq!((own.classes[0].as_str(), own.preprocessing()), ("a", Preprocessing::CentreOfMass20));
}

#[test]
fn the_shipped_models_read_as_mnist() {
    for name in ["vae", "ae", "vae-beta4"] {
        let bytes = std::fs::read(format!("{}/../../weights/{name}.vaew", env!("CARGO_MANIFEST_DIR"))).expect("shipped weights");
        let meta = WeightsFile::from_bytes(&bytes).expect("reads").meta;
        assert_eq!((meta.dataset.as_str(), meta.preprocessing()), ("mnist", Preprocessing::CentreOfMass20), "{name}");
        assert_eq!(meta.classes, dataset::MNIST.class_names(), "{name}");
    }
}

#[test]
fn a_likelihood_is_made_from_the_kind_a_flag_or_the_page_names() {
    use vae_core::{Likelihood, LikelihoodKind};
    // The names the trainer's --likelihood and the page's settings send, and nothing else.
    let kind = |name: &str| serde_json::from_value::<LikelihoodKind>(serde_json::json!(name));
    assert_eq!(kind("bernoulli").expect("a kind"), LikelihoodKind::Bernoulli);
    assert_eq!(kind("gaussian").expect("a kind"), LikelihoodKind::Gaussian);
    let refused = kind("laplace").expect_err("an unknown kind").to_string();
    assert!(refused.contains("bernoulli") && refused.contains("gaussian"), "the error names the choices: {refused}");
    // Each likelihood is made back from its kind and σₓ.
    for likelihood in [Likelihood::Bernoulli, Likelihood::gaussian(0.2), Likelihood::learned_gaussian(0.1)] {
        let made = Likelihood::of(likelihood.kind(), likelihood.sigma_x().unwrap_or(0.5), likelihood.is_learned());
        assert_eq!(made, likelihood);
    }
}
