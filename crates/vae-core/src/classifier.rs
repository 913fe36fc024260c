//! A small digit classifier, used to score how recognisable decoded prior samples are
//! (the completeness measure of `trainer eval`).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};

/// Architecture of the [`Classifier`].
#[derive(Config, Debug, PartialEq)]
pub struct ClassifierConfig {
    /// Width of the hidden layer.
    #[config(default = 256)]
    pub hidden: usize,
}

impl ClassifierConfig {
    /// Builds a classifier with freshly initialised parameters on `device`.
    pub fn init(&self, device: &Device) -> Classifier {
        Classifier {
            hidden: LinearConfig::new(crate::IMAGE_PIXELS, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, 10).init(device),
        }
    }
}

/// MLP 784 → hidden → 10.
#[derive(Module, Debug)]
pub struct Classifier {
    /// Hidden layer, followed by ReLU.
    pub hidden: Linear,
    /// Output layer: one logit per digit.
    pub output: Linear,
}

impl Classifier {
    /// Class logits.
    ///
    /// # Shapes
    /// - `x`: `[batch, 784]`, intensities in [0, 1]
    /// - returns: `[batch, 10]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(x)))
    }

    /// Class probabilities.
    ///
    /// # Shapes
    /// - `x`: `[batch, 784]`
    /// - returns: `[batch, 10]`
    pub fn probabilities(&self, x: Tensor<2>) -> Tensor<2> {
        softmax(self.forward(x), 1)
    }
}

/// Mean cross-entropy of logits against integer labels.
///
/// # Shapes
/// - `logits`: `[batch, 10]`, `labels`: `[batch]`
/// - returns: `[1]`
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let log_p = burn::tensor::activation::log_softmax(logits, 1); // [batch, 10]
    let picked = log_p.gather(1, labels.unsqueeze_dim(1)); // [batch, 1]
    picked.mean().neg()
}
