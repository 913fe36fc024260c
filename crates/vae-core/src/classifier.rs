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

/// Class probabilities of many images (`n × 784` intensities), `n × 10`, a thousand at a time.
pub fn classify(model: &Classifier, pixels: &[f32], device: &Device) -> Vec<f32> {
    pixels
        .chunks(1000 * crate::IMAGE_PIXELS)
        .flat_map(|chunk| {
            let b = chunk.len() / crate::IMAGE_PIXELS;
            let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [b, crate::IMAGE_PIXELS]), device); // [b, 784]
            crate::numeric::to_vec(model.probabilities(x)) // [b, 10]
        })
        .collect()
}

/// The most probable class of one row of probabilities.
pub fn argmax(p: &[f32]) -> usize {
    p.iter().enumerate().fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

/// Entropy of the classes predicted `counts[c]` times each, bits: log₂ 10 ≈ 3.32 when all ten
/// come out equally often.
pub fn class_entropy_bits(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}
