//! Helpers shared by the integration tests (each test file includes this module).

use vae_core::{ModelKind, VaeConfig, WeightsMeta};

/// Plain metadata for a test VAE named `vae` on MNIST: β = 1, nothing trained, nothing recorded.
pub fn meta(config: VaeConfig) -> WeightsMeta {
    WeightsMeta {
        name: "vae".into(),
        kind: ModelKind::Vae,
        beta: 1.0,
        beta_mean: None,
        likelihood: vae_core::Likelihood::Bernoulli,
        validation: None,
        config,
        dataset: "mnist".into(),
        classes: Vec::new(),
        preprocessing: None,
        epochs: 0,
        seed: 1,
        test_recon: 0.0,
        test_kl: 0.0,
        test_posteriors: Vec::new(),
        training_log: Vec::new(),
    }
}
