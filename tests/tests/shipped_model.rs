//! The shipped VAE shows what the page claims: its latent space is continuous (close points
//! decode alike) and complete (samples from the prior decode to digit-like images), and its
//! encoder inverts its decoder on the prior's bulk.

use vae_core::numeric::standard_normal_samples;
use vae_core::{IMAGE_PIXELS, ModelKind};
use vae_wasm::Explorer;

fn shipped() -> Explorer {
    Explorer::embedded("vae").expect("the embedded VAE loads")
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

#[test]
fn it_is_a_trained_vae() {
    let e = shipped();
    assert_eq!(e.meta().kind, ModelKind::Vae);
    assert!(e.meta().epochs >= 20, "the shipped model trained only {} epochs", e.meta().epochs);
    let elbo = -(e.meta().test_recon + e.meta().test_kl);
    assert!(elbo > -145.0, "test ELBO {elbo} nats is not a trained 2-D VAE");
}

#[test]
fn close_points_decode_alike_and_far_points_do_not() {
    let e = shipped();
    let eps = standard_normal_samples(2 * 50, 1);
    let (mut near, mut far) = (0.0f32, 0.0f32);
    for z in eps.chunks_exact(2) {
        let base = e.decode_points(z);
        near += mean_abs_diff(&base, &e.decode_points(&[z[0] + 0.01, z[1] - 0.01]));
        far += mean_abs_diff(&base, &e.decode_points(&[-z[0], -z[1]]));
    }
    assert!(near / 50.0 < 0.01, "a 0.01 step changes {:.4} per pixel on average", near / 50.0);
    assert!(far > 20.0 * near, "near {near:.3} vs far {far:.3}");
}

#[test]
fn prior_samples_decode_to_digit_like_images() {
    let e = shipped();
    let zs = standard_normal_samples(2 * 200, 2);
    let images = e.decode_points(&zs);
    for (i, img) in images.chunks_exact(IMAGE_PIXELS).enumerate() {
        let ink = img.iter().filter(|&&v| v > 0.5).count();
        // An MNIST digit has roughly 50–250 ink pixels; blank or smeared images fall outside.
        assert!((25..=320).contains(&ink), "prior sample {i} at ({:.2}, {:.2}) has {ink} ink pixels", zs[2 * i], zs[2 * i + 1]);
        // Mostly black background, like MNIST: the border rows are empty.
        let border: f32 = img[..28].iter().chain(&img[IMAGE_PIXELS - 28..]).sum();
        assert!(border < 3.0, "prior sample {i} has ink on the border");
    }
}

#[test]
fn encoder_inverts_the_decoder_inside_two_sigma() {
    let e = shipped();
    let zs = standard_normal_samples(2 * 60, 3);
    let mut worst = 0.0f32;
    for z in zs.chunks_exact(2).filter(|z| z[0].hypot(z[1]) < 2.0) {
        let p = e.posterior_of_pixels(&e.decode_points(z));
        worst = worst.max((p.mu[0] - z[0]).hypot(p.mu[1] - z[1]));
    }
    assert!(worst < 0.5, "encode(decode(z)) strays {worst:.3} latent units from z");
}

/// Standard deviation of the stored test-posterior means, per latent axis.
fn code_spread(model: &str) -> [f32; 2] {
    let path = format!("{}/../weights/{model}.vaew", env!("CARGO_MANIFEST_DIR"));
    let e = Explorer::from_weights(&std::fs::read(&path).expect("a shipped weights file")).expect("loads");
    let p = &e.meta().test_posteriors;
    assert!(p.len() >= 1000, "{model} carries only {} test posteriors", p.len());
    vae_core::eval::code_spread(p)
}

#[test]
fn the_kl_term_fits_the_codes_to_the_prior_and_the_autoencoder_does_not() {
    let vae = code_spread("vae");
    assert!(vae.iter().all(|s| (0.6..1.5).contains(s)), "VAE codes spread {vae:?}, the prior has 1");
    let ae = code_spread("ae");
    assert!(ae.iter().all(|s| *s > 2.0), "AE codes spread only {ae:?}");
}
