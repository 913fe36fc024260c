//! What one crate writes, the other reads: weights packed by vae-core (as the trainer does) load
//! in the wasm crate and decode exactly as the model they came from.

use burn::prelude::*;
use vae_core::{IMAGE_PIXELS, ModelKind, VaeConfig, WeightsFile, WeightsMeta};
use vae_wasm::Explorer;

fn packed(kind: ModelKind) -> (vae_core::Vae, Vec<u8>) {
    let device = Device::flex();
    let config = VaeConfig::new().with_hidden(vec![24, 12]);
    let model = config.init(&device);
    let meta = WeightsMeta {
        name: "test".into(),
        kind,
        beta: 1.0,
        beta_mean: None,
        likelihood: vae_core::Likelihood::Bernoulli,
        validation: None,
        config,
        dataset: "synthetic".into(),
        classes: Vec::new(),
        preprocessing: None,
        epochs: 0,
        seed: 0,
        test_recon: 0.0,
        test_kl: 0.0,
        test_posteriors: Vec::new(),
        training_log: Vec::new(),
    };
    let bytes = WeightsFile::from_model(model.clone(), meta).expect("pack").to_bytes();
    (model, bytes)
}

#[test]
fn wasm_crate_decodes_like_the_core_model() {
    let (model, bytes) = packed(ModelKind::Vae);
    let explorer = Explorer::from_weights(&bytes).expect("loads");
    let points = [0.0f32, 0.0, -1.5, 2.25, 3.0, -0.5];
    let z = Tensor::<2>::from_data(TensorData::new(points.to_vec(), [3, 2]), &Device::flex());
    let expected = model.decode(z).into_data().try_to_vec::<f32>().expect("f32");
    let got = explorer.decode_points(&points);
    assert_eq!(got.len(), expected.len());
    // The file stores f16 parameters: the same images to well within one grey level.
    let diff = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff < 1.0 / 255.0, "decodes differ by up to {diff}");
}

#[test]
fn autoencoder_posterior_has_no_spread_and_no_kl() {
    let (_, bytes) = packed(ModelKind::Ae);
    let explorer = Explorer::from_weights(&bytes).expect("loads");
    let p = explorer.posterior_of_pixels(&vec![0.5; IMAGE_PIXELS]);
    assert_eq!((p.sigma, p.kl), ([0.0, 0.0], 0.0));
    assert!(p.recon > 0.0);
}

#[test]
fn corrupted_weights_are_refused_by_the_wasm_crate() {
    let (_, mut bytes) = packed(ModelKind::Vae);
    let n = bytes.len();
    bytes[n / 3] ^= 1;
    let err = Explorer::from_weights(&bytes).expect_err("corrupted");
    assert!(err.to_string().contains("corrupted"), "{err}");
}
